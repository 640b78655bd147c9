"""Hold review memos (core/review.py): a held pair's forecast and take-profit line are reused only while every input
they depend on is the same; a change of any one is re-done on that tick, and reviews equal an engine without memos."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from edge_builders import BINANCE, BYBIT, T0, held, perp, settings, tick
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.actions import HeldPair
from strategies.funding_arbitrage.core.candidates import EngineParams
from strategies.funding_arbitrage.core.decisions import EdgeEngine
from strategies.funding_arbitrage.core.forecast import FundingForecaster
from strategies.funding_arbitrage.core.holding import ForwardValue
from strategies.funding_arbitrage.core.review import forward_value
from strategies.funding_arbitrage.core.snapshots import TickSnapshot

D = Decimal
NEXT = int(T0) + 3600


def pair_tick(ts: float, long_rate: str = "0.0001", short_rate: str = "0.001", next_ts: int = NEXT, mid: str = "60000"):
    return tick(
        ts,
        perp(BINANCE, long_rate, mid=mid, next_funding_ts=next_ts, ts=ts),
        perp(BYBIT, short_rate, mid=mid, next_funding_ts=next_ts, ts=ts),
    )


@pytest.fixture
def forecasts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The inputs of every forward forecast the engine asks for (the work the per-pair memo saves)."""
    calls: list[tuple[Any, ...]] = []
    real = FundingForecaster.forward

    def counting(self: FundingForecaster, *args: Any) -> Any:
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(FundingForecaster, "forward", counting)
    return calls


def _apr(engine: EdgeEngine, t: TickSnapshot, pair: HeldPair) -> Decimal | None:
    return engine.evaluate(t, (pair,)).holds[0].forward_edge_apr_pct


def test_an_unchanged_forecast_is_reused_while_the_mid_moves(forecasts: list[tuple[Any, ...]]) -> None:
    engine = EdgeEngine(settings(funding_forecast="mean_reverting"))
    first = _apr(engine, pair_tick(T0), held())
    later = [_apr(engine, pair_tick(T0 + 60 * i, mid=str(60000 + 7 * i)), held()) for i in range(1, 4)]

    assert len(forecasts) == 1
    assert later == [first] * 3


CHANGES: list[tuple[str, Any]] = [
    ("short rate", lambda e: _apr(e, pair_tick(T0 + 60, short_rate="0.0011"), held())),
    ("long rate", lambda e: _apr(e, pair_tick(T0 + 60, long_rate="0.0002"), held())),
    ("settlement recorded", lambda e: _apr(e, pair_tick(NEXT + 60, next_ts=NEXT + 8 * 3600), held())),
    ("legs", lambda e: _apr(e, pair_tick(T0 + 60), held(long_connector=BYBIT, short_connector=BINANCE))),
    (
        "horizon",
        lambda e: (
            e.reconfigure(settings(funding_forecast="mean_reverting", exit_forward_hours=12)),
            _apr(e, pair_tick(T0 + 60), held()),
        ),
    ),
    (
        "forecaster",
        lambda e: (e.reconfigure(settings(funding_forecast="persistent")), _apr(e, pair_tick(T0 + 60), held())),
    ),
    (
        "exit z",
        lambda e: (
            e.reconfigure(settings(funding_forecast="mean_reverting", exit_uncertainty_z=1)),
            _apr(e, pair_tick(T0 + 60), held()),
        ),
    ),
]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_change_of_any_input_of_the_forecast_asks_for_it_again(forecasts: list[tuple[Any, ...]], change: Any) -> None:
    engine = EdgeEngine(settings(funding_forecast="mean_reverting"))
    _apr(engine, pair_tick(T0), held())
    assert len(forecasts) == 1

    change(engine)

    assert len(forecasts) == 2


def test_a_settlement_passing_is_recorded_and_the_review_still_has_a_forecast() -> None:
    engine = EdgeEngine(settings(funding_forecast="mean_reverting"))
    _apr(engine, pair_tick(T0), held())

    assert _apr(engine, pair_tick(NEXT + 60, next_ts=NEXT + 8 * 3600), held()) is not None
    assert engine.forecaster.recorded((BYBIT, "BTC-USDT")) == 1


def test_a_changed_exit_z_changes_the_reviewed_forward_apr() -> None:
    engine = EdgeEngine(settings(funding_forecast="mean_reverting"))
    before = _apr(engine, pair_tick(T0), held())
    engine.reconfigure(settings(funding_forecast="mean_reverting", exit_uncertainty_z=2))

    assert _apr(engine, pair_tick(T0 + 60), held()) != before


