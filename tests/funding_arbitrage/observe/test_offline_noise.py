"""In --sim, the real exchanges' offline errors are dropped; the strategy's and the sim venues' records pass."""

from __future__ import annotations

import logging

from strategies.funding_arbitrage.shell.offline_noise import OfflineNoiseFilter, quiet_offline_noise


def _record(name: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, "Error getting server time.", None, None)


def test_filter_drops_real_exchange_noise_and_keeps_the_strategy() -> None:
    f = OfflineNoiseFilter()

    assert not f.filter(_record("hummingbot.connector.time_synchronizer"))
    assert not f.filter(_record("hummingbot.core.rate_oracle.sources.gate_io_rate_source"))
    assert not f.filter(_record("hummingbot.connector.exchange.gate_io.gate_io_exchange"))
    assert f.filter(_record("strategies.funding_arbitrage.sim.perp.SimPerpetualDerivative"))
    assert f.filter(_record("strategies.funding_arbitrage.shell.runtime"))
    assert f.filter(_record("hummingbot.core.trading_core"))


def test_quiet_offline_noise_installs_once_on_every_root_handler() -> None:
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        quiet_offline_noise()
        quiet_offline_noise()
        assert sum(isinstance(f, OfflineNoiseFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
