#!/usr/bin/env bash
# Install everything, then open JupyterLab on notebooks/quickstart.ipynb (prints the URL of that notebook).
#   bash scripts/demo.sh              JupyterLab with the widget
#   bash scripts/demo.sh --headless   the reference workflow in the terminal (no browser)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
if [ "${1:-}" = "--headless" ] || [ "${1:-}" = "--no-browser" ]; then
  shift
  exec .venv/bin/python -m kanwidget.demo "$@"
fi
root_flag=()
[ "$(id -u)" = "0" ] && root_flag=(--ServerApp.allow_root=True)   # e.g. a container or CI machine
exec .venv/bin/jupyter lab --ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/quickstart.ipynb \
  --ServerApp.open_browser="${OPEN_BROWSER:-True}" "${root_flag[@]}" "$@"