def _without_memos(engine: EdgeEngine) -> EdgeEngine:
    """The engine's reviewer with both memos replaced by the plain computations (the reference)."""
    reviewer: Any = engine._reviewer

    def plain_forward(
        forecaster: FundingForecaster, p: EngineParams, pair: HeldPair, long: Any, short: Any
    ) -> ForwardValue | None:
        return forward_value(forecaster, p, pair, long, short)

    def plain_cost_decides(pair: HeldPair, value: ForwardValue | None, p: EngineParams) -> bool:
        if value is not None and value.carry_quote + p.exit_z * value.sd_quote < 0:
            return True
        funding, pnl = pair.funding_received_quote, pair.unrealized_pnl_quote
        if funding is None or pnl is None:
            return False
        return funding + pnl >= p.take_profit_pct / 100 * pair.entry_notional_quote

    reviewer._forward_value = plain_forward
    reviewer._cost_decides = plain_cost_decides
    return engine


step = st.tuples(
    st.sampled_from(["0.0001", "0.0002", "-0.0003"]),  # long rate
    st.sampled_from(["0.001", "0.0011", "-0.002", "0.00005"]),  # short rate
    st.sampled_from([60, 60, 1800, 4 * 3600]),  # seconds since the previous tick (8 h settlements pass)
    st.integers(-900, 900),  # mid offset (quote)
    st.sampled_from(["0.016", "0.02"]),  # amount held
    st.sampled_from(["960", "1200"]),  # entry notional
    st.sampled_from(["0", "20", "60"]),  # funding received
)


@hsettings(max_examples=40, deadline=None)
@given(st.lists(step, min_size=1, max_size=12), st.sampled_from(["mean_reverting", "persistent"]))
def test_reviews_equal_those_of_an_engine_without_memos(steps: list[tuple[Any, ...]], model: str) -> None:
    s = settings(funding_forecast=model, exit_uncertainty_z=1, take_profit_pct=D("3"))
    memo, plain = EdgeEngine(s), _without_memos(EdgeEngine(s))
    ts = T0
    for long_rate, short_rate, gap_s, offset, amount, notional, funding in steps:
        ts += gap_s
        next_ts = NEXT + 8 * 3600 * ((int(ts) - NEXT) // (8 * 3600) + 1) if ts >= NEXT else NEXT
        t = pair_tick(ts, long_rate, short_rate, next_ts, str(60000 + offset))
        pair = held(amount=amount, notional=notional, funding_received=funding, pnl=str(offset / 100))
        a, b = memo.evaluate(t, (pair,)), plain.evaluate(t, (pair,))

        assert a.holds == b.holds
        assert a.exits == b.exits


def test_take_profits_line_follows_the_entry_notional_and_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line (take_profit_pct % of the entry notional) is kept per pair: a new notional or setting moves it at once
    (funding + PnL at the old line: below the new one the last exit cost is reused, at it the cost is live)."""
    from strategies.funding_arbitrage.core import review

    costed: list[Decimal] = []
    real = review.exit_cost
    monkeypatch.setattr(
        review, "exit_cost", lambda long, short, amount: costed.append(amount) or real(long, short, amount)
    )
    s = settings()
    just_above = str(s.take_profit_pct / 100 * D("960") + D("0.01"))
    engine = EdgeEngine(s)
    engine.evaluate(pair_tick(T0), (held(notional="960"),))
    assert len(costed) == 1

    engine.evaluate(pair_tick(T0 + 60), (held(notional="1920", funding_received=just_above),))
    assert len(costed) == 1  # below the doubled notional's line: reused
    engine.evaluate(pair_tick(T0 + 120), (held(notional="960", funding_received=just_above),))
    assert len(costed) == 2  # at the original line: live
    engine.reconfigure(settings(take_profit_pct=s.take_profit_pct * 2))  # (costs are forgotten on a change)
    engine.evaluate(pair_tick(T0 + 180), (held(notional="960"),))
    engine.evaluate(pair_tick(T0 + 240), (held(notional="960", funding_received=just_above),))
    assert len(costed) == 3  # below the doubled setting's line: reused


def test_the_forecasters_revision_grows_exactly_when_a_settlement_is_recorded() -> None:
    f = FundingForecaster()
    a, b = (BINANCE, "BTC-USDT"), (BYBIT, "BTC-USDT")
    f.observe(a, NEXT, D("0.0001"))
    f.observe(b, NEXT, D("0.0002"))
    f.observe(a, NEXT, D("0.00011"))  # the same settlement, a new predicted rate: nothing recorded
    assert f.revision == 0

    f.observe(a, NEXT + 8 * 3600, D("0.0001"))  # a's settlement passed
    assert (f.revision, f.recorded(a), f.recorded(b)) == (1, 1, 0)
    f.observe(b, NEXT + 8 * 3600, D("0.0001"))
    assert (f.revision, f.recorded(b)) == (2, 1)
