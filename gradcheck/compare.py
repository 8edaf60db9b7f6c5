"""The measuring machinery of ``check_layer`` and ``check_loss``: probe, compare, diagnose.

``_Probe`` calls the function under check on private copies of its checked inputs;
``_compare`` estimates the numerical gradients (``_full``: every element, ``_fast``: random
directions), scores them against the analytic ones and builds the report, each failure
diagnosed by ``gradcheck.diagnosis``. Shapes: S_k is the shape of the k-th checked input,
O the shape of the forward's output.

``mode='full'`` estimates every element of every checked input by centred differences
(2 forward calls per element) and reports, per input, the element with the largest error::

    err_i = |n_i - a_i| / max(|n_i| + |a_i|,  FLOOR * scale,  noise_i / tol)

The first term is CS231n's relative error (n numerical, a analytic). The two floors keep it
from failing a correct layer where a relative error means nothing:

- ``FLOOR`` (1e-3) of ``scale``, the largest gradient element of any checked input (numerical
  or analytic): an element far smaller than the others (tanh'(30) ~ 1e-25, a saturated sigmoid)
  is judged against that, not against itself, so the centred difference's own truncation and
  round-off error (~1e-11) cannot read as a 100 % error. The scale is taken over all inputs,
  not the input's own, because an input's true gradient can be exactly zero: a bias before
  train-mode batchnorm, which subtracts it again, has analytic ~1e-17 against numeric 0.
- ``noise_i``, the round-off of the numerical estimate itself: ``ROUNDOFF`` (16 float64
  epsilons) times the size of what was differenced, ``sum_j |out_j * dout_j|`` over the outputs
  that moved (``|loss|`` for a loss), divided by the step. A discrepancy within round-off scores
  at most ``tol``. This matters when the whole gradient is tiny next to the output (layernorm
  over two features) or for a mean loss over a large batch (dx ~ 1/N, round-off ~ eps |loss|).

Neither floor hides a real bug: both are far below the 1e-3 discrepancies the tests plant.

``mode='fast'`` checks directional derivatives: for a few random sign vectors ``v`` (each
element +-1, so every element moves by exactly ``h`` as in full mode, and no element can hide
behind a small weight) it compares ``L(x + h v) - L(x - h v)`` with
``<grad, (x + h v) - (x - h v)>`` by the same formula, the first floor being ``FLOOR`` times
the typical size of that product, ``2 h ||grad||`` (the norm over all checked inputs). It uses
``FAST_DIRECTIONS`` directions per input and as many over all inputs jointly (skipped when
only one input is checked): ``1 + 2 * FAST_DIRECTIONS * inputs`` forward calls, plus
``2 * FAST_DIRECTIONS`` for the joint directions when there are several inputs, whatever the
size, so an affine layer with a million weights checks in a fraction of a second. A
direction sees a single wrong element of input k only through its share of the whole
gradient, about ``error / ||grad_k||``; use full mode to find which element it is.

Verdicts and diagnoses (``gradcheck.diagnosis``). Each input's result says 'pass', 'fail' or
'inconclusive' (every failing element within h of a kink, or a float32 input), and a failing
one gets a diagnosis code and a hint, read off the data the check already has: the analytic
and numerical gradients of every input, the input itself, the numerical gradient for an
all-ones upstream gradient (``sum(out)`` of the same outputs), and the one-sided slopes of
each element that looks wrong (from the base call's output). A passing check therefore costs
exactly the forward calls above. A failing one costs ``2 * len(FINER_STEPS)`` (4) calls more
per failing input or row of directions, whose first failure no kink explains is estimated
again at h/10 and h/100 (a kink's failure vanishes there, a bug's does not); a failing fast
check then checks each failing input of at most ``FOLLOW_UP_LIMIT`` (2 * 10^4) elements element
by element (2 calls per element), so that it gets a diagnosis too; a larger input's hint says
which full check to run. The limit was 10^5, whose follow-up took 15 s of CPU (35 to 47 s on a
busy machine) for the weights of an affine layer x (4, 1000), w (1000, 100); 2 * 10^4 takes
1.7 s there, and every input the tests, the notebooks and ``gradcheck.cases`` check is far
smaller (the layers' checks use a few hundred elements at most).
"""

import copy
import dataclasses

import numpy as np

from .diagnosis import VERDICTS, Directions, Evidence, diagnose, kinked
from .numerical import _at, _centred_pair, check_step, refuse_overflow, warn_low_precision
from .report import GradCheckReport, InputResult

