"""Normalization, dropout, conv, pooling and their sandwiches against torch autograd, in float64.

Each test runs the same inputs and the same random upstream gradient through our pair and
through torch, and compares the output and every gradient. Skipped where torch is missing.
"""

import numpy as np
import pytest

from layers import (
    affine_bn_relu_backward, affine_bn_relu_forward, affine_ln_relu_backward,
    affine_ln_relu_forward, batchnorm_backward, batchnorm_backward_alt, batchnorm_forward,
    conv_backward_fast, conv_backward_naive, conv_bn_relu_backward, conv_bn_relu_forward,
    conv_forward_fast, conv_forward_naive, conv_relu_backward, conv_relu_forward,
    conv_relu_pool_backward, conv_relu_pool_forward, dropout_backward, dropout_forward,
    layernorm_backward, layernorm_forward, max_pool_backward_fast, max_pool_backward_naive,
    max_pool_forward_fast, max_pool_forward_naive, spatial_batchnorm_backward,
    spatial_batchnorm_forward, spatial_groupnorm_backward, spatial_groupnorm_forward)

pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-10, 1e-12


def _compare(torch, forward, backward, torch_f, arrays, rng, *params):
    """Run ``forward(*arrays, *params)`` and ``torch_f(*tensors)``; compare out and grads."""
    out, cache = forward(*arrays, *params)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    torch_out = torch_f(*tensors)
    torch_out.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, torch_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    for grad, tensor in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=RTOL, atol=ATOL)


CONV_GEOMETRIES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1),
    ((2, 3, 7, 5), (4, 3, 3, 3), 2, 1),
    ((2, 2, 1, 12), (3, 2, 1, 5), 1, (0, 2)),
    ((1, 3, 8, 9), (2, 3, 2, 3), (2, 3), (0, 0)),
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 3),
]


@pytest.mark.parametrize("form", ["naive", "fast"])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_GEOMETRIES)
def test_conv_agrees_with_torch(rng, form, x_shape, w_shape, stride, pad):
    torch = pytest.importorskip("torch")
    forward, backward = {"naive": (conv_forward_naive, conv_backward_naive),
                         "fast": (conv_forward_fast, conv_backward_fast)}[form]
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[0])]
    _compare(torch, forward, backward,
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad),
             arrays, rng, {"stride": stride, "pad": pad})


@pytest.mark.parametrize("form", ["naive", "fast"])
@pytest.mark.parametrize("x_shape, pool, stride", [
    ((2, 3, 8, 6), (2, 2), 2), ((2, 3, 9, 7), (3, 3), 2), ((1, 2, 7, 5), (2, 3), 1),
    ((2, 2, 5, 7), (2, 2), 2), ((1, 2, 8, 9), (2, 3), (3, 2))])
def test_max_pool_agrees_with_torch(rng, form, x_shape, pool, stride):
    torch = pytest.importorskip("torch")
    forward, backward = {"naive": (max_pool_forward_naive, max_pool_backward_naive),
                         "fast": (max_pool_forward_fast, max_pool_backward_fast)}[form]
    pool_param = {"pool_height": pool[0], "pool_width": pool[1], "stride": stride}
    _compare(torch, forward, backward,
             lambda x: torch.nn.functional.max_pool2d(x, pool, stride=stride),
             [rng.standard_normal(x_shape)], rng, pool_param)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_train_mode_agrees_with_torch(rng, backward):
    torch = pytest.importorskip("torch")
    N, D = 8, 5
    x = rng.standard_normal((N, D)) * 3 + 1
    mean0, var0 = rng.standard_normal(D), rng.random(D) + 0.5
    bn_param = {"mode": "train", "momentum": 0.8, "eps": 1e-4,
                "running_mean": mean0, "running_var": var0}
    running_mean, running_var = torch.tensor(mean0), torch.tensor(var0)
    _compare(torch, batchnorm_forward, backward,
             lambda x, g, b: torch.nn.functional.batch_norm(
                 x, running_mean, running_var, g, b, training=True, momentum=0.2, eps=1e-4),
             [x, rng.standard_normal(D), rng.standard_normal(D)], rng, bn_param)
    # torch's momentum is ours subtracted from 1, and its running variance is unbiased
    np.testing.assert_allclose(bn_param["running_mean"], running_mean.numpy(), rtol=RTOL)
    unbiased_excess = 0.2 * x.var(axis=0) / (N - 1)  # 0.2 * (var * N / (N - 1) - var)
    np.testing.assert_allclose(bn_param["running_var"], running_var.numpy() - unbiased_excess,
                               rtol=RTOL)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_test_mode_agrees_with_torch(rng, backward):
    torch = pytest.importorskip("torch")
    D = 5
    mean, var = rng.standard_normal(D), rng.random(D) + 0.5
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    _compare(torch, batchnorm_forward, backward,
             lambda x, g, b: torch.nn.functional.batch_norm(
                 x, torch.tensor(mean), torch.tensor(var), g, b, training=False, eps=1e-5),
             [rng.standard_normal((6, D)), rng.standard_normal(D), rng.standard_normal(D)],
             rng, bn_param)


