"""Switches of a replayed strategy run and what each realised (no hummingbot).

A switch closes pair A (`close_reason` `switch`) and enters pair B of the same token once A is flat (or, when
capital bound, of another token: then B is the first pair opened after A closed). Its realised gain is measured
against holding A instead:

    realised gain = B's carry (funding - fees - slippage, its own pair row, entry and exit included)
                    - the funding A's legs would have been paid over B's life (A's amounts, the recorded
                      settlements and the venue's price at each, as the simulated venues settle)

A's own exit cost is left out of both sides (holding A it would be paid later instead of now). B's life ends at its
close or at the end of the run. Example: B carried +3.10 after 1.20 of fees; A's legs would have been paid 1.05 over
the same hours -> realised gain +2.05.

A pair that lost to fees (`RunResult.pairs_lost_to_fees`) is a closed pair whose funding did not pay its own fees,
slippage and borrow (carry < 0); a switched-out pair counts by its own figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..core.venues import is_perp_connector, venue_name
from ..sim.data import DEFAULT_MAX_STALENESS_S, DataError, MarketData
from .results import SWITCH_REASON, PairRow, SwitchGain, pair_carry

_ZERO = Decimal(0)


def counterfactual_funding(
    md: MarketData, legs: Sequence[tuple[str, str, Decimal]], token: str, start_ts: float, end_ts: float
) -> Decimal | None:
    """Funding paid to signed perp legs (connector, kind, signed base; spot legs pay none) over (start, end], from
    the recorded settlements at the venue's candle price; None when a settlement has no price."""
    total = _ZERO
    for connector, kind, signed_base in legs:
        if kind != "perp" or not is_perp_connector(connector) or signed_base == 0:
            continue
        venue = venue_name(connector)
        try:
            series, candles = md.funding_series(venue, token), md.candle_series(venue, token)
        except DataError:
            return None
        for s in series.settlements_between(start_ts, end_ts):
            price = candles.price_at(s.ts, DEFAULT_MAX_STALENESS_S)
            if price is None:
                return None
            total += -signed_base * price * s.rate
    return total


def switch_gains(records: Iterable[Any], rows: Sequence[PairRow], md: MarketData, end_ts: float) -> list[SwitchGain]:
    """Every switch of a strategy run (`records`: the store's PairRecords; `rows`: their pair rows, same order)."""
    pairs = sorted(zip(records, rows, strict=True), key=lambda p: p[0].opened_ts)
    out = []
    for record, row in pairs:
        if row.close_reason != SWITCH_REASON or record.closed_ts is None:
            continue
        later = [p for p in pairs if p[0].opened_ts >= record.closed_ts]
        same = [p for p in later if p[0].token == record.token]
        new = same[0] if same else (later[0] if later else None)
        if new is None:
            out.append(SwitchGain(record.closed_ts, record.token, row.pair_key, None, None))
            continue
        until = new[0].closed_ts if new[0].closed_ts is not None else end_ts
        legs = [
            (record.long.connector, record.long.kind, record.long.target_base),
            (record.short.connector, record.short.kind, -record.short.target_base),
        ]
        held = counterfactual_funding(md, legs, record.token, record.closed_ts, until)
        gain = None if held is None else pair_carry(new[1]) - held
        out.append(SwitchGain(record.closed_ts, record.token, row.pair_key, new[1].pair_key, gain))
    return out