FLOOR = 1e-3
ROUNDOFF = 16 * np.finfo(np.float64).eps
FAST_DIRECTIONS = 3
FINER_STEPS = (10, 100)  # a failure no kink test explains is estimated again at h/10, h/100
FOLLOW_UP_LIMIT = 20_000  # a failing fast check checks inputs up to this size element by element


class _Probe:
    """The function under check, called on private copies of its checked inputs.

    ``arrays[k]`` is the working copy of the k-th checked input, perturbed and restored by
    the comparisons; ``originals[k]`` is the caller's array, only ever read. ``calls``
    counts the calls of the function.
    """

    def __init__(self, door, function, args, kwargs, checked, names):
        self.door = door  # check_layer or check_loss, for messages
        self.h = None  # the step, once check_inputs has accepted it
        self.function = function
        self.kwargs = kwargs
        self.names = names
        self.originals = [args[i] for i in checked]
        self.arrays = [args[i].copy() for i in checked]
        self.args = list(args)
        for i, array in zip(checked, self.arrays):
            self.args[i] = array
        self.calls = 0

    def call(self):
        """Call the function on the working arrays, with fresh deep copies of dict arguments."""
        self.calls += 1
        args = [copy.deepcopy(arg) if isinstance(arg, dict) else arg for arg in self.args]
        kwargs = {key: copy.deepcopy(value) if isinstance(value, dict) else value
                  for key, value in self.kwargs.items()}
        return self.function(*args, **kwargs)

    def check_inputs(self, h):
        """Warn on a low-precision input; refuse a step h that an input cannot take."""
        self.h = h
        for name, array in zip(self.names, self.arrays):
            warn_low_precision(self.door, name, array, stacklevel=4)
            check_step(self.door, name, array, h)

    def refuse_overflow(self, measure, where, h, plus, minus):
        """Refuse a step that takes a finite output (or loss) to inf or NaN."""
        if measure.finite:
            refuse_overflow(self.door, "the output", where, h, plus, minus)

    def refuse_changed_inputs(self, func, name):
        for input_name, array, original in zip(self.names, self.arrays, self.originals):
            if not np.array_equal(array, original, equal_nan=True):
                raise ValueError(
                    f"{func}: {name} changed its input {input_name}; "
                    f"a layer must never modify its inputs")

    def gradients(self, func, name, grads):
        """The analytic gradients as float64 arrays, after checking their shapes and dtypes."""
        checked = []
        for input_name, array, grad in zip(self.names, self.arrays, grads):
            grad = np.asarray(grad)
            if grad.shape != array.shape:
                raise ValueError(
                    f"{func}: {name} returned d{input_name} of shape {grad.shape}, expected the "
                    f"shape of {input_name}, {array.shape}"
                    + _order_hint(grad, self.names, self.arrays))
            if grad.dtype != array.dtype:
                raise TypeError(
                    f"{func}: {name} returned d{input_name} of dtype {grad.dtype} for "
                    f"{input_name} of dtype {array.dtype}; a gradient keeps its input's dtype")
            checked.append(grad.astype(np.float64))
        return checked


def _compare(function, probe, grads, measure, mode, h, tol, rng):
    """Compare the analytic ``grads`` with numerical estimates, diagnose failures; build the report.

    ``measure`` evaluates the function at the working arrays and turns two evaluations into
    the change in L (see :class:`_OutputMeasure` and :class:`_LossMeasure`).
    """
    every = range(len(probe.arrays))
    finite = [grad[np.isfinite(grad)] for grad in grads]  # a NaN must not void the floors
    scale = max(float(np.max(np.abs(grad), initial=0.0)) for grad in finite)
    batch = _batch_size(probe.arrays[0])
    if mode == "full":
        evidence = [_full(probe, k, grads[k], measure, h, tol, scale) for k in every]
        inputs = tuple(_full_result(evidence, k, batch) for k in every)
        return GradCheckReport(function, mode, h, tol, inputs, None, probe.calls)

    norm = float(np.sqrt(sum(np.vdot(grad, grad) for grad in finite)))
    rows = [_fast(probe, [k], grads, measure, h, tol, rng, norm) for k in every]
    joint = (_fast(probe, every, grads, measure, h, tol, rng, norm)
             if len(every) > 1 else None)
    failed = [k for k in every if rows[k].failing.any()]
    if joint is not None and joint.failing.any() and not failed:
        failed = list(every)
    # A failure gets a full check of each failing input small enough, for its diagnosis.
    evidence = [_full(probe, k, grads[k], measure, h, tol, scale)
                if k in failed and probe.arrays[k].size <= FOLLOW_UP_LIMIT
                and probe.arrays[k].dtype == np.float64 else None for k in every]
    inputs = tuple(_fast_result(probe, rows[k], evidence, k, batch) for k in every)
    if joint is not None:
        joint = _joint_result(joint, inputs)
    return GradCheckReport(function, mode, h, tol, inputs, joint, probe.calls)


