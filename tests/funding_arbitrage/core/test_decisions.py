"""decisions.py (EdgeEngine) and actions.py: persistence, exits, allocation within caps."""

from __future__ import annotations

from decimal import Decimal

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

from strategies.funding_arbitrage.core.decisions import (
    REVERSE_CARRY_UNSUPPORTED,
    EdgeEngine,
    ExitReason,
    Reason,
    TickDecision,
)
from strategies.funding_arbitrage.core.edge import OpportunityKind
from strategies.funding_arbitrage.core.snapshots import MarketKind, TickSnapshot

D = Decimal


def wide(ts: float = T0, token: str = "BTC", mid: str = "60000", short_rate: str = "0.001") -> TickSnapshot:
    """Binance 0.01 %/8h vs Bybit `short_rate`/8h: with the defaults an accepted perp-perp edge."""
    return tick(
        ts,
        perp(BINANCE, "0.0001", token=token, mid=mid, ts=ts),
        perp(BYBIT, short_rate, token=token, mid=mid, ts=ts),
    )


def run(engine: EdgeEngine, ticks: list[TickSnapshot], held_pairs: tuple = ()) -> list[TickDecision]:
    return [engine.evaluate(t, held_pairs) for t in ticks]


def test_entry_needs_consecutive_passing_evaluations() -> None:
    engine = EdgeEngine(settings(persistence_observations=3))

    decisions = run(engine, [wide(T0 + i) for i in range(3)])

    assert [len(d.enters) for d in decisions] == [0, 0, 1]
    assert decisions[0].candidates[0].reason is Reason.AWAITING_PERSISTENCE
    assert decisions[2].enters[0].edge.reason is Reason.ACCEPTED


def test_one_spike_does_not_open_and_a_broken_streak_restarts() -> None:
    engine = EdgeEngine(settings(persistence_observations=2))

    decisions = run(engine, [wide(T0), wide(T0 + 1, short_rate="0.0001"), wide(T0 + 2), wide(T0 + 3)])

    assert [len(d.enters) for d in decisions] == [0, 0, 0, 1]


def test_after_an_entry_the_pair_needs_a_fresh_streak() -> None:
    engine = EdgeEngine(settings(persistence_observations=2))

    decisions = run(engine, [wide(T0 + i) for i in range(4)])

    assert [len(d.enters) for d in decisions] == [0, 1, 0, 1]


def test_edge_decay_exits_only_after_exit_confirmations_ticks_below() -> None:
    engine = EdgeEngine(settings(exit_confirmations=3, exit_edge_apr_pct=D("-5")))
    pair = held()  # long binance, short bybit
    flat = [wide(T0 + i, short_rate="0.00005") for i in range(6)]  # spread APR -5.5 < -5: carry negative
    flat[2] = wide(T0 + 2, short_rate="0.0003")  # one tick back above: the count restarts

    decisions = run(engine, flat, (pair,))

    assert [len(d.exits) for d in decisions] == [0, 0, 0, 0, 0, 1]
    assert decisions[5].exits[0].reason is ExitReason.EDGE_DECAYED
    assert [h.below_exit_count for d in decisions for h in d.holds] == [1, 2, 0, 1, 2, 3]


def test_take_profit_counts_funding_and_pnl_net_of_the_exit_cost() -> None:
    engine = EdgeEngine(settings(take_profit_pct=D("1")))
    # exit of 0.016 BTC on both legs: fees 2 * 0.0005 * 960 = 0.96, slippage 2 * 0.5 * 0.016 = 0.016
    just_below = held(notional="960", funding_received="9.5", pnl="0.05")  # 9.55 - 0.976 < 9.6
    reached = held(notional="960", funding_received="9.5", pnl="1.1")  # 10.6 - 0.976 >= 9.6
    unknown_pnl = held(notional="960", funding_received="50", pnl=None)

    decisions = [engine.evaluate(wide(T0), (p,)) for p in (just_below, reached, unknown_pnl)]

    assert decisions[0].exits == ()
    assert decisions[0].holds[0].exit_cost_quote == D("0.976")
    assert decisions[1].exits[0].reason is ExitReason.TAKE_PROFIT
    assert decisions[2].exits == () and decisions[2].holds[0].take_profit_value_quote is None


