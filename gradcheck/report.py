"""The outcome of a gradient check: one row per checked input, and a table to print.

    report.ok, report.max_error      # passed or not, the largest relative error
    report.verdict                   # 'pass', 'fail' or 'inconclusive' (the worst input's)
    report["w"]                      # one input's InputResult: error, worst element, values,
    report["w"].diagnosis            #   and on failure a diagnosis code and a hint
    print(report)                    # the table (report.summary()), then each hint

Shapes: S_k is the shape of the k-th checked input.
"""

from dataclasses import dataclass

VERDICT_WORDS = {"pass": "pass", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


@dataclass(frozen=True)
class InputResult:
    """How one checked input's gradient compared with its numerical estimate.

    In fast mode, an input that fails is then checked element by element when it has at most
    ``FOLLOW_UP_LIMIT`` (2 * 10^4) elements, so that it gets a diagnosis: its row is then that
    full check's (``worst_index`` set, ``checks`` its size).

    Attributes
    ----------
    name : str
        The input's parameter name in the forward's signature ('x', 'w', ...), else 'arg0'...;
        ``'(joint)'`` for fast mode's directions over all inputs at once.
    shape : tuple of int
        The input's shape S_k (``()`` for the joint row).
    max_error : float
        The largest relative error (``inf`` where either gradient is not finite).
    worst_index : tuple of int or None
        Full mode: the index of the element with the largest error. Fast mode: None.
    analytic, numeric : float
        The two values compared there: the gradient element (full mode) or the directional
        derivative along the worst direction (fast mode).
    checks : int
        Elements (full mode) or directions (fast mode) compared.
    ok : bool
        ``max_error <= tol``.
    failing : int
        How many of the ``checks`` elements (or directions) failed.
    verdict : {'pass', 'fail', 'inconclusive'}
        'pass' when ok; 'inconclusive' when the failure proves nothing (a kink within h of
        the input, a float32 input); else 'fail'.
    diagnosis : str or None
        None when ok, else a code of ``gradcheck.diagnosis.CODES``: 'scale', 'sign',
        'transpose', 'swapped', 'missing', 'upstream', 'regularization', 'region', 'kink',
        'float32' or 'unknown'.
    hint : str or None
        None when ok, else one sentence saying what the pattern points at.
    """

    name: str
    shape: tuple
    max_error: float
    worst_index: tuple | None
    analytic: float
    numeric: float
    checks: int
    ok: bool
    failing: int
    verdict: str
    diagnosis: str | None
    hint: str | None


@dataclass(frozen=True)
class GradCheckReport:
    """The outcome of ``check_layer`` or ``check_loss``.

    ``report.ok``, ``report.verdict`` and ``report.max_error`` judge the whole check
    (``ok`` is True only when the verdict is 'pass': an inconclusive check is not ok);
    ``report['w']`` is one input's :class:`InputResult`; ``str(report)`` (or
    ``report.summary()``) is a table followed by the hint of each input that did not pass.

    Attributes
    ----------
    function : str
        What was checked: ``'affine_forward / affine_backward'``, or the loss's name.
    mode : {'full', 'fast'}
    h, tol : float
        The step and the tolerance used.
    inputs : tuple of InputResult
        One per checked input, in argument order.
    joint : InputResult or None
        Fast mode with several inputs: the directions over all inputs at once.
    forward_calls : int
        Calls of the forward (or loss) function, the base call included (and, after a
        failure, the calls that diagnosed it).
    """

    function: str
    mode: str
    h: float
    tol: float
    inputs: tuple
    joint: InputResult | None
    forward_calls: int

    @property
    def results(self):
        """Every row: the per-input results, then the joint one (fast mode, several inputs)."""
        return self.inputs + ((self.joint,) if self.joint is not None else ())

    @property
    def ok(self):
        """True when every input's largest error is within the tolerance."""
        return all(result.ok for result in self.results)

    @property
    def verdict(self):
        """'fail' when any input fails, else 'inconclusive' when any is, else 'pass'."""
        verdicts = {result.verdict for result in self.results}
        return next(v for v in ("fail", "inconclusive", "pass") if v in verdicts)

    @property
    def max_error(self):
        """The largest relative error over all inputs."""
        return max(result.max_error for result in self.results)

    @property
    def worst(self):
        """The checked input's :class:`InputResult` with the largest error (first on ties)."""
        return max(self.inputs, key=lambda result: result.max_error)

    def __getitem__(self, name):
        for result in self.results:
            if result.name == name:
                return result
        names = ", ".join(repr(result.name) for result in self.results)
        raise KeyError(f"no checked input named {name!r}; the inputs are {names}")

    def summary(self):
        """A table: one row per input with its largest error, failing elements (or directions),
        worst element, verdict and diagnosis; then the hint of each input that did not pass."""
        lines = [f"{self.function}: {self.mode} check, h={self.h:g}, tol={self.tol:g}: "
                 f"{self.verdict.upper()} (max error {self.max_error:.2e}, "
                 f"{self.forward_calls} forward calls)"]
        where = "worst index" if self.mode == "full" else "worst"
        rows = [("input", "shape", "max rel error", "failing", where, "analytic", "numeric",
                 "verdict", "diagnosis")]
        for r in self.results:
            at = str(r.worst_index) if r.worst_index is not None else f"of {r.checks} directions"
            rows.append((r.name, str(r.shape), f"{r.max_error:.2e}", f"{r.failing}/{r.checks}",
                         at, f"{r.analytic:.6e}", f"{r.numeric:.6e}", VERDICT_WORDS[r.verdict],
                         r.diagnosis or ""))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                  for row in rows]
        lines += [f"{r.name}: {r.diagnosis}: {r.hint}" for r in self.results if r.hint]
        return "\n".join(lines)

    __str__ = summary
