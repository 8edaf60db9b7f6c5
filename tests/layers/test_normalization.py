"""batchnorm, layernorm, spatial batchnorm and spatial group norm: CS231n's checks, running
statistics, numerical gradients in both modes, agreement between forms, dtypes and errors."""

import re

import numpy as np
import pytest

from gradcheck import check_layer
from layers._checks import Cache
from layers.normalization import (
    batchnorm_backward, batchnorm_backward_alt, batchnorm_forward, layernorm_backward,
    layernorm_forward, spatial_batchnorm_backward, spatial_batchnorm_forward,
    spatial_groupnorm_backward, spatial_groupnorm_forward)

BN_BACKWARDS = [batchnorm_backward, batchnorm_backward_alt]


def _cs231n_activations(rng):
    """CS231n's batchnorm input: a = relu(X @ W1) @ W2 with N, D1, D2, D3 = 200, 50, 60, 3."""
    N, D1, D2, D3 = 200, 50, 60, 3
    X = rng.standard_normal((N, D1))
    W1 = rng.standard_normal((D1, D2))
    W2 = rng.standard_normal((D2, D3))
    return np.maximum(0, X @ W1) @ W2, (X, W1, W2)


@pytest.mark.parametrize("gamma, beta", [([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]),
                                         ([1.0, 2.0, 3.0], [11.0, 12.0, 13.0])])
def test_cs231n_train_mode_output_has_mean_beta_and_std_gamma(rng, gamma, beta):
    a, _ = _cs231n_activations(rng)
    assert np.all(np.abs(a.mean(axis=0)) > 1)  # far from normalized before
    out, _ = batchnorm_forward(a, np.array(gamma), np.array(beta), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)


def test_cs231n_test_mode_after_warm_up_is_normalized(rng):
    _, (_, W1, W2) = _cs231n_activations(rng)
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(3), np.zeros(3)
    for _ in range(50):
        X = rng.standard_normal((200, 50))
        batchnorm_forward(np.maximum(0, X @ W1) @ W2, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    X = rng.standard_normal((200, 50))
    out, _ = batchnorm_forward(np.maximum(0, X @ W1) @ W2, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.15)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.15)


def test_running_statistics_start_at_zero_and_follow_the_momentum_rule(rng):
    x = rng.standard_normal((10, 4)).astype(np.float32) * 3 + 1
    bn_param = {"momentum": 0.8}
    batchnorm_forward(x, np.ones(4, np.float32), np.zeros(4, np.float32), bn_param)
    for key, batch in [("running_mean", x.mean(axis=0)), ("running_var", x.var(axis=0))]:
        assert bn_param[key].shape == (4,) and bn_param[key].dtype == np.float32
        np.testing.assert_allclose(bn_param[key], 0.2 * batch, rtol=1e-5)
    first_mean = bn_param["running_mean"]
    kept = first_mean.copy()
    batchnorm_forward(x, np.ones(4, np.float32), np.zeros(4, np.float32), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 * kept + 0.2 * x.mean(axis=0),
                               rtol=1e-5)
    np.testing.assert_array_equal(first_mean, kept)  # replaced, never written into
    assert set(bn_param) == {"momentum", "running_mean", "running_var"}  # no 'mode' written


def test_test_mode_uses_the_running_statistics_and_changes_nothing(rng):
    x = rng.standard_normal((6, 3))
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var, "eps": 1e-3}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-12)
    assert bn_param["running_mean"] is mean and bn_param["running_var"] is var


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("backward", BN_BACKWARDS)
@pytest.mark.parametrize("shape", [(7, 5), (2, 3), (16, 1)])
def test_batchnorm_gradients_match_numerical_ones(rng, mode, backward, shape):
    N, D = shape
    x = rng.standard_normal(shape) * 3 + 2
    bn_param = {"mode": mode, "running_mean": rng.standard_normal(D),
                "running_var": rng.random(D) + 0.5}
    report = check_layer(batchnorm_forward, backward, x, rng.standard_normal(D),
                         rng.standard_normal(D), bn_param)
    assert report.ok, report


@pytest.mark.parametrize("mode", ["train", "test"])
def test_staged_and_closed_form_backward_agree(rng, mode):
    x = rng.standard_normal((50, 20)) * 4 - 1
    bn_param = {"mode": mode, "running_mean": rng.standard_normal(20),
                "running_var": rng.random(20) + 0.5}
    out, cache = batchnorm_forward(x, rng.standard_normal(20), rng.standard_normal(20), bn_param)
    dout = rng.standard_normal(out.shape)
    staged_grads = batchnorm_backward(dout, cache)
    for staged, closed in zip(staged_grads, batchnorm_backward_alt(dout, cache), strict=True):
        np.testing.assert_allclose(staged, closed, rtol=1e-10, atol=1e-12)


