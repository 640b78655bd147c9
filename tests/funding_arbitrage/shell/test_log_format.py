"""shell/log_format.py: JSON log lines (ts, level, logger, message, fields, exc) through the credential filter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from strategies.funding_arbitrage.core.redaction import RedactingFilter
from strategies.funding_arbitrage.shell.log_format import JSON, TEXT, JsonLineFormatter, apply_log_format

SECRET = "k3yAbCdEfGhIjKlMnOpQrStUv0123456789"  # mixed-case base64-like, as an exchange API key


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    apply_log_format(JSON)
    try:
        yield logging.getLogger("strategies.funding_arbitrage.test"), stream
    finally:
        apply_log_format(TEXT)
        root.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_the_structured_fields(lines) -> None:
    log, stream = lines
    log.warning("decision=enter token=HYPE net_edge_pct=0.5877 reason=accepted")

    (record,) = _records(stream)
    assert record["level"] == "WARNING" and record["logger"] == "strategies.funding_arbitrage.test"
    assert record["ts"].endswith("Z") and "T" in record["ts"]
    assert record["fields"] == {"decision": "enter", "token": "HYPE", "net_edge_pct": "0.5877", "reason": "accepted"}


def test_a_credential_in_a_message_or_an_exception_never_reaches_the_line(lines) -> None:
    log, stream = lines
    log.warning("connect api_key=%s secret: %s", SECRET, SECRET)
    try:
        raise RuntimeError(f"auth failed for key {SECRET}")
    except RuntimeError:
        log.exception("order failed apiKey=%s", SECRET)

    text = stream.getvalue()
    assert SECRET not in text
    first, second = _records(stream)
    assert "api_key=***" in first["message"]
    assert second["exc"].startswith("Traceback") and "RuntimeError: auth failed for key ***" in second["exc"]


def test_the_formatter_masks_even_without_the_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "password=%s", (SECRET,), None)
    assert SECRET not in JsonLineFormatter().format(record)


def test_text_restores_each_handler_own_formatter(lines) -> None:
    log, stream = lines
    handler = logging.getLogger().handlers[-1]
    apply_log_format(TEXT)
    log.warning("plain line")
    assert stream.getvalue().splitlines()[-1] == "plain line"
    assert not isinstance(handler.formatter, JsonLineFormatter)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log_format"):
        apply_log_format("xml")


def test_a_handler_that_formats_itself_writes_json_too_and_text_again_after() -> None:
    from hummingbot.logger.cli_handler import CLIHandler  # Hummingbot's console handler (headless stdout)

    stream = io.StringIO()
    handler = CLIHandler(stream)
    logger = logging.getLogger("strategies.funding_arbitrage.test_cli")
    logger.addHandler(handler)
    try:
        apply_log_format(JSON, keep_console_text=False)
        logger.warning("state=halted")
        apply_log_format(TEXT)
        logger.warning("state=active")
    finally:
        apply_log_format(TEXT, keep_console_text=False)
        logger.removeHandler(handler)
    json_line, text_line = stream.getvalue().splitlines()
    assert json.loads(json_line)["fields"] == {"state": "halted"}
    assert text_line.endswith("test_cli - state=active")
