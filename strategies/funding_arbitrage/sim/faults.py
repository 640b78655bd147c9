"""Fault injection for the simulated venues: what can go wrong, drawn from a seeded RNG (no hummingbot import).

How each fault reaches a strategy (the connectors deliver it exactly as a real Hummingbot connector would):

* reject: `_place_order` raises, Hummingbot marks the order FAILED and fires MarketOrderFailureEvent.
* partial fill: the first fill covers `partial_fill_fraction` of the order (OrderFilledEvent, state
  PARTIALLY_FILLED); a MARKET order fills the rest at a later tick (another OrderFilledEvent, then FILLED and
  Buy/SellOrderCompletedEvent); a LIMIT order's rest stays open until the book crosses it again.
* fill delay: an accepted order (created event as usual) is not matched until `fill_delay_s` after placement.
* disconnect window [start, end): `ready` is False, `network_status` is NOT_CONNECTED, new orders and cancels fail
  (MarketOrderFailureEvent / cancel error); the venue keeps executing accepted orders, settling funding and
  liquidating, but their events are held back and delivered, in order, at the first tick after the window.
* stale funding window [start, end): `get_funding_info` stops changing (next funding time, rate and mark frozen);
  settlements still happen at the recorded times with the recorded rates.
* reject_position_actions: only orders with these position actions ("OPEN", "CLOSE"; spot orders are "NIL") are
  rejected (empty: all), e.g. a venue that refuses new positions but lets closes through.
* sync_reject: the rejection is raised by `buy` / `sell` themselves, before any order id exists (what a
  connector's synchronous validation does), instead of a MarketOrderFailureEvent.
* bad mark window [start, end): the funding info's mark and index prices read NaN (a broken feed), on the
  trading pairs in `bad_mark_pairs` (empty: all).
* while disconnected, order-status and trade-history queries fail too (SimNetworkError).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

Window = tuple[float, float]


@dataclass(frozen=True)
class FaultConfig:
    """Fault settings for one simulated venue. Probabilities are per order; windows are [start, end) in seconds."""

    reject_probability: float = 0.0
    partial_fill_probability: float = 0.0
    partial_fill_fraction: Decimal = Decimal("0.5")
    fill_delay_s: float = 0.0
    disconnect_windows: tuple[Window, ...] = field(default_factory=tuple)
    stale_funding_windows: tuple[Window, ...] = field(default_factory=tuple)
    reject_position_actions: tuple[str, ...] = ()
    sync_reject: bool = False
    bad_mark_windows: tuple[Window, ...] = field(default_factory=tuple)
    bad_mark_pairs: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("reject_probability", "partial_fill_probability"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} ({value}) must be in [0, 1]")
        if not Decimal(0) < self.partial_fill_fraction < Decimal(1):
            raise ValueError(f"partial_fill_fraction ({self.partial_fill_fraction}) must be in (0, 1)")
        if self.fill_delay_s < 0:
            raise ValueError(f"fill_delay_s ({self.fill_delay_s}) must not be negative")
        for action in self.reject_position_actions:
            if action not in ("OPEN", "CLOSE", "NIL"):
                raise ValueError(f"reject_position_actions ({action!r}) must be OPEN, CLOSE or NIL")
        for name in ("disconnect_windows", "stale_funding_windows", "bad_mark_windows"):
            for start, end in getattr(self, name):
                if not start < end:
                    raise ValueError(f"{name} window ({start}, {end}) must have start < end")


NO_FAULTS = FaultConfig()


class FaultInjector:
    """Draws a venue's faults. Seeded from (config.seed, venue name) so venues differ yet replays repeat exactly."""

    def __init__(self, config: FaultConfig, venue_name: str) -> None:
        self.config = config
        self._rng = random.Random(f"{config.seed}:{venue_name}")

    def disconnected(self, ts: float) -> bool:
        return _inside(ts, self.config.disconnect_windows)

    def funding_stale(self, ts: float) -> bool:
        return _inside(ts, self.config.stale_funding_windows)

    def mark_bad(self, ts: float, trading_pair: str) -> bool:
        pairs = self.config.bad_mark_pairs
        return _inside(ts, self.config.bad_mark_windows) and (not pairs or trading_pair in pairs)

    def reject(self, position_action: str = "NIL") -> bool:
        """One draw per order placement (of the targeted position actions)."""
        targeted = not self.config.reject_position_actions or position_action in self.config.reject_position_actions
        return targeted and self.config.reject_probability > 0 and self._rng.random() < self.config.reject_probability

    def partial(self) -> bool:
        """One draw per order, at its first fill."""
        return self.config.partial_fill_probability > 0 and self._rng.random() < self.config.partial_fill_probability


def _inside(ts: float, windows: tuple[Window, ...]) -> bool:
    if not windows:  # asked every tick; usually there are none
        return False
    return any(start <= ts < end for start, end in windows)
