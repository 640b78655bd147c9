"""Replay progress: a bar with ETA on a terminal, periodic lines otherwise, log records above the bar."""

from __future__ import annotations

import io
import logging

from strategies.funding_arbitrage.replay.progress import ProgressDisplay, clock_text


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_terminal_bar_shows_elapsed_and_eta() -> None:
    stream, clock = io.StringIO(), _Clock()
    display = ProgressDisplay(["funding_arbitrage", "baseline"], stream=stream, tty=True, clock=clock)

    display.update("funding_arbitrage", 0.0)
    clock.now = 60.0
    display.update("funding_arbitrage", 0.25)

    last = stream.getvalue().split("\r\033[K")[-1]
    assert "1/2" in last and "25.0%" in last and "1:00 elapsed" in last and "ETA 3:00" in last


def test_without_a_terminal_one_line_per_interval_and_at_the_end() -> None:
    stream, clock = io.StringIO(), _Clock()
    display = ProgressDisplay(["baseline"], stream=stream, tty=False, clock=clock, line_every_s=30.0)

    for second, fraction in ((0, 0.0), (10, 0.1), (29, 0.2), (31, 0.3), (40, 0.4), (45, 1.0)):
        clock.now = float(second)
        display.update("baseline", fraction)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # start, after 30 s, done
    assert lines[1].startswith("replay baseline (1/1): 30.0% after 0:31, ETA 1:12")
    assert lines[2].endswith("done") and "\r" not in stream.getvalue()


def test_log_records_are_written_above_the_bar_not_into_it() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(["funding_arbitrage"], stream=stream, tty=True, clock=_Clock())
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        display.update("funding_arbitrage", 0.5)
        with display.logs_above():
            logging.getLogger("test.progress").warning("venue hiccup")
        assert handler.stream is stream  # restored
    finally:
        root.removeHandler(handler)

    text = stream.getvalue()
    warning_at = text.index("venue hiccup")
    assert text[:warning_at].endswith("\r\033[K")  # the bar line was cleared first
    assert text[warning_at:].startswith("venue hiccup\n") and text.rstrip().endswith("ETA 0:00")  # bar redrawn


def test_clock_text() -> None:
    assert clock_text(83.4) == "1:23" and clock_text(3725) == "1:02:05" and clock_text(-3) == "0:00"
