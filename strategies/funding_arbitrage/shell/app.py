"""Host Hummingbot's own application (interactive client or headless engine) rooted at the project.

Replaces the registry release's broken `bin/hummingbot_quickstart.py`. `home.use_project_home()` must have
run before this module is imported (the launcher does it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hummingbot.client.config.config_crypt import ETHKeyFileSecretManger, store_password_verification
from hummingbot.client.config.config_helpers import load_client_config_map_from_file
from hummingbot.client.config.security import Security
from hummingbot.client.hummingbot_application import HummingbotApplication
from hummingbot.client.runner import bootstrap_application, load_and_start_strategy

from ..cli.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_PASSWORD, PASSWORD_ENV
from ..core.redaction import all_loggers, install_on_handlers
from .log_format import TEXT, apply_log_format
from .offline_noise import quiet_offline_noise
from .resume import install_start_after_stop

if TYPE_CHECKING:
    from ..sim.live import LiveSimEnvironment

log = logging.getLogger(__name__)


LOOP_STEP_S = 0.5


@dataclass(frozen=True)
class SimOptions:
    """`run --sim` / `cli --sim`: trade simulated venues replaying recorded data in real time (sim/live.py)."""

    data_dir: str | None
    speed: float
    start: str | None


async def _install_sim(hb: HummingbotApplication, v2_conf: str, sim: SimOptions) -> LiveSimEnvironment | None:
    """The sim venues installed into `hb`'s engine, or None after printing why they cannot be."""
    from ..core.config import ConfigError
    from ..sim.data import DataError
    from ..sim.live import SimSetupError, install_sim_connectors

    try:
        sim_env = await install_sim_connectors(hb, v2_conf, sim)
    except (ConfigError, SimSetupError, DataError) as e:
        log.error("sim setup failed: %s", e)
        print(f"--sim cannot start: {e}", flush=True)
        return None
    print(sim_env.banner(), flush=True)
    return sim_env


def _enable_project_loggers() -> None:
    """Hummingbot's `init_logging` (logging.config.dictConfig, disable_existing_loggers) disables every logger that
    existed before it ran, including this package's modules the launcher imported first; turn those back on. Each
    `init_logging` also builds new handlers: every handler (Hummingbot's and ours) gets the credential filter again
    (`core.redaction.RedactingFilter`: messages and exception tracebacks masked before any handler writes them)."""
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("strategies.funding_arbitrage") and isinstance(logger, logging.Logger):
            logger.disabled = False
    install_on_handlers(all_loggers())
    apply_log_format()  # log_format json: Hummingbot's rebuilt handlers get the JSON formatter again


def _password_from_env() -> str | None:
    """Read the keystore password from the environment and scrub it so child processes never inherit it."""
    password = os.environ.get(PASSWORD_ENV) or os.environ.get("CONFIG_PASSWORD")
    os.environ.pop(PASSWORD_ENV, None)
    os.environ.pop("CONFIG_PASSWORD", None)
    return password or None


def _secrets_manager(password: str) -> ETHKeyFileSecretManger | None:
    """A secrets manager for `password`; creates the keystore's verification file on first use."""
    manager = ETHKeyFileSecretManger(password)
    if Security.new_password_required():
        store_password_verification(manager)
        log.info("created a new keystore password verification file under conf/")
    return manager


def run_client(v2_conf: str | None = None, sim: SimOptions | None = None) -> int:
    """Hummingbot's interactive client; password from $FUNDING_ARB_PASSWORD or the login dialog. With `sim`, the
    simulated venues of `v2_conf` are installed and the strategy is started on them right after login."""
    from hummingbot.client.ui import login_prompt
    from hummingbot.client.ui.style import load_style

    client_config_map = load_client_config_map_from_file()
    password = _password_from_env()
    if password is not None:
        secrets_manager = _secrets_manager(password)
    else:
        secrets_manager = login_prompt(ETHKeyFileSecretManger, style=load_style(client_config_map))
        if not secrets_manager:
            return EXIT_PASSWORD
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(_client_main(client_config_map, secrets_manager, v2_conf, sim))


async def _client_main(client_config_map, secrets_manager, v2_conf: str | None, sim: SimOptions | None = None) -> int:
    hb = await bootstrap_application(client_config_map, secrets_manager, headless=False)
    if hb is None:
        print("Invalid password.")
        return EXIT_PASSWORD
    apply_log_format(TEXT, keep_console_text=True)  # the output pane is read by a person (log_format: json files)
    _enable_project_loggers()
    filter_task = asyncio.get_running_loop().create_task(_keep_logging_secure())
    sim_task: asyncio.Task | None = None
    sim_env = None
    if sim is not None:
        if not v2_conf:
            print("--sim needs a sim config (--v2 CONF)")
            return EXIT_CONFIG
        sim_env = await _install_sim(hb, v2_conf, sim)
        if sim_env is None:
            return EXIT_CONFIG
        sim_task = asyncio.get_running_loop().create_task(_client_sim_loop(hb, sim_env))

    def refilter() -> None:
        _enable_project_loggers()
        if sim_env is not None:
            quiet_offline_noise()

    install_start_after_stop(hb, v2_conf, sim_env, refilter)  # `start` after `stop`; filters kept during a start
    if v2_conf:

        async def _start_when_ready() -> None:
            await asyncio.sleep(1.0)
            hb._handle_command(f"start --v2 {v2_conf}")

        asyncio.get_running_loop().create_task(_start_when_ready())
    await hb.run()
    filter_task.cancel()
    if sim_task is not None:
        sim_task.cancel()
    return EXIT_OK


