"""conv_forward/backward, naive and fast: CS231n's reference, naive == fast, numerical gradients,
dtypes, untouched inputs, and the errors bad geometry gets."""

import itertools

import numpy as np
import pytest

from gradcheck import check_layer, rel_error
from layers._fast import conv as conv_module
from layers._checks import Cache
from layers.activations import relu_backward
from layers.conv import (
    _nearest_tiling_pad, conv_backward_fast, conv_backward_naive, conv_forward_fast,
    conv_forward_naive)

from .test_contract import assert_unchanged, snapshot

FORMS = {
    "naive": (conv_forward_naive, conv_backward_naive),
    "fast": (conv_forward_fast, conv_backward_fast),
}

# name: (x shape (N, C, H, W), w shape (F, C, HH, WW), conv_param)
GEOMETRIES = {
    "stride1_pad1": ((2, 3, 5, 6), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    "stride2_pad1": ((2, 3, 7, 5), (3, 3, 3, 3), {"stride": 2, "pad": 1}),
    "no_pad": ((3, 2, 6, 5), (2, 2, 3, 2), {"stride": 1, "pad": 0}),
    "non_square_filter": ((2, 3, 7, 5), (4, 3, 3, 1), {"stride": 2, "pad": (1, 0)}),
    "signal_1d": ((2, 2, 1, 9), (3, 2, 1, 5), {"stride": 1, "pad": (0, 2)}),
    "stride_pair": ((1, 2, 6, 6), (2, 2, 2, 2), {"stride": (2, 1), "pad": (0, 3)}),
    "pad_beyond_filter": ((2, 2, 4, 3), (3, 2, 2, 2), {"stride": 1, "pad": 2}),
    "one_by_one": ((2, 4, 3, 5), (3, 4, 1, 1), {"stride": 1, "pad": 0}),
    "stride3_big_filter": ((1, 2, 8, 9), (2, 2, 5, 3), {"stride": 3, "pad": (0, 0)}),
}


def _inputs(rng, x_shape, w_shape, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("form", FORMS)
def test_cs231n_reference_output(form):
    forward, _ = FORMS[form]
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = forward(x, w, b, {"stride": 2, "pad": 1})
    correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
    assert rel_error(out, correct_out) < 1e-7


def _naive_and_fast_forwards(rng, geometry):
    """Both forwards on the same inputs, their outputs compared; returns a dout, the naive
    gradients for it, and the fast and naive caches."""
    x_shape, w_shape, conv_param = geometry
    x, w, b = _inputs(rng, x_shape, w_shape)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=0, atol=1e-10)
    dout = rng.standard_normal(out_naive.shape)
    return dout, conv_backward_naive(dout, cache_naive), cache_fast, cache_naive


@pytest.mark.parametrize("name", GEOMETRIES)
def test_naive_and_fast_agree_and_caches_are_interchangeable(rng, name):
    dout, expected, cache_fast, cache_naive = _naive_and_fast_forwards(rng, GEOMETRIES[name])
    for backward, cache in [(conv_backward_fast, cache_fast), (conv_backward_fast, cache_naive),
                            (conv_backward_naive, cache_fast)]:
        for grad, grad_naive in zip(backward(dout, cache), expected, strict=True):
            np.testing.assert_allclose(grad, grad_naive, rtol=0, atol=1e-10)


def test_output_size_follows_the_formula(rng):
    x, w, b = _inputs(rng, (2, 3, 11, 7), (5, 3, 3, 2))
    out, _ = conv_forward_fast(x, w, b, {"stride": (2, 3), "pad": (1, 2)})
    # H' = 1 + (11 + 2 - 3) // 2 = 6, W' = 1 + (7 + 4 - 2) // 3 = 4
    assert out.shape == (2, 5, 6, 4)


def test_one_by_one_convolution_is_a_matrix_product_per_pixel(rng):
    x, w, b = _inputs(rng, (2, 4, 3, 5), (6, 4, 1, 1))
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    expected = np.einsum("nchw,fc->nfhw", x, w[:, :, 0, 0]) + b[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["stride1_pad1", "non_square_filter", "signal_1d",
                                  "stride_pair", "pad_beyond_filter"])
def test_gradients_match_numerical_ones(rng, form, name):
    forward, backward = FORMS[form]
    x_shape, w_shape, conv_param = GEOMETRIES[name]
    report = check_layer(forward, backward, *_inputs(rng, x_shape, w_shape), conv_param)
    assert report.ok, report
    assert report.max_error < 1e-7, report


@pytest.mark.parametrize("name", GEOMETRIES)
def test_fast_gradients_match_numerical_ones_in_every_geometry(rng, name):
    x_shape, w_shape, conv_param = GEOMETRIES[name]
    report = check_layer(conv_forward_fast, conv_backward_fast,
                         *_inputs(rng, x_shape, w_shape), conv_param, mode="fast")
    assert report.ok, report


@pytest.mark.parametrize("form", [*FORMS, "fast-winograd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_nothing_is_modified(rng, form, dtype, request):
    if form == "fast-winograd":  # the fast form's other algorithm, and the tiles it caches
        request.getfixturevalue("winograd")
    forward, backward = FORMS[form.split("-")[0]]
    x, w, b = _inputs(rng, (2, 3, 5, 5), (4, 3, 3, 3), dtype)
    conv_param = {"stride": 1, "pad": 1}
    copies = [a.copy() for a in (x, w, b)]
    out, cache = forward(x, w, b, conv_param)
    assert out.dtype == dtype and out.flags.c_contiguous
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy = dout.copy()
    cache_copy = snapshot(cache)
    grads = backward(dout, cache)
    for grad, a in zip(grads, (x, w, b), strict=True):
        assert grad.dtype == dtype and grad.shape == a.shape
    for a, a_copy in zip((x, w, b, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(a, a_copy, strict=True)
    assert conv_param == {"stride": 1, "pad": 1}
    assert_unchanged(cache, cache_copy)


def test_float32_results_are_close_to_float64(rng):
    x, w, b = _inputs(rng, (2, 3, 6, 6), (4, 3, 3, 3))
    conv_param = {"stride": 1, "pad": 1}
    out64, cache64 = conv_forward_fast(x, w, b, conv_param)
    out32, cache32 = conv_forward_fast(*(a.astype(np.float32) for a in (x, w, b)), conv_param)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
    dout = rng.standard_normal(out64.shape)
    for g32, g64 in zip(conv_backward_fast(dout.astype(np.float32), cache32),
                        conv_backward_fast(dout, cache64)):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


def test_mixed_dtypes_follow_promotion_and_gradients_keep_their_input_dtype(rng):
    x, w, b = _inputs(rng, (2, 3, 5, 5), (4, 3, 3, 3))
    x = x.astype(np.float32)
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == np.float64
    dx, dw, db = conv_backward_fast(np.ones_like(out), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float64)


def test_integer_and_non_contiguous_inputs(rng):
    x = rng.integers(-3, 4, size=(2, 3, 5, 5))
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 1, "pad": 1}
    out, _ = conv_forward_fast(x, w, b, conv_param)
    expected, _ = conv_forward_naive(x.astype(np.float64), w, b, conv_param)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    x_t = np.asfortranarray(x.astype(np.float64))
    w_t = w[:, :, ::-1, :]  # a negatively strided view
    np.testing.assert_allclose(conv_forward_fast(x_t, w_t, b, conv_param)[0],
                               conv_forward_naive(x_t, w_t, b, conv_param)[0], atol=1e-12)


def _call(forward, x_shape=(2, 3, 8, 8), w_shape=(4, 3, 3, 3), b_shape=(4,),
          conv_param=None):
    x, w, b = np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape)
    return forward(x, w, b, {"stride": 1, "pad": 1} if conv_param is None else conv_param)


BAD_CALLS = {
    "x not 4-d": (dict(x_shape=(2, 3, 8)), ValueError, r"x must be 4-d of shape \(N, C, H, W\)"),
    "C mismatch": (dict(w_shape=(4, 2, 3, 3)), ValueError,
                   r"w must have shape \(F, C, HH, WW\) = \(\?, 3, \?, \?\) .*C = 3 .*"
                   r"got w of shape \(4, 2, 3, 3\)"),
    "b shape": (dict(b_shape=(3,)), ValueError, r"b must have shape \(F,\) = \(4,\)"),
    "missing pad": (dict(conv_param={"stride": 1}), ValueError, r"missing 'pad'"),
    "stride 0": (dict(conv_param={"stride": 0, "pad": 1}), ValueError,
                 r"conv_param\['stride'\] must be >= 1"),
    "negative pad": (dict(conv_param={"stride": 1, "pad": -1}), ValueError,
                     r"conv_param\['pad'\] must be >= 0"),
    "float stride": (dict(conv_param={"stride": 1.0, "pad": 1}), TypeError, "int"),
    "stride does not tile": (dict(conv_param={"stride": 3, "pad": 0}), ValueError,
                             r"\(8 \+ 2 \* 0 - 3\) % 3 = 2, must be 0; use pad = 2"),
    "no pad tiles": (dict(x_shape=(2, 3, 32, 32), conv_param={"stride": 2, "pad": 1}),
                     ValueError, r"no pad works"),
    "filter too large": (dict(x_shape=(1, 3, 3, 3), w_shape=(4, 3, 7, 7)), ValueError,
                         r"filter height 7 is larger than the padded input height "
                         r"3 \+ 2 \* 1 = 5; use a pad of at least 2"),
    "conv_param not a dict": (dict(conv_param=[1, 1]), TypeError, "conv_param must be a dict"),
    "stride 10**9": (dict(conv_param={"stride": 10**9, "pad": 1}), ValueError, r"no pad works"),
    "stride 10**9 + 1": (dict(conv_param={"stride": 10**9 + 1, "pad": 1}), ValueError,
                         r"% 1000000001 = 7, must be 0; use pad = 499999998"),  # not searched
    "pad 10**9": (dict(conv_param={"stride": 1, "pad": 10**9}), ValueError,
                  r"the padded input would have shape \(2, 3, 2000000008, 2000000008\), more "
                  r"elements than numpy can hold"),
    "a filter of no pixels": (dict(w_shape=(4, 3, 3, 0)), ValueError,
                              r"w must have filters of at least one pixel"),
}


def test_the_pad_hint_is_the_nearest_pad_that_tiles():
    """The hint's pad, solved in closed form, is what a search over every pad finds."""
    for size, filt, stride, pad in itertools.product(range(1, 10), range(1, 10), range(2, 8),
                                                     range(8)):
        if size + 2 * pad < filt or (size + 2 * pad - filt) % stride == 0:
            continue
        tiling = [q for q in range(pad + stride + 1)
                  if size + 2 * q >= filt and (size + 2 * q - filt) % stride == 0]
        nearest = min(tiling, key=lambda q: (abs(q - pad), q)) if tiling else None
        assert _nearest_tiling_pad(size, filt, stride, pad) == nearest, (size, filt, stride, pad)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_is_refused_by_name(form, case):
    forward, _ = FORMS[form]
    kwargs, error, match = BAD_CALLS[case]
    with pytest.raises(error, match=match) as info:
        _call(forward, **kwargs)
    assert str(info.value).startswith(forward.__name__)


@pytest.mark.parametrize("form", FORMS)
def test_backward_refuses_a_wrong_dout_or_cache(rng, form):
    forward, backward = FORMS[form]
    out, cache = forward(*_inputs(rng, (2, 3, 5, 5), (4, 3, 3, 3)), {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"dout must have shape \(N, F, H', W'\) = "
                                         r"\(2, 4, 5, 5\) \(the shape of out\)"):
        backward(np.zeros((2, 4, 5, 4)), cache)
    with pytest.raises(TypeError, match="cache must be the second value returned by "
                                        "conv_forward_naive or conv_forward_fast, got tuple"):
        backward(out, ("not", "a", "cache"))
    with pytest.raises(TypeError, match="got the cache of relu_forward; pass the cache returned "
                                        "by conv_forward_naive or conv_forward_fast$"):
        backward(out, Cache("relu", out))
    with pytest.raises(TypeError, match="^relu_backward: got the cache of conv_forward_naive or "
                                        "conv_forward_fast; pass the cache returned by "
                                        "relu_forward$"):
        relu_backward(out, cache)


# Stride-1 3x3 convolutions take the Winograd path of the fast form when the images and the
# channels are large enough; the winograd fixture lowers those bounds so that these small
# cases take it too. Odd sizes leave a half-empty last tile.
WINOGRAD_GEOMETRIES = {
    "even_pad1": ((2, 16, 6, 8), (16, 16, 3, 3), {"stride": 1, "pad": 1}),
    "odd_pad1": ((3, 16, 7, 5), (18, 16, 3, 3), {"stride": 1, "pad": 1}),
    "no_pad": ((2, 17, 7, 6), (16, 17, 3, 3), {"stride": 1, "pad": 0}),
    "pad2_pair": ((1, 16, 5, 6), (16, 16, 3, 3), {"stride": 1, "pad": (2, 1)}),
    "pad3": ((2, 16, 3, 4), (16, 16, 3, 3), {"stride": 1, "pad": 3}),
    "few_channels": ((2, 3, 6, 7), (2, 3, 3, 3), {"stride": 1, "pad": 1}),
}


@pytest.fixture
def winograd(monkeypatch):
    """Every stride-1 3x3 convolution takes the Winograd path, however small."""
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_WORK", 1)


def test_the_path_is_chosen_by_geometry():
    use = conv_module._use_winograd
    assert use((64, 64, 3, 3), (1, 1), (32, 32))  # the benchmark's 64-channel layer
    assert use((128, 128, 3, 3), (1, 1), (16, 16))
    assert not use((32, 32, 3, 3), (1, 1), (32, 32))  # too few channels for the pixels
    assert not use((128, 128, 3, 3), (1, 1), (8, 8))  # too few pixels for the channels
    assert not use((64, 64, 3, 3), (2, 2), (32, 32))  # strided
    assert not use((64, 64, 5, 5), (1, 1), (32, 32))  # not 3x3


# the smallest kind of layer that takes the Winograd path without the fixture
LARGE_ENOUGH = ((1, 64, 24, 24), (64, 64, 3, 3), {"stride": 1, "pad": 1})


@pytest.fixture
def paths(monkeypatch):
    """The fast form's algorithms, by name, in the order the forward and backward took them."""
    taken = []
    for name in ("winograd", "im2col"):
        for direction in ("forward", "backward"):
            attr = f"_conv_{direction}_{name}"
            inner = getattr(conv_module, attr)

            def spy(*args, _inner=inner, _name=name, **kwargs):
                taken.append(_name)
                return _inner(*args, **kwargs)
            monkeypatch.setattr(conv_module, attr, spy)
    return taken


def test_a_large_enough_layer_takes_the_winograd_path_and_agrees_with_naive(rng, paths):
    x_shape, w_shape, conv_param = LARGE_ENOUGH
    x, w, b = _inputs(rng, x_shape, w_shape)
    out, cache = conv_forward_fast(x, w, b, conv_param)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out, out_naive, rtol=0, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    for grad, grad_naive in zip(conv_backward_fast(dout, cache),
                                conv_backward_naive(dout, cache_naive), strict=True):
        np.testing.assert_allclose(grad, grad_naive, rtol=0, atol=1e-10)
    assert paths == ["winograd", "winograd"]
    conv_forward_fast(x[:, :, :-2, :-2], w, b, conv_param)  # 22 x 22 pixels: too few
    assert paths[-1] == "im2col"


@pytest.mark.parametrize("name", WINOGRAD_GEOMETRIES)
def test_winograd_agrees_with_naive_to_float64_precision(rng, winograd, name):
    dout, expected, cache_fast, cache_naive = _naive_and_fast_forwards(
        rng, WINOGRAD_GEOMETRIES[name])
    assert isinstance(cache_fast[-1], tuple)
    for cache in (cache_fast, cache_naive):  # cached transformed tiles, or none
        for grad, grad_naive in zip(conv_backward_fast(dout, cache), expected, strict=True):
            assert grad.flags.c_contiguous
            np.testing.assert_allclose(grad, grad_naive, rtol=0, atol=1e-10)


@pytest.mark.parametrize("geometry", ["winograd", "im2col", "im2col_stride2"])
def test_the_batch_is_processed_in_chunks(rng, winograd, monkeypatch, geometry):
    x_shape, w_shape, conv_param = {
        "winograd": ((5, 16, 6, 6), (16, 16, 3, 3), {"stride": 1, "pad": 1}),
        "im2col": ((5, 3, 6, 6), (4, 3, 5, 5), {"stride": 1, "pad": 2}),
        "im2col_stride2": ((5, 3, 7, 7), (4, 3, 3, 3), {"stride": 2, "pad": 1}),
    }[geometry]
    x, w, b = _inputs(rng, x_shape, w_shape)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out_naive.shape)
    expected = conv_backward_naive(dout, cache_naive)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one image per chunk
    out, cache = conv_forward_fast(x, w, b, conv_param)
    assert len(cache[-1]) == 5  # the columns, or transformed tiles, of each chunk
    np.testing.assert_allclose(out, out_naive, rtol=0, atol=1e-10)
    for cache in (cache, cache_naive):
        for grad, grad_naive in zip(conv_backward_fast(dout, cache), expected, strict=True):
            np.testing.assert_allclose(grad, grad_naive, rtol=0, atol=1e-10)


def test_winograd_gradients_match_numerical_ones(rng, winograd):
    x_shape, w_shape, conv_param = WINOGRAD_GEOMETRIES["odd_pad1"]
    report = check_layer(conv_forward_fast, conv_backward_fast,
                         *_inputs(rng, x_shape, w_shape), conv_param, mode="fast")
    assert report.ok, report


@pytest.mark.parametrize("name", ["even_pad1", "odd_pad1"])
def test_winograd_float32_is_close_to_float64(rng, winograd, name):
    x_shape, w_shape, conv_param = WINOGRAD_GEOMETRIES[name]
    x, w, b = _inputs(rng, x_shape, w_shape)
    out64, cache64 = conv_forward_fast(x, w, b, conv_param)
    out32, cache32 = conv_forward_fast(*(a.astype(np.float32) for a in (x, w, b)), conv_param)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=2e-5 * np.abs(out64).max())
    dout = rng.standard_normal(out64.shape)
    for g32, g64 in zip(conv_backward_fast(dout.astype(np.float32), cache32),
                        conv_backward_fast(dout, cache64), strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=2e-5 * np.abs(g64).max())


@pytest.mark.parametrize("geometry", [GEOMETRIES["stride1_pad1"], GEOMETRIES["stride2_pad1"],
                                      GEOMETRIES["non_square_filter"],
                                      LARGE_ENOUGH])
def test_input_grad_false_skips_dx_only(rng, geometry):
    x_shape, w_shape, conv_param = geometry
    x, w, b = _inputs(rng, x_shape, w_shape)
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    _, dw, db = conv_backward_fast(dout, cache)
    dx_none, dw_only, db_only = conv_backward_fast(dout, cache, input_grad=False)
    assert dx_none is None
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)


def test_input_grad_must_be_a_bool(rng):
    out, cache = conv_forward_fast(*_inputs(rng, (1, 2, 4, 4), (2, 2, 3, 3)),
                                   {"stride": 1, "pad": 1})
    with pytest.raises(TypeError, match="conv_backward_fast: input_grad must be True or False"):
        conv_backward_fast(out, cache, input_grad="no")


@pytest.mark.torch
def test_winograd_float32_agrees_with_torch(rng, winograd):
    torch = pytest.importorskip("torch")
    x, w, b = _inputs(rng, (4, 32, 9, 10), (24, 32, 3, 3), np.float32)
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    x_t, w_t, b_t = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    out_t = torch.nn.functional.conv2d(x_t, w_t, b_t, stride=1, padding=1)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    out_t.backward(torch.from_numpy(dout))
    grads = conv_backward_fast(dout, cache)
    for ours, theirs in zip((out, *grads), (out_t, x_t.grad, w_t.grad, b_t.grad), strict=True):
        theirs = theirs.detach().numpy()
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())