def test_max_holding_closes_even_without_market_data() -> None:
    engine = EdgeEngine(settings(max_holding_hours=D("100")))
    old = held(entry_ts=T0 - 100 * HOUR)

    decision = engine.evaluate(tick(T0), (old,))

    assert decision.exits[0].reason is ExitReason.MAX_HOLDING


def test_best_venue_pair_per_token_is_chosen() -> None:
    s = settings(
        perp_connectors=[BINANCE, BYBIT, HYPER],
        quote_assets={BINANCE: "USDT", BYBIT: "USDT", HYPER: "USDT"},
        leverage={BINANCE: 3, BYBIT: 3, HYPER: 3},
    )
    engine = EdgeEngine(s)

    decision = engine.evaluate(tick(T0, perp(BINANCE, "0.0002"), perp(BYBIT, "0.0009"), perp(HYPER, "-0.0001")))

    assert len(decision.enters) == 1
    e = decision.enters[0]
    assert (e.long_connector, e.short_connector) == (HYPER, BYBIT)  # lowest hourly rate long, highest short


def test_capital_goes_to_the_larger_net_edge_first_within_the_total_cap() -> None:
    s = settings(tokens=["BTC", "ETH"], max_total_exposure_quote=D("1000"), max_token_exposure_quote=D("1000"))
    engine = EdgeEngine(s)
    t = tick(
        T0,
        *wide(T0, "BTC", short_rate="0.0008").markets,
        *wide(T0, "ETH", mid="3000", short_rate="0.0015").markets,
    )

    decision = engine.evaluate(t)

    assert [e.token for e in decision.enters] == ["ETH"]
    btc = next(c for c in decision.candidates if c.token == "BTC")
    assert btc.reason is Reason.TOTAL_CAP


def test_held_positions_count_against_the_venue_cap() -> None:
    engine = EdgeEngine(settings(tokens=["BTC", "ETH"], max_venue_exposure_quote=D("1500")))

    decision = engine.evaluate(wide(T0), (held(token="ETH", notional="1000"),))

    assert len(decision.enters) == 1
    assert decision.enters[0].notional_quote <= D("500")  # resized to the headroom
    assert "resized" in decision.enters[0].edge.detail


def test_a_full_venue_blocks_entry_with_the_venue_cap_reason() -> None:
    engine = EdgeEngine(settings(tokens=["BTC", "ETH"], max_venue_exposure_quote=D("1000")))

    decision = engine.evaluate(wide(T0, "BTC"), (held(token="ETH", notional="1000"),))

    assert decision.enters == ()
    assert decision.candidates[0].reason is Reason.VENUE_CAP


def test_a_held_token_is_not_costed_for_entry_but_its_pair_is_still_reviewed() -> None:
    """One pair per token (the shell drops any entry of a held token): its candidates are not costed, so they neither
    flood the decision nor break a pair's persistence streak; the held pair's hold review still runs."""
    engine = EdgeEngine(settings(tokens=["BTC", "ETH"], persistence_observations=2, max_token_exposure_quote=D("5000")))
    btc_held = held(notional="960")  # far below the token cap: the caps alone would allow a second BTC pair

    decisions = [
        engine.evaluate(tick(T0 + i, *wide(T0 + i).markets, *wide(T0 + i, "ETH", mid="3000").markets), (btc_held,))
        for i in range(3)
    ]

    assert all(c.token == "ETH" for d in decisions for c in d.candidates)
    assert all(e.token == "ETH" for d in decisions for e in d.enters)
    assert [len(d.enters) for d in decisions] == [0, 1, 0]  # ETH's streak is its own
    assert all([h.pair_id for h in d.holds] == ["p1"] for d in decisions)
    assert all(d.holds[0].exit_cost_quote is not None for d in decisions)


