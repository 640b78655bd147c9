"""Order-book shape measured from the real captures in `../shared/data/orderbooks/` (no hummingbot import).

Method (docs/simulation.md has the numbers and the reasoning):

1. Rebuild the book. Binance USDT-M: the 1000-level REST snapshot plus the `@depth@0ms` diffs, applied with
   Binance's sequencing rule (drop diffs with u < lastUpdateId; the first applied diff has U <= lastUpdateId <= u;
   every later diff's pu equals the previous u; a break raises). Hyperliquid: every `l2Book` message is a full
   20-level snapshot.
2. Sample the book once per second of capture time (Binance) or at every snapshot (Hyperliquid).
3. Per sample: relative spread (ask - bid) / mid in bps, and for each side the quote depth (sum price x size) in
   distance bands measured from that side's best price, in bps of mid: BAND_EDGES_BPS. A band counts only when
   the visible book reaches past its outer edge (Binance: the deepest REST-snapshot level; Hyperliquid: the 20th
   level), so truncated books never under-report depth.
4. Profile = median spread, and per band the median over all covered (sample, side) observations. A band covered
   in fewer than MIN_COVERED_SHARE of the observations (only while the price sat at one end of its range) stays
   unmeasured; `BookProfile.completed_depths` extrapolates it from the measured depth density.

`CALIBRATED_PROFILES` stores the result (3 significant digits); a test recomputes it from the captures.
"""

from __future__ import annotations

import bisect
import gzip
import json
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

BAND_EDGES_BPS: tuple[Decimal, ...] = tuple(
    Decimal(x) for x in ("0", "0.5", "1", "2", "3", "5", "7.5", "10", "15", "20", "30", "50")
)
CAPTURE_FILES = {
    "binance_btcusdt": "binance_usdm_btcusdt_20240808_ws.gz",
    "binance_ethusdt": "binance_usdm_ethusdt_20240808_ws.gz",
    "hyperliquid_btc": "hyperliquid_btc_20250126_ws.gz",
}
_BPS = Decimal(10000)
MIN_COVERED_SHARE = Decimal("0.25")  # a band seen in fewer (sample, side) observations stays unmeasured


class CaptureError(ValueError):
    """A capture file that cannot be replayed (bad line, broken diff sequence)."""


@dataclass(frozen=True)
class BookProfile:
    """Median book shape of one captured market.

    `band_depth_quote[i]` is the quote value resting between BAND_EDGES_BPS[i] and [i+1] bps from the touch, on one
    side; None where the capture never showed that far. `reference_mid` is the median mid (for the record only).
    """

    source: str
    spread_bps: Decimal
    band_depth_quote: tuple[Decimal | None, ...]
    samples: int
    reference_mid: Decimal

    def completed_depths(self) -> tuple[Decimal, ...]:
        """Band depths with unmeasured bands filled from the measured depth density (quote per bps of band width).

        Example: hyperliquid BTC measures bands up to 2 bps holding D quote in total; a 2-3 bps band then gets D/2.
        """
        measured = [(i, d) for i, d in enumerate(self.band_depth_quote) if d is not None]
        if not measured:
            raise CaptureError(f"{self.source}: no band was measured")
        width = sum((BAND_EDGES_BPS[i + 1] - BAND_EDGES_BPS[i] for i, _ in measured), Decimal(0))
        density = sum((d for _, d in measured), Decimal(0)) / width
        return tuple(
            d if d is not None else density * (BAND_EDGES_BPS[i + 1] - BAND_EDGES_BPS[i])
            for i, d in enumerate(self.band_depth_quote)
        )


def _p(spread: str, depths: Sequence[str | None], samples: int, mid: str, source: str) -> BookProfile:
    return BookProfile(
        source, Decimal(spread), tuple(None if d is None else Decimal(d) for d in depths), samples, Decimal(mid)
    )


# Recomputed by tests/funding_arbitrage/sim/test_calibration.py from the captures; 3 significant digits.
CALIBRATED_PROFILES: dict[str, BookProfile] = {
    "binance_btcusdt": _p(
        "0.0162",
        [
            "2.89E+5",
            "8.54E+4",
            "3.76E+5",
            "6.78E+5",
            "1.63E+6",
            "2.41E+6",
            "2.51E+6",
            "4.74E+6",
            "4.51E+6",
            "7.03E+6",
            None,
        ],
        335,
        "61712.0",
        "binance_btcusdt",
    ),
    "binance_ethusdt": _p(
        "0.0373",
        [
            "5.90E+4",
            "2.25E+4",
            "1.43E+5",
            "3.35E+5",
            "8.57E+5",
            "8.68E+5",
            "1.35E+6",
            "2.37E+6",
            "2.58E+6",
            "5.91E+6",
            "5.48E+6",
        ],
        333,
        "2681.32",
        "binance_ethusdt",
    ),
    "hyperliquid_btc": _p(
        "0.0952",
        ["6.75E+5", "9.86E+4", "9.55E+5", None, None, None, None, None, None, None, None],
        46,
        "105056",
        "hyperliquid_btc",
    ),
}


def measure_capture(path: Path) -> BookProfile:
    """Measure one capture file (kind recognised from its name: binance_* or hyperliquid_*)."""
    samples = list(_binance_samples(path) if path.name.startswith("binance") else _hyperliquid_samples(path))
    if not samples:
        raise CaptureError(f"{path}: no book sample could be taken")
    return _profile(path.name, samples)


