"""Progress of a replay on stderr: a bar with elapsed time and ETA on a terminal, a periodic one-line report
otherwise (logs, CI). Log records are written above the bar, never into it (`ProgressDisplay.logs_above`)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

BAR_WIDTH = 30
LINE_EVERY_S = 30.0  # without a terminal: one line per run at least this far apart (plus start and end)
_CLEAR = "\r\033[K"


def clock_text(seconds: float) -> str:
    """Seconds as `m:ss` (or `h:mm:ss` from an hour). Example: 83.4 -> `1:23`."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressDisplay:
    """`update(run, fraction)` as a run advances (fraction 0..1); `runs`: the simulated runs, in order."""

    def __init__(
        self,
        runs: list[str],
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        line_every_s: float = LINE_EVERY_S,
    ) -> None:
        self._runs = runs
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._clock = clock
        self._line_every_s = line_every_s
        self._started: dict[str, float] = {}
        self._last_line_ts: dict[str, float] = {}
        self._bar = ""

    def update(self, run: str, fraction: float) -> None:
        now = self._clock()
        start = self._started.setdefault(run, now)
        fraction = min(max(fraction, 0.0), 1.0)
        elapsed = now - start
        eta = "ETA --:--" if fraction <= 0 else f"ETA {clock_text(elapsed / fraction * (1 - fraction))}"
        index = f"{self._runs.index(run) + 1}/{len(self._runs)}" if run in self._runs else "-"
        if self._tty:
            filled = int(fraction * BAR_WIDTH)
            self._bar = (
                f"{run:<18} {index} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}% "
                f"{clock_text(elapsed)} elapsed, {eta}"
            )
            self._stream.write(_CLEAR + self._bar + ("\n" if fraction >= 1 else ""))
            if fraction >= 1:
                self._bar = ""
        else:
            last = self._last_line_ts.get(run)
            if last is not None and fraction < 1 and now - last < self._line_every_s:
                return
            self._last_line_ts[run] = now
            self._stream.write(
                f"replay {run} ({index}): {fraction * 100:.1f}% after {clock_text(elapsed)}, "
                f"{'done' if fraction >= 1 else eta}\n"
            )
        self._stream.flush()

    def write_above(self, text: str) -> None:
        """Write `text` (a finished line) above the bar and redraw the bar under it."""
        if self._tty and self._bar:
            self._stream.write(_CLEAR)
        self._stream.write(text)
        if self._tty and self._bar:
            self._stream.write(self._bar)
        self._stream.flush()

    @contextmanager
    def logs_above(self) -> Iterator[None]:
        """While open, log handlers writing to this display's stream write through `write_above`."""
        swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
                swapped.append((handler, handler.setStream(_Above(self))))
        try:
            yield
        finally:
            for handler, original in swapped:
                handler.setStream(original)


class _Above:
    """A write-only stream that sends each write above the progress bar."""

    def __init__(self, display: ProgressDisplay) -> None:
        self._display = display

    def write(self, text: str) -> int:
        self._display.write_above(text)
        return len(text)

    def flush(self) -> None:
        return None


def no_progress(run: str, fraction: float) -> None:
    """The progress callback when progress is off."""
