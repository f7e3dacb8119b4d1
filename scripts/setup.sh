#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the pinned requirements; a stamp
# skips the install when the requirement files have not changed.
# Usage: source scripts/setup.sh [requirements-file]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="${1:-requirements.txt}"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
if [ -z "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "RNN Arena needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$PY" --version)" >&2
  "$PY" -m venv .venv
fi
STAMP=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQ")"
if [ ! -f "$STAMP" ]; then
  echo "installing $REQ into .venv (first time: a few minutes)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQ"
  touch "$STAMP"
fi
