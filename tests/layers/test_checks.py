"""The shared validation helpers and the tagged Cache."""

import copy
import pickle

import numpy as np
import pytest

from layers._checks import Cache, check_cache


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))])
def test_cache_survives_copy_and_pickle(clone):
    cache = Cache("relu", np.arange(3.0), 7)
    twin = clone(cache)
    assert twin.layer == "relu"
    assert len(twin) == 2
    np.testing.assert_array_equal(twin[0], cache[0])
    assert twin[1] == 7
    assert check_cache("relu_backward", twin, "relu") is twin


def test_check_cache_names_the_layer_that_made_it():
    with pytest.raises(TypeError, match="got the cache of affine_forward"):
        check_cache("relu_backward", Cache("affine", 1, 2), "relu")
    with pytest.raises(TypeError, match="relu_backward: cache must be the second value"):
        check_cache("relu_backward", (1, 2), "relu")
