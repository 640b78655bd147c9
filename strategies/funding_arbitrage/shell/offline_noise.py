"""Silence Hummingbot's offline noise in simulation (`--sim`): no exchange is reachable there by design, yet its
time synchronizer, rate oracle and trading-pair fetcher try the real exchanges and log a traceback every minute.

Only records of those real-exchange loggers are dropped, and only while the simulated venues run; the strategy's
own loggers and the sim venues' (`strategies.funding_arbitrage.*`) are never filtered.
"""

from __future__ import annotations

import logging

NOISY_PREFIXES = (
    "hummingbot.connector.time_synchronizer",
    "hummingbot.core.rate_oracle",
    "hummingbot.core.utils.trading_pair_fetcher",
    "hummingbot.connector.exchange.",
    "hummingbot.connector.derivative.",
)


class OfflineNoiseFilter(logging.Filter):
    """Drops records from the real-exchange loggers above (their network errors are expected offline)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(NOISY_PREFIXES)


_FILTER = OfflineNoiseFilter()


def quiet_offline_noise() -> None:
    """Install the filter on every handler of the root logger (idempotent; call again after Hummingbot's
    `init_logging` rebuilt its handlers)."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
