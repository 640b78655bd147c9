"""Test helper (run as a subprocess): create a keystore at $FUNDING_ARB_HOME and store fake, non-placeholder
API keys for the given connectors, the way `connect <connector>` would. Usage: keystore_helper.py PW CONN..."""

import sys

from strategies.funding_arbitrage.shell.home import use_project_home

use_project_home()

from hummingbot.client.config.config_crypt import ETHKeyFileSecretManger, store_password_verification  # noqa: E402
from hummingbot.client.config.config_helpers import ClientConfigAdapter  # noqa: E402
from hummingbot.client.config.security import Security  # noqa: E402
from hummingbot.client.settings import AllConnectorSettings  # noqa: E402


def main() -> None:
    password, connectors = sys.argv[1], sys.argv[2:]
    manager = ETHKeyFileSecretManger(password)
    store_password_verification(manager)
    assert Security.login(manager)
    for name in connectors:
        keys = AllConnectorSettings.get_connector_config_keys(name)
        values = {}
        for field, info in type(keys).model_fields.items():
            extra = info.json_schema_extra or {}
            if extra.get("is_connect_key"):
                values[field] = f"k3y{field}Z9q8w7e6r5t4y3u2i1o0"
        cm = ClientConfigAdapter(type(keys)(**values))
        Security.update_secure_config(cm)
        print(f"stored {sorted(values)} for {name}")


if __name__ == "__main__":
    main()
