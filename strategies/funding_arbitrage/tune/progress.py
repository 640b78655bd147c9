"""Sweep progress: a bar with ETA on a terminal, one line every `interval_s` otherwise (logs, CI, nohup)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm  # type: ignore[import-untyped]


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
    """Counts finished replays (trials and out-of-sample runs) against the total this session must run.

    ETA = elapsed / finished * remaining, over replays finished in this session (resumed work is not counted as
    fast work). Unknown until the first replay finishes.
    """

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = True,
    ) -> None:
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.interval_s, self.clock = interval_s, clock
        self.start = self.last_line = clock()
        self.note = ""
        self.enabled = enabled and total > 0
        self.bar = (
            tqdm(total=total, unit="replay", file=self.stream, dynamic_ncols=True, desc="sweep")
            if self.enabled and self.stream.isatty()
            else None
        )

    def eta_s(self) -> float | None:
        if self.done == 0:
            return None
        return (self.clock() - self.start) / self.done * (self.total - self.done)

    def line(self) -> str:
        eta = self.eta_s()
        pct = 100 * self.done / self.total if self.total else 100.0
        return (
            f"sweep: {self.done}/{self.total} replays ({pct:.0f}%), elapsed {_duration(self.clock() - self.start)}, "
            f"ETA {'unknown' if eta is None else _duration(eta)}{'; ' + self.note if self.note else ''}"
        )

    def advance(self, note: str = "") -> None:
        """One replay finished; `note` (e.g. the fold's best score so far) is shown with the next line."""
        self.done += 1
        self.note = note or self.note
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(self.note, refresh=False)
            self.bar.update(1)
        elif self.done == self.total or self.clock() - self.last_line >= self.interval_s:
            self.last_line = self.clock()
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
