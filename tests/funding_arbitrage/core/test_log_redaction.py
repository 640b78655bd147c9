"""Logs are redacted like exports: a credential inside an exception's text reaches no log line."""

from __future__ import annotations

import io
import logging
import logging.handlers
from pathlib import Path

import pytest

from strategies.funding_arbitrage.core.redaction import RedactingFilter, all_loggers, install_on_handlers

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


class VenueError(Exception):
    pass


def _fail_with_credentials() -> None:
    raise VenueError(f"signature check failed for api_key={API_KEY} secret: {SECRET}")


@pytest.fixture
def logger_with_handlers(tmp_path: Path):
    """A logger writing to a rotating file handler (as Hummingbot's) and a stream handler; restored afterwards."""
    logger = logging.getLogger("tests.redaction.venue")
    stream = io.StringIO()
    file_handler = logging.handlers.TimedRotatingFileHandler(tmp_path / "bot.log", when="D", encoding="utf8")
    stream_handler = logging.StreamHandler(stream)
    fmt = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    for h in (file_handler, stream_handler):
        h.setFormatter(fmt)
        logger.addHandler(h)
    logger.propagate = False
    yield logger, tmp_path / "bot.log", stream
    for h in (file_handler, stream_handler):
        logger.removeHandler(h)
        h.close()


def test_credential_in_an_exception_logged_with_exc_info_is_in_no_log_line(logger_with_handlers) -> None:
    logger, log_file, stream = logger_with_handlers
    assert install_on_handlers(all_loggers()) >= 2

    try:
        _fail_with_credentials()
    except VenueError as e:
        logger.exception("order failed on %s: %r", "binance_perpetual", e)
        logger.warning("retrying after %s", e, exc_info=True)
    for h in logger.handlers:
        h.flush()

    written = {"file": log_file.read_text(), "stream": stream.getvalue()}
    for name, text in written.items():
        assert "VenueError" in text and "Traceback" in text, name  # the traceback is still there ...
        assert "binance_perpetual" in text, name  # ... and what the line is about
        for line in text.splitlines():
            assert API_KEY not in line and SECRET not in line, (name, line)
            assert API_KEY[:24] not in line and SECRET[:24] not in line, (name, line)


def test_unfiltered_handlers_would_leak_which_is_what_the_filter_prevents(logger_with_handlers) -> None:
    logger, _log_file, stream = logger_with_handlers  # no filter installed: the control case
    try:
        _fail_with_credentials()
    except VenueError:
        logger.exception("order failed")
    assert API_KEY in stream.getvalue()


def test_install_is_idempotent_and_the_filter_survives_bad_format_arguments(logger_with_handlers) -> None:
    logger, _, stream = logger_with_handlers
    install_on_handlers([logger])
    assert install_on_handlers([logger]) == 0
    assert all(sum(isinstance(f, RedactingFilter) for f in h.filters) == 1 for h in logger.handlers)

    logger.error("bad template %d with key=%s", "not-a-number", API_KEY)

    assert "bad template" in stream.getvalue() and API_KEY not in stream.getvalue()


def test_hummingbot_cli_handler_shows_the_message_redacted(tmp_path: Path) -> None:
    from hummingbot.logger.cli_handler import CLIHandler

    stream = io.StringIO()
    handler = CLIHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction.cli")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _fail_with_credentials()
        except VenueError as e:
            logger.error("failed: %s", e, exc_info=True)
    finally:
        logger.removeHandler(handler)
    assert "failed: signature check failed" in stream.getvalue() and API_KEY not in stream.getvalue()
