"""The diagnosis names each planted bug, in several layers, and never fires on a correct layer.

Every bug of the table (gradcheck.diagnosis) is planted in a backward of the library (affine,
conv, batchnorm, layernorm, softmax loss) and in layers written here, and the check must name
it, in full mode and in fast mode (whose failure is followed by a full check of the input).
"""

import functools

import numpy as np
import pytest

import layers
from gradcheck import CODES, check_layer, check_loss
from gradcheck.cases import CASES, TwoStateCase
from gradcheck.compare import FAST_DIRECTIONS, FINER_STEPS, FOLLOW_UP_LIMIT

from .test_check import counting, tanh_backward, tanh_forward

MODES = ["full", "fast"]
CONV_PARAM = {"stride": 1, "pad": 1}
REG = 0.1


def square_forward(x):
    return x ** 2, x


def square_backward(dout, x):
    return 2 * x * dout


def matmul_forward(x, y):
    return x @ y, (x, y)


def matmul_backward(dout, cache):
    x, y = cache
    return dout @ y.T, x.T @ dout


def running_sum_forward(x, w):
    """A sequence layer: out[:, t] = w * (x[:, 0] + ... + x[:, t]) over time steps T."""
    running = np.cumsum(x, axis=1)  # (N, T, D)
    return running * w, (running, w)


def running_sum_backward(dout, cache):
    running, w = cache
    dx = np.flip(np.cumsum(np.flip(dout * w, axis=1), axis=1), axis=1)  # (N, T, D)
    return dx, np.sum(dout * running, axis=(0, 1))


def linear_softmax_loss(W, y, X, reg):
    """Softmax loss of a linear classifier with L2 regularization ``0.5 reg ||W||^2``."""
    loss, dscores = layers.softmax_loss(X @ W, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ dscores + reg * W


# name: (forward, backward or None for a loss, checked input names, make(rng) -> args)
LAYERS = {
    "affine": (layers.affine_forward, layers.affine_backward, ("x", "w", "b"), lambda rng: (
        rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5))),
    "affine_square": (layers.affine_forward, layers.affine_backward, ("x", "w", "b"),
                      lambda rng: (rng.standard_normal((4, 4)), rng.standard_normal((4, 4)),
                                   rng.standard_normal(4))),
    "conv": (layers.conv_forward_fast, layers.conv_backward_fast, ("x", "w", "b"), lambda rng: (
        rng.standard_normal((3, 2, 5, 5)), rng.standard_normal((4, 2, 3, 3)),
        rng.standard_normal(4), CONV_PARAM)),
    "batchnorm": (layers.batchnorm_forward, layers.batchnorm_backward, ("x", "gamma", "beta"),
                  lambda rng: (rng.standard_normal((4, 4)) * 2 + 1, rng.standard_normal(4),
                               rng.standard_normal(4), {"mode": "train"})),
    "layernorm": (layers.layernorm_forward, layers.layernorm_backward, ("x", "gamma", "beta"),
                  lambda rng: (rng.standard_normal((3, 5)) * 2 + 1, rng.standard_normal(5),
                               rng.standard_normal(5), {})),
    "softmax": (layers.softmax_loss, None, ("x",), lambda rng: (
        rng.standard_normal((5, 5)), rng.integers(0, 5, size=5))),
    "linear_softmax": (linear_softmax_loss, None, ("W",), lambda rng: (
        rng.standard_normal((4, 3)), rng.integers(0, 3, size=6), rng.standard_normal((6, 4)),
        REG)),
    "square": (square_forward, square_backward, ("x",), lambda rng: (
        rng.standard_normal((3, 4)),)),
    "tanh": (tanh_forward, tanh_backward, ("x",), lambda rng: (rng.standard_normal((3, 4)),)),
    "matmul": (matmul_forward, matmul_backward, ("x", "y"), lambda rng: (
        rng.standard_normal((3, 3)), rng.standard_normal((3, 3)))),
    "running_sum": (running_sum_forward, running_sum_backward, ("x", "w"), lambda rng: (
        rng.standard_normal((2, 5, 3)), rng.standard_normal(3))),
}


class Context:
    """What a planted bug may read: the checked arrays by name, dout, and the gradients for an
    all-ones dout (None for a loss)."""

    def __init__(self, arrays, dout, ones):
        self.arrays, self.dout, self._ones = arrays, dout, ones
        self.N = next(iter(arrays.values())).shape[0]

    def ones(self, name):
        return self._ones()[name]


