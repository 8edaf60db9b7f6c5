"""Affine layer: CS231n's reference output, gradient checks, the cache, dtypes."""

import numpy as np
import pytest

from gradcheck import check_layer, rel_error
from layers import affine_backward, affine_forward


def test_forward_matches_the_cs231n_reference():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert out.shape == (2, 3)
    assert rel_error(out, correct_out) < 1e-8  # the reference has 8 decimals
    np.testing.assert_allclose(out, x.reshape(2, -1) @ w + b, rtol=1e-15)


@pytest.mark.parametrize("x_shape, M", [((10, 2, 3), 5), ((4, 6), 3), ((1, 7), 1),
                                         ((3, 2, 2, 2), 4)])
def test_gradients_match_numerical_gradients(rng, x_shape, M):
    D = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((D, M))
    b = rng.standard_normal(M)
    report = check_layer(affine_forward, affine_backward, x, w, b)
    assert report.ok, report


def test_backward_matches_the_closed_form(rng):
    x, w, b = rng.standard_normal((6, 2, 5)), rng.standard_normal((10, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    np.testing.assert_allclose(dx, (dout @ w.T).reshape(6, 2, 5), rtol=1e-14)
    np.testing.assert_allclose(dw, x.reshape(6, 10).T @ dout, rtol=1e-14)
    np.testing.assert_allclose(db, dout.sum(axis=0), rtol=1e-14)


def test_cache_holds_x_flattened_as_a_view_and_w(rng):
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((20, 2)), rng.standard_normal(2)
    _, cache = affine_forward(x, w, b)
    x_rows, cached_w = cache[0], cache[1]
    assert x_rows.shape == (3, 20) and np.shares_memory(x_rows, x)
    assert cached_w is w
    assert not any(item is b for item in cache)


def test_non_contiguous_x_gives_the_same_result(rng):
    x = rng.standard_normal((5, 4, 3)).transpose(0, 2, 1)  # (5, 3, 4), not C-contiguous
    w, b = rng.standard_normal((12, 2)), rng.standard_normal(2)
    dout = rng.standard_normal((5, 2))
    out, cache = affine_forward(x, w, b)
    dx, dw, _ = affine_backward(dout, cache)
    x_rows = np.ascontiguousarray(x).reshape(5, 12)
    np.testing.assert_allclose(out, x_rows @ w + b, rtol=1e-14)
    np.testing.assert_allclose(dx, (dout @ w.T).reshape(5, 3, 4), rtol=1e-14)
    np.testing.assert_allclose(dw, x_rows.T @ dout, rtol=1e-14)


def test_mixed_dtypes_follow_promotion_and_gradients_keep_input_dtypes(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2))
    b = rng.standard_normal(2).astype(np.float32)
    out, cache = affine_forward(x, w, b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, x.astype(np.float64) @ w + b, rtol=1e-14)
    dx, dw, db = affine_backward(rng.standard_normal((4, 2)), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)


def test_integer_inputs_become_float64():
    out, cache = affine_forward(np.arange(6).reshape(2, 3), np.ones((3, 2), int), np.zeros(2, int))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[3.0, 3.0], [12.0, 12.0]])
    dx, dw, db = affine_backward(np.ones((2, 2)), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float64


def test_empty_batch_gives_empty_outputs_and_zero_parameter_gradients(rng):
    w, b = rng.standard_normal((6, 2)), rng.standard_normal(2)
    out, cache = affine_forward(np.zeros((0, 2, 3)), w, b)
    assert out.shape == (0, 2)
    dx, dw, db = affine_backward(np.zeros((0, 2)), cache)
    assert dx.shape == (0, 2, 3)
    np.testing.assert_array_equal(dw, np.zeros((6, 2)))
    np.testing.assert_array_equal(db, np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, M", [((10, 2, 3), 5), ((4, 6), 3), ((0, 7), 2)])
def test_input_grad_false_gives_no_dx_and_the_same_dw_db_bit_for_bit(rng, dtype, x_shape, M):
    D = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape).astype(dtype)
    w, b = rng.standard_normal((D, M)).astype(dtype), rng.standard_normal(M).astype(dtype)
    dout = rng.standard_normal((x_shape[0], M)).astype(dtype)
    _, cache = affine_forward(x, w, b)
    _, dw, db = affine_backward(dout, cache)
    no_dx, dw_only, db_only = affine_backward(dout, cache, input_grad=False)
    assert no_dx is None
    assert dw_only.dtype == db_only.dtype == dtype
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)


def test_input_grad_false_weight_gradients_match_numerical_gradients(rng):
    x = rng.standard_normal((6, 2, 4))
    w, b = rng.standard_normal((8, 5)), rng.standard_normal(5)
    report = check_layer(lambda w, b: affine_forward(x, w, b),
                         lambda dout, cache: affine_backward(dout, cache, input_grad=False)[1:],
                         w, b)
    assert report.ok, report


@pytest.mark.parametrize("flag", [0, None, "False"])
def test_input_grad_must_be_a_bool(rng, flag):
    _, cache = affine_forward(rng.standard_normal((2, 3)), np.ones((3, 4)), np.zeros(4))
    with pytest.raises(TypeError, match="^affine_backward: input_grad must be True or False"):
        affine_backward(np.ones((2, 4)), cache, input_grad=flag)
