"""Gates: lecture 4's worked examples, the backward-flow patterns, broadcasting, gradient checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck import check_layer
from layers import (
    add_backward, add_forward, affine_backward, affine_forward, max_backward, max_forward,
    mul_backward, mul_forward, sigmoid_backward, sigmoid_forward)

GATES = {
    "add": (add_forward, add_backward),
    "mul": (mul_forward, mul_backward),
    "max": (max_forward, max_backward),
}


def test_add_then_mul_reproduces_the_simple_example():
    """f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4, on Python numbers."""
    q, add_cache = add_forward(-2, 5)
    f, mul_cache = mul_forward(q, -4)
    dq, dz = mul_backward(1.0, mul_cache)
    dx, dy = add_backward(dq, add_cache)
    assert (q, f) == (3.0, -12.0)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)
    assert all(np.ndim(g) == 0 and np.result_type(g) == np.float64 for g in (dx, dy, dz))


def test_sigmoid_neuron_gate_by_gate_matches_the_lecture_and_the_one_node_versions():
    """f(w, x) = sigmoid(w0 x0 + w1 x1 + w2) at w = [2, -3, -3], x = [-1, -2]."""
    w0, w1, w2, x0, x1 = 2.0, -3.0, -3.0, -1.0, -2.0

    # Gate by gate: two mul gates, two add gates, then the sigmoid layer.
    p0, c_p0 = mul_forward(w0, x0)
    p1, c_p1 = mul_forward(w1, x1)
    s, c_s = add_forward(p0, p1)
    z, c_z = add_forward(s, w2)
    f, c_f = sigmoid_forward(z)
    dz = sigmoid_backward(1.0, c_f)  # local gradient (1 - f) f times upstream 1
    ds, dw2 = add_backward(dz, c_z)
    dp0, dp1 = add_backward(ds, c_s)
    dw0, dx0 = mul_backward(dp0, c_p0)
    dw1, dx1 = mul_backward(dp1, c_p1)
    gates = np.array([dw0, dw1, dw2, dx0, dx1])

    assert z == 1.0
    assert f == pytest.approx(0.73, abs=5e-3)
    np.testing.assert_allclose(gates, [-0.20, -0.39, 0.20, 0.39, -0.59], atol=5e-3)
    assert dz == pytest.approx(0.19661193324148185, rel=1e-15)  # sigmoid'(1), exactly

    # The lecture's first graph: sigmoid spelled out as *-1, exp, +1, 1/x, with the local
    # gradients from its table (d e^u = e^u, d(1/v) = -1/v^2); the mul/add gates do the rest.
    neg, c_neg = mul_forward(z, -1)
    e = np.exp(neg)
    v, c_v = add_forward(e, 1)
    dv = -1 / v**2
    de, _ = add_backward(dv, c_v)
    dz_spelled, _ = mul_backward(de * e, c_neg)
    assert 1 / v == pytest.approx(f, rel=1e-15)
    assert dz_spelled == pytest.approx(dz, rel=1e-15)

    # Vectorized, sigmoid as one node: an affine layer (w2 the bias) then the sigmoid layer.
    x, w = np.array([[x0, x1]]), np.array([[w0], [w1]])
    scores, c_affine = affine_forward(x, w, np.array([w2]))
    out, c_sigmoid = sigmoid_forward(scores)
    dx, dw, db = affine_backward(sigmoid_backward(np.ones((1, 1)), c_sigmoid), c_affine)
    np.testing.assert_array_equal(out, [[f]])
    np.testing.assert_allclose(np.concatenate([dw[:, 0], db, dx[0]]), gates, rtol=1e-15)


def test_backward_flow_patterns_on_the_lecture_graph():
    """f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1: add distributes, max routes,
    mul switches."""
    q, c_q = mul_forward(3, -4)
    m, c_m = max_forward(2, -1)
    a, c_a = add_forward(q, m)
    f, c_f = mul_forward(a, 2)
    assert (q, m, a, f) == (-12, 2, -10, -20)
    da, _ = mul_backward(1.0, c_f)
    dq, dm = add_backward(da, c_a)
    dz, dw = max_backward(dm, c_m)
    dx, dy = mul_backward(dq, c_q)
    assert dq == dm == da == 2  # distributes: both inputs get the upstream gradient
    assert (dz, dw) == (2, 0)  # routes: all to the larger input, none to the other
    assert (dx, dy) == (-8, 6)  # switches: each input gets the other's value times upstream


def test_vectorized_squared_norm_matches_the_closed_form(rng):
    """f(x, W) = ||W x||^2: df/dW = 2 q x^T, df/dx = 2 W^T q with q = W x (lecture's numbers)."""
    W = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    q, c_q = affine_forward(x[None, :], W.T, np.zeros(2))  # (1, 2): the row q^T = x^T W^T
    squares, c_sq = mul_forward(q, q)
    f = squares.sum()
    dq_first, dq_second = mul_backward(np.ones_like(squares), c_sq)
    dx, dWT, _ = affine_backward(dq_first + dq_second, c_q)  # q feeds both inputs: add them
    q = q[0]
    assert f == pytest.approx(0.116, rel=1e-12)
    np.testing.assert_allclose(dWT.T, 2 * np.outer(q, x), rtol=1e-15)
    np.testing.assert_allclose(dx[0], 2 * W.T @ q, rtol=1e-15)
    np.testing.assert_allclose(dWT.T, [[0.088, 0.176], [0.104, 0.208]], rtol=1e-12)
    np.testing.assert_allclose(dx[0], [-0.112, 0.636], rtol=1e-12)

    # The same on a random 5 x 7 W, against the closed forms.
    W, x = rng.standard_normal((5, 7)), rng.standard_normal(7)
    q, c_q = affine_forward(x[None, :], W.T, np.zeros(5))
    squares, c_sq = mul_forward(q, q)
    dx, dWT, _ = affine_backward(sum(mul_backward(np.ones((1, 5)), c_sq)), c_q)
    np.testing.assert_allclose(dWT.T, 2 * np.outer(q[0], x), rtol=1e-13)
    np.testing.assert_allclose(dx[0], 2 * W.T @ q[0], rtol=1e-13)


def _separated(rng, x_shape, y_shape):
    """x and y at least 0.5 apart wherever they broadcast together: no max ties within h."""
    x = rng.integers(-3, 4, size=x_shape) + 0.25
    y = rng.integers(-3, 4, size=y_shape) - 0.25
    return x, y


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("x_shape, y_shape", [
    ((), ()), ((3,), ()), ((), (2, 3)), ((4, 5), (4, 5)), ((4, 1, 3), (5, 1)),
    ((2, 3, 4), (3, 1)), ((1, 4), (3, 1))])
def test_gradients_match_numerical_gradients(rng, gate, x_shape, y_shape):
    forward, backward = GATES[gate]
    x, y = _separated(rng, x_shape, y_shape)
    x, y = x * rng.uniform(0.5, 1.5), y * rng.uniform(0.5, 1.5)  # not only quarter-integers
    report = check_layer(forward, backward, np.asarray(x), np.asarray(y))
    assert report.ok, report


def test_max_splits_a_tie_equally_and_routes_the_rest():
    out, cache = max_forward(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]))
    dx, dy = max_backward(np.array([4.0, 6.0, 8.0]), cache)
    np.testing.assert_array_equal(out, [3.0, 2.0, 3.0])
    np.testing.assert_array_equal(dx, [0.0, 3.0, 8.0])
    np.testing.assert_array_equal(dy, [4.0, 3.0, 0.0])


