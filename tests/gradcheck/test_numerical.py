"""The CS231n helpers: rel_error, eval_numerical_gradient(_array), grad_check_sparse."""

import contextlib
import re
import warnings

import numpy as np
import pytest

from gradcheck import (
    PrecisionWarning,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


@pytest.mark.parametrize("x, y, expected", [
    (1.0, 1.0, 0.0),
    (1.0, 3.0, 0.5),                        # |1 - 3| / (1 + 3)
    (-1.0, 1.0, 1.0),                       # opposite signs: the largest possible error
    (0.0, 0.0, 0.0),                        # 0 / max(1e-8, 0)
    (0.0, 1e-9, 0.1),                       # 1e-9 / 1e-8: the floor takes over
    ([1.0, 2.0, 4.0], [1.0, 2.2, 4.0], 0.2 / 4.2),
    ([[2.0, -2.0]], [[2.0, -3.0]], 1.0 / 5.0),
])
def test_rel_error_hand_computed(x, y, expected):
    assert rel_error(x, y) == pytest.approx(expected, rel=1e-15, abs=0)
    assert rel_error(y, x) == pytest.approx(expected, rel=1e-15, abs=0)


def test_rel_error_broadcasts_a_scalar_and_refuses_mismatched_shapes():
    assert rel_error(np.array([2.0, 2.0]), 2.0) == 0.0
    with pytest.raises(ValueError, match=r"rel_error: .*\(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("x, match", [
    (None, "x must be an array or a number, got None"),
    ((np.ones(3), np.ones(2)), "x must be an array or a number, got tuple that numpy cannot "
                               "read as one array; compare gradients one at a time"),
])
def test_rel_error_refuses_what_is_not_one_array(x, match):
    with pytest.raises(TypeError, match=f"^rel_error: {match}$"):
        rel_error(x, np.ones(3))


def test_rel_error_propagates_nan():
    assert np.isnan(rel_error([1.0, np.nan], [1.0, 1.0]))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_eval_numerical_gradient_of_sum_of_squares_is_2x(rng, shape):
    x = rng.standard_normal(shape)
    grad = eval_numerical_gradient(lambda x: np.sum(x ** 2), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-9, atol=1e-9)


def test_eval_numerical_gradient_of_known_functions(rng):
    x = rng.standard_normal((4, 3))
    w = rng.standard_normal((4, 3))
    np.testing.assert_allclose(eval_numerical_gradient(lambda x: np.sum(np.sin(x)), x),
                               np.cos(x), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(eval_numerical_gradient(lambda x: np.sum(w * x), x),
                               w, rtol=1e-9, atol=1e-9)
    # log-sum-exp: the gradient is the softmax.
    softmax = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(eval_numerical_gradient(lambda x: np.log(np.sum(np.exp(x))), x),
                               softmax, rtol=1e-8, atol=1e-10)


def test_eval_numerical_gradient_array_against_known_gradients(rng):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 5))
    dout = rng.standard_normal((3, 5))
    np.testing.assert_allclose(eval_numerical_gradient_array(lambda x: x @ w, x, dout),
                               dout @ w.T, rtol=1e-9, atol=1e-9)
    dout = rng.standard_normal((3, 4))
    np.testing.assert_allclose(eval_numerical_gradient_array(np.tanh, x, dout),
                               dout * (1 - np.tanh(x) ** 2), rtol=1e-8, atol=1e-10)


def test_eval_numerical_gradient_array_through_a_closure_cs231n_style(rng):
    """``lambda w: f(x, w)`` is called with the very array it perturbs, ``w``."""
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    dout = rng.standard_normal((3, 2))
    dw = eval_numerical_gradient_array(lambda _: x @ w, w, dout)
    np.testing.assert_allclose(dw, x.T @ dout, rtol=1e-9, atol=1e-9)


def test_eval_numerical_gradient_array_refuses_df_of_the_wrong_shape(rng):
    x = rng.standard_normal((3, 4))
    match = (r"eval_numerical_gradient_array: df must have the shape of f\(x\), \(3, 4\), "
             r"got \(4, 3\)")
    with pytest.raises(ValueError, match=match):
        eval_numerical_gradient_array(np.tanh, x, np.ones((4, 3)))


