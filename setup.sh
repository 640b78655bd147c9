#!/usr/bin/env bash
# One-command setup: a Python 3.12 virtual environment in .venv with Hummingbot 20260922 and everything
# locked in uv.lock. Works offline-except-registries (pyenv's 3.12 is used when present) and on any
# Linux/macOS machine with internet (uv downloads Python 3.12 itself when none is installed).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv (the installer/resolver; pip's resolver cannot resolve Hummingbot's dependencies)"
  python3 -m pip install --user --quiet "uv>=0.5" || python3 -m pip install --quiet "uv>=0.5"
  export PATH="$HOME/.local/bin:$PATH"
fi

PYTHON_REQ="3.12"
if command -v pyenv >/dev/null 2>&1; then
  v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -n 1 || true)
  if [ -n "$v" ]; then PYTHON_REQ="$(pyenv root)/versions/$v/bin/python3.12"; fi
fi
echo "setup: using Python $PYTHON_REQ"
uv sync --frozen --python "$PYTHON_REQ"
echo "setup: done. Tests: .venv/bin/python -m pytest   Launcher: .venv/bin/funding-arb --help"
