"""Test helper (imported by name from tests/client): drive an interactive program in a detached tmux session."""

import subprocess
import time


class Tmux:
    def __init__(self, name: str, command: str, env: dict[str, str], rows: int = 200) -> None:
        self.name = name
        exports = " ".join(f"{k}='{v}'" for k, v in env.items())
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "220", "-y", str(rows), f"env {exports} {command}"],
            check=True,
        )

    def send(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, text, "Enter"], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name],
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
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)
