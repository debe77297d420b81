// Bundles src/index.ts into ../kanwidget/static/widget.js (+ widget.css): one offline ESM file.
import { build } from "esbuild";
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "..", "kanwidget", "static");
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: { widget: resolve(here, "src", "index.ts") },
  outdir,
  bundle: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  logLevel: "warning",
});
for (const f of ["widget.js", "widget.css"]) {
  const p = resolve(outdir, f);
  console.log(`${p}  ${(statSync(p).size / 1024).toFixed(1)} KiB`);
}
