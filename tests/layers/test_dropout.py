"""Inverted dropout with p the KEEP probability: CS231n's checks, seeded masks, the keep_prob
alias, test mode as the identity, gradients, dtypes and errors."""

import numpy as np
import pytest

from gradcheck import check_layer
from layers._checks import Cache
from layers.dropout import dropout_backward, dropout_forward


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_cs231n_train_mode_keeps_the_mean_and_drops_a_fraction_one_minus_p(rng, p):
    x = rng.standard_normal((500, 500)) + 10
    out, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
    np.testing.assert_allclose(out.mean(), x.mean(), rtol=0.02)  # about 6 sigma at p = 0.25
    np.testing.assert_allclose(np.mean(out == 0), 1 - p, atol=0.005)  # about 6 sigma
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / p, rtol=1e-15)


def test_test_mode_returns_x_itself_and_backward_passes_dout(rng):
    x = rng.standard_normal((4, 5))
    out, cache = dropout_forward(x, {"mode": "test", "p": 0.3})
    assert out is x
    dout = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


def test_the_same_seed_gives_the_same_mask_and_no_seed_fresh_ones(rng):
    x = rng.standard_normal((20, 30)) + 5
    first, _ = dropout_forward(x, {"p": 0.5, "seed": 7})
    again, _ = dropout_forward(x, {"p": 0.5, "seed": 7})
    other, _ = dropout_forward(x, {"p": 0.5, "seed": 8})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    unseeded = [dropout_forward(x, {"p": 0.5})[0] for _ in range(2)]
    assert not np.array_equal(*unseeded)


def test_keep_prob_is_an_alias_of_p(rng):
    x = rng.standard_normal((10, 10))
    out_p, _ = dropout_forward(x, {"p": 0.6, "seed": 1})
    out_keep, _ = dropout_forward(x, {"keep_prob": 0.6, "seed": 1})
    out_both, _ = dropout_forward(x, {"p": 0.6, "keep_prob": 0.6, "seed": 1})
    np.testing.assert_array_equal(out_p, out_keep)
    np.testing.assert_array_equal(out_p, out_both)


def test_p_one_keeps_everything(rng):
    x = rng.standard_normal((6, 7))
    out, cache = dropout_forward(x, {"p": 1, "seed": 0})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dropout_backward(x, cache), x)


def test_backward_uses_the_forward_mask(rng):
    x = rng.standard_normal((30, 40))
    out, cache = dropout_forward(x, {"p": 0.3, "seed": 5})
    dout = rng.standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    dropped = out == 0
    assert not dx[dropped].any()
    np.testing.assert_allclose(dx[~dropped], dout[~dropped] / 0.3, rtol=1e-15)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (7,)])
def test_gradients_match_numerical_ones_with_a_fixed_seed(rng, shape):
    report = check_layer(dropout_forward, dropout_backward, rng.standard_normal(shape),
                         {"mode": "train", "p": 0.6, "seed": 0})
    assert report.ok, report


def test_float32_mask_math_stays_float32_and_the_mask_ignores_the_dtype(rng):
    x = rng.standard_normal((50, 60))
    out64, _ = dropout_forward(x, {"p": 0.7, "seed": 3})
    out32, cache = dropout_forward(x.astype(np.float32), {"p": 0.7, "seed": 3})
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32 == 0, out64 == 0)
    np.testing.assert_allclose(out32, out64, rtol=1e-6)
    assert dropout_backward(np.ones((50, 60), np.float32), cache).dtype == np.float32


def test_cache_holds_a_compact_mask(rng):
    x = rng.standard_normal((8, 9))
    _, cache = dropout_forward(x, {"p": 0.5, "seed": 0})
    masks = [item for item in cache if isinstance(item, np.ndarray)]
    assert len(masks) == 1 and masks[0].dtype == bool and masks[0].shape == x.shape


@pytest.mark.parametrize("mode", ["train", "test"])
def test_nothing_is_modified(rng, mode):
    x = rng.standard_normal((5, 6))
    x_copy = x.copy()
    dropout_param = {"mode": mode, "p": 0.5, "seed": 2}
    out, cache = dropout_forward(x, dropout_param)
    dout = rng.standard_normal(x.shape)
    dout_copy = dout.copy()
    dropout_backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy, strict=True)
    np.testing.assert_array_equal(dout, dout_copy, strict=True)
    assert dropout_param == {"mode": mode, "p": 0.5, "seed": 2}


@pytest.mark.parametrize("dropout_param, error, match", [
    ({"p": 0}, ValueError, r"dropout_param\['p'\] must be a number in \(0, 1\], got 0"),
    ({"p": 1.5}, ValueError, r"dropout_param\['p'\] must be a number in \(0, 1\]"),
    ({"keep_prob": -0.1}, ValueError, r"dropout_param\['keep_prob'\] must be a number"),
    ({"p": 0.5, "keep_prob": 0.6}, ValueError, r"both 'p' = 0.5 and 'keep_prob' = 0.6"),
    ({"mode": "train"}, ValueError, r"needs 'p', the probability of KEEPING each unit"),
    ({"p": 0.5, "mode": "eval"}, ValueError, r"dropout_param\['mode'\] must be 'train' or"),
    ([0.5], TypeError, r"dropout_param must be a dict"),
    ({"p": 0.5, "seed": 1.5}, TypeError, r"dropout_param\['seed'\] must be an int or None"),
    ({"p": 0.5, "seed": -1}, ValueError, r"dropout_param\['seed'\] must be >= 0, got -1"),
])
def test_bad_parameters_are_refused(dropout_param, error, match):
    with pytest.raises(error, match=match) as info:
        dropout_forward(np.ones((3, 3)), dropout_param)
    assert str(info.value).startswith("dropout_forward")


def test_backward_refuses_a_wrong_dout_or_cache(rng):
    out, cache = dropout_forward(rng.standard_normal((3, 4)), {"p": 0.5, "seed": 0})
    with pytest.raises(ValueError, match=r"dropout_backward: dout must have the shape of out, "
                                         r"\(3, 4\), got \(4, 3\)"):
        dropout_backward(np.ones((4, 3)), cache)
    with pytest.raises(TypeError, match="got the cache of relu_forward"):
        dropout_backward(out, Cache("relu", out))
