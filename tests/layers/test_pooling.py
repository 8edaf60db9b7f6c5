"""max_pool forward/backward, naive and fast: CS231n's reference, naive == fast on tiling,
overlapping and non-tiling windows, ties, numerical gradients, dtypes and errors."""

import numpy as np
import pytest

from gradcheck import check_layer, rel_error
from layers._checks import Cache
from layers.pooling import (
    max_pool_backward_fast, max_pool_backward_naive, max_pool_forward_fast,
    max_pool_forward_naive)

FORMS = {
    "naive": (max_pool_forward_naive, max_pool_backward_naive),
    "fast": (max_pool_forward_fast, max_pool_backward_fast),
}


def _pool(height, width, stride):
    return {"pool_height": height, "pool_width": width, "stride": stride}


# name: (x shape (N, C, H, W), pool_param)
GEOMETRIES = {
    "tiling_2x2": ((2, 3, 6, 4), _pool(2, 2, 2)),
    "tiling_3x2": ((2, 2, 6, 4), _pool(3, 2, (3, 2))),
    "overlapping_3x3_stride2": ((2, 3, 7, 9), _pool(3, 3, 2)),
    "overlapping_stride1": ((1, 2, 5, 4), _pool(2, 3, 1)),
    "non_tiling_remainder": ((2, 2, 5, 7), _pool(2, 2, 2)),
    "gaps_between_windows": ((1, 3, 7, 8), _pool(2, 1, 3)),
    "whole_image": ((2, 3, 4, 5), _pool(4, 5, 1)),
    "stride_pair_non_tiling": ((1, 2, 8, 9), _pool(2, 3, (3, 2))),
}


@pytest.mark.parametrize("form", FORMS)
def test_cs231n_reference_output(form):
    forward, _ = FORMS[form]
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    out, _ = forward(x, _pool(2, 2, 2))
    correct_out = np.array([[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263], [0.38526316, 0.4]]]])
    assert rel_error(out, correct_out) < 1e-7


@pytest.mark.parametrize("name", GEOMETRIES)
def test_naive_and_fast_agree_and_caches_are_interchangeable(rng, name):
    x_shape, pool_param = GEOMETRIES[name]
    x = rng.standard_normal(x_shape)
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.standard_normal(out_naive.shape)
    expected = max_pool_backward_naive(dout, cache_naive)
    for backward, cache in [(max_pool_backward_fast, cache_fast),
                            (max_pool_backward_fast, cache_naive),
                            (max_pool_backward_naive, cache_fast)]:
        np.testing.assert_allclose(backward(dout, cache), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", GEOMETRIES)
def test_output_is_the_window_maximum(rng, name):
    x_shape, pool_param = GEOMETRIES[name]
    x = rng.standard_normal(x_shape)
    out, _ = max_pool_forward_fast(x, pool_param)
    HH, WW = pool_param["pool_height"], pool_param["pool_width"]
    sh, sw = np.broadcast_to(pool_param["stride"], 2)
    assert out.shape == x_shape[:2] + (1 + (x_shape[2] - HH) // sh, 1 + (x_shape[3] - WW) // sw)
    i, j = out.shape[2] - 1, out.shape[3] - 1  # the last window
    np.testing.assert_array_equal(
        out[:, :, i, j], x[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW].max(axis=(2, 3)))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", GEOMETRIES)
def test_gradients_match_numerical_ones(rng, form, name):
    forward, backward = FORMS[form]
    x_shape, pool_param = GEOMETRIES[name]
    x = rng.permutation(np.arange(np.prod(x_shape))).reshape(x_shape) * 0.1  # distinct values
    report = check_layer(forward, backward, x.astype(np.float64), pool_param)
    assert report.ok, report


@pytest.mark.parametrize("form", FORMS)
def test_ties_route_the_gradient_to_the_first_maximum_in_row_major_order(form):
    forward, backward = FORMS[form]
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 1, 0] = 1.0  # a tie in the first window's second row
    out, cache = forward(x, _pool(2, 2, 2))
    dx = backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[1, 0] = 1.0  # the tie: first of (1, 0) and (1, 1)
    expected[0, 2] = 2.0  # all-zero windows: their first pixel
    expected[2, 0] = 3.0
    expected[2, 2] = 4.0
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("form", FORMS)
def test_overlapping_windows_accumulate_on_a_shared_maximum(form):
    forward, backward = FORMS[form]
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 5.0  # the centre column belongs to both 3x3 windows (stride 2)
    out, cache = forward(x, _pool(3, 3, 2))
    np.testing.assert_array_equal(out[0, 0], [[5.0, 5.0]])
    dx = backward(np.array([[[[1.5, 2.0]]]]), cache)
    assert dx[0, 0, 1, 2] == 3.5 and np.count_nonzero(dx) == 1


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["tiling_2x2", "overlapping_3x3_stride2"])
def test_a_nan_is_its_windows_maximum_and_takes_the_gradient(rng, form, name):
    forward, backward = FORMS[form]
    x_shape, pool_param = GEOMETRIES[name]
    x = rng.standard_normal(x_shape)
    x[0, 0, 0, 1] = x[0, 1, 1, 0] = x[1, 2, 2, 2] = x[1, 2, 3, 3] = np.nan  # two in one window
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = backward(dout, cache)
    # the reference: argmax, which picks a window's first NaN (torch takes a NaN as well)
    expected_out, expected_cache = max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, expected_out)
    # (overlapping windows add up in another order: equal to rounding)
    np.testing.assert_allclose(dx, max_pool_backward_naive(dout, expected_cache),
                               rtol=1e-14, atol=1e-15)
    assert np.isnan(out).any() and not np.isnan(dx).any()


