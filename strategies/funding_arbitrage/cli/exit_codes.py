"""Process exit codes and the password variable shared by the launcher and the Hummingbot app shell."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_PASSWORD = 4
PASSWORD_ENV = "FUNDING_ARB_PASSWORD"
