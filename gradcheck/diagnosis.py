"""What a failing gradient check's errors say about the bug: a code and a sentence to act on.

    code, hint = diagnose(evidence, k, batch=N)     # evidence: one Evidence per checked input
    verdict = VERDICTS[code]                        # 'fail', or 'inconclusive' for kink, float32

Shapes: S is the shape of the diagnosed input; a, n are its analytic and numerical gradients.

The codes, tried in this order on an input that fails (the first that fits is the diagnosis):

| code | the pattern (all from data the check already has) |
| --- | --- |
| float32 | the input is narrower than float64: round-off swamps the estimate, cannot tell |
| kink | every failing element sits within h of a point where the function is not differentiable |
| missing | a is zero at every failing element where n is not |
| sign | a = -n at every element |
| scale | a = c n at every element, c not 1 (2, 1/2, N and 1/N for the batch size N named) |
| swapped | a equals another input's n (or n another input's a), of the same shape |
| upstream | a equals the gradient for an all-ones upstream gradient instead of the given dout |
| transpose | a equals n with its axes permuted, transposed and reshaped, or reversed |
| regularization | a - n = c x for the input x itself |
| region | the failing elements fill a slice (rows, columns, channels, time steps, the border) |
|  | (``missing`` names the slice too when the zeros fill one) |
| scale, sign | on scattered failing elements only, a = c n (or -n) with one c |
| unknown | none of these |

Why a kink is recognised from the data. Near a point where the function bends (ReLU at 0, a tie
of a max) the centred difference averages the slopes of both sides, while a correct backward
returns the slope of one side. The check keeps, for each failing element, the one-sided slopes
``(L(x + h) - L(x)) / h`` and ``(L(x) - L(x - h)) / h`` (no extra calls: ``L(x)`` is the base
call). A correct backward returns the slope of one side, so its value lies between the two;
a smooth function's one-sided slopes differ only by ``h f''``, so a wrong value off by more
than that lies outside. When several kinks fall within one step the slopes differ by far more
than ``h f''``: ``KINK_JUMP`` (1e-3) of their size marks that too. The verdict is ``kink``
only when every failing element crossed a kink; such elements are left out of the patterns,
so that a kink cannot hide a bug elsewhere. A bug smaller than ``h f''`` (~1e-5 relative)
could pass for a kink; the bugs students write are far larger. Two kinks on either side
within one step can leave both slopes off a correct value: the check then estimates such an
element again at steps of h/10 and h/100, and a finer estimate that confirms the analytic
value marks a kink too (a wrong value stays as wrong at any step).

A pattern "fits" when the analytic gradient equals the pattern's prediction within
``PATTERN_TOL`` (1e-5) by the check's own relative error and floors: planted bugs fit to
~1e-9, and a failure means some element is off by more than the tolerance, so a pattern can
only fit where it explains that failure. This module imports nothing of ours.
"""

import itertools
from dataclasses import dataclass

import numpy as np

CODES = {
    "scale": "the analytic gradient is c times the numerical one",
    "sign": "the analytic gradient is minus the numerical one",
    "transpose": "the analytic gradient is the numerical one transposed, reshaped or reversed",
    "swapped": "the analytic gradient is another input's numerical gradient",
    "missing": "the analytic gradient is zero where the numerical one is not",
    "upstream": "the analytic gradient is the one for an all-ones upstream gradient",
    "regularization": "analytic minus numerical is proportional to the input itself",
    "region": "the errors are confined to a slice of the input",
    "kink": "the failing elements sit at a point where the function is not differentiable",
    "float32": "the input is float32, where numerical gradients cannot tell",
    "unknown": "no known pattern",
}
VERDICTS = dict.fromkeys(CODES, "fail") | {"kink": "inconclusive", "float32": "inconclusive"}
PATTERN_TOL = 1e-5
KINK_JUMP = 1e-3
KINK_SHARE = 0.01  # slack around the one-sided slopes, as a share of the error
MAX_LAYOUTS = 64


@dataclass(frozen=True)
class Comparison:
    """Analytic against numerical values, element by element (or direction by direction).

    Attributes
    ----------
    name : str
        The input's name ('x', 'w', ...), or '(joint)' for fast mode's joint directions.
    analytic, numeric, errors : ndarray of shape S, float64
        The gradient the backward returned, the centred-difference estimate, and the check's
        relative error per element.
    noise : ndarray of shape S
        The round-off of each numerical estimate.
    up, down : ndarray of shape S
        One-sided slopes ``(L(x+h) - L(x)) / h`` and ``(L(x) - L(x-h)) / h``; NaN where the
        element did not look wrong during the check (they are kept only there).
    floor : float
        The check's absolute floor, ``FLOOR`` times the largest gradient element.
    tol : float
        The check's tolerance.
    refined : ndarray of shape S, bool
        Failing elements whose analytic value a centred difference at a finer step (h/10,
        h/100) confirms: the step of h crossed a kink the one-sided slopes did not show.
    """

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray
    noise: np.ndarray
    up: np.ndarray
    down: np.ndarray
    floor: float
    tol: float
    refined: np.ndarray

    @property
    def failing(self):
        """Boolean mask of shape S: the elements whose error exceeds the tolerance."""
        return self.errors > self.tol


