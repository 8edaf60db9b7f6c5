"""The layer contract for gates, affine, activations, losses and sandwiches.

For every pair: float32 in gives float32 out and float32 gradients (float64 likewise), each
gradient has its input's shape, and neither forward nor backward modifies its inputs, dout or
the cache.
"""

import numpy as np
import pytest

from layers import (
    add_backward, add_forward, affine_backward, affine_forward, affine_relu_backward,
    affine_relu_forward, elu_backward, elu_forward, leaky_relu_backward, leaky_relu_forward,
    max_backward, max_forward, maxout_backward, maxout_forward, mul_backward, mul_forward,
    relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, softmax_loss, svm_loss,
    tanh_backward, tanh_forward)

# name: (forward, backward, shapes of the array inputs, keyword arguments)
PAIRS = {
    "add": (add_forward, add_backward, [(4, 1, 3), (5, 1)], {}),
    "mul": (mul_forward, mul_backward, [(4, 1, 3), (5, 1)], {}),
    "max": (max_forward, max_backward, [(4, 1, 3), (5, 1)], {}),
    "affine": (affine_forward, affine_backward, [(3, 2, 4), (8, 5), (5,)], {}),
    "relu": (relu_forward, relu_backward, [(3, 4)], {}),
    "sigmoid": (sigmoid_forward, sigmoid_backward, [(3, 4)], {}),
    "tanh": (tanh_forward, tanh_backward, [(3, 4)], {}),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, [(3, 4)], {"alpha": 0.2}),
    "elu": (elu_forward, elu_backward, [(3, 4)], {"alpha": 1.5}),
    "maxout": (maxout_forward, maxout_backward, [(3, 4), (4, 2, 3), (2, 3)], {}),
    "affine_relu": (affine_relu_forward, affine_relu_backward, [(3, 2, 4), (8, 5), (5,)], {}),
}


def snapshot(item):
    """A deep copy of a cache's arrays, to compare with afterwards: caches nest (a sandwich's
    Cache holds its layers' Caches, the fast conv's a tuple of kept arrays per chunk)."""
    if isinstance(item, tuple):
        return [snapshot(part) for part in item]
    return item.copy() if isinstance(item, np.ndarray) else item


def assert_unchanged(item, copy):
    """``item`` holds what :func:`snapshot` took of it, array for array."""
    if isinstance(item, tuple):
        assert len(item) == len(copy)
        for part, part_copy in zip(item, copy):
            assert_unchanged(part, part_copy)
    elif isinstance(item, np.ndarray):
        np.testing.assert_array_equal(item, copy, strict=True)
    else:
        assert item == copy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", PAIRS)
def test_dtype_is_kept_and_nothing_is_modified(rng, name, dtype):
    forward, backward, shapes, kwargs = PAIRS[name]
    inputs = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    copies = [x.copy() for x in inputs]

    out, cache = forward(*inputs, **kwargs)
    assert out.dtype == dtype
    for x, x_copy in zip(inputs, copies):
        np.testing.assert_array_equal(x, x_copy, strict=True)

    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy, cache_snapshot = dout.copy(), snapshot(cache)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert len(grads) == len(inputs)
    for grad, x in zip(grads, inputs):
        assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_array_equal(dout, dout_copy, strict=True)
    assert_unchanged(cache, cache_snapshot)
    for x, x_copy in zip(inputs, copies):
        np.testing.assert_array_equal(x, x_copy, strict=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_losses_keep_the_dtype_and_modify_nothing(rng, loss_fn, dtype):
    x = rng.standard_normal((5, 4)).astype(dtype)
    y = rng.integers(4, size=5)
    x_copy, y_copy = x.copy(), y.copy()
    loss, dx = loss_fn(x, y)
    assert np.ndim(loss) == 0 and loss.dtype == dtype
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy, strict=True)
    np.testing.assert_array_equal(y, y_copy, strict=True)


@pytest.mark.parametrize("name", PAIRS)
def test_gradients_are_new_arrays_not_views_of_dout_or_the_cache(rng, name):
    """A caller may update a gradient in place (dw += reg * w) without corrupting anything."""
    forward, backward, shapes, kwargs = PAIRS[name]
    inputs = [rng.standard_normal(shape) for shape in shapes]
    out, cache = forward(*inputs, **kwargs)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for grad in grads:
        assert not np.shares_memory(grad, dout)
        assert not any(np.shares_memory(grad, x) for x in inputs)
        assert not np.shares_memory(grad, out)
