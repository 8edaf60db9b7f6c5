"""gradcheck.testing: gradient checks as assertions whose message is the report."""

import numpy as np
import pytest

import gradcheck
from gradcheck.testing import assert_layer_gradients, assert_loss_gradients


def scale_forward(x, w, *, power=1):
    """A layer of the user's own: out = w * x ** power, w broadcast over the rows of x."""
    return w * x ** power, (x, w, power)


def scale_backward(dout, cache):
    x, w, power = cache
    return dout * w * power * x ** (power - 1), np.sum(dout * x ** power, axis=0)


def mean_square_loss(x, y):
    N = x.shape[0]
    diff = x - y
    return np.sum(diff ** 2) / (2 * N), diff / N


def test_a_right_layer_and_loss_pass_silently(rng):
    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    assert assert_layer_gradients(scale_forward, scale_backward, x, w) is None
    assert assert_layer_gradients(scale_forward, scale_backward, x, w, power=3, mode="fast") is None
    assert assert_loss_gradients(mean_square_loss, x, rng.standard_normal((4, 3))) is None


def test_a_wrong_layer_raises_with_the_report_and_its_diagnosis(rng):
    def backward(dout, cache):
        dx, dw = scale_backward(dout, cache)
        return dx, dw / cache[0].shape[0]  # a mean where the forward sums

    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    with pytest.raises(AssertionError) as failure:
        assert_layer_gradients(scale_forward, backward, x, w)
    message = str(failure.value)
    assert message == "\n" + str(gradcheck.check_layer(scale_forward, backward, x, w))
    assert "scale_forward / backward: full check" in message
    assert "w: scale: dw = 1/N (N = 4, the batch size) x the numerical gradient" in message


def test_a_wrong_loss_raises_with_its_diagnosis(rng):
    def loss_fn(x, y):
        loss, dx = mean_square_loss(x, y)
        return loss, dx * x.shape[0]  # the 1/N left out

    with pytest.raises(AssertionError, match=r"x: scale: dx = N \(N = 5, the batch size\)"):
        assert_loss_gradients(loss_fn, rng.standard_normal((5, 2)), rng.standard_normal((5, 2)),
                              mode="fast")


def test_an_inconclusive_check_raises_too_and_says_how_to_rerun(rng):
    x = rng.standard_normal((3, 4))
    x[0, 1] = 2e-6

    def relu_forward(x):
        return np.maximum(x, 0), x

    def relu_backward(dout, x):
        return dout * (x > 0)

    with pytest.raises(AssertionError, match="INCONCLUSIVE(.|\n)*kink(.|\n)*rerun"):
        assert_layer_gradients(relu_forward, relu_backward, x)
    with pytest.raises(AssertionError, match="float32(.|\n)*astype"), \
            pytest.warns(gradcheck.PrecisionWarning):
        assert_layer_gradients(relu_forward, relu_backward, x.astype(np.float32))


def test_options_reach_the_check(rng):
    def backward(dout, cache):
        dx, dw = scale_backward(dout, cache)
        return dx * 1.001, dw

    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    with pytest.raises(AssertionError):
        assert_layer_gradients(scale_forward, backward, x, w)
    assert_layer_gradients(scale_forward, backward, x, w, tol=1e-2)
    with pytest.raises(ValueError, match="check_layer: mode must be one of"):
        assert_layer_gradients(scale_forward, scale_backward, x, w, mode="slow")


def test_it_is_reachable_as_gradcheck_testing():
    assert gradcheck.testing.assert_layer_gradients is assert_layer_gradients