def _full(probe, k, analytic, measure, h, tol, scale):
    """Centred differences of every element of input k, against its analytic gradient.

    ``scale`` is the largest analytic gradient element of any checked input. Returns the
    :class:`Evidence` the report and the diagnosis read."""
    array = probe.arrays[k]
    numeric, noise = np.empty(array.shape), np.empty(array.shape)  # S_k
    ones = np.empty(array.shape) if measure.has_ones else None  # S_k
    up, down = np.full(array.shape, np.nan), np.full(array.shape, np.nan)  # S_k
    floor = FLOOR * scale
    for ix in np.ndindex(array.shape):
        plus, minus, step = _centred_pair(array, ix, h, measure.value)
        probe.refuse_overflow(measure, _at(probe.names[k], ix), h, plus, minus)
        difference, roundoff = measure.change(plus, minus)
        numeric[ix], noise[ix] = difference / step, roundoff / step
        if ones is not None:
            ones[ix] = measure.ones(plus, minus) / step
        # The one-sided slopes, kept where the element already looks wrong (a superset of the
        # failures: the final floor can only be larger), tell a kink from a bug.
        gap = abs(numeric[ix] - analytic[ix])
        if gap > tol * max(abs(numeric[ix]) + abs(analytic[ix]), floor, noise[ix] / tol):
            rise, fall = measure.one_sided(plus, minus)
            up[ix], down[ix] = 2 * rise / step, 2 * fall / step

    scale = max(scale, np.max(np.abs(numeric[np.isfinite(numeric)]), initial=0.0))
    errors = _relative(numeric, analytic, np.maximum(FLOOR * scale, noise / tol))  # S_k
    evidence = Evidence(name=probe.names[k], analytic=analytic, numeric=numeric, errors=errors,
                        noise=noise, up=up, down=down, floor=FLOOR * scale, tol=tol,
                        refined=np.zeros(array.shape, dtype=bool), x=probe.originals[k],
                        ones=ones)
    # A failure no kink test explains is estimated again at finer steps, until one is not
    # explained there either: a bug (a wrong value at a finer step is as wrong).
    refined = np.zeros(array.shape, dtype=bool)  # S_k
    unexplained = evidence.failing & ~kinked(evidence) if array.dtype == np.float64 else ()
    for flat in np.flatnonzero(unexplained):
        ix = np.unravel_index(flat, array.shape)
        if not any(_agrees(*_finer_change(array, ix, h / f, measure), analytic[ix] * 2 * h / f,
                           FLOOR * scale * 2 * h / f, tol) for f in FINER_STEPS):
            break
        refined[ix] = True
    return dataclasses.replace(evidence, refined=refined)


def _finer_change(array, ix, h, measure):
    """The change in L and its round-off over a centred step of ``h`` in ``array[ix]``."""
    plus, minus, step = _centred_pair(array, ix, h, measure.value)
    if step == 0:  # h is lost in rounding next to a large x[ix]: no estimate
        return np.nan, np.nan
    change, roundoff = measure.change(plus, minus)
    return change * 2 * h / step, roundoff * 2 * h / step


def _full_result(evidence, k, batch):
    """The InputResult of a full check of input k, diagnosed when it fails."""
    e = evidence[k]
    shape = e.x.shape
    worst = np.unravel_index(np.argmax(e.errors), shape) if e.errors.size else ()
    worst = tuple(int(i) for i in worst)
    max_error = float(e.errors[worst]) if e.errors.size else 0.0
    code, hint = diagnose(evidence, k, batch)
    return InputResult(e.name, shape, max_error, worst,
                       float(e.analytic[worst]) if e.errors.size else 0.0,
                       float(e.numeric[worst]) if e.errors.size else 0.0,
                       int(e.x.size), bool(max_error <= e.tol), int(e.failing.sum()),
                       "pass" if code is None else VERDICTS[code], code, hint)