def noise(grad, seed=0xBAD):
    """A random error as large as the gradient, the same for every call (and never the data
    of the inputs, which would make it proportional to an input)."""
    return np.random.default_rng(seed).standard_normal(grad.shape) * np.max(np.abs(grad))


def border(shape):
    ring = np.ones(shape[-2:], dtype=bool)
    ring[1:-1, 1:-1] = False
    return np.broadcast_to(ring, shape)


def check_planted(layer, edit, rng, mode):
    """Check ``layer`` with ``edit(grads, context)`` applied to its gradients (a dict by name)."""
    forward, backward, names, make = LAYERS[layer]
    args = make(rng)
    arrays = dict(zip(names, args))
    if backward is None:
        @functools.wraps(forward)  # the check reads the input's name from the signature
        def loss_fn(*call_args):
            loss, dx = forward(*call_args)
            grads = {names[0]: dx}
            edit(grads, Context(arrays, None, None))
            return loss, grads[names[0]]
        return check_loss(loss_fn, *args, mode=mode)

    def buggy(dout, cache):
        def ones():
            return dict(zip(names, as_tuple(backward(np.ones_like(dout), cache))))
        grads = dict(zip(names, as_tuple(backward(dout, cache))))
        edit(grads, Context(arrays, dout, ones))
        return tuple(grads[name] for name in names) if len(names) > 1 else grads[names[0]]
    return check_layer(forward, buggy, *args, mode=mode)


def as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def times(name, factor):
    def edit(grads, c):
        grads[name] = grads[name] * (factor(c) if callable(factor) else factor)
    return edit


def replace(name, new):
    def edit(grads, c):
        grads[name] = new(grads[name], c)
    return edit


def swap(first, second):
    def edit(grads, c):
        grads[first], grads[second] = grads[second], grads[first]
    return edit


def add_where(name, where):
    def edit(grads, c):
        grads[name] = grads[name] + np.where(where(grads[name].shape), noise(grads[name]), 0)
    return edit


def zero_where(name, where):
    def edit(grads, c):
        grads[name] = np.where(where(grads[name].shape), 0.0, grads[name])
    return edit


def rows(*index):
    """A mask of a shape: True at ``index`` (a tuple of ints and slices)."""
    def where(shape):
        mask = np.zeros(shape, dtype=bool)
        mask[index] = True
        return mask
    return where