@dataclass(frozen=True)
class Evidence(Comparison):
    """Everything a full check learnt about one input, for the diagnosis.

    It has the attributes of :class:`Comparison`, and two more.

    Attributes
    ----------
    x : ndarray of shape S
        The input's values (its own dtype).
    ones : ndarray of shape S or None
        The numerical gradient for an all-ones upstream gradient (None for a loss).
    """

    x: np.ndarray
    ones: np.ndarray | None


@dataclass(frozen=True)
class Directions(Comparison):
    """Fast mode's directional derivatives of one input (or all: the joint row); every array
    has shape (FAST_DIRECTIONS,). ``shape`` is the input's (``()`` for the joint row)."""

    shape: tuple


def diagnose(evidence, k, batch=None):
    """The diagnosis of the k-th input: ``(code, hint)``, or ``(None, None)`` when it passes.

    Parameters
    ----------
    evidence : sequence of Evidence or None
        One per checked input, in order; None for an input with no full check (in fast mode,
        one that passed), which the ``swapped`` rule then leaves out.
    k : int
        The input to diagnose; ``evidence[k]`` must not be None.
    batch : int or None
        The batch size N, to name a factor of N or 1/N.
    """
    e = evidence[k]
    failing = e.failing  # S
    if not failing.any():
        return None, None
    d = f"d{e.name}"
    count = _count(failing)
    if e.x.dtype.itemsize < 8:
        return "float32", (
            f"{e.name} is {e.x.dtype}, whose round-off swamps a centred difference: this check "
            f"cannot tell right from wrong, rerun it with {e.name}.astype(np.float64)")
    kinks = kinked(e)  # S
    if np.array_equal(kinks, failing):
        return "kink", (
            f"{count} of {e.name} sit{'s' if failing.sum() == 1 else ''} within h of a point "
            f"where the function is not differentiable (the slopes on either side differ): "
            f"not a bug, rerun with another random input")
    usable = ~kinks  # S, the rules below read the elements whose step crossed no kink
    failing = failing & usable  # S
    a, n, tol = e.analytic, e.numeric, _pattern_tol(e)
    where = _slice_words(e, failing)

    if np.all(np.abs(a[failing]) <= tol * np.abs(n[failing])):
        at = f"at {where}" if where else f"at {_count(failing)}"
        return "missing", (
            f"{d} is 0 {at} where the numerical gradient is not: a gradient never computed "
            f"or never accumulated (an = where += belongs, a branch or a term left out)")
    if _fits(e, -n, usable):
        return "sign", f"{d} = -1 x the numerical gradient everywhere: a flipped sign"
    c = _factor(a[usable], n[usable])
    if c is not None and _fits(e, c * n, usable) and usable.sum() > 1:
        return "scale", f"{d} = {_scale_words(c, batch)} x the numerical gradient everywhere: " \
                        f"{_scale_cause(c, batch)}"
    for j, other in enumerate(evidence):
        if j == k or other is None or other.x.shape != e.x.shape:
            continue
        if _fits(e, other.numeric, usable) or _close(n, other.analytic, e, usable):
            return "swapped", (
                f"{d} is the gradient of {other.name} (and d{other.name} that of {e.name}): "
                f"the gradients are returned in the wrong order; return one per input, in "
                f"the order of the forward's arguments")
    if e.ones is not None and _fits(e, e.ones, usable):
        return "upstream", (
            f"{d} is the gradient for an upstream gradient of all ones: dout is not "
            f"multiplied in (backward must return dout times the local gradient)")
    for layout, target in _layouts(n):
        if _fits(e, target, usable):
            cause = ("a kernel flipped (a convolution for a correlation) or an index counted "
                     "from the wrong end" if layout.startswith("reversed") else
                     "a product in the wrong order (dout.T @ x for x.T @ dout), a missing "
                     "transpose or a reshape of an array in another layout")
            return "transpose", f"{d} is the numerical gradient {layout}: {cause}"
    x = e.x.astype(np.float64)
    c = _factor((a - n)[usable], x[usable])
    if c is not None and usable.sum() > 1 and _fits(e, n + c * x, usable):
        return "regularization", (
            f"{d} - numerical = {c:.4g} x {e.name}: an L2 term's gradient "
            + ("the loss does not have, or one counted twice" if c > 0 else
               "missing (or only part of it) where the loss has one"))
    if where:
        return "region", f"only {where} is wrong{_pattern_words(e, failing, batch)}: " \
                         f"look at the code that handles that slice (an index, an edge, padding)"
    c = _factor(a[failing], n[failing])
    if failing.sum() > 1 and c is not None and _fits(e, c * n, failing):
        return ("sign" if abs(c + 1) < tol else "scale"), (
            f"{d} = {_scale_words(c, batch)} x the numerical gradient at {_count(failing)} "
            f"(right elsewhere): a case of the backward, such as one side of a max or an "
            f"activation's slope, with a wrong factor")
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(e.errors), e.errors.shape))
    return "unknown", (
        f"{_count(failing)} wrong with no known pattern; the worst, {e.name}[{_index(worst)}]: "
        f"{d} {a[worst]:.6g}, numerical {n[worst]:.6g}. Look for a wrong local derivative, "
        f"or, if {e.name} is used more than once (a weight shared by every time step), a "
        f"gradient that keeps one use (=) where every use must be summed (+=)")