def _fast(probe, ks, grads, measure, h, tol, rng, grad_norm):
    """Directional derivatives along FAST_DIRECTIONS random sign vectors over inputs ``ks``.

    ``grad_norm`` is the norm of the analytic gradient over all checked inputs. Returns the
    directions as :class:`Directions` (derivatives per unit of step, 2 h)."""
    ks = list(ks)
    numeric, analytic, noise, up, down = (np.empty(FAST_DIRECTIONS) for _ in range(5))
    directions = []
    for d in range(FAST_DIRECTIONS):
        directions.append({k: _random_signs(rng, probe.arrays[k].shape, h) for k in ks})  # S_k
        numeric[d], noise[d], analytic[d], up[d], down[d] = _along(probe, directions[d], grads,
                                                                   measure)

    floor = FLOOR * 2 * h * grad_norm
    errors = _relative(numeric, analytic, np.maximum(floor, noise / tol))  # (FAST_DIRECTIONS,)
    name = probe.names[ks[0]] if len(ks) == 1 else "(joint)"
    shape = probe.arrays[ks[0]].shape if len(ks) == 1 else ()
    # Per unit of step: the change in L over 2 h, the one-sided changes over h.
    row = Directions(name=name, analytic=analytic / (2 * h), numeric=numeric / (2 * h),
                     errors=errors, noise=noise / (2 * h), up=up / h, down=down / h,
                     floor=floor / (2 * h), tol=tol, refined=np.zeros(FAST_DIRECTIONS, bool),
                     shape=shape)
    refined = np.zeros(FAST_DIRECTIONS, dtype=bool)  # (FAST_DIRECTIONS,)
    unexplained = row.failing & ~kinked(row) if all(
        probe.arrays[k].dtype == np.float64 for k in ks) else ()
    for d in np.flatnonzero(unexplained):  # as in _full
        finer = ({k: step / f for k, step in directions[d].items()} for f in FINER_STEPS)
        if not any(_agrees(*_along(probe, steps, grads, measure)[:3], floor / f, tol)
                   for steps, f in zip(finer, FINER_STEPS)):
            break
        refined[d] = True
    return dataclasses.replace(row, refined=refined)


def _along(probe, steps, grads, measure):
    """Evaluate at x + v and x - v for the step ``v = steps[k]`` of each input k.

    Returns the change in L, its round-off, the analytic change ``<grad, 2 v>`` (with the
    step as rounded in the inputs) and the one-sided changes ``L(+) - L(x), L(x) - L(-)``."""
    taken = {}
    try:
        for k, step in steps.items():
            np.add(probe.originals[k], step, out=probe.arrays[k])
            taken[k] = probe.arrays[k].astype(np.float64)  # S_k, x + v as rounded
        plus = measure.value()
        for k, step in steps.items():
            np.subtract(probe.originals[k], step, out=probe.arrays[k])
            taken[k] -= probe.arrays[k]  # S_k, (x + v) - (x - v)
        minus = measure.value()
    finally:
        for k in steps:
            np.copyto(probe.arrays[k], probe.originals[k])
    probe.refuse_overflow(measure, "a random direction of " + ", ".join(
        probe.names[k] for k in steps), probe.h, plus, minus)
    change, roundoff = measure.change(plus, minus)
    analytic = sum(np.vdot(grads[k], taken[k]) for k in steps)
    return (change, roundoff, analytic) + measure.one_sided(plus, minus)


def _agrees(change, roundoff, analytic, floor, tol):
    """True when a numerical change and the analytic one agree within ``tol`` (the floors as
    in :func:`_relative`)."""
    return abs(change - analytic) <= tol * max(abs(change) + abs(analytic), floor, roundoff / tol)


def _fast_result(probe, row, evidence, k, batch):
    """The InputResult of input k's fast check: its directions when they pass; after a
    failure, its full check's result and diagnosis when one was run and found the failure."""
    if evidence[k] is not None and evidence[k].failing.any():
        return _full_result(evidence, k, batch)
    array = probe.arrays[k]
    if not row.failing.any():
        code, hint = None, None
    elif array.dtype.itemsize < 8:
        code, hint = "float32", (
            f"{row.name} is {array.dtype}, whose round-off swamps a centred difference: this "
            f"check cannot tell right from wrong, rerun it with {row.name}.astype(np.float64)")
    else:
        code, hint = _direction_diagnosis(row, evidence[k] is not None, array.size)
    return _direction_result(row, code, hint)


def _joint_result(row, inputs):
    """The joint row: passing, else the diagnosis of the input that fails (the worst)."""
    failing = [result for result in inputs if result.verdict != "pass"]
    if not row.failing.any():
        return _direction_result(row, None, None)
    if failing:
        worst = max(failing, key=lambda result: result.verdict == "fail")
        return _direction_result(row, worst.diagnosis, f"see {worst.name}")
    return _direction_result(row, *_direction_diagnosis(row, True, None))


