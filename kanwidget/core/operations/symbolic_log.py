"""What auto_symbolic prints: pykan's line per edge on small models, a summary on big ones.

Up to SUMMARY_ABOVE edges every edge gets its line ("fixing (0,0,0) with sin, r2=..."), as pykan
prints. Above that, the first HEAD lines are printed, then one summary line when the pass ends:
"fixed 4096 edges: sin 1200, x 900, ...; kept 3 as splines; mean r2 0.998".
"""
from __future__ import annotations

from collections import Counter

#: edges above which the per-edge lines are summarised
SUMMARY_ABOVE = 20
#: per-edge lines printed before the summary takes over
HEAD = 5
#: functions named in the summary line (the rest counted as "others")
TOP_FUNCTIONS = 8


class EdgeLog:
    """Collects auto_symbolic's per-edge outcomes and prints them (see the module docstring)."""

    def __init__(self, total: int, verbose: bool, summary_above: int | None = None, head: int | None = None) -> None:
        self.verbose = bool(verbose)
        self.summarise = total > (SUMMARY_ABOVE if summary_above is None else summary_above)
        self.head = HEAD if head is None else head
        self.total = total
        self.fixed: Counter[str] = Counter()
        self.kept = 0
        self.r2s: list[float] = []
        self.lines = 0

    def edge(self, line: str, name: str | None, r2: float) -> None:
        """One edge's outcome: fixed to `name` (None: kept as a spline) with fit quality r2."""
        if name is None:
            self.kept += 1
        else:
            self.fixed[name] += 1
            self.r2s.append(float(r2))
        if not self.verbose:
            return
        if not self.summarise or self.lines < self.head:
            print(line)
        elif self.lines == self.head:
            print(f"... ({self.total - self.head} more edges; a summary follows)")
        self.lines += 1

    def summary(self) -> str:
        """One line: how many edges were fixed to which function, how many kept, the mean R²."""
        n = sum(self.fixed.values())
        names = self.fixed.most_common()
        shown = ", ".join(f"{name} {count}" for name, count in names[:TOP_FUNCTIONS])
        if len(names) > TOP_FUNCTIONS:
            shown += f", others {sum(c for _, c in names[TOP_FUNCTIONS:])}"
        text = f"fixed {n} edge{'s' if n != 1 else ''}" + (f": {shown}" if shown else "")
        if self.kept:
            text += f"; kept {self.kept} as spline{'s' if self.kept != 1 else ''}"
        if self.r2s:
            text += f"; mean r2 {sum(self.r2s) / len(self.r2s):.4f}"
        return text

    def finish(self) -> None:
        """Print the summary line when the per-edge lines were summarised."""
        if self.verbose and self.summarise and self.lines:
            print(self.summary())
