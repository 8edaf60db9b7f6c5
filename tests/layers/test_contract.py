"""The layer contract, for every pair and loss of the library (read off gradcheck's CASES).

For every pair: float32 in gives float32 out and float32 gradients (float64 likewise), each
gradient has its input's shape, and neither forward nor backward modifies its inputs, dout or
the cache. A new layer is held to all of it by its gradcheck case alone.
"""

import numpy as np
import pytest

import layers
from gradcheck.cases import CASES

# The sequence layers (issue 16) return two states or take a mask beside the labels:
# tests/layers/test_recurrent.py and test_attention.py hold them to this contract themselves.
SEQUENCE_MODULES = ("layers.recurrent", "layers.temporal", "layers.attention")
ONE_STATE = [case for case in CASES if case.forward.__module__ not in SEQUENCE_MODULES]
PAIRS = [case for case in ONE_STATE if case.backward is not None]
LOSSES = [case for case in ONE_STATE if case.backward is None]


def test_the_cases_cover_every_public_pair_and_loss():
    """What the tests below run over is the whole library: every function of layers.__all__."""
    covered = {f.__name__ for case in CASES for f in (case.forward, case.backward) if f}
    assert covered == {name for name in layers.__all__
                       if "_forward" in name or "_backward" in name or name.endswith("_loss")}
    assert {"affine_forward", "conv_backward_fast", "softmax_loss"} <= covered


def inputs_in(case, rng, dtype):
    """The case's forward arguments with every float array cast to ``dtype``, and the
    indices of those arrays: the inputs that get a gradient, in order."""
    args, kwargs = case.make(rng)
    arrays = [i for i, arg in enumerate(args)
              if isinstance(arg, np.ndarray) and arg.dtype.kind == "f"]
    args = [arg.astype(dtype) if i in arrays else arg for i, arg in enumerate(args)]
    return args, kwargs, arrays


def snapshot(item):
    """A deep copy of a cache's arrays, to compare with afterwards: caches nest (a sandwich's
    Cache holds its layers' Caches, the fast conv's a tuple of kept arrays per chunk)."""
    if isinstance(item, tuple):
        return [snapshot(part) for part in item]
    return item.copy() if isinstance(item, np.ndarray) else item


def assert_unchanged(item, copy):
    """``item`` holds what :func:`snapshot` took of it, array for array."""
    if isinstance(item, tuple):
        assert len(item) == len(copy)
        for part, part_copy in zip(item, copy):
            assert_unchanged(part, part_copy)
    elif isinstance(item, np.ndarray):
        np.testing.assert_array_equal(item, copy, strict=True)
    else:
        assert item == copy


def as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PAIRS, ids=lambda case: case.name)
def test_dtype_is_kept_and_nothing_is_modified(rng, case, dtype):
    args, kwargs, arrays = inputs_in(case, rng, dtype)
    inputs = [args[i] for i in arrays]
    copies = [x.copy() for x in inputs]

    out, cache = case.forward(*args, **kwargs)
    assert out.dtype == dtype
    for x, x_copy in zip(inputs, copies):
        np.testing.assert_array_equal(x, x_copy, strict=True)

    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy, cache_snapshot = dout.copy(), snapshot(cache)
    grads = as_tuple(case.backward(dout, cache))
    assert len(grads) == len(inputs)
    for grad, x in zip(grads, inputs):
        assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_array_equal(dout, dout_copy, strict=True)
    assert_unchanged(cache, cache_snapshot)
    for x, x_copy in zip(inputs, copies):
        np.testing.assert_array_equal(x, x_copy, strict=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", LOSSES, ids=lambda case: case.name)
def test_losses_keep_the_dtype_and_modify_nothing(rng, case, dtype):
    (x, y), kwargs, _ = inputs_in(case, rng, dtype)
    x_copy, y_copy = x.copy(), y.copy()
    loss, dx = case.forward(x, y, **kwargs)
    assert np.ndim(loss) == 0 and loss.dtype == dtype
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy, strict=True)
    np.testing.assert_array_equal(y, y_copy, strict=True)


@pytest.mark.parametrize("case", PAIRS, ids=lambda case: case.name)
def test_gradients_are_new_arrays_not_views_of_dout_or_the_cache(rng, case):
    """A caller may update a gradient in place (dw += reg * w) without corrupting anything."""
    args, kwargs, arrays = inputs_in(case, rng, np.float64)
    out, cache = case.forward(*args, **kwargs)
    dout = rng.standard_normal(out.shape)
    for grad in as_tuple(case.backward(dout, cache)):
        assert not np.shares_memory(grad, dout)
        assert not any(np.shares_memory(grad, args[i]) for i in arrays)
        assert not np.shares_memory(grad, out)