def test_layernorm_agrees_with_torch(rng):
    torch = pytest.importorskip("torch")
    D = 7
    _compare(torch, layernorm_forward, layernorm_backward,
             lambda x, g, b: torch.nn.functional.layer_norm(x, (D,), g, b, eps=1e-5),
             [rng.standard_normal((4, D)) * 2 - 1, rng.standard_normal(D),
              rng.standard_normal(D)], rng, {})


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_agrees_with_torch(rng, mode):
    torch = pytest.importorskip("torch")
    C = 3
    mean, var = rng.standard_normal(C), rng.random(C) + 0.5
    bn_param = {"mode": mode, "running_mean": mean, "running_var": var}
    _compare(torch, spatial_batchnorm_forward, spatial_batchnorm_backward,
             lambda x, g, b: torch.nn.functional.batch_norm(
                 x, torch.tensor(mean), torch.tensor(var), g, b, training=mode == "train"),
             [rng.standard_normal((2, C, 4, 5)) * 2 + 1, rng.standard_normal(C),
              rng.standard_normal(C)], rng, bn_param)


@pytest.mark.parametrize("G", [1, 2, 4])
def test_spatial_groupnorm_agrees_with_torch(rng, G):
    torch = pytest.importorskip("torch")
    C = 4
    _compare(torch, spatial_groupnorm_forward, spatial_groupnorm_backward,
             lambda x, g, b: torch.nn.functional.group_norm(x, G, g.reshape(C), b.reshape(C)),
             [rng.standard_normal((3, C, 3, 5)) * 2 + 1, rng.standard_normal((1, C, 1, 1)),
              rng.standard_normal((1, C, 1, 1))], rng, G, {})


def test_dropout_backward_agrees_with_torch_on_the_same_mask(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 7))
    out, _ = dropout_forward(x, {"p": 0.4, "seed": 3})
    mask = torch.tensor(out != 0)
    _compare(torch, dropout_forward, dropout_backward, lambda x: x * mask / 0.4, [x], rng,
             {"p": 0.4, "seed": 3})


def test_conv_sandwiches_agree_with_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    arrays = [rng.standard_normal((2, 3, 6, 4)), rng.standard_normal((4, 3, 3, 3)),
              rng.standard_normal(4)]
    _compare(torch, conv_relu_forward, conv_relu_backward,
             lambda x, w, b: F.relu(F.conv2d(x, w, b, padding=1)), arrays, rng, conv_param)
    _compare(torch, conv_relu_pool_forward, conv_relu_pool_backward,
             lambda x, w, b: F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2, 2),
             arrays, rng, conv_param, pool_param)
    _compare(torch, conv_bn_relu_forward, conv_bn_relu_backward,
             lambda x, w, b, g, be: F.relu(F.batch_norm(
                 F.conv2d(x, w, b, padding=1), None, None, g, be, training=True)),
             arrays + [rng.standard_normal(4), rng.standard_normal(4)], rng, conv_param, {})


@pytest.mark.parametrize("sandwich, norm", [
    ((affine_bn_relu_forward, affine_bn_relu_backward), "batch"),
    ((affine_ln_relu_forward, affine_ln_relu_backward), "layer"),
])
def test_affine_norm_relu_sandwiches_agree_with_torch(rng, sandwich, norm):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def normalize(scores, g, b):
        if norm == "batch":
            return F.batch_norm(scores, None, None, g, b, training=True)
        return F.layer_norm(scores, (5,), g, b)

    _compare(torch, *sandwich,
             lambda x, w, b, g, be: F.relu(normalize(x.reshape(4, 6) @ w + b, g, be)),
             [rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)),
              rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)], rng, {})
