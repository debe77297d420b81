"""Hatch build hook: bundle the JS front end into kanwidget/static with esbuild (via npm)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class JSBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        bundle = root / "kanwidget" / "static" / "widget.js"
        js = root / "js"
        if os.environ.get("KANWIDGET_SKIP_JS") == "1":
            return
        if not (js / "package.json").exists():
            return
        if bundle.exists() and not os.environ.get("KANWIDGET_FORCE_JS"):
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to build the kanwidget front end (js/); install Node.js 20+")
        if not (js / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True)
        subprocess.run([npm, "run", "build"], cwd=js, check=True)
