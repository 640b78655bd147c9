"""Every decision, sizing and cost setting the edge engine consumes changes a decision (base vs one change).

Connector lists and quote assets are coupled by config validation (every connector needs a quote asset and
a perp a leverage), so those rows change the coupled fields together; every other row changes one field.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from edge_builders import (
    BINANCE,
    BYBIT,
    HOUR,
    HYPER,
    SPOT,
    T0,
    book,
    carry_settings,
    held,
    perp,
    settings,
    spot,
    tick,
)

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.decisions import EdgeEngine, TickDecision
from strategies.funding_arbitrage.core.snapshots import MarketKind, TickSnapshot

D = Decimal
Scenario = Callable[[FundingArbSettings], TickDecision]


def base(**kw: Any) -> FundingArbSettings:
    return settings(**{"max_break_even_hours": D("24"), **kw})


def carry_base(**kw: Any) -> FundingArbSettings:
    return carry_settings(**{"borrow_rates_apr_pct": {"USDT": D("300")}, **kw})


def wide(ts: float = T0, short_rate: str = "0.001", token: str = "BTC", **kw: Any) -> list[Any]:
    return [perp(BINANCE, "0.0001", token=token, ts=ts, **kw), perp(BYBIT, short_rate, token=token, ts=ts)]


def once(*markets: Any, held_pairs: tuple = ()) -> Scenario:
    return lambda s: EdgeEngine(s).evaluate(tick(T0, *markets), held_pairs)


def hourly_swings(s: FundingArbSettings) -> TickDecision:
    """Eight hours of +/-2 % moves give a realised hourly vol of about 2.1 %."""
    engine = EdgeEngine(s)
    decision = None
    for i in range(9):
        ts = T0 + i * HOUR
        mid = D("60000") if i % 2 else D("58800")
        decision = engine.evaluate(
            tick(ts, perp(BINANCE, "0.0001", mid=mid, ts=ts), perp(BYBIT, "0.001", mid=mid, ts=ts))
        )
    assert decision is not None
    return decision


def mean_reverting(**kw: Any) -> FundingArbSettings:
    return base(**{"funding_forecast": "mean_reverting", **kw})


def carry_tick() -> TickSnapshot:
    return tick(T0, perp(BINANCE, "0.0025"), perp(BYBIT, "0.0024"), spot())


def fingerprint(d: TickDecision) -> tuple[Any, ...]:
    """What was decided, without the figures behind it."""
    return (
        tuple((e.token, e.long_connector, e.short_connector, e.amount_base) for e in d.enters),
        tuple((c.key, c.reason) for c in d.candidates),
        tuple((s.token, s.long_connector, s.short_connector) for s in d.screened),
        tuple((x.pair_id, x.reason) for x in d.exits),
        tuple(sorted(d.skipped.items())),
    )


def switch_base(**kw: Any) -> FundingArbSettings:
    """Switching on with no margin, no minimum hold and no confirmation: a better pair is switched to at once."""
    zero = {"switch_uncertainty_z": D(0), "switch_min_hold_hours": D(0), "switch_confirm_hours": D(0)}
    return carry_settings(**{"switch_enabled": True, **zero, **kw})


HELD_CARRY = held(long_connector=SPOT, short_connector=BINANCE, long_kind=MarketKind.SPOT)
SWITCH_TO_BYBIT = once(perp(BINANCE, "0.00001"), perp(BYBIT, "0.01"), spot(), held_pairs=(HELD_CARRY,))
THIN = book(BYBIT, "BTC-USDT", size="0.005")
SPREAD_FALLS = [perp(BINANCE, "0.0001"), perp(BYBIT, "0.0003")]  # 21.9 % APR held spread
SPREAD_NEGATIVE = [perp(BINANCE, "0.001"), perp(BYBIT, "0.0001")]
THREE_VENUES = {
    "perp_connectors": [BINANCE, BYBIT, HYPER],
    "quote_assets": {BINANCE: "USDT", BYBIT: "USDT", HYPER: "USDT"},
    "leverage": {BINANCE: 3, BYBIT: 3, HYPER: 3},
}

ROWS: list[tuple[str, Callable[..., FundingArbSettings], dict[str, Any], Scenario]] = [
    ("order_amount_quote", base, {"order_amount_quote": D("500")}, once(*wide())),
    # max_token_exposure_quote: no row. The shell holds one pair per token and the engine costs no entry of a held
    # token, and order_amount_quote may not exceed it (config validation), so it never binds a decision of the
    # engine; it bounds order_amount_quote and the replay benchmarks' allocation (replay/allocation.py).
    (
        "max_venue_exposure_quote",
        base,
        {"max_venue_exposure_quote": D("1000")},
        once(*wide(), held_pairs=(held(token="ETH", notional="1000"),)),
    ),
    (
        "max_total_exposure_quote",
        base,
        {"max_total_exposure_quote": D("3000")},
        once(*wide(), held_pairs=(held(token="ETH", notional="2500"),)),
    ),
    (
        "max_book_depth_share_pct",
        base,
        {"max_book_depth_share_pct": D("10")},
        once(perp(BINANCE, "0.0001"), perp(BYBIT, "0.001", book_=THIN)),
    ),
    ("volatility_reference_pct", base, {"volatility_reference_pct": D("5")}, hourly_swings),
    ("holding_horizon_hours", base, {"holding_horizon_hours": D("24")}, once(*wide())),
    ("min_net_edge_pct", base, {"min_net_edge_pct": D("1.0")}, once(*wide())),
    ("max_break_even_hours", base, {"max_break_even_hours": D("12")}, once(*wide())),
    ("persistence_observations", base, {"persistence_observations": 2}, once(*wide())),
    ("exit_edge_apr_pct", base, {"exit_edge_apr_pct": D("-200")}, once(*SPREAD_NEGATIVE, held_pairs=(held(),))),
    ("exit_confirmations", base, {"exit_confirmations": 2}, once(*SPREAD_NEGATIVE, held_pairs=(held(),))),
    (
        "take_profit_pct",
        base,
        {"take_profit_pct": D("1.0")},
        once(*SPREAD_FALLS, held_pairs=(held(funding_received="15"),)),
    ),
    (
        "max_holding_hours",
        base,
        {"max_holding_hours": D("100")},
        once(*SPREAD_FALLS, held_pairs=(held(entry_ts=T0 - 200 * HOUR),)),
    ),
    ("exit_basis_pct", base, {"exit_basis_pct": D("1.0")}, once(*wide())),
    ("funding_forecast", base, {"funding_forecast": "mean_reverting"}, once(*wide())),
    ("entry_uncertainty_z", mean_reverting, {"entry_uncertainty_z": D("5")}, once(*wide(short_rate="0.005"))),
    (
        "exit_uncertainty_z",
        mean_reverting,
        {"exit_uncertainty_z": D("1")},
        once(*SPREAD_NEGATIVE, held_pairs=(held(),)),
    ),
    (
        "exit_forward_hours",
        lambda **kw: mean_reverting(**{"exit_uncertainty_z": D("1"), **kw}),
        {"exit_forward_hours": D("1")},
        once(*SPREAD_NEGATIVE, held_pairs=(held(),)),
    ),
    (
        "switch_enabled",
        lambda **kw: switch_base(**{"switch_enabled": False, **kw}),
        {"switch_enabled": True},
        SWITCH_TO_BYBIT,
    ),
    (
        "switch_uncertainty_z",
        lambda **kw: switch_base(**{"funding_forecast": "mean_reverting", **kw}),
        {"switch_uncertainty_z": D("5")},
        SWITCH_TO_BYBIT,
    ),
    ("switch_min_hold_hours", switch_base, {"switch_min_hold_hours": D("1")}, SWITCH_TO_BYBIT),
    ("switch_confirm_hours", switch_base, {"switch_confirm_hours": D("1")}, SWITCH_TO_BYBIT),
    (
        "stale_data_s",
        base,
        {"stale_data_s": 300},
        once(perp(BINANCE, "0.0001"), perp(BYBIT, "0.001", book_=book(BYBIT, "BTC-USDT", ts=T0 - 200))),
    ),
    (
        "funding_interval_hints_hours",
        base,
        {"funding_interval_hints_hours": {BINANCE: D("8"), BYBIT: D("1")}},
        once(*wide(short_rate="0.0002")),
    ),
    ("tokens", base, {"tokens": ["BTC", "ETH"]}, once(*wide(), *wide(token="ETH", short_rate="0.0015"))),
    (
        "spot_leg_borrows_quote",
        carry_base,
        {"spot_leg_borrows_quote": True},
        lambda s: EdgeEngine(s).evaluate(carry_tick()),
    ),
    (
        "borrow_rates_apr_pct",
        lambda **kw: carry_base(**{"spot_leg_borrows_quote": True, "borrow_rates_apr_pct": {"USDT": D("1")}, **kw}),
        {"borrow_rates_apr_pct": {"USDT": D("300")}},
        lambda s: EdgeEngine(s).evaluate(carry_tick()),
    ),
    (
        "quote_assets",
        lambda **kw: carry_base(
            **{
                "spot_leg_borrows_quote": True,
                "borrow_rates_apr_pct": {"USDT": D("1"), "FDUSD": D("300")},
                "quote_pegs": ["USDT", "FDUSD"],  # the changed config's FDUSD spot leg is declared 1:1
                **kw,
            }
        ),
        {"quote_assets": {BINANCE: "USDT", BYBIT: "USDT", SPOT: "FDUSD"}},
        lambda s: EdgeEngine(s).evaluate(carry_tick()),
    ),
    (
        "perp_connectors (with quote_assets, leverage)",
        base,
        THREE_VENUES,
        once(*wide(), perp(HYPER, "-0.0005")),
    ),
    (
        "spot_connectors (with quote_assets)",
        base,
        {
            "spot_connectors": [SPOT],
            "quote_assets": {BINANCE: "USDT", BYBIT: "USDT", SPOT: "USDT"},
            "total_capital_quote": D("20000"),
        },
        once(perp(BINANCE, "0.0025"), perp(BYBIT, "0.0024"), spot()),
    ),
]


@pytest.mark.parametrize(("field", "make", "change", "scenario"), ROWS, ids=[r[0] for r in ROWS])
def test_changing_the_field_changes_the_decision(
    field: str, make: Callable[..., FundingArbSettings], change: dict[str, Any], scenario: Scenario
) -> None:
    before = fingerprint(scenario(make()))
    after = fingerprint(scenario(make(**change)))

    assert before != after, f"{field} changed nothing"