def test_eval_numerical_gradient_array_copies_an_output_that_is_a_view_of_x(rng):
    x = rng.standard_normal(5)
    dout = rng.standard_normal(5)
    np.testing.assert_allclose(eval_numerical_gradient_array(lambda x: x, x, dout),
                               dout, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("helper", [
    lambda f, x: eval_numerical_gradient(f, x),
    lambda f, x: eval_numerical_gradient_array(f, x, np.ones(3)),
], ids=["scalar", "array"])
@pytest.mark.parametrize("f, match", [
    (lambda x: (np.maximum(x, 0), "cache"), r"f returned a tuple of 2; a layer's forward returns "
                                            r"\(out, cache\) and a loss \(loss, grad\): pass "
                                            r"a function of the first only"),
    (lambda x: None, "f returned None; it must return the value to differentiate"),
], ids=["whole (out, cache)", "None"])
def test_the_usual_slips_in_f_are_named(rng, helper, f, match):
    x = rng.standard_normal(3)
    with pytest.raises(TypeError, match=r"^eval_numerical_gradient(_array)?: " + match):
        helper(f, x)


def test_eval_numerical_gradient_refuses_array_valued_f(rng):
    with pytest.raises(ValueError, match="eval_numerical_gradient: f must return a scalar"):
        eval_numerical_gradient(np.tanh, rng.standard_normal(3))


@pytest.mark.parametrize("function", ["scalar", "array", "sparse"])
def test_x_is_restored_bit_for_bit(rng, function):
    # Values whose +-h round, so a restore by subtraction would not give them back exactly.
    x = rng.standard_normal((4, 3)) * 1e3 + 1 / 3
    before = x.copy()
    if function == "scalar":
        eval_numerical_gradient(lambda x: np.sum(np.sin(x)), x)
    elif function == "array":
        eval_numerical_gradient_array(np.sin, x, rng.standard_normal((4, 3)))
    else:
        grad_check_sparse(lambda x: np.sum(np.sin(x)), x, np.cos(x), num_checks=6)
    assert x.tobytes() == before.tobytes()


@pytest.mark.parametrize("function", ["scalar", "array", "sparse"])
def test_x_is_restored_when_f_raises_mid_check(rng, function):
    x = rng.standard_normal((4, 3)) + 1 / 3
    before = x.copy()
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) == 6:  # the minus side of the third element
            raise RuntimeError("boom")
        return np.sum(x) if function != "array" else x.copy()

    with pytest.raises(RuntimeError, match="boom"):
        if function == "scalar":
            eval_numerical_gradient(f, x)
        elif function == "array":
            eval_numerical_gradient_array(f, x, np.ones((4, 3)))
        else:
            grad_check_sparse(f, x, np.ones((4, 3)), num_checks=5)
    assert len(calls) == 6
    assert x.tobytes() == before.tobytes()


def test_step_taken_not_2h_is_used():
    """At x = 1e6 + 0.1 the step 2h = 2e-5 rounds; dividing by the step taken stays exact."""
    x = np.array([1e6 + 0.1])
    assert (x[0] + 1e-5) - (x[0] - 1e-5) != 2e-5
    grad = eval_numerical_gradient(lambda x: 4.0 * x[0], x)  # exact in floating point
    assert grad[0] == 4.0