def kinked(e):
    """Boolean mask of shape S: the failing elements whose step crossed a kink.

    The one-sided slopes of such an element differ (by more than 10 times their round-off)
    and either the analytic value lies between them, as a correct backward's does (it returns
    the slope of one side), or they differ by more than ``KINK_JUMP`` of their size, which a
    smooth function's (``h f''`` apart, ~1e-5 of their size) do not: there several kinks were
    crossed, or one with the analytic value wrong, which this check cannot tell apart. Also
    those that a finer step confirmed (``e.refined``). ``e`` is any :class:`Comparison`.
    """
    a, n, up, down = e.analytic, e.numeric, e.up, e.down
    with np.errstate(invalid="ignore"):
        jump = np.abs(up - down)  # S
        seen = np.isfinite(jump) & (jump > 10 * e.noise)  # S
        slack = KINK_SHARE * np.abs(a - n)  # S
        between = (a >= np.minimum(up, down) - slack) & (a <= np.maximum(up, down) + slack)
        sharp = jump > KINK_JUMP * np.maximum(np.abs(up) + np.abs(down), e.floor)  # S
    return e.failing & (seen & (between | sharp) | e.refined)


def _pattern_tol(e):
    """The pattern tolerance: PATTERN_TOL, tighter under a tolerance tighter than it."""
    return min(PATTERN_TOL, e.tol / 10)


def _close(first, second, e, where=None):
    """True when two arrays of shape S agree within the pattern tolerance, with e's floors."""
    tol = _pattern_tol(e)
    floor = np.maximum(e.floor, e.noise / tol)  # S
    difference = np.abs(first - second)  # S
    errors = difference / np.maximum(np.abs(first) + np.abs(second), floor)  # S
    errors[difference == 0] = 0.0
    if where is not None:
        errors = errors[where]
    return errors.size > 0 and bool(np.all(errors <= tol))


def _fits(e, target, where=None):
    """True when e's analytic gradient equals ``target`` (shape S) within the pattern tolerance."""
    return _close(e.analytic, target, e, where)


def _factor(a, b):
    """The least-squares c in ``a = c b``, None when b is zero."""
    norm = float(np.vdot(b, b))
    return float(np.vdot(a, b)) / norm if norm > 0 else None


def _layouts(n):
    """``(words, array)`` for every other layout of n with n's shape: axis permutations (then
    reshaped when the shape changes), the 2-D transposes of its flattenings, and reversals."""
    shape = n.shape
    orders = itertools.islice(itertools.permutations(range(n.ndim)), 1, MAX_LAYOUTS)
    for order in orders:  # every permutation but the first, the identity
        moved = n.transpose(order)
        words = f"with its axes in the order {order}"
        if moved.shape != shape:
            moved, words = moved.reshape(shape), words + " then reshaped back"
        yield words, moved
    for split in range(1, n.ndim if n.ndim > 2 else 0):
        rows = int(np.prod(shape[:split]))
        yield (f"flattened to ({rows}, {n.size // rows}), transposed and reshaped back",
               n.reshape(rows, -1).T.reshape(shape))
    axes = [axis for axis in range(n.ndim) if shape[axis] > 1]
    for count in range(1, len(axes) + 1):
        for chosen in itertools.combinations(axes, count):
            words = "reversed along axis " if count == 1 else "reversed along axes "
            yield words + ", ".join(map(str, chosen)), np.flip(n, chosen)


AXIS_NAMES = {
    1: [("element", "elements")],
    2: [("row", "rows"), ("column", "columns")],
    3: [("sample", "samples"), ("time step", "time steps"), ("feature", "features")],
    4: [("sample", "samples"), ("channel", "channels"), ("row", "rows"), ("column", "columns")],
}
COVERAGE = 0.5