def test_batchnorm_backward_sends_no_gradient_along_a_shift_of_the_batch(rng):
    """Adding a constant to a feature changes nothing in train mode: dx sums to 0 per feature."""
    out, cache = batchnorm_forward(rng.standard_normal((8, 4)), rng.standard_normal(4),
                                   rng.standard_normal(4), {})
    for backward in BN_BACKWARDS:
        dx, _, _ = backward(rng.standard_normal(out.shape), cache)
        np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)


def test_layernorm_normalizes_each_row_and_ignores_mode(rng):
    x = rng.standard_normal((4, 30)) * 5 + rng.standard_normal((4, 1)) * 10
    gamma, beta = np.full(30, 2.0), np.full(30, -1.0)
    out, _ = layernorm_forward(x, gamma, beta, {"mode": "test"})
    np.testing.assert_allclose(out.mean(axis=1), -1.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 2.0, rtol=1e-4)
    out_train, _ = layernorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-5})
    np.testing.assert_array_equal(out, out_train)


@pytest.mark.parametrize("shape", [(4, 6), (1, 5), (3, 2)])
def test_layernorm_gradients_match_numerical_ones(rng, shape):
    N, D = shape
    report = check_layer(layernorm_forward, layernorm_backward, rng.standard_normal(shape) * 2,
                         rng.standard_normal(D), rng.standard_normal(D), {})
    assert report.ok, report


def test_layernorm_is_batchnorm_of_the_transpose(rng):
    x = rng.standard_normal((5, 7))
    out_ln, _ = layernorm_forward(x, np.ones(7), np.zeros(7), {})
    out_bn, _ = batchnorm_forward(x.T, np.ones(5), np.zeros(5), {})
    np.testing.assert_allclose(out_ln, out_bn.T, rtol=1e-12)


@pytest.mark.parametrize("gamma_shape", [(4,), (1, 4, 1, 1)])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_is_batchnorm_per_channel(rng, gamma_shape, mode):
    N, C, H, W = 3, 4, 5, 2
    x = rng.standard_normal((N, C, H, W)) * 2 + 1
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    stats = {"running_mean": rng.standard_normal(C), "running_var": rng.random(C) + 0.5}
    bn_param, sbn_param = dict(stats, mode=mode), dict(stats, mode=mode)
    x_rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # (N*H*W, C)
    out_rows, cache_rows = batchnorm_forward(x_rows, gamma, beta, bn_param)
    out, cache = spatial_batchnorm_forward(x, gamma.reshape(gamma_shape),
                                           beta.reshape(gamma_shape), sbn_param)
    np.testing.assert_allclose(out, out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2),
                               rtol=1e-12, atol=1e-12)
    for key in stats:
        np.testing.assert_allclose(sbn_param[key], bn_param[key], rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    dx_rows, dgamma_rows, dbeta_rows = batchnorm_backward_alt(
        dout.transpose(0, 2, 3, 1).reshape(-1, C), cache_rows)
    np.testing.assert_allclose(dx, dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2),
                               rtol=1e-10, atol=1e-12)
    assert dgamma.shape == dbeta.shape == gamma_shape
    np.testing.assert_allclose(dgamma.ravel(), dgamma_rows, rtol=1e-12)
    np.testing.assert_allclose(dbeta.ravel(), dbeta_rows, rtol=1e-12)


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 2, 1, 3)])
def test_spatial_batchnorm_gradients_match_numerical_ones(rng, mode, shape):
    C = shape[1]
    bn_param = {"mode": mode, "running_mean": rng.standard_normal(C),
                "running_var": rng.random(C) + 0.5}
    report = check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward,
                         rng.standard_normal(shape) * 2, rng.standard_normal(C),
                         rng.standard_normal(C), bn_param)
    assert report.ok, report


def test_cs231n_spatial_batchnorm_train_and_test(rng):
    N, C, H, W = 10, 4, 11, 12
    x = 4 * rng.standard_normal((N, C, H, W)) + 10
    gamma, beta = np.array([3.0, 4.0, 5.0, 6.0]), np.array([6.0, 7.0, 8.0, 9.0])
    out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-4)
    bn_param = {"mode": "train"}
    for _ in range(50):
        spatial_batchnorm_forward(2.3 * rng.standard_normal((N, C, H, W)) + 13,
                                  np.ones(C), np.zeros(C), bn_param)
    bn_param["mode"] = "test"
    out, _ = spatial_batchnorm_forward(2.3 * rng.standard_normal((N, C, H, W)) + 13,
                                       np.ones(C), np.zeros(C), bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=0.15)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=0.15)