async def _keep_logging_secure() -> None:
    """In the client, `start` re-runs Hummingbot's init_logging (new handlers): filter them within a loop step."""
    while True:
        _enable_project_loggers()
        await asyncio.sleep(LOOP_STEP_S)


async def _client_sim_loop(hb: HummingbotApplication, sim_env: LiveSimEnvironment) -> None:
    """Step the sim while the client runs; at the end of the data, say so and stop the strategy."""
    detached_said = False
    while True:
        _enable_project_loggers()  # `start` re-runs Hummingbot's init_logging, which disables them again
        quiet_offline_noise()  # no exchange is reachable in --sim: drop the real exchanges' network errors
        try:
            await sim_env.step_realtime()
        except Exception:
            log.exception("sim step failed")
        if sim_env.finished:
            hb.notify(sim_env.finish_message)
            hb._handle_command("stop")
            return
        message = sim_env.detached_message
        if message is None:
            detached_said = False  # re-attached by `start` (shell/resume.py): say it again at the next stop
        elif not detached_said:
            hb.notify(message)
            detached_said = True
        await asyncio.sleep(LOOP_STEP_S)


def run_headless(v2_conf: str, sim: SimOptions | None = None) -> int:
    """Run a strategy headless until SIGTERM/SIGINT; returns a process exit code."""
    password = _password_from_env()
    if password is None:
        print(
            f"${PASSWORD_ENV} is not set: the engine cannot unlock the keystore "
            "(set it, or create one with `funding-arb cli` first)"
        )
        return EXIT_PASSWORD
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_headless_main(v2_conf, password, sim))
    except Exception:
        log.exception("engine crashed")
        return EXIT_FAILED


async def _headless_main(v2_conf: str, password: str, sim: SimOptions | None) -> int:
    client_config_map = load_client_config_map_from_file()
    hb = await bootstrap_application(
        client_config_map,
        _secrets_manager(password),
        strategy_file_name=v2_conf.rsplit(".", 1)[0],
        override_log_level=client_config_map.log_level,
        headless=True,
    )
    if hb is None:
        print("Invalid password for the keystore under conf/.")
        return EXIT_PASSWORD
    apply_log_format(_configured_log_format(v2_conf))  # before the first strategy line, not at its first tick
    _enable_project_loggers()
    sim_env = None
    if sim is not None:
        sim_env = await _install_sim(hb, v2_conf, sim)
        if sim_env is None:
            return EXIT_CONFIG
    if not await load_and_start_strategy(hb, v2_conf=v2_conf, headless=True):
        print(f"Strategy failed to start; see logs/logs_{v2_conf.rsplit('.', 1)[0]}.log")
        return EXIT_FAILED
    return await _serve(hb, sim_env)


def _configured_log_format(v2_conf: str) -> str:
    """`log_format` of conf/scripts/<v2_conf> (the launcher validated the file already; text if unreadable)."""
    from hummingbot.client import settings as hb_settings

    from ..core.config import ConfigError, load_settings

    try:
        return load_settings(hb_settings.SCRIPT_STRATEGY_CONF_DIR_PATH / v2_conf).log_format
    except (ConfigError, OSError) as e:
        log.warning("log_format unread (text used): %s", e)
        return TEXT


async def _serve(hb: HummingbotApplication, sim_env: LiveSimEnvironment | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rc = EXIT_OK
    log.info("funding-arb running headless; send SIGTERM or SIGINT to stop")
    print("funding-arb running headless; stop with Ctrl-C or SIGTERM", flush=True)
    while not stop.is_set():
        _enable_project_loggers()  # cheap; re-filters handlers a later init_logging may have rebuilt
        if sim_env is not None:
            quiet_offline_noise()  # no exchange is reachable in --sim: drop the real exchanges' network errors
            await sim_env.step_realtime()
            if sim_env.finished:
                log.info("%s", sim_env.finish_message)
                print(sim_env.finish_message, flush=True)
                break
        strategy = hb.trading_core.strategy
        fatal = getattr(strategy, "fatal_error", None)
        if fatal:
            log.error("stopping: %s", fatal)
            print(f"stopping: {fatal}", flush=True)
            rc = EXIT_FAILED
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=LOOP_STEP_S)
    log.info("stop requested: winding down (open orders cancelled, hedged positions kept and recorded)")
    print("stopping...", flush=True)
    try:
        await hb.stop_loop()
    except Exception:
        log.exception("error during graceful stop")
        rc = EXIT_FAILED
    try:
        await hb.trading_core.shutdown()
    except Exception:
        log.exception("error during shutdown")
    if sim_env is not None:
        sim_env.close()
    return rc
