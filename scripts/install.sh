#!/usr/bin/env bash
# Install kanwidget for development into ./.venv: CPU torch, the JS bundle, Python deps.
# Usage: bash scripts/install.sh [extra ...]     (extras from pyproject, e.g. dev, bench)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# check the tools first, so a missing one is reported before minutes of downloads
for tool in "$PY" node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "kanwidget install: '$tool' was not found on PATH." >&2
    echo "  needs Python 3.10+, Node.js 20+ and npm (Node builds the widget's front end;" >&2
    echo "  Debian/Ubuntu: apt-get install -y nodejs npm, or see https://nodejs.org)" >&2
    exit 1
  fi
done
extras=${*:-dev}
extras=${extras// /,}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned to the CPU wheel available on these machines; an unpinned torch pulls a multi-GB CUDA build
.venv/bin/python -m pip install --quiet "torch==2.13.0"
(cd js && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
echo "kanwidget installed in .venv (extras: ${extras})"