# (code, layer, broken input, edit, words the hint must hold)
PLANTED = [
    ("scale", "affine", "b", times("b", 2.0), "db = 2 x"),
    ("scale", "conv", "w", times("w", lambda c: 1 / c.N), "dw = 1/N (N = 3, the batch size)"),
    ("scale", "batchnorm", "gamma", times("gamma", 0.5), "dgamma = 1/2 x"),
    ("scale", "softmax", "x", times("x", lambda c: c.N), "dx = N (N = 5, the batch size)"),
    ("scale", "square", "x", times("x", 0.5), "a factor of 2 missed"),
    ("scale", "running_sum", "w", times("w", 1.5), "dw = 1.5 x"),
    ("sign", "affine", "x", times("x", -1.0), "a flipped sign"),
    ("sign", "conv", "b", times("b", -1.0), "db = -1 x"),
    ("sign", "batchnorm", "beta", times("beta", -1.0), "dbeta = -1 x"),
    ("sign", "softmax", "x", times("x", -1.0), "dx = -1 x"),
    ("sign", "matmul", "y", times("y", -1.0), "dy = -1 x"),
    ("transpose", "affine", "x", replace("x", lambda g, c: g.reshape(4, 6).T.reshape(g.shape)),
     "dx is the numerical gradient"),
    ("transpose", "affine_square", "w", replace("w", lambda g, c: g.T), "axes in the order (1, 0)"),
    ("transpose", "conv", "w", replace("w", lambda g, c: g[:, :, ::-1, ::-1]),
     "reversed along axes 2, 3: a kernel flipped"),
    ("transpose", "batchnorm", "x", replace("x", lambda g, c: g.T), "a product in the wrong order"),
    ("transpose", "softmax", "x", replace("x", lambda g, c: g.T), "axes in the order (1, 0)"),
    ("transpose", "matmul", "y", replace("y", lambda g, c: c.dout.T @ c.arrays["x"]),
     "dout.T @ x for x.T @ dout"),
    ("swapped", "affine_square", "x", swap("x", "w"), "dx is the gradient of w"),
    ("swapped", "batchnorm", "gamma", swap("gamma", "beta"), "dgamma is the gradient of beta"),
    ("swapped", "layernorm", "beta", swap("gamma", "beta"), "dbeta is the gradient of gamma"),
    ("swapped", "matmul", "x", swap("x", "y"), "in the wrong order"),
    ("missing", "affine", "b", replace("b", lambda g, c: np.zeros_like(g)), "db is 0 at all 5"),
    ("missing", "conv", "w", replace("w", lambda g, c: np.zeros_like(g)), "never computed"),
    ("missing", "batchnorm", "gamma", replace("gamma", lambda g, c: np.zeros_like(g)),
     "dgamma is 0"),
    ("missing", "softmax", "x", replace("x", lambda g, c: np.zeros_like(g)), "dx is 0 at all 25"),
    ("missing", "running_sum", "x", zero_where("x", rows(slice(None), 4)),
     "dx is 0 at x[:, 4, :] (time step 4)"),
    ("missing", "conv", "x", zero_where("x", border), "dx is 0 at the border of x"),
    ("upstream", "affine", "x", replace("x", lambda g, c: c.ones("x")), "dout is not multiplied"),
    ("upstream", "conv", "b", replace("b", lambda g, c: c.ones("b")), "all ones"),
    ("upstream", "batchnorm", "beta", replace("beta", lambda g, c: c.ones("beta")), "all ones"),
    ("upstream", "tanh", "x", replace("x", lambda g, c: c.ones("x")), "all ones"),
    ("upstream", "running_sum", "w", replace("w", lambda g, c: c.ones("w")), "all ones"),
    ("regularization", "affine", "w", replace("w", lambda g, c: g + REG * c.arrays["w"]),
     "dw - numerical = 0.1 x w: an L2 term's gradient the loss does not have"),
    ("regularization", "conv", "w", replace("w", lambda g, c: g + 0.05 * c.arrays["w"]),
     "0.05 x w"),
    ("regularization", "batchnorm", "gamma",
     replace("gamma", lambda g, c: g + REG * c.arrays["gamma"]), "0.1 x gamma"),
    ("regularization", "linear_softmax", "W",
     replace("W", lambda g, c: g - REG * c.arrays["W"]), "-0.1 x W: an L2 term's gradient missing"),
    ("regularization", "running_sum", "w",
     replace("w", lambda g, c: g - 0.5 * REG * c.arrays["w"]), "-0.05 x w"),
    ("region", "affine", "w", add_where("w", rows(slice(None), 2)), "only w[:, 2] (column 2)"),
    ("region", "conv", "x", add_where("x", rows(slice(None), 1)),
     "only x[:, 1, :, :] (channel 1) is wrong"),
    ("region", "conv", "x", add_where("x", border), "only the border of x"),
    ("region", "batchnorm", "x", add_where("x", rows(0)), "only x[0, :] (row 0)"),
    ("region", "softmax", "x", add_where("x", rows(slice(1, 3))), "only x[1:3, :] (rows 1 and 2)"),
    ("region", "running_sum", "x", add_where("x", rows(slice(None), 4)),
     "only x[:, 4, :] (time step 4)"),
    ("region", "square", "x", replace("x", lambda g, c: np.where(rows(1)(g.shape), 2 * g, g)),
     "only x[1, :] (row 1) is wrong, where dx = 2 x the numerical gradient"),
    ("unknown", "affine", "w", replace("w", lambda g, c: noise(g)), "no known pattern"),
    ("unknown", "conv", "x", replace("x", lambda g, c: g + noise(g)), "no known pattern"),
    ("unknown", "batchnorm", "gamma", replace("gamma", lambda g, c: noise(g)), "the worst"),
    ("unknown", "softmax", "x", replace("x", lambda g, c: g + noise(g)), "no known pattern"),
    ("unknown", "tanh", "x", replace("x", lambda g, c: g ** 2), "no known pattern"),
    ("unknown", "running_sum", "w", replace("w", lambda g, c: np.sum(  # the last step's use only
        (c.dout * np.cumsum(c.arrays["x"], axis=1))[:, -1], axis=0)), "summed (+=)"),
]


