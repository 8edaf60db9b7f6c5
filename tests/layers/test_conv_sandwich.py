"""The conv and normalization sandwiches: each equals its stack of layers, its gradients check
numerically, its errors name it, and batchnorm's running statistics still land in bn_param."""

import numpy as np
import pytest

from gradcheck import check_layer
from layers import (
    affine_backward, affine_bn_relu_backward, affine_bn_relu_forward, affine_forward,
    affine_ln_relu_backward, affine_ln_relu_forward, batchnorm_backward_alt, batchnorm_forward,
    conv_backward_fast, conv_bn_relu_backward, conv_bn_relu_forward, conv_forward_fast,
    conv_relu_backward, conv_relu_forward, conv_relu_pool_backward, conv_relu_pool_forward,
    layernorm_backward, layernorm_forward, max_pool_backward_fast, max_pool_forward_fast,
    relu_backward, relu_forward, spatial_batchnorm_backward, spatial_batchnorm_forward)

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}
MARGIN = 1e-3  # kinks (ReLU at 0, pooling ties) kept this far from every perturbed value


def _conv_inputs(rng, N=2, C=3, H=4, W=6, F=4):
    return (rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, 3, 3)) * 0.5,
            rng.standard_normal(F))


def _affine_inputs(rng, N=5, D=6, M=4):
    return rng.standard_normal((N, 2, D // 2)), rng.standard_normal((D, M)), rng.standard_normal(M)


def _stack(layers_, x, dout):
    """Run ``layers_`` (forward, backward, extra args, number of param grads) forward and back;
    return the output and every gradient in the sandwich's order (dx, params of each layer)."""
    caches = []
    for forward, _, args, _ in layers_:
        x, cache = forward(x, *args)
        caches.append(cache)
    grads = []
    for (_, backward, _, _), cache in zip(reversed(layers_), reversed(caches)):
        dout, *dparams = (lambda g: g if isinstance(g, tuple) else (g,))(backward(dout, cache))
        grads = dparams + grads
    return x, [dout] + grads


def _assert_same(sandwich_result, stack_result):
    (out, grads), (stack_out, stack_grads) = sandwich_result, stack_result
    np.testing.assert_array_equal(out, stack_out)
    for grad, stack_grad in zip(grads, stack_grads, strict=True):
        np.testing.assert_array_equal(grad, stack_grad)


def test_conv_relu_is_conv_then_relu(rng):
    x, w, b = _conv_inputs(rng)
    out, cache = conv_relu_forward(x, w, b, CONV)
    dout = rng.standard_normal(out.shape)
    stack = [(lambda x: conv_forward_fast(x, w, b, CONV), conv_backward_fast, (), 2),
             (relu_forward, relu_backward, (), 0)]
    _assert_same((out, list(conv_relu_backward(dout, cache))), _stack(stack, x, dout))


def test_conv_relu_pool_is_conv_then_relu_then_pool(rng):
    x, w, b = _conv_inputs(rng)
    out, cache = conv_relu_pool_forward(x, w, b, CONV, POOL)
    assert out.shape == (2, 4, 2, 3)
    dout = rng.standard_normal(out.shape)
    stack = [(lambda x: conv_forward_fast(x, w, b, CONV), conv_backward_fast, (), 2),
             (relu_forward, relu_backward, (), 0),
             (max_pool_forward_fast, max_pool_backward_fast, (POOL,), 0)]
    _assert_same((out, list(conv_relu_pool_backward(dout, cache))), _stack(stack, x, dout))


def test_conv_bn_relu_is_conv_then_spatial_batchnorm_then_relu(rng):
    x, w, b = _conv_inputs(rng)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    bn_param, stack_bn_param = {"mode": "train"}, {"mode": "train"}
    out, cache = conv_bn_relu_forward(x, w, b, gamma, beta, CONV, bn_param)
    dout = rng.standard_normal(out.shape)
    stack = [(lambda x: conv_forward_fast(x, w, b, CONV), conv_backward_fast, (), 2),
             (spatial_batchnorm_forward, spatial_batchnorm_backward,
              (gamma, beta, stack_bn_param), 2),
             (relu_forward, relu_backward, (), 0)]
    _assert_same((out, list(conv_bn_relu_backward(dout, cache))), _stack(stack, x, dout))
    for key in ("running_mean", "running_var"):
        np.testing.assert_array_equal(bn_param[key], stack_bn_param[key])


@pytest.mark.parametrize("sandwich, norm", [
    ((affine_bn_relu_forward, affine_bn_relu_backward),
     (batchnorm_forward, batchnorm_backward_alt)),
    ((affine_ln_relu_forward, affine_ln_relu_backward), (layernorm_forward, layernorm_backward)),
])
def test_affine_norm_relu_is_affine_then_norm_then_relu(rng, sandwich, norm):
    x, w, b = _affine_inputs(rng)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    out, cache = sandwich[0](x, w, b, gamma, beta, {})
    dout = rng.standard_normal(out.shape)
    stack = [(lambda x: affine_forward(x, w, b), affine_backward, (), 2),
             (norm[0], norm[1], (gamma, beta, {}), 2),
             (relu_forward, relu_backward, (), 0)]
    _assert_same((out, list(sandwich[1](dout, cache))), _stack(stack, x, dout))


def _redraw(rng, draw, pre_relu):
    """Draw inputs until every pre-ReLU value is at least MARGIN away from the kink."""
    for _ in range(100):
        args = draw(rng)
        if np.abs(pre_relu(*args)).min() > MARGIN:
            return args
    raise AssertionError("no draw kept away from the ReLU's kink")


def _check_with_b_fixed(forward, backward, x, w, b, *rest):
    """Check every gradient but db, and return db: where batchnorm follows in train mode it
    cancels b, so db is 0 up to round-off, and a relative error of round-off against 0 means
    nothing."""
    def fixed_forward(x, w, *rest):
        return forward(x, w, b, *rest)

    def fixed_backward(dout, cache):
        dx, dw, db, dgamma, dbeta = backward(dout, cache)
        fixed_backward.db = db
        return dx, dw, dgamma, dbeta

    report = check_layer(fixed_forward, fixed_backward, x, w, *rest)
    assert report.ok, report
    return fixed_backward.db


def test_conv_relu_gradients_match_numerical_ones(rng):
    args = _redraw(rng, _conv_inputs, lambda x, w, b: conv_forward_fast(x, w, b, CONV)[0])
    report = check_layer(conv_relu_forward, conv_relu_backward, *args, CONV)
    assert report.ok, report


def test_conv_relu_pool_gradients_match_numerical_ones(rng):
    def pre_relu_and_gaps(x, w, b):
        scores = conv_forward_fast(x, w, b, CONV)[0]  # (N, F, H, W)
        windows = np.maximum(scores, 0).reshape(2, 4, 2, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5)
        top_two = np.sort(windows.reshape(2, 4, 2, 3, 4), axis=-1)[..., -2:]
        return np.concatenate([scores.ravel(), (top_two[..., 1] - top_two[..., 0]).ravel()])

    args = _redraw(rng, _conv_inputs, pre_relu_and_gaps)
    report = check_layer(conv_relu_pool_forward, conv_relu_pool_backward, *args, CONV, POOL)
    assert report.ok, report


@pytest.mark.parametrize("mode", ["train", "test"])
def test_conv_bn_relu_gradients_match_numerical_ones(rng, mode):
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    bn_param = {"mode": mode, "running_mean": rng.standard_normal(4),
                "running_var": rng.random(4) + 0.5}

    def normed(x, w, b):
        scores = conv_forward_fast(x, w, b, CONV)[0]
        return spatial_batchnorm_forward(scores, gamma, beta, dict(bn_param))[0]

    x, w, b = _redraw(rng, _conv_inputs, normed)
    if mode == "test":
        report = check_layer(conv_bn_relu_forward, conv_bn_relu_backward, x, w, b, gamma, beta,
                             CONV, bn_param)
        assert report.ok, report
    else:
        db = _check_with_b_fixed(conv_bn_relu_forward, conv_bn_relu_backward, x, w, b, gamma,
                                 beta, CONV, bn_param)
        np.testing.assert_allclose(db, 0, atol=1e-12)


@pytest.mark.parametrize("sandwich, norm", [
    ((affine_bn_relu_forward, affine_bn_relu_backward), batchnorm_forward),
    ((affine_ln_relu_forward, affine_ln_relu_backward), layernorm_forward),
])
def test_affine_norm_relu_gradients_match_numerical_ones(rng, sandwich, norm):
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)

    def normed(x, w, b):
        return norm(affine_forward(x, w, b)[0], gamma, beta, {})[0]

    x, w, b = _redraw(rng, _affine_inputs, normed)
    if norm is layernorm_forward:
        report = check_layer(*sandwich, x, w, b, gamma, beta, {})
        assert report.ok, report
    else:
        db = _check_with_b_fixed(*sandwich, x, w, b, gamma, beta, {})
        np.testing.assert_allclose(db, 0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_bn_relu_keeps_the_dtype_and_updates_bn_param(rng, dtype):
    x, w, b = (a.astype(dtype) for a in _conv_inputs(rng))
    gamma, beta = np.ones(4, dtype), np.zeros(4, dtype)
    bn_param = {"mode": "train"}
    out, cache = conv_bn_relu_forward(x, w, b, gamma, beta, CONV, bn_param)
    assert out.dtype == dtype
    assert bn_param["running_mean"].shape == (4,) and bn_param["running_mean"].dtype == dtype
    grads = conv_bn_relu_backward(np.ones_like(out), cache)
    for grad, a in zip(grads, (x, w, b, gamma, beta), strict=True):
        assert grad.dtype == dtype and grad.shape == a.shape


def test_errors_name_the_sandwich_and_the_layer_that_refused(rng):
    x, w, b = _conv_inputs(rng)
    with pytest.raises(ValueError, match=r"^conv_relu_pool_forward: max_pool_forward_fast: "
                                         r"the pool window"):
        conv_relu_pool_forward(x, w, b, CONV, {"pool_height": 9, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match=r"^conv_bn_relu_forward: spatial_batchnorm_forward: "
                                         r"gamma must have shape \(C,\)"):
        conv_bn_relu_forward(x, w, b, np.ones(3), np.zeros(3), CONV, {})
    with pytest.raises(ValueError, match=r"^conv_relu_forward: conv_forward_fast: w must have"):
        conv_relu_forward(x, w[:, :2], b, CONV)
    out, cache = conv_relu_forward(x, w, b, CONV)
    with pytest.raises(ValueError, match=r"^conv_relu_backward: relu_backward: dout"):
        conv_relu_backward(out[:, :3], cache)
    with pytest.raises(TypeError, match=r"^conv_bn_relu_backward: got the cache of conv_relu"):
        conv_bn_relu_backward(out, cache)
    x2, w2, b2 = _affine_inputs(rng)
    with pytest.raises(ValueError, match=r"^affine_bn_relu_forward: batchnorm_forward: "
                                         r"bn_param\['mode'\]"):
        affine_bn_relu_forward(x2, w2, b2, np.ones(4), np.zeros(4), {"mode": "eval"})


CONV_SANDWICHES = {
    "conv_relu": (conv_relu_forward, conv_relu_backward, lambda rng, F: (CONV,)),
    "conv_relu_pool": (conv_relu_pool_forward, conv_relu_pool_backward,
                       lambda rng, F: (CONV, POOL)),
    "conv_bn_relu": (conv_bn_relu_forward, conv_bn_relu_backward,
                     lambda rng, F: (rng.standard_normal(F), rng.standard_normal(F), CONV,
                                     {"mode": "train"})),
}


# (N, C, H, W, F): small images go through im2col, larger ones through Winograd
SIZES = {"im2col": (2, 3, 4, 6, 4), "winograd": (1, 64, 24, 24, 64)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("sandwich", CONV_SANDWICHES)
def test_conv_sandwiches_skip_dx_without_input_grad(rng, sandwich, size):
    forward, backward, extra = CONV_SANDWICHES[sandwich]
    N, C, H, W, F = SIZES[size]
    x, w, b = _conv_inputs(rng, N=N, C=C, H=H, W=W, F=F)
    out, cache = forward(x, w, b, *extra(rng, F))
    dout = rng.standard_normal(out.shape)
    dx, *grads = backward(dout, cache)
    assert dx.shape == x.shape
    dx_none, *grads_only = backward(dout, cache, input_grad=False)
    assert dx_none is None
    for grad, grad_only in zip(grads, grads_only, strict=True):
        np.testing.assert_array_equal(grad_only, grad)
    with pytest.raises(TypeError, match=f"{sandwich}_backward: .*input_grad must be True or"):
        backward(dout, cache, input_grad=None)
