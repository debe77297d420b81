/** Formula panel: symbolic expression per output as MathML (KaTeX), copy as LaTeX / sympy. */
import katex from "katex";
import { h } from "./dom";
import type { Formula } from "./types";

export function normaliseFormula(f: unknown): Formula {
  const o = (f && typeof f === "object" ? f : {}) as Partial<Formula>;
  return {
    latex: Array.isArray(o.latex) ? o.latex.map(String) : [],
    sympy: Array.isArray(o.sympy) ? o.sympy.map(String) : [],
    spline_edges: Number.isFinite(Number(o.spline_edges)) ? Number(o.spline_edges) : 0,
    terms: Number.isFinite(Number(o.terms)) ? Number(o.terms) : 0,
    too_large: o.too_large === true,
  };
}

/** Renders LaTeX to a MathML string; never throws (bad input is shown as an error-coloured source). */
export function renderMath(tex: string, displayMode = true): string {
  return katex.renderToString(tex, { output: "mathml", displayMode, throwOnError: false, strict: "ignore", trust: false });
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== "undefined" && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the textarea fallback (insecure context, permission denied) */
  }
  try {
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    const ok = typeof document.execCommand === "function" ? document.execCommand("copy") : false;
    ta.remove();
    return ok;
  } catch {
    return false;
  }
}

export class FormulaPanel {
  readonly el: HTMLDivElement;
  private body: HTMLDivElement;
  private note: HTMLParagraphElement;
  private copyLatex: HTMLButtonElement;
  private copySympy: HTMLButtonElement;
  private formula: Formula = normaliseFormula({});
  private outVars: string[] = [];

  constructor() {
    this.body = h("div", { class: "kw-formula-body" });
    this.note = h("p", { class: "kw-spline-note kw-muted" });
    this.copyLatex = h("button", { type: "button", class: "kw-btn kw-small", "data-kw": "copy-latex", text: "Copy LaTeX" });
    this.copySympy = h("button", { type: "button", class: "kw-btn kw-small", "data-kw": "copy-sympy", text: "Copy sympy" });
    this.copyLatex.addEventListener("click", () => this.copy(this.copyLatex, this.latexText()));
    this.copySympy.addEventListener("click", () => this.copy(this.copySympy, this.sympyText()));
    this.el = h("div", { class: "kw-formula kw-panel" },
      h("div", { class: "kw-panel-title" }, h("span", { text: "Formula" }),
        h("span", { class: "kw-copy" }, this.copyLatex, this.copySympy)),
      this.body, this.note);
    this.update(this.formula, []);
  }

  latexText(): string {
    return this.formula.latex.map((t, k) => (this.formula.latex.length > 1 ? `${this.lhs(k)} = ${t}` : t)).join("\n");
  }

  sympyText(): string {
    return this.formula.sympy.join("\n");
  }

  private lhs(k: number): string {
    return this.outVars[k] ?? `y_{${k + 1}}`;
  }

  private async copy(btn: HTMLButtonElement, text: string): Promise<void> {
    const ok = await copyText(text);
    const label = btn.dataset.label ?? btn.textContent ?? "";
    btn.dataset.label = label;
    btn.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { btn.textContent = label; }, 1200);
  }

  update(f: unknown, outVars: string[]): void {
    this.formula = normaliseFormula(f);
    this.outVars = outVars;
    const { latex, spline_edges } = this.formula;
    const rows: HTMLElement[] = [];
    latex.forEach((tex, k) => {
      const row = h("div", { class: "kw-formula-row", "data-output": k });
      let html = "";
      const name = this.lhs(k);
      const withLhs = /(^|[^\\<>])=/.test(tex) ? tex : `${name} = ${tex}`;
      try {
        html = katex.renderToString(withLhs, { output: "mathml", displayMode: true, throwOnError: true, strict: "ignore" });
      } catch {
        html = renderMath(tex);
      }
      row.innerHTML = html;
      rows.push(row);
    });
    if (!rows.length && this.formula.too_large) {
      rows.push(h("p", { class: "kw-muted kw-formula-empty kw-formula-too-large",
        text: `The formula would have ${this.formula.terms.toLocaleString("en")} nested terms per output, too many to build here: prune the network first (or call model.symbolic_formula() in a cell).` }));
    }
    if (!rows.length) rows.push(h("p", { class: "kw-muted kw-formula-empty", text: "No symbolic formula yet: fix edges in the inspector or run Auto-symbolic." }));
    this.body.replaceChildren(...rows);
    this.note.hidden = !(spline_edges > 0 && latex.length > 0);
    this.note.textContent = spline_edges > 0
      ? `${spline_edges} edge${spline_edges === 1 ? " is" : "s are"} still spline${spline_edges === 1 ? "" : "s"}: fix ${spline_edges === 1 ? "it" : "them"} (inspector or Auto-symbolic) for a complete formula.`
      : "";
    this.copyLatex.disabled = latex.length === 0;
    this.copySympy.disabled = this.formula.sympy.length === 0;
  }
}
