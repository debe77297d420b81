"""Fixtures for the end-to-end tests: one JupyterLab server per session, headless Chromium pages.

Browser tests (`@pytest.mark.e2e` + `lab`) follow the recipe in docs/DESIGN.md §5: a throw-away
JupyterLab (127.0.0.1, free port, no token, no xsrf, `jupyterapp` exposed, news/update checks off),
its settings dir holding `autoStartDefaultKernel` and the widget manager's `saveState`, root dir a
temp copy of `notebooks/` (the repo's notebooks are never touched), and /usr/bin/chromium driven by
Python playwright. Screenshots go to `artifacts/e2e/`.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = Path(os.environ.get("KANWIDGET_E2E_ARTIFACTS", REPO / "artifacts" / "e2e"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    # keep widget state in the saved notebook, so the last picture renders without a kernel
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
}


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: browser test in a real JupyterLab (subset of e2e)")
    config.addinivalue_line("markers", "notebooks: runs the notebooks headless with nbclient (subset of e2e)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (local test server)
        return r.read()


def _request(method: str, url: str, timeout: float = 10.0) -> bytes:
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310
        return r.read()


class Lab:
    """A running JupyterLab server."""

    def __init__(self, url: str, root: Path, proc: subprocess.Popen, log: Path):
        self.url = url
        self.root = root
        self.proc = proc
        self.log = log

    def api(self, path: str):
        return json.loads(_get(f"{self.url}/api/{path}"))

    def shutdown_kernels(self) -> None:
        """Deletes every session and kernel (each test starts from a clean server)."""
        try:
            for s in self.api("sessions"):
                _request("DELETE", f"{self.url}/api/sessions/{s['id']}")
            for k in self.api("kernels"):
                _request("DELETE", f"{self.url}/api/kernels/{k['id']}")
        except Exception as exc:  # the next test's own waits will tell if the server is gone
            print(f"[e2e] kernel cleanup failed: {exc!r}")

    def notebook_copy(self, name: str, source: Path | None = None, cells: list[str] | None = None) -> str:
        """Writes a notebook into the server's root (a copy of `source`, or one made of `cells`)."""
        import nbformat
        if source is not None:
            nb = nbformat.read(source, as_version=4)
        else:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(c) for c in cells or []]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, self.root / name)
        return name


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings"
    for rel, value in LAB_SETTINGS.items():
        p = settings / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(value))
    (base / "workspaces").mkdir()
    (base / "runtime").mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels plot inline, as for users
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        PYTHONUNBUFFERED="1",
    )
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        "--no-browser", "--ServerApp.open_browser=False",
        "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.allow_root=True",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        f"--ServerApp.root_dir={root}",
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyterlab.log"
    logf = open(log, "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            logf.close()
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            status = json.loads(_get(f"{url}/api/status"))
            if "started" in status:
                break
        except Exception:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"JupyterLab did not answer /api/status in 120 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.25)
    server = Lab(url, root, proc, log)
    yield server
    server.shutdown_kernels()
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    logf.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set CHROMIUM_PATH)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A JupyterLab page with console-error collection and kernel helpers."""

    def __init__(self, page, lab: Lab, name: str):
        self.page = page
        self.lab = lab
        self.name = name
        self.errors: list[str] = []
        self.shot_index = 0
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.errors.append(f"console.error: {msg.text} @ {loc.get('url', '')}:{loc.get('lineNumber', '')}")

    # --- navigation / kernel -------------------------------------------------------------
    def open(self, notebook: str, workspace: str | None = None, timeout: float = 90_000) -> None:
        ws = workspace or f"ws-{self.name}"
        self.page.goto(f"{self.lab.url}/lab/workspaces/{ws}/tree/{notebook}", wait_until="domcontentloaded")
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=timeout)
        self.page.wait_for_function("async () => { await window.jupyterapp.started; return true; }", timeout=timeout)
        self.page.wait_for_function(
            """(nb) => {
                const w = window.jupyterapp.shell.currentWidget;
                return !!(w && w.context && w.context.path.endsWith(nb) && w.content && w.content.widgets
                          && w.content.widgets.length > 0);
            }""", arg=notebook, timeout=timeout)
        # more room for the widget (and steadier screenshots): fold the file browser away
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")

    def wait_kernel_idle(self, timeout: float = 90_000) -> None:
        self.page.wait_for_function(
            """() => {
                const w = window.jupyterapp.shell.currentWidget;
                const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                return !!(k && k.connectionStatus === 'connected' && k.status === 'idle');
            }""", timeout=timeout)

    def kernel_status(self) -> str:
        return self.page.evaluate(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                       const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                       return k ? k.status : 'none'; }""")

    def run_all(self) -> None:
        """Clicks the first cell and starts notebook:run-all-cells (not awaited)."""
        self.page.locator(".jp-Notebook .jp-Cell").first.click()
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def command(self, name: str, args: dict | None = None):
        return self.page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a)", [name, args or {}])

    def execute(self, code: str, timeout: float = 300_000) -> str:
        """Runs code in the notebook's kernel (not as a cell); returns its stdout (+ error text)."""
        out = self.page.evaluate(
            """async (code) => {
                const w = window.jupyterapp.shell.currentWidget;
                const k = w.sessionContext.session.kernel;
                const f = k.requestExecute({code, silent: false, store_history: false});
                let out = '', err = null;
                f.onIOPub = (msg) => {
                    const t = msg.header.msg_type;
                    if (t === 'stream') out += msg.content.text;
                    else if (t === 'error') err = `${msg.content.ename}: ${msg.content.evalue}\\n${msg.content.traceback.join('\\n')}`;
                };
                await f.done;
                return {out, err};
            }""", code)
        if out["err"] is not None:
            raise AssertionError(f"kernel code failed:\n{code}\n---\n{out['out']}\n{out['err']}")
        return out["out"]

    # --- widget ----------------------------------------------------------------------------
    def widget(self):
        return self.page.locator(".jp-OutputArea-output .kanwidget").first

    def wait_widget(self, timeout: float = 120_000) -> None:
        self.page.wait_for_function(
            """() => { const r = document.querySelector('.jp-OutputArea-output .kanwidget');
                       return !!(r && r.dataset.edges !== undefined && r.dataset.nodes !== undefined); }""",
            timeout=timeout)

    def attr(self, selector: str, name: str) -> str | None:
        return self.page.evaluate(
            """([s, n]) => { const e = document.querySelector('.jp-OutputArea-output ' + s);
                             return e ? e.getAttribute(n) : null; }""", [selector, name])

    def wait_attr(self, selector: str, name: str, predicate_js: str, timeout: float = 60_000) -> None:
        """Waits until `predicate_js` (a JS expression over `v`, the attribute string) is true."""
        self.page.wait_for_function(
            f"""([s, n]) => {{ const e = document.querySelector('.jp-OutputArea-output ' + s);
                              if (!e) return false; const v = e.getAttribute(n); return v !== null && ({predicate_js}); }}""",
            arg=[selector, name], timeout=timeout)

    def canvas_ink(self) -> dict:
        """Counts canvas pixels that differ from the (transparent / background) backdrop."""
        return self.page.evaluate(
            """() => {
                const c = document.querySelector('.jp-OutputArea-output .kanwidget .kw-network canvas');
                if (!c || !c.width || !c.height) return {w: 0, h: 0, ink: 0, colors: 0};
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let ink = 0; const colors = new Set();
                for (let p = 0; p < d.length; p += 4) {
                    if (d[p + 3] > 16) { ink++; if (colors.size < 64) colors.add((d[p] >> 4) + ',' + (d[p+1] >> 4) + ',' + (d[p+2] >> 4)); }
                }
                return {w: c.width, h: c.height, ink, colors: colors.size};
            }""")

    def set_theme(self, name: str, timeout: float = 30_000) -> None:
        """Switches JupyterLab's theme (as the Settings > Theme menu does) and waits until it applies."""
        self.command("apputils:change-theme", {"theme": name})
        self.page.wait_for_function(
            "(n) => document.body.dataset.jpThemeName === n", arg=name, timeout=timeout)
        # the theme switch shows JupyterLab's splash animation over the page for a moment: screenshots wait for it
        self.page.wait_for_function("() => !document.querySelector('#jupyterlab-splash')", timeout=timeout)

    def shot(self, label: str, widget_only: bool = False) -> Path:
        self.shot_index += 1
        path = ARTIFACTS / f"{self.name}-{self.shot_index:02d}-{label}.png"
        if widget_only:
            self.widget().screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def lab_page(lab, browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    p = Page(page, lab, request.node.name.replace("[", "-").replace("]", ""))
    yield p
    try:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            p.shot("FAILED")
    except Exception:
        pass
    context.close()
    lab.shutdown_kernels()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
