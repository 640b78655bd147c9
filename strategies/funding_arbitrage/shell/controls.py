"""Operator controls, acted on at the start of every tick: commands from the journal and the kill-switch file.

Commands are written to the journal by `funding-arb ctl` (another process, or another terminal while the client
runs) and acknowledged here: status `done` / `rejected` with a message, a log line `control_ack`, and the status
text (`status_lines`).

    pause       no new entries (exits, reductions and unwinds still run) until `resume`
    resume      clear a pause and any halt (the only way to clear a halt); refused while the kill-switch file exists
    exit PAIR   close one pair through the normal reduce-only close path
    flatten     pause, then close every pair through the normal close path; `done` once no pair is open
    kill        halt at once: no new entries, working entry orders cancelled in the same tick by the runtime's halt
                policy (the risk step runs right after the controls), reduce-only orders continue, positions kept

The kill-switch file (`kill_switch_file`): while it exists the bot is halted (as `kill`); removing it does not
resume: `resume` does (refused while the file exists).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path
from typing import Any

from .journal import Command, Journal
from .state import PairState

log = logging.getLogger(__name__)
COMMANDS = ("pause", "resume", "exit", "flatten", "kill")
HALT_EFFECT = (
    "halted at once: the same tick's risk step cancels working entry orders (the runtime's halt policy); "
    "reduce-only orders continue, positions are kept"
)
ACKS_SHOWN = 5


class OperatorControls:
    """Reads and acts on operator commands each tick; `runtime` is the `FundingArbRuntime`."""

    def __init__(self, runtime: Any, journal: Journal, kill_switch_path: Path) -> None:
        self.rt = runtime
        self.journal = journal
        self.kill_switch_path = kill_switch_path
        self.kill_switch_present = False
        self.flattening: int | None = None  # id of the flatten command in progress
        self.acks: deque[str] = deque(maxlen=ACKS_SHOWN)
        self._closing: set[str] = set()  # pairs this controller asked to close (each once)
        self._kill_switch_str = os.fspath(kill_switch_path)
        self._seen: tuple[int, int] | None = None  # `Journal.commands_version` when no command was left to act on

    def poll(self, ts: float) -> None:
        """Kill switch first, then pending commands in order, then a flatten in progress. The commands are read
        whenever the journal changed since a read that left none pending or acting (a cheap check every tick)."""
        self._kill_switch(ts)
        version = self.journal.commands_version()
        if version == self._seen:
            self._progress_flatten(ts)
            return
        commands = self.journal.pending_commands()
        self._seen = None if commands else version
        for command in commands:
            if command.status == "acting":
                self.flattening = command.id if command.command == "flatten" else self.flattening
                continue
            self._apply(command, ts)
        self._progress_flatten(ts)

    # --- acting -------------------------------------------------------------------------------------
    def _apply(self, command: Command, ts: float) -> None:
        handler = {
            "pause": self._pause,
            "resume": self._resume,
            "exit": self._exit,
            "flatten": self._flatten,
            "kill": self._kill,
        }.get(command.command)
        if handler is None:
            self._ack(command, "rejected", ts, f"unknown command {command.command!r} (known: {', '.join(COMMANDS)})")
            return
        status, message = handler(command, ts)
        self._ack(command, status, ts, message)

    def _pause(self, command: Command, ts: float) -> tuple[str, str]:
        self.rt.risk.pause(ts)
        return "done", "entries paused; exits, reductions and unwinds continue"

    def _resume(self, command: Command, ts: float) -> tuple[str, str]:
        if self.kill_switch_path.exists():
            return "rejected", f"kill-switch file {self.kill_switch_path} exists: remove it, then resume"
        cleared = self.rt.risk.halt_reason
        self.rt.risk.resume(ts)
        if self.flattening is not None:
            self.journal.ack_command(self.flattening, "done", ts, "stopped by resume before flat")
            self.flattening = None
        return "done", f"trading resumed (cleared halt: {cleared or 'none'})"

    def _exit(self, command: Command, ts: float) -> tuple[str, str]:
        record = self.rt.store.records.get(command.arg or "")
        if record is None or not record.is_open:
            return "rejected", f"no open pair {command.arg!r}"
        return "done", self._close(record, ts, "operator_exit")

    def _flatten(self, command: Command, ts: float) -> tuple[str, str]:
        self.rt.risk.pause(ts)
        self.flattening = command.id
        return "acting", f"closing {len(self.rt.store.open_records())} open pair(s); entries paused"

    def _kill(self, command: Command, ts: float) -> tuple[str, str]:
        self.rt.risk.halt(ts, "operator kill (funding-arb ctl kill)")
        return "done", HALT_EFFECT

    def _close(self, record: Any, ts: float, reason: str) -> str:
        """Close one pair by the normal path: the lifecycle's CloseRequested (reduce-only orders sized from what the
        legs hold; an entry in progress is rolled back), once per pair."""
        if record.state is PairState.UNWINDING or record.pair_id in self._closing:
            return f"{record.pair_id}: already closing"
        self._closing.add(record.pair_id)
        self.rt.executor.close_pair(record, ts, reason)
        return f"{record.pair_id}: closing ({reason})"

    def _progress_flatten(self, ts: float) -> None:
        if self.flattening is None:
            return
        for record in self.rt.store.open_records():
            self._close(record, ts, "operator_flatten")
        if not self.rt.store.open_records():
            message = "flat: no pair open"
            self.journal.ack_command(self.flattening, "done", ts, message)
            self._log_ack("flatten", "done", message)
            self.flattening = None

    def _kill_switch(self, ts: float) -> None:
        present = os.path.exists(self._kill_switch_str)
        if present and not self.kill_switch_present:
            self.rt.risk.halt(ts, f"kill-switch file {self.kill_switch_path} present")
            self._log_ack("kill-switch", "done", HALT_EFFECT)
        self.kill_switch_present = present

    # --- acknowledgements ---------------------------------------------------------------------------
    def _ack(self, command: Command, status: str, ts: float, message: str) -> None:
        self.journal.ack_command(command.id, status, ts, message)
        self._log_ack(f"{command.command}{' ' + command.arg if command.arg else ''}", status, message)

    def _log_ack(self, what: str, status: str, message: str) -> None:
        log.warning("control_ack command=%s status=%s message=%s", what, status, message)
        self.acks.append(f"{what}: {status}: {message}")
        if self.rt.last_ts is not None:  # in the metrics' event list too (JSON export, dashboards)
            self.rt.metrics.event(self.rt.last_ts, "control_ack", f"{what}: {status}: {message}")

    def status_lines(self) -> list[str]:
        """Operator state for the status text: pause, flatten in progress, kill switch, last acknowledgements."""
        flags = []
        if self.rt.risk.paused:
            flags.append("entries PAUSED")
        if self.flattening is not None:
            flags.append(f"FLATTENING ({len(self.rt.store.open_records())} pair(s) open)")
        if self.kill_switch_present:
            flags.append(f"KILL SWITCH file present ({self.kill_switch_path})")
        lines = [f"Operator: {', '.join(flags) if flags else 'no pause, no kill switch'}"]
        lines += [f"  {a}" for a in self.acks]
        return lines
