"""check_layer and check_loss tell right from wrong, on tiny reference layers written here.

The reference layers below are independent of the ``layers`` package on purpose: the checker
is proven on layers whose gradients are known, then trusted on the library's (test_cases.py).
"""

import functools
import warnings

import numpy as np
import pytest

from gradcheck import DEFAULT_TOL, PrecisionWarning, check_layer, check_loss

MODES = ["full", "fast"]


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b  # (N, M)
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = x.shape[0]
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def affine_inputs(rng, N=4, D=6, M=5):
    return rng.standard_normal((N, 2, D // 2)), rng.standard_normal((D, M)), rng.standard_normal(M)


def broken_affine(bug):
    """affine_backward with one subtle, planted bug; returns (backward, broken input, index)."""
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        if bug == "scaled":
            dw = dw * 1.001
        elif bug == "one element":
            dw = dw.copy()
            dw[1, 2] += 1e-3
        elif bug == "reversed bias":
            db = db[::-1]
        elif bug == "negated":  # right in size everywhere, wrong in direction
            dx = -dx
        return dx, dw, db
    return backward, {"scaled": "w", "one element": "w", "reversed bias": "b",
                      "negated": "x"}[bug]


def counting(forward):
    """Wrap ``forward`` so that ``wrapper.calls`` counts its calls."""
    @functools.wraps(forward)
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return forward(*args, **kwargs)
    wrapper.calls = 0
    return wrapper


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", [(1, 2, 1), (4, 6, 5), (3, 10, 7)])
def test_correct_affine_passes(rng, mode, shapes):
    report = check_layer(affine_forward, affine_backward, *affine_inputs(rng, *shapes), mode=mode)
    assert report.ok, report
    assert [r.name for r in report.inputs] == ["x", "w", "b"]
    assert report.max_error < 1e-8


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, scale", [((5,), 1.0), ((4, 3), 3.0), ((2, 3, 4), 10.0)])
def test_correct_tanh_passes_even_where_its_gradient_is_tiny(rng, mode, shape, scale):
    """Inputs up to ~30 make tanh' as small as 1e-25: the floor keeps round-off from failing it."""
    x = scale * rng.standard_normal(shape)
    report = check_layer(tanh_forward, tanh_backward, x, mode=mode)
    assert report.ok, report
    assert report["x"].max_error < 1e-7


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", ["scaled", "one element", "reversed bias", "negated"])
def test_subtly_broken_backward_fails_and_the_broken_input_is_named(rng, mode, bug):
    backward, broken = broken_affine(bug)
    report = check_layer(affine_forward, backward, *affine_inputs(rng), mode=mode)
    assert not report.ok
    assert report.max_error > DEFAULT_TOL[mode]
    assert not report[broken].ok
    assert report.worst.name == broken
    assert all(r.ok for r in report.inputs if r.name != broken), report
    assert f"{broken} " in str(report) and "FAIL" in str(report)
    if mode == "full" and bug == "one element":
        assert report[broken].worst_index == (1, 2)
        assert report[broken].numeric - report[broken].analytic == pytest.approx(-1e-3, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_broken_backward_fails_whatever_the_seed(rng, mode, seed):
    backward, _ = broken_affine("one element")
    assert not check_layer(affine_forward, backward, *affine_inputs(rng), mode=mode,
                           seed=seed).ok


@pytest.mark.parametrize("mode", MODES)
def test_broken_tanh_fails(rng, mode):
    def backward(dout, cache):
        return 1.001 * tanh_backward(dout, cache)
    report = check_layer(tanh_forward, backward, rng.standard_normal((3, 4)), mode=mode)
    assert not report.ok and not report["x"].ok


@pytest.mark.parametrize("mode", MODES)
def test_backward_that_ignores_dout_fails(rng, mode):
    """The upstream gradient is random, so a backward that forgets it (right for dout = 1) fails."""
    def backward(dout, cache):
        return 1 - cache ** 2
    assert not check_layer(tanh_forward, backward, rng.standard_normal((3, 4)), mode=mode).ok


def test_full_mode_calls_forward_twice_per_element(rng):
    forward = counting(affine_forward)
    x, w, b = affine_inputs(rng)
    report = check_layer(forward, affine_backward, x, w, b)
    assert forward.calls == 1 + 2 * (x.size + w.size + b.size) == report.forward_calls
    assert [r.checks for r in report.inputs] == [x.size, w.size, b.size]


def test_fast_mode_on_a_million_weights_takes_a_fixed_handful_of_forward_calls(rng):
    forward = counting(affine_forward)
    x, w, b = rng.standard_normal((2, 1000)), rng.standard_normal((1000, 1000)), np.zeros(1000)
    report = check_layer(forward, affine_backward, x, w, b, mode="fast")
    assert report.ok, report
    assert forward.calls == report.forward_calls == 25  # 1 + 2 * 3 directions * (3 inputs + joint)
    small = counting(affine_forward)
    check_layer(small, affine_backward, *affine_inputs(rng), mode="fast")
    assert small.calls == forward.calls


def test_fast_mode_with_one_input_has_no_joint_row(rng):
    forward = counting(tanh_forward)
    report = check_layer(forward, tanh_backward, rng.standard_normal(3), mode="fast")
    assert report.joint is None and forward.calls == 7
    report = check_layer(affine_forward, affine_backward, *affine_inputs(rng), mode="fast")
    assert report.joint.name == "(joint)" and report.joint.ok
    assert [r.name for r in report.results] == ["x", "w", "b", "(joint)"]


@pytest.mark.parametrize("mode", MODES)
def test_callers_arrays_are_untouched_bit_for_bit(rng, mode):
    x, w, b = (a * 1e3 + 1 / 3 for a in affine_inputs(rng))
    before = [a.copy() for a in (x, w, b)]
    check_layer(affine_forward, affine_backward, x, w, b, mode=mode)
    assert all(a.tobytes() == c.tobytes() for a, c in zip((x, w, b), before))


@pytest.mark.parametrize("mode", MODES)
def test_callers_arrays_are_untouched_when_forward_raises_mid_check(rng, mode):
    x, w, b = (a + 1 / 3 for a in affine_inputs(rng))
    before = [a.copy() for a in (x, w, b)]
    seen = []

    def forward(x, w, b):
        seen.append((x, w, b))
        if len(seen) == 4:  # mid-check, while an input is perturbed
            raise RuntimeError("boom")
        return affine_forward(x, w, b)

    with pytest.raises(RuntimeError, match="boom"):
        check_layer(forward, affine_backward, x, w, b, mode=mode)
    assert all(a.tobytes() == c.tobytes() for a, c in zip((x, w, b), before))
    # The forward saw private copies, never the caller's arrays, and they were put back too.
    assert all(s is not a for s, a in zip(seen[-1], (x, w, b)))
    assert all(s.tobytes() == c.tobytes() for s, c in zip(seen[-1], before))


@pytest.mark.parametrize("mode", MODES)
def test_stateful_dict_argument_is_deep_copied_for_every_call(rng, mode):
    """Like batchnorm's running statistics: forward updates its dict, output depends on it."""
    def forward(x, param):
        out = x * param["state"]["gain"]
        param["state"]["gain"] += 1.0
        return out, param["state"]["gain"] - 1.0

    def backward(dout, cache):
        return dout * cache

    param = {"state": {"gain": 2.0}}
    report = check_layer(forward, backward, rng.standard_normal((3, 2)), param, mode=mode)
    assert report.ok, report
    assert param == {"state": {"gain": 2.0}}


@pytest.mark.parametrize("mode", MODES)
def test_non_float_arguments_and_kwargs_pass_through(rng, mode):
    def forward(x, labels, param, repeat, nothing, *, alpha):
        assert labels.dtype.kind == "i" and param == {"k": 1} and repeat == 2 and nothing is None
        picked = x[np.arange(len(labels)), labels]  # (N,)
        return alpha * repeat * np.tanh(picked), (x, labels, alpha * repeat)

    def backward(dout, cache):
        x, labels, factor = cache
        rows = np.arange(len(labels))
        dx = np.zeros_like(x)
        dx[rows, labels] = dout * factor * (1 - np.tanh(x[rows, labels]) ** 2)
        return dx

    x, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    report = check_layer(forward, backward, x, labels, {"k": 1}, 2, None, alpha=0.5, mode=mode)
    assert report.ok, report
    assert [r.name for r in report.inputs] == ["x"]


def test_input_names_come_from_the_signature_else_arg_positions(rng):
    def forward(*arrays):
        return sum(a.sum() for a in arrays) * np.ones(2), None

    def backward(dout, cache):
        return tuple(np.full(shape, dout.sum()) for shape in ((2,), (3,)))

    report = check_layer(forward, backward, rng.standard_normal(2), rng.standard_normal(3))
    assert report.ok and [r.name for r in report.inputs] == ["arg0", "arg1"]
    with pytest.raises(KeyError, match="'x'.*'arg0', 'arg1'"):
        report["x"]


def test_zero_d_inputs_are_checked(rng):
    def forward(x, y):
        return x * y, (x, y)

    def backward(dout, cache):
        x, y = cache
        return dout * y, dout * x

    for mode in MODES:
        report = check_layer(forward, backward, np.array(2.0), np.array(-3.0), mode=mode)
        assert report.ok, report
    assert report.inputs[0].shape == ()


def test_float32_warns_runs_and_returns_a_report(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    before = x.copy()
    with pytest.warns(PrecisionWarning, match="check_layer: x is float32"):
        report = check_layer(tanh_forward, tanh_backward, x)
    assert report.inputs[0].checks == 12 and report.max_error < 1e-1
    assert x.tobytes() == before.tobytes()
    with pytest.warns(PrecisionWarning, match="check_loss: x is float32"):
        check_loss(softmax_loss, x, np.array([0, 1, 2]), mode="fast")


def test_float64_does_not_warn(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_layer(affine_forward, affine_backward, *affine_inputs(rng), mode="fast")


def test_prints_only_when_verbose(rng, capsys):
    x = rng.standard_normal(3)
    report = check_layer(tanh_forward, tanh_backward, x)
    assert capsys.readouterr().out == ""
    check_layer(tanh_forward, tanh_backward, x, verbose=True)
    assert capsys.readouterr().out == str(report) + "\n"


def test_same_seed_same_report_other_seed_other_dout(rng):
    x = rng.standard_normal((2, 3))
    one = check_layer(tanh_forward, tanh_backward, x, seed=7)
    assert one == check_layer(tanh_forward, tanh_backward, x, seed=7)
    other = check_layer(tanh_forward, tanh_backward, x, seed=8)
    assert one.inputs[0].analytic != other.inputs[0].analytic


def test_dout_is_not_the_data_of_the_same_seed():
    """default_rng(0) data checked with seed=0 must not get that data back as dout: for a
    normalization layer, dout = x would project to a zero gradient and prove nothing."""
    x = np.random.default_rng(0).standard_normal((4, 5))
    seen = []

    def backward(dout, cache):
        seen.append(dout.copy())
        return tanh_backward(dout, cache)

    check_layer(tanh_forward, backward, x, seed=0)
    assert not np.allclose(seen[0], x)


@pytest.mark.parametrize("seed", [-1, 1.5, None, True])
def test_bad_seed_is_refused(rng, seed):
    with pytest.raises(ValueError, match="check_loss: seed must be a non-negative integer"):
        check_loss(softmax_loss, rng.standard_normal((2, 3)), np.array([0, 1]), seed=seed)


def test_summary_table(rng):
    backward, _ = broken_affine("one element")
    text = check_layer(affine_forward, backward, *affine_inputs(rng)).summary()
    lines = text.splitlines()
    assert lines[0].startswith("affine_forward / backward: full check, h=1e-05, tol=1e-06: FAIL")
    assert lines[1].split() == ["input", "shape", "max", "rel", "error", "failing", "worst",
                                "index", "analytic", "numeric", "verdict", "diagnosis"]
    assert [line.split()[0] for line in lines[2:5]] == ["x", "w", "b"]
    assert "(1, 2)" in lines[3] and lines[3].split()[-2:] == ["FAIL", "region"]
    assert " 1/30 " in lines[3] and " 0/24 " in lines[2] and lines[2].endswith("pass")
    assert lines[5:] == ["w: region: only w[1, 2] (row 1, column 2) is wrong: look at the code "
                         "that handles that slice (an index, an edge, padding)"]


@pytest.mark.parametrize("mode", MODES)
def test_correct_loss_passes(rng, mode):
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    before = x.copy()
    report = check_loss(softmax_loss, x, y, mode=mode)
    assert report.ok, report
    assert [r.name for r in report.inputs] == ["x"] and report.max_error < 1e-8
    assert x.tobytes() == before.tobytes()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", ["scaled", "one element"])
def test_broken_loss_fails(rng, mode, bug):
    def loss_fn(x, y):
        loss, dx = softmax_loss(x, y)
        if bug == "scaled":
            return loss, dx * 1.001
        dx[3, 1] += 1e-3
        return loss, dx

    report = check_loss(loss_fn, rng.standard_normal((5, 4)), rng.integers(0, 4, size=5),
                        mode=mode)
    assert not report.ok and not report["x"].ok
    if mode == "full" and bug == "one element":
        assert report["x"].worst_index == (3, 1)


def test_check_loss_passes_extra_arguments_through(rng):
    def loss_fn(x, y, weights, *, power):
        return np.sum(weights[y] * x[:, 0] ** power), np.stack(
            [weights[y] * power * x[:, 0] ** (power - 1), np.zeros(len(y))], axis=1)

    x, y = rng.standard_normal((3, 2)), np.array([1, 0, 1])
    report = check_loss(loss_fn, x, y, np.array([0.5, 2.0]), power=3)
    assert report.ok, report


def test_check_loss_refuses_non_scalar_loss_and_non_float_x(rng):
    with pytest.raises(ValueError, match="check_loss: <lambda> must return a scalar loss"):
        check_loss(lambda x, y: (x, x), rng.standard_normal(3), None)
    with pytest.raises(TypeError, match="check_loss: x must be a floating-point ndarray"):
        check_loss(softmax_loss, np.ones((2, 2), dtype=int), np.array([0, 1]))


@pytest.mark.parametrize("backward, error, match", [
    (lambda dout, cache: affine_backward(dout, cache)[:2], ValueError,
     r"returned 2 gradient\(s\), expected 3: one per floating-point array input of "
     r"affine_forward \(x, w, b\), in order$"),
    (lambda dout, cache: (*affine_backward(dout, cache)[:2], np.zeros(4)), ValueError,
     r"returned db of shape \(4,\), expected the shape of b, \(5,\)"),
    (lambda dout, cache: affine_backward(dout, cache)[1::-1] + affine_backward(dout, cache)[2:],
     ValueError, r"returned dx of shape \(\d+, 5\), expected the shape of x, .*; it has the "
                 r"shape of w: gradients returned in the wrong order\? They come back in the "
                 r"order of the inputs, dx, dw, db$"),
    (lambda dout, cache: (*affine_backward(dout, cache)[:2], np.zeros(5, np.float32)), TypeError,
     "returned db of dtype float32 for b of dtype float64"),
])
def test_contract_violations_of_backward_are_refused(rng, backward, error, match):
    with pytest.raises(error, match="check_layer: <lambda> " + match):
        check_layer(affine_forward, backward, *affine_inputs(rng))


def test_a_number_passes_through_and_the_count_error_says_how_to_check_it(rng):
    def mul_forward(x, y):
        return x * y, (x, y)

    def mul_backward(dout, cache):
        x, y = cache
        return dout * y, np.sum(dout * x)

    with pytest.raises(ValueError, match=r"expected 1: .* \(x\), in order; numbers pass "
                                         r"through unchecked, to check one pass it as np.array"):
        check_layer(mul_forward, mul_backward, rng.standard_normal(3), 2.0)
    assert check_layer(mul_forward, mul_backward, rng.standard_normal(3), np.array(2.0)).ok


def test_an_integer_array_passes_through_and_the_count_error_names_it(rng):
    from layers import affine_backward, affine_forward
    x = np.arange(12).reshape(3, 4)
    w, b = rng.standard_normal((4, 2)), rng.standard_normal(2)
    with pytest.raises(ValueError, match=r"expected 2: .* \(w, b\), in order; integer arrays "
                                         r"pass through unchecked \(x\), to check one pass it "
                                         r"as \.astype\(np\.float64\)$"):
        check_layer(affine_forward, affine_backward, x, w, b)
    assert check_layer(affine_forward, affine_backward, x.astype(np.float64), w, b).ok


def test_forward_that_modifies_its_input_is_refused(rng):
    def forward(x):
        x *= 2
        return x.copy(), None
    with pytest.raises(ValueError, match="check_layer: forward changed its input x"):
        check_layer(forward, lambda dout, cache: 2 * dout, rng.standard_normal(3))


def test_backward_that_modifies_dout_is_refused(rng):
    def backward(dout, cache):
        dout *= 1 - cache ** 2
        return dout
    with pytest.raises(ValueError, match="check_layer: backward changed dout"):
        check_layer(tanh_forward, backward, rng.standard_normal(3))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mode": "slow"}, ValueError, r"mode must be one of \('full', 'fast'\), got 'slow'"),
    ({"h": 0.0}, ValueError, "h must be a positive number, got 0.0"),
    ({"tol": -1.0}, ValueError, "tol must be a positive number or None, got -1.0"),
])
def test_bad_options_are_refused(rng, kwargs, error, match):
    with pytest.raises(error, match="check_layer: " + match):
        check_layer(tanh_forward, tanh_backward, rng.standard_normal(3), **kwargs)


def test_bad_calls_are_refused(rng):
    with pytest.raises(ValueError, match="check_layer: no floating-point ndarray among the "
                                         "arguments of tanh_forward to check; got list"):
        check_layer(tanh_forward, tanh_backward, [1.0, 2.0])
    with pytest.raises(TypeError, match="check_layer: backward must be callable, got NoneType"):
        check_layer(tanh_forward, None, rng.standard_normal(3))
    with pytest.raises(TypeError, match=r"check_layer: <lambda> must return \(out, cache\)"):
        check_layer(lambda x: x, tanh_backward, rng.standard_normal(3))


def test_custom_tolerance_is_used(rng):
    backward, _ = broken_affine("scaled")
    report = check_layer(affine_forward, backward, *affine_inputs(rng), tol=1e-2)
    assert report.ok and report.tol == 1e-2 and report.max_error > 1e-4


def layernorm_forward(x, gamma, beta):
    mean, std = x.mean(axis=1, keepdims=True), np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    xhat = (x - mean) / std  # (N, D)
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma  # (N, D)
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


@pytest.mark.parametrize("mode", MODES)
def test_round_off_of_the_estimate_is_not_a_failure(rng, mode, monkeypatch):
    """Over two features a layernorm's output is +-1 whatever x (but for eps): dx is down to
    ~1e-8 next to outputs of ~1, whose round-off is ~1e-11 in the centred difference.

    The round-off floor passes it; without that floor (ROUNDOFF = 0) the same check fails.
    """
    x = 5 + 2 * rng.standard_normal((9, 2))
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)

    def forward(x):  # only x is checked: dgamma and dbeta would set the floors' scale
        return layernorm_forward(x, gamma, beta)

    def backward(dout, cache):
        return layernorm_backward(dout, cache)[0]

    report = check_layer(forward, backward, x, mode=mode, seed=3)
    assert report.ok, report

    def scaled_backward(dout, cache):  # the floor must not hide a real bug at the same point
        return backward(dout, cache) * 1.001
    assert not check_layer(forward, scaled_backward, x, mode=mode, seed=3).ok
    monkeypatch.setattr("gradcheck.compare.ROUNDOFF", 0.0)
    assert not check_layer(forward, backward, x, mode="full", seed=3).ok


def test_mean_loss_over_a_large_batch_passes_with_margin(rng, monkeypatch):
    """dx ~ 1/N while the loss's round-off stays ~ eps |loss|: without the round-off floor
    the error creeps up to ~5e-7, near the tolerance; with it, it stays 5x below."""
    x, y = rng.standard_normal((1000, 3)), rng.integers(0, 3, size=1000)
    assert check_loss(softmax_loss, x, y).max_error < DEFAULT_TOL["full"] / 5

    def scaled_loss(x, y):  # the floor must not hide a real bug on the same batch
        loss, dx = softmax_loss(x, y)
        return loss, dx * 1.001
    for mode in MODES:
        assert not check_loss(scaled_loss, x, y, mode=mode).ok, mode
    monkeypatch.setattr("gradcheck.compare.ROUNDOFF", 0.0)
    assert check_loss(softmax_loss, x, y).max_error > DEFAULT_TOL["full"] / 5


@pytest.mark.parametrize("mode", MODES)
def test_layernorm_over_more_features_passes_and_its_bugs_fail(rng, mode):
    args = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    assert check_layer(layernorm_forward, layernorm_backward, *args, mode=mode).ok

    def backward(dout, cache):
        dx, dgamma, dbeta = layernorm_backward(dout, cache)
        return dx, dgamma * 1.001, dbeta
    report = check_layer(layernorm_forward, backward, *args, mode=mode)
    assert not report.ok and report.worst.name == "gamma"


@pytest.mark.parametrize("mode", MODES)
def test_an_input_whose_gradient_is_exactly_zero_passes(rng, mode):
    """A bias before train-mode batchnorm: the mean subtraction cancels it, so the output does
    not move at all (numeric 0) while the analytic db is round-off (~1e-17). Judged against
    the largest gradient of any input that is a pass; against db's own scale, a 100 % error."""

    def forward(x, b):
        return 3 * x, x

    def backward(dout, cache):
        return 3 * dout, np.full(4, 1e-17)  # what sum(dout - mean(dout)) leaves behind

    report = check_layer(forward, backward, rng.standard_normal((6, 4)),
                         rng.standard_normal(4), mode=mode)
    assert report.ok, report
    assert report["b"].numeric == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_nan_gradient_fails_its_input_and_leaves_the_others_judged(rng, mode):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw * np.nan, db

    report = check_layer(affine_forward, backward, *affine_inputs(rng), mode=mode)
    assert not report["w"].ok and report["w"].max_error == np.inf
    assert report["x"].ok and report["b"].ok and report["x"].max_error < 1e-8, report
