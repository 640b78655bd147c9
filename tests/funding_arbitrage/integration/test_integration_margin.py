"""The runtime's margin model against the simulated venue's own margin book, through a restart.

The runtime models each perp leg's isolated margin as the venue holds it (|amount| x entry / leverage at the current
size) and keeps it in the state file; a restart recovers the leverage held markets were margined at from it, so the
model still equals the venue's margin (`margin_info`) and its liquidation price after the restart.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    PERPS,
    D,
    SimRun,
    add_strategy,
    first_record,
    make_env,
    perp_settings,
    run_async,
)

from strategies.funding_arbitrage.core.margin import estimate_liquidation_price
from strategies.funding_arbitrage.shell.state import PairState

PAIR = "BTC-USDT"


def _vol_settings(state: Path) -> dict[str, Any]:
    return perp_settings(
        state,
        leverage={BINANCE: 5, BYBIT: 5},
        leverage_mode="volatility",
        liquidation_distance_vol_multiple=D(4),
        leverage_vol_horizon_hours=D(24),
        leverage_recheck_s=60,
        min_liquidation_distance_pct=D(2),
    )


def _seed(run: SimRun, end_ts: float, swing: str) -> None:
    """73 hourly prices on both BTC perps, alternating +/- `swing` around 80 000 (as test_integration_leverage)."""
    tracker = run.runtime.engine.volatility
    for c in PERPS:
        tracker.forget((c, PAIR))
        for i in range(73):
            tracker.observe((c, PAIR), end_ts - (72 - i) * HOUR, D(80000) * (1 + D(swing) * (-1) ** i))


def _model_vs_venue(run: SimRun) -> list[tuple[Decimal, Decimal, Decimal | None, Decimal | None]]:
    """(model margin, venue margin, model liquidation, venue liquidation) of every perp leg of the first pair."""
    r, out = first_record(run), []
    for leg in r.legs():
        info = run.env.connectors[leg.connector].margin_info(PAIR)
        table = run.runtime.risk.brackets.resolve(leg.connector, "BTC", "USDT")
        entry = leg.avg_entry_price
        assert entry is not None
        model_liq = estimate_liquidation_price(leg.filled_base, entry, leg.margin_quote, table)
        out.append((leg.margin_quote, info["position_margin_quote"], model_liq, info["liquidation_price"]))
    return out


def _assert_equal(rows: list[tuple[Decimal, Decimal, Decimal | None, Decimal | None]]) -> None:
    for model_margin, venue_margin, model_liq, venue_liq in rows:
        assert abs(model_margin - venue_margin) <= venue_margin * D("1e-20")
        assert model_liq is not None and venue_liq is not None
        assert abs(model_liq - venue_liq) <= venue_liq * D("1e-20")


def test_after_a_lowered_leverage_and_a_restart_the_model_margin_is_the_venue_margin(
    cross_venue: Any, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            first = add_strategy(env, _vol_settings(state))
            _seed(first, BTC_START - 60, "0.0005")  # calm: enters at the 5x cap
            await first.run_until(
                env.end_ts, stop=lambda ts: bool(first.records) and first_record(first).state is PairState.HEDGED
            )
            await first.run_until(env.now + 60)  # one tick: the runtime models the hedged legs
            _assert_equal(_model_vs_venue(first))
            _seed(first, env.now - 60, "0.0075")  # volatile: the guard lowers both legs to 3x (the venue adds margin)
            await first.run_until(env.now + 5 * 60)
            assert {c: env.connectors[c].get_leverage(PAIR) for c in PERPS} == {BINANCE: 3, BYBIT: 3}
            _assert_equal(_model_vs_venue(first))
            await first.stop_instance()

            second = add_strategy(env, _vol_settings(state))  # a new instance reads the state file
            _seed(second, env.now - 60, "0.0075")
            await second.run_until(env.now + 2 * 60)
            assert first_record(second).state is PairState.HEDGED
            assert {m[0]: v for m, v in second.runtime.leverage_ctl.current.items()} == {BINANCE: 3, BYBIT: 3}
            _assert_equal(_model_vs_venue(second))  # restored from the state file, not the 5x maximum
            second.events.detach()
        finally:
            env.close()

    run_async(body)


def _kill(run: SimRun) -> None:
    """`kill -9`: off the clock and deaf to the venues WITHOUT `on_stop` (the state file is what the last change
    wrote), as test_integration_recovery."""
    run.env.clock.remove_iterator(run.strategy)
    run.strategy.remove_markets(list(run.env.connectors.values()))
    run.events.detach()


def test_a_restart_right_after_a_cut_recovers_the_leverage_the_legs_hold(cross_venue: Any, tmp_path: Path) -> None:
    """Lowered to 3x, then half the pair is cut and the process is killed as soon as the cut has filled, before the
    runtime saves the margin of the smaller legs: the restart still reads 3x (each leg's saved `leverage`), so the
    model's margin and liquidation price equal the venue's; cost / saved margin would read 1.5 -> 2x."""
    state = tmp_path / "s.json"

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=3)
        try:
            first = add_strategy(env, _vol_settings(state))
            _seed(first, BTC_START - 60, "0.0005")  # calm: enters at the 5x cap
            await first.run_until(
                env.end_ts, stop=lambda ts: bool(first.records) and first_record(first).state is PairState.HEDGED
            )
            _seed(first, env.now, "0.0075")  # volatile: the guard lowers both legs to 3x (the venue adds margin)
            await first.run_until(env.now + 5 * 60)
            assert {c: env.connectors[c].get_leverage(PAIR) for c in PERPS} == {BINANCE: 3, BYBIT: 3}
            r = first_record(first)
            held = abs(r.short.filled_base)
            first.runtime.executor.reduce_pair(r, env.now, D("0.5"), "test: a partial cut")
            await first.run_until(env.end_ts, stop=lambda ts: abs(first_record(first).short.filled_base) < held)
            _kill(first)
            saved = json.loads(state.read_text())["pairs"][0]["short"]
            assert D(saved["cost_quote"]) / D(saved["margin_quote"]) < D("2.5")  # the saved margin predates the cut

            second = add_strategy(env, _vol_settings(state))  # a new instance reads the state file
            _seed(second, env.now, "0.0075")
            await second.run_until(env.now + 2 * 60)

            assert first_record(second).state is PairState.HEDGED
            assert {m[0]: v for m, v in second.runtime.leverage_ctl.current.items()} == {BINANCE: 3, BYBIT: 3}
            _assert_equal(_model_vs_venue(second))
            second.events.detach()
        finally:
            env.close()

    run_async(body)


def test_a_state_file_without_leg_leverage_still_recovers_it_from_the_margin(cross_venue: Any, tmp_path: Path) -> None:
    """An older state file (no `leverage` per leg) loads, and the leverage falls back to cost / margin."""
    state = tmp_path / "s.json"

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            first = add_strategy(env, _vol_settings(state))
            _seed(first, BTC_START - 60, "0.0005")
            await first.run_until(
                env.end_ts, stop=lambda ts: bool(first.records) and first_record(first).state is PairState.HEDGED
            )
            _seed(first, env.now, "0.0075")
            await first.run_until(env.now + 5 * 60)
            await first.stop_instance()
            journal = first.runtime.journal.path
            first.runtime.journal.close()
            for path in journal.parent.glob(journal.name + "*"):  # a pre-journal install: the state file is imported
                path.unlink()
            doc = json.loads(state.read_text())
            for pair in doc["pairs"]:
                for side in ("long", "short"):
                    assert pair[side]["leverage"] == 3
                    del pair[side]["leverage"]
            state.write_text(json.dumps(doc))

            second = add_strategy(env, _vol_settings(state))
            _seed(second, env.now, "0.0075")
            await second.run_until(env.now + 2 * 60)

            assert {m[0]: v for m, v in second.runtime.leverage_ctl.current.items()} == {BINANCE: 3, BYBIT: 3}
            _assert_equal(_model_vs_venue(second))
            second.events.detach()
        finally:
            env.close()

    run_async(body)


def test_fixed_leverage_restart_keeps_the_venue_margin(cross_venue: Any, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    settings = perp_settings(state, leverage={BINANCE: 4, BYBIT: 4})

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            first = add_strategy(env, settings)
            await first.run_until_hedged(env.end_ts)
            await first.run_until(env.now + 60)
            _assert_equal(_model_vs_venue(first))
            await first.stop_instance()
            second = add_strategy(env, settings)
            await second.run_until(env.now + 2 * 60)
            _assert_equal(_model_vs_venue(second))
            second.events.detach()
        finally:
            env.close()

    run_async(body)
