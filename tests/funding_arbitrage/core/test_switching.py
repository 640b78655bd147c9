"""The switch rule: a held pair is closed for a better one only when the gain pays the whole switch (costs from the
books, margin in std errors of both forecasts), after the minimum hold and a confirmed gain; never back on a brief
reversal."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from edge_builders import BINANCE, BYBIT, HOUR, SPOT, T0, carry_settings, held, perp, spot, tick
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.actions import HeldPair
from strategies.funding_arbitrage.core.candidates import EngineParams, TickScratch
from strategies.funding_arbitrage.core.costs import exit_cost
from strategies.funding_arbitrage.core.decisions import EdgeEngine, ExitReason, Reason
from strategies.funding_arbitrage.core.forecast import PERSISTENT, forecast
from strategies.funding_arbitrage.core.holding import ForwardValue
from strategies.funding_arbitrage.core.market_data import MarketIntake
from strategies.funding_arbitrage.core.snapshots import MarketKind, TickSnapshot
from strategies.funding_arbitrage.core.switching import SwitchMonitor, SwitchOption, SwitchParams

CARRY_A = (SPOT, BINANCE)  # long binance spot, short binance perp
CARRY_B = (SPOT, BYBIT)


def switch_settings(**kw: Any) -> Any:
    base: dict[str, Any] = {
        "switch_enabled": True,
        "switch_uncertainty_z": D(0),
        "switch_min_hold_hours": D(2),
        "switch_confirm_hours": D(2),
        "exit_confirmations": 3,  # the hold rule ignores a dip of fewer ticks
    }
    base.update(kw)
    return carry_settings(**base)


def carry_held(short: str = BINANCE, entry_ts: float = T0, pair_id: str = "a") -> HeldPair:
    return held(pair_id, SPOT, short, amount="0.016", entry_ts=entry_ts, notional="960", long_kind=MarketKind.SPOT)


def market(ts: float, binance_rate: str, bybit_rate: str) -> TickSnapshot:
    """Both perps settle every 8 h (at T0 + 8 h, + 16 h, ...), the rate shown is the coming settlement's."""
    nf = T0 + 8 * HOUR * (int((ts - T0) // (8 * HOUR)) + 1)
    return tick(
        ts,
        perp(BINANCE, binance_rate, ts=ts, next_funding_ts=nf),
        perp(BYBIT, bybit_rate, ts=ts, next_funding_ts=nf),
        spot(ts=ts),
    )


def switch_exits(decision: Any) -> list[Any]:
    return [x for x in decision.exits if x.reason is ExitReason.SWITCH]


class Shell:
    """Executes decisions the way the runtime does: one pair per token, an exit completes at the next tick, an
    entry opens at once at the engine's size."""

    def __init__(self, engine: EdgeEngine, start: HeldPair) -> None:
        self.engine, self.held, self.closing = engine, [start], set[str]()
        self.switches: list[tuple[float, str]] = []
        self.entries: list[tuple[float, tuple[str, str]]] = []

    def step(self, snapshot: TickSnapshot) -> None:
        self.held = [h for h in self.held if h.pair_id not in self.closing]  # last tick's exit is done
        self.closing = set()
        decision = self.engine.evaluate(snapshot, tuple(self.held))
        for x in decision.exits:
            self.closing.add(x.pair_id)
            if x.reason is ExitReason.SWITCH:
                self.switches.append((snapshot.ts, x.pair_id))
        if self.held:
            return  # the token is busy until the exit completes
        for e in decision.enters:
            pid = f"p{len(self.entries)}"
            self.entries.append((snapshot.ts, (e.long_connector, e.short_connector)))
            self.held.append(
                HeldPair(
                    pid,
                    e.token,
                    e.long_connector,
                    e.long_pair,
                    e.long_kind,
                    e.short_connector,
                    e.short_pair,
                    e.amount_base,
                    snapshot.ts,
                    e.notional_quote,
                    D(0),
                    D(0),
                )
            )


def test_funding_moves_from_a_to_b_the_engine_switches_once_and_not_back_on_a_brief_reversal() -> None:
    shell = Shell(EdgeEngine(switch_settings()), carry_held(BINANCE))
    ts = T0
    for _ in range(3):  # both venues pay the same: A is held
        shell.step(market(ts, "0.0004", "0.0004"))
        ts += HOUR
    for _ in range(6):  # funding moves to bybit: the gain pays the switch, confirmed over 2 h
        shell.step(market(ts, "0.00001", "0.002"))
        ts += HOUR
    assert [pid for _, pid in shell.switches] == ["a"]
    assert [pair[1] for _, pair in shell.entries] == [BYBIT]  # the new pair shorts the venue that pays now
    entries = list(shell.entries)
    shell.step(market(ts, "0.002", "0.00001"))  # one hour back on binance (shorter than the confirmation)
    ts += HOUR
    for _ in range(6):
        shell.step(market(ts, "0.00001", "0.002"))
        ts += HOUR

    assert len(shell.switches) == 1
    assert shell.entries == entries
    switch_ts = shell.switches[0][0]
    assert switch_ts >= T0 + 3 * HOUR + 2 * HOUR  # confirmed for switch_confirm_hours after the move


def test_a_pair_is_never_switched_out_before_the_minimum_hold() -> None:
    engine = EdgeEngine(switch_settings(switch_confirm_hours=D(0), switch_min_hold_hours=D(5)))
    pair = carry_held(BINANCE)
    exits = [switch_exits(engine.evaluate(market(T0 + i * HOUR, "0.00001", "0.002"), (pair,))) for i in range(7)]

    assert [i for i, e in enumerate(exits) if e] == [5, 6]


def test_a_dip_shorter_than_the_confirmation_never_switches() -> None:
    engine = EdgeEngine(switch_settings(switch_min_hold_hours=D(0), switch_confirm_hours=D(3)))
    pair = carry_held(BINANCE)
    rates = ["0.0004", "0.00001", "0.00001", "0.0004", "0.00001", "0.00001", "0.00001", "0.0004"]  # short dips
    decisions = [engine.evaluate(market(T0 + i * HOUR, r, "0.0006"), (pair,)) for i, r in enumerate(rates)]

    assert [i for i, d in enumerate(decisions) if switch_exits(d)] == []  # the second dip lasts 3 ticks = 2 h
    assert all(d.exits == () for d in decisions)  # and the hold rule ignores the dips too


def test_switching_disabled_never_switches() -> None:
    engine = EdgeEngine(switch_settings(switch_enabled=False, switch_confirm_hours=D(0), switch_min_hold_hours=D(0)))
    pair = carry_held(BINANCE)
    decisions = [engine.evaluate(market(T0 + i * HOUR, "0.00001", "0.002"), (pair,)) for i in range(3)]

    assert all(switch_exits(d) == [] for d in decisions)


def test_the_pair_switched_out_is_not_re_entered_while_its_replacement_is_on_offer() -> None:
    engine = EdgeEngine(switch_settings(switch_confirm_hours=D(0), switch_min_hold_hours=D(0)))
    pair = carry_held(BINANCE)
    first = engine.evaluate(market(T0, "0.0008", "0.002"), (pair,))
    assert [x.detail.split(":")[0] for x in switch_exits(first)] == ["switch to binance/bybit_perpetual BTC"]
    later = engine.evaluate(market(T0 + HOUR, "0.0025", "0.002"), ())  # A now ranks first as a fresh entry

    assert [(e.long_connector, e.short_connector) for e in later.enters] == [CARRY_B]
    a = next(r for r in later.candidates if (r.long_connector, r.short_connector) == CARRY_A)
    assert a.reason is Reason.NOT_BEST_FOR_TOKEN and "switched out" in a.detail


def test_capital_binding_switches_to_another_token() -> None:
    s = switch_settings(
        tokens=["BTC", "ETH"],
        max_total_exposure_quote=D(1000),
        max_token_exposure_quote=D(1000),
        max_venue_exposure_quote=D(1000),
        switch_confirm_hours=D(0),
        switch_min_hold_hours=D(0),
    )
    engine = EdgeEngine(s)
    btc = carry_held(BINANCE)
    eth = [perp(BINANCE, "0.002", token="ETH", mid="3000"), spot(token="ETH", mid="3000")]
    snap = tick(T0, perp(BINANCE, "0.00001"), perp(BYBIT, "0.00001"), spot(), *eth)

    decision = engine.evaluate(snap, (btc,))

    eth_result = next(r for r in decision.candidates if r.token == "ETH")
    assert eth_result.reason in (Reason.TOTAL_CAP, Reason.VENUE_CAP)  # capital binds
    assert [(x.pair_id, x.reason) for x in decision.exits] == [("a", ExitReason.SWITCH)]


# --- the rule against the books (Hypothesis) --------------------------------------------------------------------
def expected_gain(s: Any, snapshot: TickSnapshot, pair: HeldPair, new: Any) -> D:
    """The switch gain computed independently: the held pair's exit on the books, its carry over the new pair's
    horizon (persistent forecast), the new pair's net scaled to the held notional."""
    p = EngineParams.from_settings(s)
    scratch = TickScratch(snapshot.ts, {}, p, lambda _k: None)
    intake = MarketIntake(s, EdgeEngine(s).intervals, EdgeEngine(s).volatility)
    _, by_key = intake.intake(snapshot, scratch.skipped)
    long, short = by_key[(SPOT, "BTC-USDT")], by_key[(pair.short_connector, "BTC-USDT")]
    closing = exit_cost(scratch.leg(long), scratch.leg(short), pair.amount_base)
    cost = sum((c.fee_quote + c.slippage_quote for c in closing), D(0))  # type: ignore[union-attr]
    notional = pair.amount_base * short.mark
    fc = forecast(PERSISTENT, short.rate_per_hour, new.horizon_hours)  # type: ignore[arg-type]
    carry = ForwardValue.of(fc, notional, D(0)).carry_quote
    k = min(new.size.notional_quote, notional) / new.size.notional_quote
    return new.net_edge_quote * k - carry - cost  # z = 0 and no uncertainty in the persistent forecast


PASSED_ENTRY_RULES = {  # verdicts a passing candidate can end with after the allocation
    Reason.ACCEPTED,
    Reason.AWAITING_PERSISTENCE,
    Reason.TOKEN_CAP,
    Reason.VENUE_CAP,
    Reason.TOTAL_CAP,
    Reason.NOT_BEST_FOR_TOKEN,
    Reason.CONFLICTS_WITH_HELD,
}


@settings(max_examples=40, deadline=None)
@given(
    held_rate=st.decimals(D("0.00001"), D("0.0008"), places=6),
    new_rate=st.decimals(D("0.0001"), D("0.003"), places=6),
)
def test_switches_exactly_when_the_gain_pays_the_switch_on_the_books(held_rate: D, new_rate: D) -> None:
    """Never when the best gain (books, persistent forecast, z = 0) is <= 0; always when it is > 0."""
    s = switch_settings(switch_confirm_hours=D(0), switch_min_hold_hours=D(0))
    engine = EdgeEngine(s)
    pair = carry_held(BINANCE)
    snapshot = market(T0, str(held_rate), str(new_rate))

    decision = engine.evaluate(snapshot, (pair,))

    offers = [
        r
        for r in decision.candidates
        if r.reason in PASSED_ENTRY_RULES and r.key != pair.key and r.net_edge_quote is not None
    ]
    gains = [expected_gain(s, snapshot, pair, r) for r in offers]
    switched = bool(switch_exits(decision))
    if not gains or max(gains) <= 0:
        assert not switched
    elif max(gains) > D("0.0001"):
        assert switched


@settings(max_examples=200, deadline=None)
@given(
    gains=st.lists(st.one_of(st.none(), st.decimals(D("0.01"), D(10), places=2)), min_size=1, max_size=30),
    confirm_ticks=st.integers(0, 6),
    min_hold_ticks=st.integers(0, 6),
)
def test_the_monitor_switches_only_after_the_minimum_hold_and_an_unbroken_confirmation(
    gains: list[D | None], confirm_ticks: int, min_hold_ticks: int
) -> None:
    params = SwitchParams(True, D(0), float(min_hold_ticks * HOUR), float(confirm_ticks * HOUR))
    monitor, pair = SwitchMonitor(), carry_held(BINANCE)
    run = 0
    for i, gain in enumerate(gains):
        ts = T0 + i * HOUR
        options = {} if gain is None else {"a": SwitchOption("a", "BTC", ("BTC", SPOT, BYBIT), gain, "")}
        due = monitor.step(ts, params, [pair], options)
        run = 0 if gain is None else run + 1
        assert bool(due) == (gain is not None and i >= min_hold_ticks and run - 1 >= confirm_ticks)
