"""One row per case, and the Markdown table they make."""

from dataclasses import dataclass

import numpy as np

COLUMNS = ("case", "ours ms", "reference", "ref ms", "ratio: median [min, max]", "target",
           "GEMM peak share: ours / ref", "result")


@dataclass(frozen=True)
class Target:
    """A bound on the median ratio: ``median <= bound`` (``at_most``) or ``median >= bound``.

    ``strict`` makes it ``<`` / ``>``.
    """

    bound: float
    at_most: bool = True
    strict: bool = False

    def met(self, value):
        if self.at_most:
            return value < self.bound if self.strict else value <= self.bound
        return value > self.bound if self.strict else value >= self.bound

    def __str__(self):
        sign = ("<" if self.at_most else ">") + ("" if self.strict else "=")
        return f"{sign} {format_ratio(self.bound)}"


@dataclass(frozen=True)
class Row:
    """What one case measured.

    ``ratios`` holds the per-pair ratios (median, min and max are reported); ``problem``,
    when set, replaces the verdict: the reference is missing, the two sides disagree, or
    the case could not run.
    """

    case: str
    reference: str
    ours_ms: float | None = None
    ref_ms: float | None = None
    ratios: tuple | None = None
    target: Target | None = None
    gemm_share: str = ""
    problem: str = ""

    @property
    def median_ratio(self):
        return None if self.ratios is None else float(np.median(self.ratios))

    @property
    def result(self):
        if self.problem:
            return self.problem
        if self.target is None or self.ratios is None:
            return "info"
        return "pass" if self.target.met(self.median_ratio) else "**MISS**"

    @property
    def missed(self):
        return self.result == "**MISS**"

    def cells(self):
        if self.ratios is None:
            ratio = "—"
        elif len(self.ratios) == 1:
            ratio = format_ratio(self.ratios[0])
        else:
            ratio = (f"{format_ratio(self.median_ratio)} "
                     f"[{format_ratio(min(self.ratios))}, {format_ratio(max(self.ratios))}]")
        return (self.case, format_ms(self.ours_ms), self.reference, format_ms(self.ref_ms), ratio,
                "—" if self.target is None else str(self.target), self.gemm_share or "—",
                self.result)


def format_ms(ms):
    """Milliseconds with three significant figures or so: 0.0412, 2.31, 15.3, 153."""
    if ms is None:
        return "—"
    ms = float(f"{ms:.3g}")  # rounded first: 0.9996 is "1.00", not "1"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3g}"


def format_ratio(ratio):
    """``0.87x``, ``12.5x``, ``312x``."""
    if ratio >= 100:
        return f"{ratio:.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def markdown_table(rows):
    """The rows as a GitHub Markdown table, one line per row."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(" --- " for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)