def test_a_held_token_enters_again_after_its_pair_is_gone_with_a_fresh_streak() -> None:
    engine = EdgeEngine(settings(persistence_observations=2))

    held_then_flat = [(held(),), (held(),), (), (), ()]
    decisions = [engine.evaluate(wide(T0 + i), h) for i, h in enumerate(held_then_flat)]

    assert [len(d.enters) for d in decisions] == [0, 0, 0, 1, 0]


def test_with_switching_a_held_tokens_pairs_are_costed_but_never_entered() -> None:
    """The switch rule compares a held pair with its token's other pairs, so they are costed; an entry waits until
    the held pair is gone (the shell holds one pair per token)."""
    engine = EdgeEngine(settings(switch_enabled=True))
    reversed_hold = held(long_connector=BYBIT, short_connector=BINANCE)

    decision = engine.evaluate(wide(T0), (reversed_hold,))

    assert decision.enters == ()
    assert decision.candidates[0].reason is Reason.CONFLICTS_WITH_HELD
    assert "one pair per token" in decision.candidates[0].detail


def test_carry_pair_enters_as_long_spot_short_perp() -> None:
    engine = EdgeEngine(carry_settings())

    decision = engine.evaluate(tick(T0, perp(BINANCE, "0.0025"), perp(BYBIT, "0.0024"), spot()))

    e = decision.enters[0]
    assert (e.kind, e.long_kind, e.long_connector, e.short_connector) == (
        OpportunityKind.CARRY,
        MarketKind.SPOT,
        SPOT,
        BINANCE,
    )


def test_negative_funding_never_fakes_a_reverse_carry() -> None:
    engine = EdgeEngine(
        carry_settings(
            perp_connectors=[BINANCE],
            quote_assets={BINANCE: "USDT", SPOT: "USDT"},
            leverage={BINANCE: 3},
            funding_interval_hints_hours={BINANCE: D("8")},
        )
    )

    decision = engine.evaluate(tick(T0, perp(BINANCE, "-0.003"), spot()))

    assert decision.enters == () and decision.candidates == ()
    assert decision.screened[0].long_connector == SPOT  # only long spot / short perp exists
    assert "reverse carry" in REVERSE_CARRY_UNSUPPORTED


def test_the_screen_reports_the_best_rejected_pair_per_token() -> None:
    engine = EdgeEngine(settings())

    decision = engine.evaluate(wide(T0, short_rate="0.00015"))

    assert decision.candidates == ()
    s = decision.screened[0]
    assert (s.long_connector, s.short_connector, s.reason) == (
        BINANCE,
        BYBIT,
        Reason.FUNDING_BELOW_COST_FLOOR,
    )
    assert s.upper_bound_pct < D("0.10") and decision.screened_out == 1


def test_screen_never_rejects_what_the_full_evaluation_would_accept() -> None:
    """Right at the threshold the bound passes the pair on to the full evaluation."""
    for short_rate in ("0.00040", "0.00042", "0.00044", "0.00046", "0.00048"):
        engine = EdgeEngine(settings())
        d = engine.evaluate(wide(T0, short_rate=short_rate))
        for s in d.screened:
            assert s.upper_bound_pct < D("0.10")
        for c in d.candidates:
            assert c.reason in (Reason.ACCEPTED, Reason.EDGE_BELOW_MIN, Reason.BREAK_EVEN_TOO_LONG)


def test_a_thin_book_scales_the_entry_to_its_depth_share() -> None:
    engine = EdgeEngine(settings(max_book_depth_share_pct=D("10")))
    thin = book(BYBIT, "BTC-USDT", size="0.005")  # 20 levels x 0.005 = 0.1 BTC; 10 % = 0.01 BTC

    decision = engine.evaluate(tick(T0, perp(BINANCE, "0.0001"), perp(BYBIT, "0.001", book_=thin)))

    e = decision.enters[0]
    assert e.amount_base == D("0.01") and e.edge.size is not None and e.edge.size.liquidity_multiplier < 1
