"""Root Hummingbot at the project directory instead of site-packages.

Hummingbot computes every path (conf/, scripts/, logs/, data/) from `root_path()`, which is site-packages
for a registry install (see docs/hummingbot-notes §1.5). `use_project_home()` must run before any other
`hummingbot.*` module is imported: it sets the official `prefix_path` hook (logs/, data/) and re-points the
path constants of `hummingbot.client.settings`, which other modules bind at their import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ENV = "FUNDING_ARB_HOME"

_SETTINGS_PATHS = {
    "DEFAULT_LOG_FILE_PATH": "logs",
    "CONF_DIR_PATH": "conf",
    "CLIENT_CONFIG_PATH": "conf/conf_client.yml",
    "TRADE_FEES_CONFIG_PATH": "conf/conf_fee_overrides.yml",
    "STRATEGIES_CONF_DIR_PATH": "conf/strategies",
    "CONNECTORS_CONF_DIR_PATH": "conf/connectors",
    "SCRIPT_STRATEGY_CONF_DIR_PATH": "conf/scripts",
    "CONTROLLERS_CONF_DIR_PATH": "conf/controllers",
    "SCRIPT_STRATEGIES_PATH": "scripts",
    "CONTROLLERS_PATH": "controllers",
    "DEFAULT_GATEWAY_CERTS_PATH": "certs",
    "GATEWAY_SSL_CONF_FILE": "gateway/conf/ssl.yml",
    "GATEAWAY_CA_CERT_PATH": "certs/ca_cert.pem",
    "GATEAWAY_CLIENT_CERT_PATH": "certs/client_cert.pem",
    "GATEAWAY_CLIENT_KEY_PATH": "certs/client_key.pem",
}

_home: Path | None = None


def project_root() -> Path:
    """The project directory: $FUNDING_ARB_HOME, else the checkout this package lives in."""
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[3]


def use_project_home(root: Path | None = None) -> Path:
    """Point Hummingbot's paths at `root` (default `project_root()`); idempotent. Returns the root.

    Raises:
        RuntimeError: a Hummingbot module that binds paths at import time was imported earlier.
    """
    global _home
    root = (root or project_root()).resolve()
    if _home is not None:
        if _home != root:
            raise RuntimeError(f"Hummingbot is already rooted at {_home}, cannot re-root at {root}")
        return root
    early = [m for m in ("hummingbot.client.config.config_crypt", "hummingbot.client.runner") if m in sys.modules]
    if early:
        raise RuntimeError(f"use_project_home() must run before importing {early}")
    for sub in ("conf/scripts", "conf/connectors", "conf/strategies", "conf/controllers", "logs", "data", "scripts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # TradingCore resolves `scripts/` against the working directory
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import hummingbot

    hummingbot.set_prefix_path(str(root))
    import hummingbot.client.settings as settings

    for name, rel in _SETTINGS_PATHS.items():
        setattr(settings, name, root / rel)
    import hummingbot.core.utils.ssl_cert as ssl_cert

    ssl_cert.CONF_DIR_PATH = root / "conf"
    _home = root
    return root
