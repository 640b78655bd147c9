"""Test helper (imported by name from tests/client): drive an interactive program in a detached tmux session."""

import subprocess
import time
from pathlib import Path


class Tmux:
    """One session on a tmux server of its own (`-L`): a session on the shared default server fails to start with
    "server exited unexpectedly" when another process's last session ends at that moment (seen with two suites)."""

    def __init__(self, name: str, command: str, env: dict[str, str], rows: int = 200) -> None:
        self.name = name
        self.tmux = ["tmux", "-L", f"funding-arb-test-{name}"]
        exports = " ".join(f"{k}='{v}'" for k, v in env.items())
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", name, "-x", "220", "-y", str(rows), f"env {exports} {command}"],
            check=True,
        )

    def send(self, text: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, text, "Enter"], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout

    def wait_for(self, text: str, timeout: float = 90) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.5)
        raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{self.screen()}")

    def kill(self) -> None:
        """Stop this session's own server and remove its socket file (tmux leaves it behind)."""
        socket = subprocess.run(
            [*self.tmux, "display-message", "-p", "#{socket_path}"], capture_output=True, text=True, check=False
        ).stdout.strip()
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, check=False)
        if socket:
            Path(socket).unlink(missing_ok=True)