def test_float32_warns_and_still_runs(rng):
    x = rng.standard_normal(4).astype(np.float32)
    before = x.copy()
    with pytest.warns(PrecisionWarning, match="float32.*float64"):
        grad = eval_numerical_gradient(lambda x: float(np.sum(x * x, dtype=np.float64)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-2)
    assert x.tobytes() == before.tobytes()
    with pytest.warns(PrecisionWarning):
        eval_numerical_gradient_array(lambda x: 2 * x, x, np.ones(4))
    with pytest.warns(PrecisionWarning):
        grad_check_sparse(lambda x: float(np.sum(x)), x, np.ones(4), num_checks=2)
    assert issubclass(PrecisionWarning, UserWarning)


def test_float64_does_not_warn(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eval_numerical_gradient(np.sum, rng.standard_normal(3))


@pytest.mark.parametrize("x, error, match", [
    (np.arange(3), TypeError, "floating-point ndarray .* got int64 array"),
    ([1.0, 2.0], TypeError, "floating-point ndarray .* got list"),
    (2.0, TypeError, "floating-point ndarray .* got float"),
])
def test_refuses_x_that_cannot_be_perturbed(x, error, match):
    with pytest.raises(error, match="eval_numerical_gradient: x must be a " + match):
        eval_numerical_gradient(np.sum, x)


def test_refuses_read_only_x_bad_h_and_non_callable_f(rng):
    x = rng.standard_normal(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="eval_numerical_gradient: x must be writeable"):
        eval_numerical_gradient(np.sum, x)
    for h in (0, -1e-5, np.inf, "1e-5"):
        with pytest.raises(ValueError, match="h must be a positive number"):
            eval_numerical_gradient_array(np.tanh, rng.standard_normal(3), np.ones(3), h=h)
    with pytest.raises(TypeError, match="grad_check_sparse: f must be callable"):
        grad_check_sparse(None, rng.standard_normal(3), np.ones(3))


def test_grad_check_sparse_small_for_right_large_for_wrong(rng):
    x = rng.standard_normal((5, 4))
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    errors = grad_check_sparse(f, x, np.cos(x), num_checks=7)
    assert errors.shape == (7,) and np.all(errors < 1e-8)
    errors = grad_check_sparse(f, x, 1.001 * np.cos(x), num_checks=7)
    assert np.all(errors > 1e-4)


def test_grad_check_sparse_picks_distinct_elements_by_seed(rng):
    x = rng.standard_normal((3, 3))
    wrong = np.cos(x)
    wrong[1, 2] += 1.0  # one wrong element among nine: found when all nine are checked
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    errors = grad_check_sparse(f, x, wrong, num_checks=9, seed=5)
    assert np.sum(errors > 1e-3) == 1
    np.testing.assert_array_equal(errors, grad_check_sparse(f, x, wrong, num_checks=9, seed=5))


def test_grad_check_sparse_prints_each_element_as_the_course_unless_told_not_to(rng, capsys):
    x = rng.standard_normal(4)
    grad_check_sparse(np.sum, x, np.ones(4), num_checks=3, verbose=False)
    assert capsys.readouterr().out == ""
    analytic = np.array([1.0, 1.0, 1.0, 1.5])
    errors = grad_check_sparse(np.sum, x, analytic, num_checks=4, seed=2)  # prints by default
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line, error in zip(lines, errors):
        numerical, analytic_value, rel = (float(v) for v in re.fullmatch(
            r"numerical: (-?\d+\.\d{6}) analytic: (-?\d+\.\d{6}), relative error: "
            r"(\d\.\d{6}e[+-]\d\d)", line).groups())
        assert numerical == pytest.approx(1.0, abs=1e-6)
        assert analytic_value in (1.0, 1.5)
        assert rel == pytest.approx(error, rel=1e-6, abs=1e-300)
    assert np.sum(errors > 0.1) == 1  # the one wrong element, 0.5 / 2.5 = 0.2


def test_grad_check_sparse_without_a_seed_leaves_numpys_global_state_alone(rng):
    np.random.seed(3)
    state = np.random.get_state()[1].copy()
    grad_check_sparse(np.sum, rng.standard_normal(5), np.ones(5), num_checks=2, verbose=False)
    assert np.array_equal(np.random.get_state()[1], state)


def test_grad_check_sparse_refuses_bad_arguments(rng):
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"analytic_grad must have the shape of x, \(2, 3\)"):
        grad_check_sparse(np.sum, x, np.ones(6))
    with pytest.raises(ValueError, match="num_checks must be a positive integer"):
        grad_check_sparse(np.sum, x, np.ones((2, 3)), num_checks=0)


def test_eval_numerical_gradient_prints_only_when_verbose(rng, capsys):
    x = rng.standard_normal(3)
    eval_numerical_gradient(np.sum, x)
    assert capsys.readouterr().out == ""
    eval_numerical_gradient(np.sum, x, verbose=True)
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize("x, h, why", [
    (np.ones(3, dtype=np.float16), 1e-5, r"the step h = 1e-05 is lost in x's precision: "
                                         r"x\[0\] = .*float16, spacing"),
    (np.full(3, 1e12), 1e-5, r"lost in x's precision: x\[0\] = .*1000000000000\.0"),
    (np.ones((2, 2)), 1e-20, r"lost in x's precision: x\[0, 0\] = "),
    (np.ones(3, dtype=np.float32), 1e300, r"the step h = 1e\+300 overflows x's dtype float32"),
    (np.ones(3), 1e300, r"f is not finite at x\[\d\] \+- h with h = 1e\+300: a step this large "
                        r"overflows it"),
    (np.array([1.0, np.nan]), 1e-5, r"x\[1\] is np.float64\(nan\); a numerical gradient needs "
                                    r"a finite x"),
])
def test_a_step_x_cannot_take_is_refused_with_the_reason(x, h, why):
    def f(v):
        with np.errstate(over="ignore"):  # h = 1e300 overflows f: what the check must see
            return float(np.sum(np.asarray(v, dtype=np.float64) ** 2))

    def square(v):
        with np.errstate(over="ignore"):
            return np.asarray(v, dtype=np.float64) ** 2

    calls = {
        "eval_numerical_gradient": lambda: eval_numerical_gradient(f, x.copy(), h=h),
        "eval_numerical_gradient_array": lambda: eval_numerical_gradient_array(
            square, x.copy(), np.ones(x.shape), h=h),
        "grad_check_sparse": lambda: grad_check_sparse(f, x.copy(), 2 * x, h=h, verbose=False),
    }
    for door, run in calls.items():
        low = x.dtype != np.float64
        with pytest.warns(PrecisionWarning) if low else contextlib.nullcontext():
            with pytest.raises(ValueError, match=f"^{door}: .*{why}"):
                run()