def test_every_code_but_the_inconclusive_ones_is_planted_in_three_layers_or_more():
    layers_per_code = {code: {layer for c, layer, *_ in PLANTED if c == code} for code in CODES}
    for code in set(CODES) - {"kink", "float32"}:
        assert len(layers_per_code[code]) >= 3, code
    written_here = {"square", "tanh", "matmul", "running_sum", "linear_softmax"}
    for code in set(CODES) - {"kink", "float32", "swapped"}:  # a loss has one input
        assert layers_per_code[code] & written_here, code
        if code != "upstream":  # a loss has no upstream gradient
            assert layers_per_code[code] & {"softmax", "linear_softmax"}, code


@pytest.mark.parametrize("mode, seed", [("full", 231), ("fast", 231), ("full", 7)])
@pytest.mark.parametrize("code, layer, broken, edit, words", PLANTED,
                         ids=[f"{p[0]}-{p[1]}-{p[2]}" for p in PLANTED])
def test_a_planted_bug_is_named(mode, seed, code, layer, broken, edit, words):
    report = check_planted(layer, edit, np.random.default_rng(seed), mode)
    result = report[broken]
    assert (result.verdict, result.diagnosis) == ("fail", code), report
    assert words in result.hint, result.hint
    assert report.verdict == "fail" and not report.ok
    assert 0 < result.failing <= result.checks == np.size(LAYERS[layer][3](
        np.random.default_rng(0))[LAYERS[layer][2].index(broken)])
    assert f"{broken}: {code}: {result.hint}" in str(report).splitlines()
    for other in report.inputs:
        if other.name != broken and not (code == "swapped" and other.diagnosis == "swapped"):
            assert (other.verdict, other.diagnosis, other.hint) == ("pass", None, None), report


@pytest.mark.parametrize("mode", MODES)
def test_a_swap_names_both_inputs(rng, mode):
    report = check_planted("matmul", swap("x", "y"), rng, mode)
    assert [r.diagnosis for r in report.inputs] == ["swapped", "swapped"]
    assert "dy is the gradient of x" in report["y"].hint


def test_a_full_check_counts_the_failing_elements(rng):
    report = check_planted("softmax", add_where("x", rows(slice(1, 3))), rng, "full")
    assert (report["x"].failing, report["x"].checks) == (10, 25)
    report = check_planted("affine", times("b", 2.0), rng, "full")
    assert [(r.failing, r.checks) for r in report.inputs] == [(0, 24), (0, 30), (5, 5)]


def test_a_fast_check_too_large_to_follow_up_says_which_full_check_to_run(rng, monkeypatch):
    monkeypatch.setattr("gradcheck.compare.FOLLOW_UP_LIMIT", 20)
    report = check_planted("affine", times("w", 2.0), rng, "fast")
    w = report["w"]
    assert (w.verdict, w.diagnosis, w.checks, w.worst_index) == ("fail", "unknown",
                                                                 FAST_DIRECTIONS, None)
    assert "w has 30 elements, too many to check one by one here (the limit is 20)" in w.hint
    assert "mode='full' on a smaller w" in w.hint
    assert FOLLOW_UP_LIMIT == 20_000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layer", ["affine", "conv", "batchnorm", "softmax", "tanh"])
def test_float32_input_is_inconclusive_not_a_fail(rng, mode, layer):
    forward, backward, names, make = LAYERS[layer]
    args = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in make(rng)]
    with pytest.warns(UserWarning, match="float32"):
        if backward is None:
            report = check_loss(forward, *args, mode=mode)
        else:
            report = check_layer(forward, backward, *args, mode=mode)
    assert not report.ok, "float32 round-off should fail a 1e-6 tolerance"
    for result in report.inputs:
        assert result.verdict in ("pass", "inconclusive")
        if result.verdict == "inconclusive":
            assert result.diagnosis == "float32" and "astype(np.float64)" in result.hint
    assert report.verdict == "inconclusive"


# -- kinks: inconclusive exactly where the input sits within h of one -----------------------

H = 1e-5