@pytest.mark.parametrize("form", FORMS)
def test_pixels_outside_every_window_get_no_gradient(rng, form):
    forward, backward = FORMS[form]
    x = rng.standard_normal((2, 2, 5, 7))
    out, cache = forward(x, _pool(2, 2, 2))
    dx = backward(np.ones_like(out), cache)
    assert not dx[:, :, 4, :].any() and not dx[:, :, :, 6].any()
    assert dx.sum() == out.size


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_nothing_is_modified(rng, form, dtype):
    forward, backward = FORMS[form]
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    x_copy, pool_param = x.copy(), _pool(2, 2, 2)
    out, cache = forward(x, pool_param)
    assert out.dtype == dtype
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy = dout.copy()
    cache_copy = [a.copy() if isinstance(a, np.ndarray) else a for a in cache]
    dx = backward(dout, cache)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy, strict=True)
    np.testing.assert_array_equal(dout, dout_copy, strict=True)
    assert pool_param == _pool(2, 2, 2)
    for item, item_copy in zip(cache, cache_copy, strict=True):
        if isinstance(item, np.ndarray):
            np.testing.assert_array_equal(item, item_copy, strict=True)


def test_non_contiguous_input(rng):
    x = np.asfortranarray(rng.standard_normal((2, 3, 6, 6)))
    dout = rng.standard_normal((2, 3, 3, 3))
    out, cache = max_pool_forward_fast(x, _pool(2, 2, 2))
    out_naive, cache_naive = max_pool_forward_naive(x, _pool(2, 2, 2))
    np.testing.assert_array_equal(out, out_naive)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache),
                                  max_pool_backward_naive(dout, cache_naive))


BAD_CALLS = {
    "x not 4-d": ((2, 3, 4), _pool(2, 2, 2), ValueError, r"x must be 4-d"),
    "pool larger than x": ((1, 1, 4, 4), _pool(5, 2, 2), ValueError,
                           r"\(pool_height, pool_width\) = \(5, 2\) is larger than the "
                           r"\(H, W\) = \(4, 4\) pixels"),
    "missing stride": ((1, 1, 4, 4), {"pool_height": 2, "pool_width": 2}, ValueError,
                       r"missing 'stride'"),
    "zero stride": ((1, 1, 4, 4), _pool(2, 2, 0), ValueError,
                    r"pool_param\['stride'\] must be a positive int"),
    "float pool": ((1, 1, 4, 4), _pool(2.0, 2, 2), TypeError,
                   r"pool_param\['pool_height'\] must be an int"),
    "stride triple": ((1, 1, 4, 4), _pool(2, 2, (1, 1, 1)), ValueError, r"\(h, w\) pair"),
    "not a dict": ((1, 1, 4, 4), [2, 2, 2], TypeError, r"pool_param must be a dict"),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_is_refused_by_name(form, case):
    forward, _ = FORMS[form]
    x_shape, pool_param, error, match = BAD_CALLS[case]
    with pytest.raises(error, match=match) as info:
        forward(np.zeros(x_shape), pool_param)
    assert str(info.value).startswith(forward.__name__)


@pytest.mark.parametrize("form", FORMS)
def test_backward_refuses_a_wrong_dout_or_cache(rng, form):
    forward, backward = FORMS[form]
    out, cache = forward(rng.standard_normal((2, 3, 4, 4)), _pool(2, 2, 2))
    with pytest.raises(ValueError,
                       match=r"dout must have shape \(N, C, H', W'\) = \(2, 3, 2, 2\)"):
        backward(np.zeros((2, 3, 2, 3)), cache)
    with pytest.raises(TypeError, match="got the cache of relu_forward; pass the cache returned "
                                        "by max_pool_forward_naive or max_pool_forward_fast$"):
        backward(out, Cache("relu", out))
