// Shared helpers for the headless-Chromium harness and benchmark: a tiny static server and launcher.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, resolve, dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, "..", "..", "..");
export const ARTIFACTS = resolve(REPO, "artifacts", "js");

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html" };

/** Page that loads the built bundle and the fake model; `setup` is the body of an async module script. */
export function page(setup) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>kanwidget harness</title>
<link rel="stylesheet" href="/kanwidget/static/widget.css">
<style>body{margin:0;padding:16px;background:#f6f7fb;font-family:system-ui,sans-serif} #app{max-width:1180px}</style>
</head><body><div id="app"></div>
<script type="module">
import widget, * as kw from "/kanwidget/static/widget.js";
import * as fake from "/js/test/fake.mjs";
import { FakeModel } from "/js/test/fake-model.mjs";
window.kw = kw; window.widget = widget; window.fake = fake; window.FakeModel = FakeModel;
try {
${setup}
} catch (e) { console.error("setup failed", e); }
window.__ready = true;
</script></body></html>`;
}

/** Serves REPO files (read-only) plus `pages` ({"/path": html}). Returns {url, close}. */
export async function serve(pages) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (pages[path]) {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(pages[path]);
      return;
    }
    const file = resolve(REPO, "." + path);
    if (!file.startsWith(REPO + sep) || !(path.startsWith("/kanwidget/static/") || path.startsWith("/js/test/"))) {
      res.writeHead(404);
      res.end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}

/** Collects console errors and page errors of a page. */
export function watchErrors(p) {
  const errors = [];
  p.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  p.on("requestfailed", (r) => errors.push(`requestfailed: ${r.url()}`));
  return errors;
}
