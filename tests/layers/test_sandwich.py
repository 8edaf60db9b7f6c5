"""Sandwich layers: each equals its stack of layers, and its gradients check numerically."""

import numpy as np
import pytest

from gradcheck import check_layer
from layers import (
    affine_backward, affine_bn_relu_backward, affine_bn_relu_forward, affine_forward,
    affine_ln_relu_backward, affine_ln_relu_forward, affine_relu_backward, affine_relu_forward,
    relu_backward, relu_forward)


@pytest.mark.parametrize("x_shape, M", [((2, 3, 4), 10), ((5, 6), 3), ((1, 2, 2), 1)])
def test_affine_relu_gradients_match_numerical_gradients(rng, x_shape, M):
    D = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((D, M))
    b = rng.standard_normal(M)
    scores = x.reshape(x_shape[0], D) @ w + b
    assert np.abs(scores).min() > 1e-3  # no score within reach of h of the ReLU's kink
    report = check_layer(affine_relu_forward, affine_relu_backward, x, w, b)
    assert report.ok, report


def test_affine_relu_is_affine_then_relu(rng):
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    out, cache = affine_relu_forward(x, w, b)
    scores, affine_cache = affine_forward(x, w, b)
    relu_out, relu_cache = relu_forward(scores)
    np.testing.assert_array_equal(out, relu_out)

    dout = rng.standard_normal((4, 5))
    expected = affine_backward(relu_backward(dout, relu_cache), affine_cache)
    for grad, reference in zip(affine_relu_backward(dout, cache), expected, strict=True):
        np.testing.assert_array_equal(grad, reference)


def affine_sandwich_args(rng, name, x_shape, M):
    """x, w, b (and gamma, beta, norm param) for the affine sandwich ``name``, float64."""
    D = int(np.prod(x_shape[1:]))
    args = [rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)]
    if name != "affine_relu":
        args += [1 + 0.5 * rng.standard_normal(M), 0.5 * rng.standard_normal(M)]
        args.append({"mode": "train"} if name == "affine_bn_relu" else {})
    return args


AFFINE_SANDWICHES = {
    "affine_relu": (affine_relu_forward, affine_relu_backward),
    "affine_bn_relu": (affine_bn_relu_forward, affine_bn_relu_backward),
    "affine_ln_relu": (affine_ln_relu_forward, affine_ln_relu_backward),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(AFFINE_SANDWICHES))
def test_input_grad_false_gives_no_dx_and_the_same_parameter_gradients(rng, name, dtype):
    forward, backward = AFFINE_SANDWICHES[name]
    args = [a.astype(dtype) if isinstance(a, np.ndarray) else a
            for a in affine_sandwich_args(rng, name, (6, 2, 3), 4)]
    out, cache = forward(*args)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, *grads = backward(dout, cache)
    no_dx, *grads_only = backward(dout, cache, input_grad=False)
    assert dx is not None and no_dx is None
    assert len(grads_only) == len(grads) == len(args) - 1 - (name != "affine_relu")
    for grad, reference in zip(grads_only, grads, strict=True):
        assert grad.dtype == dtype
        np.testing.assert_array_equal(grad, reference)


@pytest.mark.parametrize("name", list(AFFINE_SANDWICHES))
def test_input_grad_false_parameter_gradients_match_numerical_gradients(rng, name):
    forward, backward = AFFINE_SANDWICHES[name]
    x, *params = affine_sandwich_args(rng, name, (5, 6), 4)
    report = check_layer(lambda *p: forward(x, *p),
                         lambda dout, cache: backward(dout, cache, input_grad=False)[1:],
                         *params)
    assert report.ok, report


@pytest.mark.parametrize("name", list(AFFINE_SANDWICHES))
def test_input_grad_must_be_a_bool(rng, name):
    forward, backward = AFFINE_SANDWICHES[name]
    out, cache = forward(*affine_sandwich_args(rng, name, (3, 4), 2))
    with pytest.raises(TypeError, match=f"^{name}_backward: affine_backward: "
                                        f"input_grad must be True or False"):
        backward(np.ones_like(out), cache, input_grad="no")
