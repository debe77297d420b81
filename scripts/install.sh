#!/usr/bin/env bash
# Install kanwidget for development into ./.venv: CPU torch, the JS bundle, Python deps.
# Usage: bash scripts/install.sh [extra ...]     (extras from pyproject, e.g. dev, bench)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
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