def test_max_tie_on_broadcast_scalar_adds_the_halves():
    out, cache = max_forward(np.array([[0.0, 1.0], [0.0, -1.0]]), 0.0)
    dx, dy = max_backward(np.array([[2.0, 4.0], [6.0, 8.0]]), cache)
    np.testing.assert_array_equal(dx, [[1.0, 4.0], [3.0, 0.0]])
    assert dy == 1.0 + 3.0 + 8.0


def test_broadcast_gradients_sum_over_the_broadcast_axes(rng):
    x, y = rng.standard_normal((4, 1, 3)), rng.standard_normal((5, 1))
    dout = rng.standard_normal((4, 5, 3))
    _, cache = mul_forward(x, y)
    dx, dy = mul_backward(dout, cache)
    np.testing.assert_allclose(dx, (dout * y).sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(dy, (dout * x).sum(axis=(0, 2))[:, None], rtol=1e-13)


def test_python_numbers_get_numpy_scalar_gradients(rng):
    x = rng.standard_normal((2, 3))
    _, cache = add_forward(x, 2)
    dout = rng.standard_normal((2, 3))
    dx, dy = add_backward(dout, cache)
    assert dx.shape == (2, 3) and dy.shape == ()
    assert isinstance(dy, np.floating) and dy == pytest.approx(dout.sum(), rel=1e-15)


def test_add_backward_returns_new_arrays(rng):
    dout = rng.standard_normal((3, 4))
    _, cache = add_forward(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    dx, dy = add_backward(dout, cache)
    assert not np.shares_memory(dx, dout) and not np.shares_memory(dy, dout)
    assert not np.shares_memory(dx, dy)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("x, y, dtype", [
    (np.float32(1.5), 2.0, np.float32),       # Python numbers do not upcast float32
    (np.ones(3, np.float32), 2, np.float32),
    (np.ones(3, np.float32), np.ones(3), np.float64),  # arrays follow numpy promotion
    (np.float64(1.5), np.ones(3, np.float32), np.float64),
    (2, 3, np.float64),                       # Python ints become float64
    (np.arange(3), 1.5, np.float64),          # so do integer arrays
])
def test_dtypes_follow_numpy_promotion_and_gradients_keep_each_input_dtype(gate, x, y, dtype):
    forward, backward = GATES[gate]
    out, cache = forward(x, y)
    assert out.dtype == dtype
    dx, dy = backward(np.ones_like(out), cache)
    for value, grad in ((x, dx), (y, dy)):
        expected = value.dtype if isinstance(value, np.ndarray) and value.dtype.kind == "f" else (
            np.float32 if isinstance(value, np.float32) else np.float64)
        assert grad.dtype == expected
        assert np.shape(grad) == np.shape(value)


def _sum_to_reference(grad, shape):
    """Sum grad down to shape the slow, obvious way: one axis at a time, from the left."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       gate=st.sampled_from(sorted(GATES)), seed=st.integers(0, 2**32 - 1))
def test_broadcast_gradients_have_input_shapes_and_sum_correctly(shapes, gate, seed):
    forward, backward = GATES[gate]
    rng = np.random.default_rng(seed)
    (x_shape, y_shape), out_shape = shapes.input_shapes, shapes.result_shape
    x, y = _separated(rng, x_shape, y_shape)
    out, cache = forward(x, y)
    dout = rng.standard_normal(out_shape)
    dx, dy = backward(dout, cache)
    assert np.shape(out) == out_shape
    assert np.shape(dx) == x_shape and np.shape(dy) == y_shape
    full = {  # each input's gradient before summing: the local gradient times dout
        "add": (dout, dout),
        "mul": (dout * y, dout * x),
        "max": (dout * (x > y), dout * (y > x)),
    }[gate]
    np.testing.assert_allclose(dx, _sum_to_reference(np.broadcast_to(full[0], out_shape),
                                                     x_shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, _sum_to_reference(np.broadcast_to(full[1], out_shape),
                                                     y_shape), rtol=1e-12, atol=1e-12)