def relu_near_zero(rng):
    x = rng.standard_normal((3, 4))
    x[1, 2], x[2, 0] = 3e-6, -4e-6
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("forward, backward, kwargs", [
    (layers.relu_forward, layers.relu_backward, {}),
    (layers.leaky_relu_forward, layers.leaky_relu_backward, {"alpha": 0.2}),
])
def test_relu_within_h_of_zero_is_a_kink(rng, mode, forward, backward, kwargs):
    x = relu_near_zero(rng)
    report = check_layer(forward, backward, x, mode=mode, **kwargs)
    result = report["x"]
    assert (report.verdict, result.verdict, result.diagnosis) == (
        "inconclusive", "inconclusive", "kink"), report
    assert not report.ok and result.failing == 2
    assert "rerun with another random input" in result.hint


@pytest.mark.parametrize("mode", MODES)
def test_the_kinks_are_the_elements_within_h_of_zero(mode):
    """Inputs packed around 0: each element that fails sits within h of the kink, and every
    check passes or is inconclusive with the code kink, never a bug's code."""
    verdicts = set()
    for seed in range(20):
        x = np.random.default_rng(seed).uniform(-3 * H, 3 * H, size=(4, 5))
        report = check_layer(layers.leaky_relu_forward, layers.leaky_relu_backward, x, 0.2,
                             mode=mode)
        result = report["x"]
        verdicts.add(result.verdict)
        assert (result.verdict, result.diagnosis) in {("pass", None), ("inconclusive", "kink")}
        if result.worst_index is not None and result.failing:  # the full check's elements
            assert result.failing <= np.sum(np.abs(x) < H)
            assert np.abs(x[result.worst_index]) < H
    assert "inconclusive" in verdicts  # the inputs do reach the kink


@pytest.mark.parametrize("mode", MODES)
def test_a_tie_of_the_max_gate_is_a_kink(rng, mode):
    y = rng.standard_normal(4)
    x = y + np.where(rng.random((3, 4)) < 0.5, -1, 1) * (0.5 + rng.random((3, 4)))
    x[1, 2] = y[2] + 2e-6
    report = check_layer(layers.max_forward, layers.max_backward, x, y, mode=mode)
    assert report.verdict == "inconclusive", report
    assert {r.diagnosis for r in report.inputs} <= {None, "kink"}
    assert report["x"].diagnosis == "kink"


@pytest.mark.parametrize("mode", MODES)
def test_a_tie_in_a_max_pool_window_is_a_kink(rng, mode):
    x = rng.standard_normal((2, 2, 4, 4))
    x[1, 0, 2, 3] = x[1, 0, 2:, 2:].max() + 1e-6  # the window's top two within h
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    report = check_layer(layers.max_pool_forward_fast, layers.max_pool_backward_fast, x, pool,
                         mode=mode)
    assert (report.verdict, report["x"].diagnosis) == ("inconclusive", "kink"), report
    if mode == "full":
        assert report["x"].failing == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_kink_inside_a_sandwich_is_a_kink(rng, mode):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    b[1] -= (x @ w + b)[0, 1] - 2e-6  # one score 2e-6 from ReLU's kink
    report = check_layer(layers.affine_relu_forward, layers.affine_relu_backward, x, w, b,
                         mode=mode)
    assert report.verdict == "inconclusive", report
    assert {r.diagnosis for r in report.inputs} <= {None, "kink"}


def test_a_hinge_at_its_margin_is_a_kink(rng):
    x, y = rng.standard_normal((4, 5)), np.array([0, 1, 2, 3])
    x[2, 4] = x[2, 2] - 1 + 3e-6  # a margin 3e-6 from the hinge
    report = check_loss(layers.svm_loss, x, y)
    assert (report.verdict, report["x"].diagnosis) == ("inconclusive", "kink"), report


@pytest.mark.parametrize("mode", MODES)
def test_a_kink_does_not_hide_a_bug(rng, mode):
    def backward(dout, cache):
        return 2 * layers.relu_backward(dout, cache)

    report = check_layer(layers.relu_forward, backward, relu_near_zero(rng), mode=mode)
    assert (report.verdict, report["x"].diagnosis) == ("fail", "scale"), report


def test_a_relu_a_step_away_from_its_kink_passes(rng):
    x = relu_near_zero(rng)
    x[1, 2], x[2, 0] = 3 * H, -3 * H
    for mode in MODES:
        report = check_layer(layers.relu_forward, layers.relu_backward, x, mode=mode)
        assert report.ok and report.verdict == "pass" and report["x"].diagnosis is None


