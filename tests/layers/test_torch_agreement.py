"""Gates, affine, activations, losses and affine_relu against torch autograd, in float64.

Each test runs the same inputs and the same random upstream gradient through our pair and
through torch, and compares the output and every gradient. Skipped where torch is missing.
"""

import numpy as np
import pytest

from layers import (
    add_backward, add_forward, affine_backward, affine_forward, affine_relu_backward,
    affine_relu_forward, elu_backward, elu_forward, leaky_relu_backward, leaky_relu_forward,
    max_backward, max_forward, maxout_backward, maxout_forward, mul_backward, mul_forward,
    relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, softmax_loss, svm_loss,
    tanh_backward, tanh_forward)

pytestmark = pytest.mark.torch

RTOL = 1e-12


def _torch_run(torch, f, arrays, dout):
    """Output and input gradients of ``f`` under torch autograd, for upstream gradient dout."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f(*tensors)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _compare(torch, forward, backward, torch_f, arrays, rng, **kwargs):
    out, cache = forward(*arrays, **kwargs)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    torch_out, torch_grads = _torch_run(torch, torch_f, arrays, dout)
    np.testing.assert_allclose(out, torch_out, rtol=RTOL, atol=1e-300)
    for grad, torch_grad in zip(grads, torch_grads, strict=True):
        assert np.shape(grad) == torch_grad.shape
        np.testing.assert_allclose(grad, torch_grad, rtol=RTOL, atol=1e-15)


def test_elementwise_activations_agree_with_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((6, 7)) * 3
    _compare(torch, relu_forward, relu_backward, torch.relu, [x], rng)
    _compare(torch, sigmoid_forward, sigmoid_backward, torch.sigmoid, [x], rng)
    _compare(torch, tanh_forward, tanh_backward, torch.tanh, [x], rng)
    for alpha in (0.1, 0.01, 0.0, 1.0):
        _compare(torch, leaky_relu_forward, leaky_relu_backward,
                 lambda t: F.leaky_relu(t, negative_slope=alpha), [x], rng, alpha=alpha)
    for alpha in (1.0, 0.5, 2.0):
        _compare(torch, elu_forward, elu_backward, lambda t: F.elu(t, alpha=alpha), [x], rng,
                 alpha=alpha)


def test_activations_agree_with_torch_at_zero(rng):
    """The kink: torch takes the left slope (relu 0, leaky_relu alpha, elu alpha); so do we."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.array([-1.0, 0.0, 1.0])
    _compare(torch, relu_forward, relu_backward, torch.relu, [x], rng)
    _compare(torch, leaky_relu_forward, leaky_relu_backward, F.leaky_relu, [x], rng, alpha=0.01)
    _compare(torch, elu_forward, elu_backward, lambda t: F.elu(t, alpha=1.5), [x], rng, alpha=1.5)


@pytest.mark.parametrize("x_shape, M", [((4, 3, 2), 5), ((7, 10), 3)])
def test_affine_and_affine_relu_agree_with_torch(rng, x_shape, M):
    torch = pytest.importorskip("torch")
    D = int(np.prod(x_shape[1:]))
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)]
    _compare(torch, affine_forward, affine_backward,
             lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, arrays, rng)
    _compare(torch, affine_relu_forward, affine_relu_backward,
             lambda x, w, b: torch.relu(x.reshape(x.shape[0], -1) @ w + b), arrays, rng)


@pytest.mark.parametrize("N, D, H, K", [(5, 4, 3, 2), (3, 6, 2, 4)])
def test_maxout_agrees_with_torch_reshape_and_max(rng, N, D, H, K):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal((N, D)), rng.standard_normal((D, H, K)),
              rng.standard_normal((H, K))]

    def torch_maxout(x, w, b):
        pieces = x @ w.reshape(D, H * K) + b.reshape(H * K)  # (N, H*K)
        return pieces.reshape(N, H, K).max(dim=2).values

    _compare(torch, maxout_forward, maxout_backward, torch_maxout, arrays, rng)


@pytest.mark.parametrize("x_shape, y_shape", [((4, 5), (4, 5)), ((4, 1, 3), (5, 1)),
                                              ((3,), ()), ((), (2, 2))])
def test_gates_agree_with_torch_operators(rng, x_shape, y_shape):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(y_shape)]
    _compare(torch, add_forward, add_backward, lambda x, y: x + y, arrays, rng)
    _compare(torch, mul_forward, mul_backward, lambda x, y: x * y, arrays, rng)
    _compare(torch, max_forward, max_backward, torch.maximum, arrays, rng)


def test_max_gate_splits_ties_like_torch_maximum(rng):
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 2.0, 3.0], [0.5, 2.0, -1.0]])
    y = np.array([2.0, 2.0, 3.0])  # ties in every row, broadcast over the rows
    _compare(torch, max_forward, max_backward, torch.maximum, [x, y], rng)


def test_softmax_loss_agrees_with_cross_entropy(rng):
    torch = pytest.importorskip("torch")
    x, y = rng.standard_normal((8, 5)) * 4, rng.integers(5, size=8)
    loss, dx = softmax_loss(x, y)
    xt = torch.tensor(x, requires_grad=True)
    torch_loss = torch.nn.functional.cross_entropy(xt, torch.tensor(y))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=RTOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=1e-15)


def test_svm_loss_agrees_with_multi_margin_loss_times_c(rng):
    """torch's multi_margin_loss divides each example's sum by C as well as by N: ours is C
    times it, and so is our gradient."""
    torch = pytest.importorskip("torch")
    N, C = 9, 6
    x, y = rng.standard_normal((N, C)), rng.integers(C, size=N)
    loss, dx = svm_loss(x, y)
    xt = torch.tensor(x, requires_grad=True)
    torch_loss = torch.nn.functional.multi_margin_loss(xt, torch.tensor(y), margin=1.0,
                                                       reduction="mean")
    torch_loss.backward()
    assert loss == pytest.approx(C * torch_loss.item(), rel=RTOL)
    np.testing.assert_allclose(dx, C * xt.grad.numpy(), rtol=RTOL, atol=1e-15)
