"""Activations: reference values, gradient checks, numerical stability, maxout, dtypes."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck import check_layer, rel_error
from layers import (
    affine_forward, elu_backward, elu_forward, leaky_relu_backward, leaky_relu_forward,
    maxout_backward, maxout_forward, relu_backward, relu_forward, sigmoid_backward,
    sigmoid_forward, tanh_backward, tanh_forward)

# name: (forward, backward, keyword arguments, f(x) and f'(x) on one Python float)
ELEMENTWISE = {
    "relu": (relu_forward, relu_backward, {},
             lambda v: max(v, 0.0), lambda v: float(v > 0)),
    "sigmoid": (sigmoid_forward, sigmoid_backward, {},
                lambda v: 1 / (1 + math.exp(-v)),
                lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2),
    "tanh": (tanh_forward, tanh_backward, {},
             math.tanh, lambda v: 1 / math.cosh(v) ** 2),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, {},
                   lambda v: max(0.1 * v, v), lambda v: 1.0 if v > 0 else 0.1),
    "leaky_relu(alpha=0.01)": (leaky_relu_forward, leaky_relu_backward, {"alpha": 0.01},
                               lambda v: max(0.01 * v, v), lambda v: 1.0 if v > 0 else 0.01),
    "elu": (elu_forward, elu_backward, {},
            lambda v: v if v > 0 else math.expm1(v), lambda v: 1.0 if v > 0 else math.exp(v)),
    "elu(alpha=0.5)": (elu_forward, elu_backward, {"alpha": 0.5},
                       lambda v: v if v > 0 else 0.5 * math.expm1(v),
                       lambda v: 1.0 if v > 0 else 0.5 * math.exp(v)),
}


def _away_from_zero(rng, shape):
    """Values with |x| in [0.1, 2]: no kink of relu, leaky_relu or elu within reach of h."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_relu_forward_matches_the_cs231n_reference():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    correct_out = np.array([[0., 0., 0., 0.],
                            [0., 0., 0.04545455, 0.13636364],
                            [0.22727273, 0.31818182, 0.40909091, 0.5]])
    assert rel_error(out, correct_out) < 5e-8  # the reference has 8 decimals


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_and_derivatives_match_the_formulas(rng, name):
    forward, backward, kwargs, f, df = ELEMENTWISE[name]
    x = _away_from_zero(rng, (5, 6)) * 3
    out, cache = forward(x, **kwargs)
    dout = rng.standard_normal(x.shape)
    dx = backward(dout, cache)
    np.testing.assert_allclose(out, np.vectorize(f)(x), rtol=1e-14, atol=1e-300)
    # atol: 1 - out**2 from the cached output has absolute, not relative, error near |out| = 1
    np.testing.assert_allclose(dx, dout * np.vectorize(df)(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4), (2, 1, 3, 2)])
def test_gradients_match_numerical_gradients(rng, name, shape):
    forward, backward, kwargs, _, _ = ELEMENTWISE[name]
    report = check_layer(forward, backward, _away_from_zero(rng, shape), **kwargs)
    assert report.ok, report