# -- correct layers: no diagnosis, and no extra cost -----------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_correct_layer_passes_at_many_inputs_with_no_diagnosis(case):
    seeds = range(10, 14) if case.name == "conv_naive" else range(10, 20)
    for seed in seeds:
        for mode in MODES if seed < 14 else ["fast"]:
            report = case.check(mode=mode, seed=seed)
            assert report.verdict == "pass", report
            assert all((r.verdict, r.failing, r.diagnosis, r.hint) == ("pass", 0, None, None)
                       for r in report.results), report


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_passing_check_costs_the_forward_calls_it_always_did(case):
    """Full: 1 + 2 per element; fast: 1 + 2 per direction per input, and the joint ones."""
    args, kwargs = case.make(np.random.default_rng(0))
    sizes = [a.size for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    joint = 1 if len(sizes) > 1 else 0
    expected = {"full": 1 + 2 * sum(sizes),
                "fast": 1 + 2 * FAST_DIRECTIONS * (len(sizes) + joint)}
    pair = case.one_output() if isinstance(case, TwoStateCase) else (case.forward, case.backward)
    for mode in MODES:
        forward = counting(pair[0])
        if case.backward is None:
            report = check_loss(forward, *args, mode=mode, **kwargs)
        else:
            report = check_layer(forward, pair[1], *args, mode=mode, **kwargs)
        assert report.ok
        assert forward.calls == report.forward_calls == expected[mode], mode


def test_a_failing_check_costs_what_is_measured(rng):
    """Full mode: 4 calls more per failing input (its first failing element estimated again at
    h/10 and h/100, which shows it is no kink). Fast mode: as many per failing row of
    directions, then the full check of each failing input."""
    x, w, b = LAYERS["affine"][3](rng)
    finer = 2 * len(FINER_STEPS)
    for mode in MODES:
        forward = counting(layers.affine_forward)

        def backward(dout, cache):
            dx, dw, db = layers.affine_backward(dout, cache)
            return dx, dw * 2, db

        report = check_layer(forward, backward, x, w, b, mode=mode)
        assert report["w"].diagnosis == "scale"
        if mode == "full":
            expected = 1 + 2 * (x.size + w.size + b.size) + finer
        else:  # the rows of w and (joint) fail, then w is checked element by element
            expected = 25 + 2 * finer + 2 * w.size + finer
        assert forward.calls == report.forward_calls == expected


def row_relu_forward(x):
    """ReLU of each row's sum: out[n] = max(sum_d x[n, d], 0), shape (N,)."""
    return np.maximum(x.sum(axis=1), 0), x.sum(axis=1)


def row_relu_backward(dout, sums):
    return np.repeat((dout * (sums > 0))[:, None], 50, axis=1)  # (N, D)


def test_a_kink_only_fast_directions_cross_is_inconclusive():
    """Row sums 3h from 0: no single element's step of h reaches the kink, so the full check
    passes, but a fast direction moves a sum by h times the sum of 50 random signs."""
    x = np.random.default_rng(0).standard_normal((2, 50))
    x -= x.mean(axis=1, keepdims=True) - 3 * H / 50  # (N, D), every row sums to 3h
    assert check_layer(row_relu_forward, row_relu_backward, x).ok
    report = check_layer(row_relu_forward, row_relu_backward, x, mode="fast")
    result = report["x"]
    assert (result.verdict, result.diagnosis, result.checks) == (
        "inconclusive", "kink", FAST_DIRECTIONS), report
    assert "move every element of x by h at once" in result.hint


def test_a_failing_input_outweighs_an_inconclusive_one(rng):
    def forward(x, w):
        return np.maximum(x, 0) * w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout * w * (x > 0), 2 * dout * np.maximum(x, 0)

    x = relu_near_zero(rng)
    for mode in MODES:
        report = check_layer(forward, backward, x, rng.standard_normal((3, 4)), mode=mode)
        assert [r.verdict for r in report.inputs] == ["inconclusive", "fail"], report
        assert [r.diagnosis for r in report.inputs] == ["kink", "scale"]
        assert report.verdict == "fail" and str(report).startswith(
            "forward / backward: %s check, h=1e-05, tol=1e-06: FAIL" % mode)
