"""gradcheck against an independent oracle: PyTorch autograd (skipped without torch)."""

import numpy as np
import pytest

from gradcheck import check_layer, eval_numerical_gradient, eval_numerical_gradient_array


@pytest.mark.torch
def test_numerical_gradient_matches_autograd(rng):
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))

    def f(x):
        return float(np.sum(np.logaddexp(0, x @ w) ** 2))

    xt = torch.tensor(x, requires_grad=True)
    (torch.nn.functional.softplus(xt @ torch.tensor(w)) ** 2).sum().backward()
    np.testing.assert_allclose(eval_numerical_gradient(f, x), xt.grad.numpy(), rtol=1e-8,
                               atol=1e-10)


@pytest.mark.torch
def test_numerical_gradient_array_matches_autograd(rng):
    torch = pytest.importorskip("torch")
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def log_softmax(x):
        shifted = x - x.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    xt = torch.tensor(x, requires_grad=True)
    torch.log_softmax(xt, dim=1).backward(torch.tensor(dout))
    np.testing.assert_allclose(eval_numerical_gradient_array(log_softmax, x, dout),
                               xt.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["full", "fast"])
def test_autograd_backward_passes_and_a_scaled_one_fails(rng, mode):
    """A layer whose backward is torch autograd is right by construction: the checker agrees."""
    torch = pytest.importorskip("torch")

    def forward(x, w):
        xt, wt = (torch.tensor(a, requires_grad=True) for a in (x, w))
        out = torch.tanh(xt @ wt) * torch.sigmoid(xt.sum(dim=1, keepdim=True))
        return out.detach().numpy(), (xt, wt, out)

    def backward(dout, cache):
        xt, wt, out = cache
        dx, dw = torch.autograd.grad(out, (xt, wt), torch.tensor(dout))
        return dx.numpy(), dw.numpy()

    def scaled_backward(dout, cache):
        dx, dw = backward(dout, cache)
        return dx, 1.001 * dw

    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    assert check_layer(forward, backward, x, w, mode=mode).ok
    report = check_layer(forward, scaled_backward, x, w, mode=mode)
    assert not report.ok and report.worst.name == "w"