@pytest.mark.parametrize("forward, backward, slope_at_zero", [
    (relu_forward, relu_backward, 0.0),
    (leaky_relu_forward, leaky_relu_backward, 0.1),
    (elu_forward, elu_backward, 1.0),
])
def test_at_the_kink_the_slope_is_the_left_one_as_in_torch(forward, backward, slope_at_zero):
    out, cache = forward(np.zeros(3))
    np.testing.assert_array_equal(out, np.zeros(3))
    np.testing.assert_array_equal(backward(np.full(3, 2.0), cache), np.full(3, 2 * slope_at_zero))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_and_accurate_for_large_inputs(dtype):
    x = np.array([-1000, -80, -30, 0, 30, 100, 1000], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
    assert out.dtype == dx.dtype == dtype
    assert out[0] == 0 and out[-1] == 1 and out[3] == 0.5
    reference = np.array([1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in x.tolist()])
    np.testing.assert_allclose(out, reference, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert out[1] > 0  # sigmoid(-80) = 1.8e-35 is a normal float32: kept, not flushed to 0
    np.testing.assert_allclose(dx[[0, 3, 6]], [0.0, 0.25, 0.0], atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elu_and_tanh_are_stable_for_large_inputs(dtype):
    x = np.array([-1000, -1e-10, 0, 1e-10, 1000], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out, cache = elu_forward(x, alpha=2.0)
        dx = elu_backward(np.ones_like(x), cache)
        t_out, t_cache = tanh_forward(x)
        t_dx = tanh_backward(np.ones_like(x), t_cache)
    np.testing.assert_allclose(out, [-2.0, 2 * math.expm1(-1e-10), 0, 1e-10, 1000],
                               rtol=np.finfo(dtype).eps)  # expm1 keeps -1e-10 exact
    np.testing.assert_allclose(dx, [0.0, 2 * math.exp(-1e-10), 2.0, 1.0, 1.0],
                               rtol=np.finfo(dtype).eps)
    np.testing.assert_array_equal(t_out[[0, 2, 4]], [-1, 0, 1])
    np.testing.assert_array_equal(t_dx[[0, 4]], [0, 0])


def test_elu_backward_is_exact_far_in_the_negative_tail():
    """alpha * exp(x) from the cached input, not out + alpha, which would cancel."""
    x = np.array([-20.0, -30.0])
    _, cache = elu_forward(x)
    np.testing.assert_allclose(elu_backward(np.ones(2), cache), np.exp(x), rtol=1e-15)


def test_leaky_relu_with_zero_slope_is_relu(rng):
    x = rng.standard_normal((4, 5))
    out, cache = leaky_relu_forward(x, alpha=0)
    relu_out, relu_cache = relu_forward(x)
    dout = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(out, relu_out)
    np.testing.assert_array_equal(leaky_relu_backward(dout, cache), relu_backward(dout, relu_cache))


def _maxout_inputs(rng, N, D, H, K):
    return rng.standard_normal((N, D)), rng.standard_normal((D, H, K)), rng.standard_normal((H, K))


@pytest.mark.parametrize("N, D, H, K", [(4, 5, 3, 2), (2, 3, 4, 4), (6, 2, 1, 3), (3, 4, 2, 1)])
def test_maxout_gradients_match_numerical_gradients(rng, N, D, H, K):
    report = check_layer(maxout_forward, maxout_backward, *_maxout_inputs(rng, N, D, H, K))
    assert report.ok, report


def test_maxout_is_the_max_over_pieces_and_routes_through_the_winner(rng):
    x, w, b = _maxout_inputs(rng, 5, 4, 3, 2)
    out, cache = maxout_forward(x, w, b)
    pieces = np.einsum("nd,dhk->nhk", x, w) + b  # (N, H, K)
    np.testing.assert_allclose(out, pieces.max(axis=2), rtol=1e-14)

    dout = rng.standard_normal((5, 3))
    dx, dw, db = maxout_backward(dout, cache)
    routed = dout[:, :, None] * (pieces == pieces.max(axis=2, keepdims=True))  # (N, H, K)
    np.testing.assert_allclose(dx, np.einsum("nhk,dhk->nd", routed, w), rtol=1e-13)
    np.testing.assert_allclose(dw, np.einsum("nd,nhk->dhk", x, routed), rtol=1e-13)
    np.testing.assert_allclose(db, routed.sum(axis=0), rtol=1e-13)


def test_maxout_with_two_pieces_is_the_lecture_formula(rng):
    """max(w1^T x + b1, w2^T x + b2) for one unit."""
    x, w, b = _maxout_inputs(rng, 6, 3, 1, 2)
    out, _ = maxout_forward(x, w, b)
    first, second = x @ w[:, 0, 0] + b[0, 0], x @ w[:, 0, 1] + b[0, 1]
    np.testing.assert_allclose(out[:, 0], np.maximum(first, second), rtol=1e-14)


def test_maxout_with_one_piece_is_affine(rng):
    x, w, b = _maxout_inputs(rng, 4, 5, 3, 1)
    out, _ = maxout_forward(x, w, b)
    affine_out, _ = affine_forward(x, w[:, :, 0], b[:, 0])
    np.testing.assert_allclose(out, affine_out, rtol=1e-14)


def test_maxout_tie_routes_to_the_first_piece():
    x, w, b = np.ones((1, 1)), np.ones((1, 1, 2)), np.zeros((1, 2))
    _, cache = maxout_forward(x, w, b)
    _, dw, db = maxout_backward(np.array([[3.0]]), cache)
    np.testing.assert_array_equal(db, [[3.0, 0.0]])
    np.testing.assert_array_equal(dw, [[[3.0, 0.0]]])


@pytest.mark.parametrize("forward", [relu_forward, sigmoid_forward, tanh_forward,
                                     leaky_relu_forward, elu_forward])
def test_zero_dimensional_inputs_work(forward):
    out, cache = forward(np.asarray(-0.5))
    assert np.shape(out) == ()
    backward = {relu_forward: relu_backward, sigmoid_forward: sigmoid_backward,
                tanh_forward: tanh_backward, leaky_relu_forward: leaky_relu_backward,
                elu_forward: elu_backward}[forward]
    dx = backward(np.float32(1.0), cache)
    assert np.shape(dx) == () and dx.dtype == np.float64


@pytest.mark.parametrize("forward", [relu_forward, sigmoid_forward, tanh_forward,
                                     leaky_relu_forward, elu_forward])
def test_integer_inputs_become_float64(forward):
    out, _ = forward(np.array([-2, 0, 3]))
    assert out.dtype == np.float64


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(ELEMENTWISE)),
       x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=4, max_side=5),
                    elements=st.floats(-50, 50, width=32)))
def test_float32_in_gives_float32_out_and_gradient_for_any_shape(name, x):
    forward, backward, kwargs, _, _ = ELEMENTWISE[name]
    x_copy = x.copy()
    out, cache = forward(x, **kwargs)
    dout = np.ones_like(out)
    dx = backward(dout, cache)
    assert out.dtype == np.float32 and np.shape(out) == x.shape
    assert dx.dtype == np.float32 and np.shape(dx) == x.shape
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, 1)