def _slice_words(e, failing):
    """Names the slice the failing elements fill, e.g. "w[:, 2] (column 2)", or None.

    The failing elements must fill at least ``COVERAGE`` of the box they span (counting the
    elements with a gradient above the floor), and that box be at most half of the input; else
    the border of an image (the first and last of the last two axes, each at least 3 long).
    """
    shape = failing.shape
    if failing.size < 2 or not failing.any():
        return None
    live = (np.abs(e.analytic) + np.abs(e.numeric)) > e.floor  # S
    spans = [np.flatnonzero(failing.any(axis=tuple(j for j in range(len(shape)) if j != axis)))
             for axis in range(len(shape))]
    box = np.ix_(*spans)
    restricted = [axis for axis in range(len(shape)) if len(spans[axis]) < shape[axis]]
    filled = failing[box].sum() >= COVERAGE * max(live[box].sum(), 1)
    if restricted and filled and failing[box].size <= failing.size / 2:
        index = ", ".join(_span(spans[axis]) if axis in restricted else ":"
                          for axis in range(len(shape)))
        names = AXIS_NAMES.get(len(shape))
        words = ", ".join(
            f"{names[axis][len(spans[axis]) > 1]} {_listing(spans[axis])}" if names
            else f"axis {axis} at {_listing(spans[axis])}" for axis in restricted)
        return f"{e.name}[{index}] ({words})"
    if len(shape) >= 2 and min(shape[-2:]) >= 3:
        ring = np.ones(shape[-2:], dtype=bool)  # (H, W)
        ring[1:-1, 1:-1] = False
        ring = np.broadcast_to(ring, shape)  # S
        if not (failing & ~ring).any() and failing.sum() >= COVERAGE * (live & ring).sum():
            return f"the border of {e.name} (the first and last rows and columns of its " \
                   f"last two axes)"
    return None


def _span(indices):
    """Numpy index text for sorted indices: '2', '1:4' or '[0, 4]'."""
    if len(indices) == 1:
        return str(indices[0])
    if np.all(np.diff(indices) == 1):
        return f"{indices[0]}:{indices[-1] + 1}"
    return "[" + ", ".join(map(str, indices)) + "]"


def _listing(indices):
    """Words for sorted indices: '2', '1..3' or '0 and 4' or '0, 2 and 5'."""
    indices = [int(i) for i in indices]
    if len(indices) > 2 and indices[-1] - indices[0] == len(indices) - 1:
        return f"{indices[0]}..{indices[-1]}"
    if len(indices) == 1:
        return str(indices[0])
    return ", ".join(map(str, indices[:-1])) + f" and {indices[-1]}"


def _pattern_words(e, failing, batch):
    """', where dx = c x numerical' when one factor explains every failing element, else ''."""
    c = _factor(e.analytic[failing], e.numeric[failing])
    if failing.sum() > 1 and c is not None and _fits(e, c * e.numeric, failing):
        return f", where d{e.name} = {_scale_words(c, batch)} x the numerical gradient"
    return ""


def _scale_words(c, batch):
    """c named: '2', '1/2', '1/N (N = 4)', 'N (N = 4)', '-1', else c to 4 digits."""
    for value, words in _known_factors(batch):
        if abs(c / value - 1) < 1e-4:
            return words
    return f"{c:.4g}"


def _known_factors(batch):
    known = [(2.0, "2"), (0.5, "1/2"), (-1.0, "-1")]
    if batch is not None and batch > 2:
        known += [(float(batch), f"N (N = {batch}, the batch size)"),
                  (1.0 / batch, f"1/N (N = {batch}, the batch size)")]
    return known


def _scale_cause(c, batch):
    if batch is not None and batch > 2 and abs(c / batch - 1) < 1e-4:
        return "a sum where the forward takes a mean over the batch (the 1/N left out)"
    if batch is not None and batch > 2 and abs(c * batch - 1) < 1e-4:
        return "a mean where the forward sums over the batch, or the 1/N applied twice"
    if abs(c / 2 - 1) < 1e-4:
        return "a factor counted twice (a 2 from a square kept where a 1/2 cancels it?)"
    if abs(c * 2 - 1) < 1e-4:
        return "a factor of 2 missed (the derivative of a square?) or a value halved twice"
    if c < 0:
        return "a flipped sign and a wrong factor"
    return "a constant factor counted wrongly (a step size, a scale, a mean where a sum belongs)"


def _count(mask):
    """'all 12 elements', '3 of 12 elements' or '1 of 12 elements'."""
    failing, total = int(mask.sum()), mask.size
    noun = "element" if total == 1 else "elements"
    return f"all {total} {noun}" if failing == total and total > 1 else \
        f"{failing} of {total} {noun}"


def _index(index):
    return ", ".join(map(str, index))
