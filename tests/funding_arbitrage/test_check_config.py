"""`funding-arb check-config`: every malformed config is rejected with a message naming the field."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from strategies.funding_arbitrage.cli.launcher import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = yaml.safe_load((ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "conf.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _with(**changes) -> dict:
    data = dict(SAMPLE)
    for k, v in changes.items():
        if v is _DELETE:
            data.pop(k)
        else:
            data[k] = v
    return data


_DELETE = object()

MALFORMED = [
    ("unknown key", _with(order_amount=5), "order_amount"),
    ("wrong type", _with(total_capital_quote="lots"), "total_capital_quote"),
    ("negative capital", _with(total_capital_quote=-1), "total_capital_quote"),
    ("single venue", _with(perp_connectors=["binance_perpetual"], spot_connectors=[],
                           quote_assets={"binance_perpetual": "USDT"}, leverage={"binance_perpetual": 3}),
     "perp_connectors"),
    ("leverage above venue max", _with(leverage={"binance_perpetual": 200, "bybit_perpetual": 3}),
     "leverage.binance_perpetual"),
    ("leverage missing for a venue", _with(leverage={"binance_perpetual": 3}), "leverage"),
    ("threshold at or below costs", _with(min_net_edge_pct=0), "min_net_edge_pct"),
    ("take profit below round-trip fees", _with(take_profit_pct=0.05), "take_profit_pct"),
    ("spot connector in perp list", _with(perp_connectors=["binance", "bybit_perpetual"]), "perp_connectors"),
    ("unknown venue", _with(perp_connectors=["foo_perpetual", "bybit_perpetual"]), "perp_connectors"),
    ("missing quote asset", _with(quote_assets={"binance_perpetual": "USDT"}), "quote_assets"),
    ("lower-case token", _with(tokens=["btc"]), "tokens"),
    ("duplicate tokens", _with(tokens=["BTC", "BTC"]), "tokens"),
    ("order above token cap", _with(order_amount_quote=5000), "order_amount_quote"),
    ("exposure needs more margin than capital", _with(max_total_exposure_quote=100000,
                                                       max_venue_exposure_quote=100000,
                                                       max_token_exposure_quote=100000), "max_total_exposure_quote"),
    ("bad prometheus port", _with(prometheus_port=80), "prometheus_port"),
    ("depth share above 100", _with(max_book_depth_share_pct=150), "max_book_depth_share_pct"),
    ("hedge mode on one-way-only venue", _with(
        perp_connectors=["binance_perpetual", "hyperliquid_perpetual"],
        quote_assets={"binance_perpetual": "USDT", "hyperliquid_perpetual": "USD"},
        leverage={"binance_perpetual": 3, "hyperliquid_perpetual": 3}, position_mode="HEDGE"), "position_mode"),
    ("break-even beyond horizon", _with(max_break_even_hours=100, holding_horizon_hours=72), "max_break_even_hours"),
    ("borrowing without a rate", _with(spot_connectors=["binance"], spot_leg_borrows_quote=True,
                                       quote_assets={**SAMPLE["quote_assets"], "binance": "USDT"}),
     "borrow_rates_apr_pct"),
    ("interval hint out of range", _with(funding_interval_hints_hours={"binance_perpetual": 48}),
     "funding_interval_hints_hours"),
    ("controllers configured", _with(controllers_config=["x.yml"]), "controllers_config"),
    ("drawdown above capital", _with(max_drawdown_quote=20000), "max_drawdown_quote"),
    ("empty state file", _with(state_file=""), "state_file"),
]


@pytest.mark.parametrize("label,data,field", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_check_config_rejects_malformed_config_naming_the_field(tmp_path, capsys, label, data, field):
    rc = main(["check-config", str(_write(tmp_path, data))])
    err = capsys.readouterr().err
    assert rc == 1
    assert field in err, err


def test_check_config_accepts_the_sample(capsys):
    assert main(["check-config", "conf_funding_arbitrage.yml"]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_reports_every_problem_at_once(tmp_path, capsys):
    data = _with(order_amount=5, tokens=["btc"], prometheus_port=80)
    assert main(["check-config", str(_write(tmp_path, data))]) == 1
    err = capsys.readouterr().err
    for field in ("order_amount", "tokens", "prometheus_port"):
        assert field in err


def test_check_config_on_missing_and_non_mapping_files(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "nope.yml")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    assert main(["check-config", str(tmp_path / "list.yml")]) == 1
    assert "mapping" in capsys.readouterr().err


def test_installed_console_script_runs_check_config():
    exe = Path(sys.executable).parent / "funding-arb"
    out = subprocess.run([str(exe), "check-config", "conf_funding_arbitrage.yml"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