@pytest.mark.parametrize("G", [1, 2, 6])
def test_groupnorm_normalizes_each_group_of_each_image(rng, G):
    N, C, H, W = 2, 6, 4, 5
    x = 4 * rng.standard_normal((N, C, H, W)) + 10
    out, _ = spatial_groupnorm_forward(x, np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1)), G, {})
    grouped = out.reshape(N, G, -1)
    np.testing.assert_allclose(grouped.mean(axis=2), 0, atol=1e-10)
    np.testing.assert_allclose(grouped.std(axis=2), 1, rtol=1e-4)


def test_groupnorm_with_one_group_is_layernorm_of_each_image(rng):
    x = rng.standard_normal((3, 4, 2, 5))
    gamma, beta = rng.standard_normal((1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, 1, {"eps": 1e-4})
    out_ln, _ = layernorm_forward(x.reshape(3, -1), np.ones(40), np.zeros(40), {"eps": 1e-4})
    np.testing.assert_allclose(out, gamma * out_ln.reshape(x.shape) + beta, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("G", [1, 3, 6])
@pytest.mark.parametrize("gamma_shape", [(1, 6, 1, 1), (6,)])
def test_groupnorm_gradients_match_numerical_ones(rng, G, gamma_shape):
    x = rng.standard_normal((2, 6, 3, 2)) * 2
    report = check_layer(spatial_groupnorm_forward, spatial_groupnorm_backward, x,
                         rng.standard_normal(gamma_shape), rng.standard_normal(gamma_shape),
                         G, {})
    assert report.ok, report


# name: (forward, backward, x shape, gamma/beta shape, extra args)
PAIRS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward, (6, 4), (4,), ({"mode": "train"},)),
    "batchnorm_alt": (batchnorm_forward, batchnorm_backward_alt, (6, 4), (4,), ({},)),
    "batchnorm_test": (batchnorm_forward, batchnorm_backward, (6, 4), (4,),
                       ({"mode": "test", "running_mean": [0.5, -0.2, 0.1, 1.0],
                         "running_var": [1.5, 0.7, 2.0, 0.9]},)),
    "layernorm": (layernorm_forward, layernorm_backward, (6, 4), (4,), ({},)),
    "spatial_batchnorm": (spatial_batchnorm_forward, spatial_batchnorm_backward, (2, 3, 4, 5),
                          (3,), ({},)),
    "spatial_groupnorm": (spatial_groupnorm_forward, spatial_groupnorm_backward, (2, 4, 3, 5),
                          (1, 4, 1, 1), (2, {})),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", PAIRS)
def test_dtype_is_kept_and_nothing_is_modified(rng, name, dtype):
    forward, backward, x_shape, p_shape, extra = PAIRS[name]
    x = (rng.standard_normal(x_shape) * 3 + 1).astype(dtype)
    gamma, beta = (rng.standard_normal(p_shape).astype(dtype) for _ in range(2))
    copies = [a.copy() for a in (x, gamma, beta)]
    out, cache = forward(x, gamma, beta, *extra)
    assert out.dtype == dtype and out.shape == x.shape
    dout = rng.standard_normal(x_shape).astype(dtype)
    dout_copy = dout.copy()
    cache_copy = [a.copy() if isinstance(a, np.ndarray) else a for a in cache]
    grads = backward(dout, cache)
    for grad, a in zip(grads, (x, gamma, beta), strict=True):
        assert grad.dtype == dtype and grad.shape == a.shape
    for a, a_copy in zip((x, gamma, beta, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(a, a_copy, strict=True)
    for item, item_copy in zip(cache, cache_copy, strict=True):
        if isinstance(item, np.ndarray):
            np.testing.assert_array_equal(item, item_copy, strict=True)
    params = [p for p in extra if isinstance(p, dict)][0]
    for value in params.values():
        assert not isinstance(value, np.ndarray) or value.dtype == dtype


def test_float64_parameters_with_float32_x_give_each_gradient_its_own_dtype(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    out, cache = batchnorm_forward(x, np.ones(3), np.zeros(3, np.float32), {})
    assert out.dtype == np.float64
    dx, dgamma, dbeta = batchnorm_backward(np.ones((5, 3)), cache)
    assert (dx.dtype, dgamma.dtype, dbeta.dtype) == (np.float32, np.float64, np.float32)


BAD_CALLS = {
    "x not 2-d": (batchnorm_forward, ((2, 3, 4), (3,), {}), ValueError,
                  r"x must be 2-d of shape \(N, D\)"),
    "gamma shape": (batchnorm_forward, ((4, 3), (4,), {}), ValueError,
                    r"gamma must have shape \(D,\) = \(3,\)"),
    "bad mode": (batchnorm_forward, ((4, 3), (3,), {"mode": "eval"}), ValueError,
                 r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"),
    "bad eps": (batchnorm_forward, ((4, 3), (3,), {"eps": 0}), ValueError,
                r"bn_param\['eps'\] must be a positive number"),
    "bad momentum": (batchnorm_forward, ((4, 3), (3,), {"momentum": 1.5}), ValueError,
                     r"bn_param\['momentum'\] must be a number in \[0, 1\]"),
    "running stats shape": (batchnorm_forward, ((4, 3), (3,), {"running_mean": np.zeros(4)}),
                            ValueError, r"bn_param\['running_mean'\] must have shape \(D,\)"),
    "bn_param not a dict": (batchnorm_forward, ((4, 3), (3,), "train"), TypeError,
                            r"bn_param must be a dict"),
    "test mode, no running stats": (batchnorm_forward, ((4, 3), (3,), {"mode": "test"}),
                                    ValueError, r"test mode normalizes with "
                                    r"bn_param\['running_mean'\] .* has no 'running_mean'"),
    "test mode, no running var": (spatial_batchnorm_forward,
                                  ((2, 3, 4, 4), (3,), {"mode": "test",
                                                        "running_mean": np.zeros(3)}),
                                  ValueError, r"bn_param has no 'running_var'"),
    "empty batch in training": (batchnorm_forward, ((0, 3), (3,), {}), ValueError,
                                r"training mode needs at least one value per feature to "
                                r"average; got x of shape \(0, 3\)"),
    "spatial, no pixels": (spatial_batchnorm_forward, ((2, 3, 0, 4), (3,), {}), ValueError,
                           r"at least one value per channel .* shape \(2, 3, 0, 4\)"),
    "layernorm gamma": (layernorm_forward, ((4, 3), (1, 3, 1, 1), {}), ValueError,
                        r"gamma must have shape \(D,\) = \(3,\)"),
    "spatial x 2-d": (spatial_batchnorm_forward, ((4, 3), (3,), {}), ValueError,
                      r"x must be 4-d of shape \(N, C, H, W\)"),
    "spatial gamma": (spatial_batchnorm_forward, ((2, 3, 4, 4), (1, 4, 1, 1), {}), ValueError,
                      r"gamma must have shape \(1, C, 1, 1\) = \(1, 3, 1, 1\)"),
}


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_is_refused_by_name(case):
    forward, (x_shape, p_shape, params), error, match = BAD_CALLS[case]
    with pytest.raises(error, match=match) as info:
        forward(np.ones(x_shape), np.ones(p_shape), np.zeros(p_shape), params)
    assert str(info.value).startswith(forward.__name__)


def test_a_refused_call_leaves_bn_param_untouched():
    bn_param = {"momentum": 0.9}
    with pytest.raises(ValueError, match=r"gamma must have shape \(D,\) = \(3,\)"):
        batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(2), bn_param)
    assert bn_param == {"momentum": 0.9}


@pytest.mark.parametrize("G, error, match", [(4, ValueError, "positive divisor of the C = 6"),
                                             (0, ValueError, "positive divisor"),
                                             (2.0, TypeError, "G must be an int"),
                                             (True, TypeError, "G must be an int")])
def test_groupnorm_refuses_a_bad_group_count(G, error, match):
    with pytest.raises(error, match=match):
        spatial_groupnorm_forward(np.ones((2, 6, 3, 3)), np.ones((1, 6, 1, 1)),
                                  np.zeros((1, 6, 1, 1)), G, {})


def test_beta_must_match_gamma():
    with pytest.raises(ValueError, match=r"beta must have shape \(3,\)"):
        layernorm_forward(np.ones((4, 3)), np.ones(3), np.zeros((1, 3)), {})


@pytest.mark.parametrize("name", PAIRS)
def test_backward_refuses_a_wrong_dout_or_cache(rng, name):
    forward, backward, x_shape, p_shape, extra = PAIRS[name]
    out, _ = forward(rng.standard_normal(x_shape), np.ones(p_shape), np.zeros(p_shape), *extra)
    _, cache = forward(rng.standard_normal(x_shape), np.ones(p_shape), np.zeros(p_shape), *extra)
    wrong = tuple(x_shape[:-1]) + (x_shape[-1] + 1,)
    with pytest.raises(ValueError, match=re.escape(
            f"{backward.__name__}: dout must have the shape of out, {tuple(x_shape)}, "
            f"got {wrong}")):
        backward(np.zeros(wrong), cache)
    with pytest.raises(TypeError, match="got the cache of relu_forward"):
        backward(out, Cache("relu", out))
