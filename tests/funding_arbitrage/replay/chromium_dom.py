"""Headless Chromium for the page tests (`funding-arb dashboard` pages, the replay report): the DOM as the browser
left it after running the page's scripts, and the `<body>` attributes the pages set (`data-js-errors`,
`data-charts-drawn`). Needs Debian's `chromium` (`apt-get install -y chromium`); `needs_chromium` skips without it.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")


def dump_dom(page: Path, profile: Path) -> tuple[str, str]:
    """(DOM after 5 s of virtual time, browser stderr) of `page`, opened offline with a fresh `profile` directory."""
    cmd = [
        CHROMIUM or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def body_attrs(dom: str) -> dict[str, str]:
    """The attributes of the page's `<body>`, unescaped."""
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    return {k: htmllib.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', body.group(1))}