def _order_hint(grad, names, arrays):
    """For a gradient of the wrong shape that has another input's shape: the 'swapped' bug,
    seen before any number is compared."""
    like = [name for name, array in zip(names, arrays) if array.shape == grad.shape]
    if not like:
        return ""
    return (f"; it has the shape of {like[0]}: gradients returned in the wrong order? They "
            f"come back in the order of the inputs, {', '.join('d' + name for name in names)}")


def _direction_diagnosis(row, followed_up, size):
    """Diagnosis of failing directions with no failing element found one by one."""
    if np.array_equal(kinked(row), row.failing):
        return "kink", (
            f"the failing directions move every element of {row.name} by h at once and cross "
            f"a point where the function is not differentiable (the slopes on either side "
            f"differ): not a bug, rerun with another random input or seed")
    if followed_up:
        return "unknown", (
            f"every element of {row.name} passes a full check on its own, yet moved together "
            f"they fail: the function is far from linear within h (reduce h) or not smooth")
    return "unknown", (
        f"{row.name} has {size} elements, too many to check one by one here (the limit is "
        f"{FOLLOW_UP_LIMIT}): for a diagnosis run check_layer (or check_loss) with "
        f"mode='full' on a smaller {row.name} of the same layer")


def _direction_result(row, code, hint):
    worst = int(np.argmax(row.errors))
    max_error = float(row.errors[worst])
    return InputResult(row.name, row.shape, max_error, None, float(row.analytic[worst]),
                       float(row.numeric[worst]), FAST_DIRECTIONS, bool(max_error <= row.tol),
                       int(row.failing.sum()), "pass" if code is None else VERDICTS[code],
                       code, hint)


def _random_signs(rng, shape, h):
    """An array of ``shape`` holding ``+h`` or ``-h`` at random (cheaper than Gaussians)."""
    step = np.multiply(rng.integers(0, 2, size=shape, dtype=np.int8), 2 * h)  # 0 or 2h
    step -= h  # exactly -h or +h
    return step


class _OutputMeasure:
    """A layer's forward seen through ``L = sum(out * dout)``, for a fixed ``dout`` (shape O).

    ``base`` is the output at the unperturbed inputs (from the check's first call)."""

    has_ones = True

    def __init__(self, probe, base, dout):
        self.probe = probe
        self.base = np.array(base, dtype=np.float64)  # O
        self.finite = bool(np.all(np.isfinite(self.base)))
        self.dout = dout.astype(np.float64)  # O

    def value(self):
        return np.array(self.probe.call()[0], dtype=np.float64)  # O, a copy: out may be a view

    def change(self, plus, minus):
        """The change in L between two outputs of shape O, and its round-off.

        Outputs that did not move cancel exactly and add no round-off.
        """
        difference = plus - minus  # O
        moved = difference != 0  # O
        size = np.vdot(np.abs(plus[moved]) + np.abs(minus[moved]), np.abs(self.dout[moved])) / 2
        return float(np.vdot(difference, self.dout)), ROUNDOFF * size

    def ones(self, plus, minus):
        """The change in ``sum(out)``: L for an upstream gradient of all ones."""
        return float(np.sum(plus - minus))

    def one_sided(self, plus, minus):
        """``L(+) - L(base)`` and ``L(base) - L(-)``."""
        return (float(np.vdot(plus - self.base, self.dout)),
                float(np.vdot(self.base - minus, self.dout)))


class _LossMeasure:
    """A ``*_loss`` function's scalar loss; ``base`` is the loss at the unperturbed x."""

    has_ones = False

    def __init__(self, value, base):
        self.value = value
        self.base = float(base)
        self.finite = bool(np.isfinite(self.base))

    @staticmethod
    def change(plus, minus):
        """The change in a scalar loss, and its round-off."""
        return plus - minus, ROUNDOFF * (abs(plus) + abs(minus)) / 2

    def one_sided(self, plus, minus):
        return plus - self.base, self.base - minus


def _batch_size(array):
    """N, the length of the first checked input's first axis, when it has two axes or more."""
    return int(array.shape[0]) if array.ndim >= 2 else None


def _relative(numeric, analytic, floor):
    """``|n - a| / max(|n| + |a|, floor)``, 0 where both agree exactly, ``inf`` where not finite."""
    difference = np.abs(numeric - analytic)
    denominator = np.maximum(np.abs(numeric) + np.abs(analytic), floor)
    errors = np.divide(difference, denominator, out=np.zeros_like(difference),
                       where=difference > 0)
    errors[~(np.isfinite(numeric) & np.isfinite(analytic))] = np.inf
    return errors