def measure_all(orderbooks_dir: Path) -> dict[str, BookProfile]:
    """Measure every capture listed in CAPTURE_FILES; keys as in CALIBRATED_PROFILES."""
    return {key: measure_capture(orderbooks_dir / name) for key, name in CAPTURE_FILES.items()}


@dataclass
class _Sample:
    bids: list[tuple[Decimal, Decimal]]  # best first
    asks: list[tuple[Decimal, Decimal]]
    bid_floor: Decimal  # deepest price the visible book is complete to
    ask_ceiling: Decimal


def _profile(source: str, samples: list[_Sample]) -> BookProfile:
    spreads, mids = [], []
    per_band: list[list[Decimal]] = [[] for _ in BAND_EDGES_BPS[1:]]
    for s in samples:
        best_bid, best_ask = s.bids[0][0], s.asks[0][0]
        mid = (best_bid + best_ask) / 2
        spreads.append((best_ask - best_bid) / mid * _BPS)
        mids.append(mid)
        sides = (
            (s.bids, best_bid, (best_bid - s.bid_floor) / mid * _BPS, -1),
            (s.asks, best_ask, (s.ask_ceiling - best_ask) / mid * _BPS, 1),
        )
        for levels, touch, coverage_bps, sign in sides:
            bands = [Decimal(0)] * len(per_band)
            for price, size in levels:  # best first: stop past the outermost band
                band = bisect.bisect_right(BAND_EDGES_BPS, (price - touch) * sign / mid * _BPS) - 1
                if band >= len(bands):
                    break
                bands[band] += price * size
            for i, depth in enumerate(bands):
                if BAND_EDGES_BPS[i + 1] <= coverage_bps:
                    per_band[i].append(depth)
    enough = MIN_COVERED_SHARE * 2 * len(samples)
    depths = tuple(_sig3(Decimal(statistics.median(v))) if v and len(v) >= enough else None for v in per_band)
    return BookProfile(
        source,
        _sig3(Decimal(statistics.median(spreads))),
        depths,
        len(samples),
        _sig3(Decimal(statistics.median(mids)), 6),
    )


def _sig3(x: Decimal, digits: int = 3) -> Decimal:
    return Decimal(f"{x:.{digits - 1}E}") if x else Decimal(0)


def _lines(path: Path, markers: tuple[str, ...]) -> Iterator[tuple[int, int, dict]]:
    """(line number, local receive ns, message) for lines containing one of `markers` (cheap pre-filter)."""
    with gzip.open(path, "rt") as fh:
        for n, line in enumerate(fh, start=1):
            if not any(m in line for m in markers):
                continue
            stamp, _, payload = line.partition(" ")
            try:
                yield n, int(stamp), json.loads(payload)
            except ValueError as e:
                raise CaptureError(f"{path}: line {n} is not '<local_recv_ns> <json>': {e}") from e


def _binance_samples(path: Path) -> Iterator[_Sample]:
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    pending: list[dict] = []
    last_id: int | None = None
    prev_u: int | None = None
    floor = ceiling = Decimal(0)
    next_sample_ns = 0
    for n, recv_ns, msg in _lines(path, ("depthUpdate", "lastUpdateId")):
        if "lastUpdateId" in msg:
            last_id = int(msg["lastUpdateId"])
            bids = {Decimal(p): Decimal(q) for p, q in msg["bids"]}
            asks = {Decimal(p): Decimal(q) for p, q in msg["asks"]}
            floor, ceiling = min(bids), max(asks)
            diffs, pending = pending, []
        else:
            data = msg.get("data", {})
            if data.get("e") != "depthUpdate":
                continue
            if last_id is None:
                pending.append(data)
                continue
            diffs = [data]
        for d in diffs:
            if d["u"] < last_id:
                continue
            if prev_u is None and not d["U"] <= last_id <= d["u"]:
                raise CaptureError(f"{path}: line {n}: first diff U={d['U']} u={d['u']} does not cover {last_id}")
            if prev_u is not None and d["pu"] != prev_u:
                raise CaptureError(f"{path}: line {n}: diff sequence broken (pu={d['pu']} after u={prev_u})")
            prev_u = d["u"]
            _apply(bids, d["b"])
            _apply(asks, d["a"])
        if prev_u is not None and recv_ns >= next_sample_ns and bids and asks:
            next_sample_ns = recv_ns + 1_000_000_000
            yield _Sample(sorted(bids.items(), reverse=True), sorted(asks.items()), floor, ceiling)


def _apply(side: dict[Decimal, Decimal], updates: list[list[str]]) -> None:
    for price_text, size_text in updates:
        price, size = Decimal(price_text), Decimal(size_text)
        if size == 0:
            side.pop(price, None)
        else:
            side[price] = size


def _hyperliquid_samples(path: Path) -> Iterator[_Sample]:
    for n, _, msg in _lines(path, ("l2Book",)):
        if msg.get("channel") != "l2Book":
            continue
        try:
            raw_bids, raw_asks = msg["data"]["levels"]
            bids = [(Decimal(x["px"]), Decimal(x["sz"])) for x in raw_bids]
            asks = [(Decimal(x["px"]), Decimal(x["sz"])) for x in raw_asks]
        except (KeyError, ValueError, TypeError) as e:
            raise CaptureError(f"{path}: line {n}: malformed l2Book message: {e}") from e
        if bids and asks:
            yield _Sample(bids, asks, bids[-1][0], asks[-1][0])
