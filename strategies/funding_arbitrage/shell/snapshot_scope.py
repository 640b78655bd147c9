"""Which markets a tick's snapshot must hold: all of them on a tick that decides, only what the rest of the tick
reads on a tick that decides nothing.

Why: with `decision_interval_s` (300 s in the samples) the edge engine decides on 1 tick in 5 at 60 s ticks, yet the
snapshot of every configured market (15 in the samples) was built on every tick, the largest part of a tick. Between
decisions the tick's consumers read only the markets something is held or working on:

* reconciliation and the hedge monitor (`_reconcile`, `_check_hedge`): the venues' positions (always read whole)
  and the lot size of every market holding a position or an open pair's spot leg;
* execution (`executor.tick`, lifecycle intents): the books of the legs of open pairs (maker prices);
* the risk gate (`_update_risk`): equity = quote balances (always read whole) + spot inventory at mid of every spot
  market with a nonzero balance + perp PnL from positions; leg risks (mark, lot) of every open pair's perp legs;
  freshness per venue = the newest book change and the newest funding change among the venue's markets;
* the leverage guard: marks and lots of open pairs' perp legs; metrics and status: positions, readiness, the last
  decision and the engine's own funding views (no gauge is computed from a market of the tick).

So a tick that decides nothing (after restart recovery has finished) gets a partial snapshot holding the legs of
every open pair, every market with a working order, every spot market with a nonzero (or unreadable) base balance,
every market with a position (added by `SnapshotBuilder.build`) and, per venue, the markets carrying its newest book
and funding change (also added there, so `_freshness` sees exactly what the full snapshot gives). The others are
still looked at (when their book and funding last changed), so a market that goes stale while nothing holds it is
reported as it was before: by the venue freshness on the same tick (the venue's newest change is in the snapshot),
and per market (skipped as stale) by the edge engine at the next decision, within `decision_interval_s`, as before
(only decisions read per-market staleness). A tick that decides gets the full snapshot.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Optional

log = logging.getLogger(__name__)


def markets_needed(rt: Any, ts: float) -> Optional[frozenset[tuple[str, str]]]:
    """The (connector, trading pair) markets the tick at `ts` must snapshot besides those `build` adds itself
    (positions, each venue's newest changes); None: every market (a decision is due, or restart recovery has not
    finished: it reads the lot sizes of whatever it finds)."""
    if rt.recovery_report is None or rt._decision_due(ts):
        return None
    needed = {(leg.connector, leg.trading_pair) for r in rt.store.open_records() for leg in r.legs()}
    needed |= rt.executor.working_markets()
    connectors = rt.strategy.connectors
    for name, token, key in rt._spot_markets:  # spot inventory counts in equity at its mid
        connector = connectors.get(name)
        if connector is None:
            continue
        try:
            amount = connector.get_balance(token)
            held = (amount if type(amount) is Decimal else Decimal(amount)) != 0
        except Exception:  # unreadable: equity says unknown; the market is kept all the same
            held = True
        if held:
            needed.add(key)
    return frozenset(needed)
