"""Sandwich layers: each equals its stack of layers, and its gradients check numerically."""

import numpy as np
import pytest

from gradcheck import check_layer
from layers import (
    affine_backward, affine_forward, affine_relu_backward, affine_relu_forward, relu_backward,
    relu_forward)


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
