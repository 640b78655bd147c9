/* Charts of the replay report: plain canvas drawing, no external code. Reads the JSON in #report-data,
   draws every chart that has data, then sets body[data-charts-drawn] to the number drawn. */
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("report-data").textContent);
  var FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
  var PAD = { left: 78, right: 16, top: 14, bottom: 58 };

  /* A tick label with as many decimals as the tick step needs, thousands separated. */
  function fmt(v, step) {
    var decimals = Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9)));
    var text = Math.abs(v).toFixed(decimals);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (v < 0 && Number(text) !== 0 ? "-" : "") + parts.join(".");
  }

  var TIME_STEPS = [3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 5184000,
                    7776000, 15552000, 31536000];

  /* Time ticks at round UTC multiples, at most `n` of them. */
  function timeTicks(lo, hi, n) {
    var step = TIME_STEPS[TIME_STEPS.length - 1];
    for (var i = 0; i < TIME_STEPS.length; i++) {
      if ((hi - lo) / TIME_STEPS[i] <= n) { step = TIME_STEPS[i]; break; }
    }
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi; t += step) { out.push(t); }
    return { ticks: out, step: step };
  }

  function fmtTime(ts, step) {
    var iso = new Date(ts * 1000).toISOString();
    return step < 86400 ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10);
  }

  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 5) { step *= 5; } else if (err >= 2) { step *= 2; }
    var out = [];
    for (var k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) { out.push(k * step); }
    return { ticks: out, step: step };
  }

  function frame(canvas) {
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = FONT;
    return ctx;
  }

  function legend(ctx, canvas, items) {
    var x = PAD.left, y = canvas.height - 14;
    items.forEach(function (it) {
      ctx.fillStyle = it.color;
      ctx.fillRect(x, y - 9, 12, 10);
      ctx.fillStyle = "#222";
      ctx.fillText(it.label, x + 16, y);
      x += ctx.measureText(it.label).width + 36;
    });
  }

  function yAxis(ctx, canvas, lo, hi, yOf, label) {
    ctx.strokeStyle = "#e3e3e3";
    ctx.fillStyle = "#444";
    ctx.textAlign = "right";
    var t = ticks(lo, hi, 5);
    t.ticks.forEach(function (v) {
      var y = yOf(v);
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(canvas.width - PAD.right, y); ctx.stroke();
      ctx.fillText(fmt(v, t.step), PAD.left - 6, y + 4);
    });
    ctx.save();
    ctx.translate(14, PAD.top + (canvas.height - PAD.top - PAD.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(label, 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
  }

  function lineChart(canvas, chart) {
    var series = chart.series.filter(function (s) { return s.points.length > 0; });
    if (series.length === 0) { return false; }
    var xs = [], ys = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { xs.push(p[0]); if (p[1] !== null) { ys.push(p[1]); } });
    });
    (chart.ref_lines || []).forEach(function (r) { ys.push(r.y); });
    if (ys.length === 0) { return false; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; }
    var padY = (y1 - y0) * 0.05 || Math.abs(y0) * 0.01 || 1;
    y0 -= padY; y1 += padY;
    var w = canvas.width - PAD.left - PAD.right, h = canvas.height - PAD.top - PAD.bottom;
    var xOf = function (x) { return PAD.left + (x - x0) / (x1 - x0) * w; };
    var yOf = function (y) { return PAD.top + (1 - (y - y0) / (y1 - y0)) * h; };
    var ctx = frame(canvas);
    yAxis(ctx, canvas, y0, y1, yOf, chart.y_label);
    ctx.fillStyle = "#444";
    ctx.textAlign = "center";
    var tt = timeTicks(x0, x1, 7);
    tt.ticks.forEach(function (t) { ctx.fillText(fmtTime(t, tt.step), xOf(t), canvas.height - PAD.bottom + 16); });
    ctx.textAlign = "left";
    (chart.ref_lines || []).forEach(function (r) {
      ctx.save(); ctx.setLineDash([6, 4]); ctx.strokeStyle = "#b00020";
      ctx.beginPath(); ctx.moveTo(PAD.left, yOf(r.y)); ctx.lineTo(PAD.left + w, yOf(r.y)); ctx.stroke();
      ctx.fillStyle = "#b00020"; ctx.fillText(r.label, PAD.left + 4, yOf(r.y) - 4); ctx.restore();
    });
    series.forEach(function (s) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 1.5;
      ctx.beginPath();
      var pen = false;
      s.points.forEach(function (p) {
        if (p[1] === null) { pen = false; return; }
        if (pen) { ctx.lineTo(xOf(p[0]), yOf(p[1])); } else { ctx.moveTo(xOf(p[0]), yOf(p[1])); pen = true; }
      });
      ctx.stroke();
    });
    ctx.lineWidth = 1;
    legend(ctx, canvas, series);
    return true;
  }

  function barChart(canvas, chart) {
    var groups = chart.groups.filter(function (g) { return g.values.length > 0; });
    if (groups.length === 0) { return false; }
    var vals = [0];
    groups.forEach(function (g) { vals = vals.concat(g.values); });
    var y0 = Math.min.apply(null, vals), y1 = Math.max.apply(null, vals);
    if (y1 === y0) { y1 = y0 + 1; }
    var padY = (y1 - y0) * 0.08;
    y0 -= padY; y1 += padY;
    var w = canvas.width - PAD.left - PAD.right, h = canvas.height - PAD.top - PAD.bottom;
    var yOf = function (y) { return PAD.top + (1 - (y - y0) / (y1 - y0)) * h; };
    var ctx = frame(canvas);
    yAxis(ctx, canvas, y0, y1, yOf, chart.y_label);
    var slot = w / chart.categories.length, bar = slot * 0.8 / groups.length;
    chart.categories.forEach(function (cat, i) {
      ctx.fillStyle = "#444"; ctx.textAlign = "center";
      ctx.fillText(cat, PAD.left + slot * (i + 0.5), canvas.height - PAD.bottom + 16);
      groups.forEach(function (g, j) {
        var v = g.values[i], x = PAD.left + slot * i + slot * 0.1 + bar * j;
        ctx.fillStyle = g.color;
        ctx.fillRect(x, Math.min(yOf(v), yOf(0)), bar - 2, Math.max(1, Math.abs(yOf(v) - yOf(0))));
      });
    });
    ctx.textAlign = "left";
    ctx.strokeStyle = "#222";
    ctx.beginPath(); ctx.moveTo(PAD.left, yOf(0)); ctx.lineTo(PAD.left + w, yOf(0)); ctx.stroke();
    legend(ctx, canvas, groups);
    return true;
  }

  var drawn = 0;
  spec.charts.forEach(function (chart) {
    var canvas = document.getElementById(chart.id);
    if (!canvas || !canvas.getContext) { return; }
    var ok = chart.type === "bar" ? barChart(canvas, chart) : lineChart(canvas, chart);
    canvas.dataset.drawn = ok ? "1" : "0";
    if (ok) { drawn += 1; }
  });
  document.body.dataset.chartsDrawn = String(drawn);
})();
