#!/usr/bin/env bash
# Install everything, then run every test: Python (core, widget, notebooks, browser e2e) and JS.
# Browser tests need /usr/bin/chromium (Debian: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
export MPLBACKEND=Agg
# idle OpenMP threads sleep instead of spinning: the kernel, JupyterLab and Chromium share 2 cores in e2e tests
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
(cd js && npm test && npm run test:browser)
.venv/bin/python -m pytest -q "$@"
