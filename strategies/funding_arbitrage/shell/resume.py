"""`start` after `stop` in Hummingbot's interactive client, without patching Hummingbot.

Hummingbot 20260922's `stop` (`client/command/stop_command.py`) removes every connector from the engine and clears
`trading_core.strategy_name`, `strategy_file_name` and the config source. Two things then break a second `start`:

- a bare `start` has no strategy left: `status_check_all` answers "Please import or create a strategy";
- under `--sim`, the simulated venues were injected into `connector_manager.connectors` (hummingbot-notes §1.5);
  once removed, `start --v2 <sim conf>` asks `ConnectorManager.create_connector` for `sim_binance_perpetual`, a
  name no real connector has, and the start ends in "Invalid strategy. Start aborted."

`install_start_after_stop(hb, ...)` wraps this application instance's `start_check` (the coroutine Hummingbot's
`start` command schedules; an instance attribute, looked up at each call): it remembers the last `--v2` config, gives
it to a bare `start` after a `stop`, and puts the same simulated venue objects back into the engine before a start of
the sim config. The venues keep their balances and positions across the stop, so the new strategy instance recovers
its hedged pairs from the journal and finds them on the venues (restart recovery: "N open pairs kept").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sim.live import LiveSimEnvironment

log = logging.getLogger(__name__)

StartCheck = Callable[..., Awaitable[None]]


class StartAfterStop:
    """The client's memory of the last started config, and the sim venues to re-attach before a restart."""

    def __init__(
        self,
        hb: Any,
        v2_conf: str | None,
        sim_env: LiveSimEnvironment | None,
        refilter: Callable[[], None] | None = None,
    ) -> None:
        self.hb = hb
        self.refilter = refilter
        self.last_conf = v2_conf
        self.sim_env = sim_env
        self.sim_conf = v2_conf if sim_env is not None else None
        self._original: StartCheck = hb.start_check

    def conf_for(self, v2_conf: str | None) -> str | None:
        """The config this `start` runs: the one given, else (after a stop) the last one started, else None."""
        if v2_conf:
            return v2_conf
        core = self.hb.trading_core
        if self.last_conf and core.strategy is None and core.strategy_name is None:
            return self.last_conf
        return None

    def reattach_sim(self, v2_conf: str) -> bool:
        """Put the simulated venues back into the engine for a start of the sim config; True if any was re-added."""
        if self.sim_env is None or v2_conf != self.sim_conf:
            return False
        from ..sim.registry import register_sim_connector

        manager = self.hb.trading_core.connector_manager
        readded = False
        for name, connector in self.sim_env.connectors.items():
            if manager.connectors.get(name) is connector:
                continue
            register_sim_connector(connector)  # `stop` unregistered it from the RateOracle
            manager.connectors[name] = connector
            readded = True
        if readded:
            self.sim_env.detached_message = None
            log.info("sim_reattached connectors=%s conf=%s", ",".join(self.sim_env.connectors), v2_conf)
        return readded

    async def start_check(self, log_level: str | None = None, v2_conf: str | None = None, *args: Any) -> None:
        """Hummingbot's `start_check` with the config filled in and the sim venues re-attached."""
        conf = self.conf_for(v2_conf)
        if conf is not None and v2_conf is None:
            self.hb.notify(f"Starting {conf} again (the last config started in this client).")
        if conf is not None:
            self.reattach_sim(conf)
            self.last_conf = conf
        guard = asyncio.get_running_loop().create_task(self._refilter_while_starting())
        try:
            await self._original(log_level, conf, *args)
        finally:
            if self.refilter is not None:
                self.refilter()  # a start that never suspended: before any task it created can log
            guard.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await guard

    async def _refilter_while_starting(self) -> None:
        """`start_check` rebuilds every log handler (Hummingbot's `init_logging`) and then starts connectors whose
        first network errors can come within milliseconds: re-apply our filters (credentials, offline noise, log
        format) at every event-loop step while the start runs, so no record reaches a handler without them."""
        if self.refilter is None:
            return
        while True:
            self.refilter()
            await asyncio.sleep(0)


def install_start_after_stop(
    hb: Any, v2_conf: str | None, sim_env: LiveSimEnvironment | None, refilter: Callable[[], None] | None = None
) -> StartAfterStop:
    """Wrap `hb.start_check` (this instance only) so `start` works again after `stop`, with `refilter` (re-install
    the log filters) run at every loop step while a start runs; returns the wrapper."""
    resume = StartAfterStop(hb, v2_conf, sim_env, refilter)
    hb.start_check = resume.start_check
    return resume
