"""Param dicts: a near miss of a key the layer reads is refused, any other unknown key is not.

A typo such as ``{'mode': 'train', 'momentun': 0.5}`` would otherwise run on the default
momentum and say nothing. Keys the layer does not read at all (CS231n's models put 'mode' in
layernorm's dict, students add flags of their own) stay accepted and change nothing.
"""

import re

import numpy as np
import pytest

import layers
from gradcheck.cases import CASES
from layers._checks import ANY_LAYER_READS, PARAM_KEYS

RNG = np.random.default_rng(0)
X2 = RNG.standard_normal((4, 3))
X4 = RNG.standard_normal((2, 3, 4, 4))
W4 = RNG.standard_normal((2, 3, 3, 3))
B2 = RNG.standard_normal(2)
GAMMA, BETA = RNG.standard_normal(3), RNG.standard_normal(3)
W2, B3 = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}

# Each forward that takes a param dict: (the dict's name, a valid dict, the call on a dict).
DOORS = {
    "batchnorm_forward": ("bn_param", {"mode": "train"},
                          lambda p: layers.batchnorm_forward(X2, GAMMA, BETA, p)),
    "spatial_batchnorm_forward": ("bn_param", {"mode": "train"},
                                  lambda p: layers.spatial_batchnorm_forward(X4, GAMMA, BETA, p)),
    "layernorm_forward": ("ln_param", {}, lambda p: layers.layernorm_forward(X2, GAMMA, BETA, p)),
    "spatial_groupnorm_forward": ("gn_param", {}, lambda p: layers.spatial_groupnorm_forward(
        X4, GAMMA, BETA, 3, p)),
    "dropout_forward": ("dropout_param", {"mode": "train", "p": 0.5, "seed": 1},
                        lambda p: layers.dropout_forward(X2, p)),
    "conv_forward_naive": ("conv_param", CONV, lambda p: layers.conv_forward_naive(X4, W4, B2, p)),
    "conv_forward_fast": ("conv_param", CONV, lambda p: layers.conv_forward_fast(X4, W4, B2, p)),
    "max_pool_forward_naive": ("pool_param", POOL, lambda p: layers.max_pool_forward_naive(X4, p)),
    "max_pool_forward_fast": ("pool_param", POOL, lambda p: layers.max_pool_forward_fast(X4, p)),
}

# (door, typo, the key it nearly spells): the issue's typos, and each key of each dict misspelled.
TYPOS = [
    ("batchnorm_forward", "momentun", "momentum"),
    ("batchnorm_forward", "esp", "eps"),
    ("batchnorm_forward", "epsilon", "eps"),
    ("batchnorm_forward", "Mode", "mode"),
    ("batchnorm_forward", "running_meen", "running_mean"),
    ("batchnorm_forward", "runing_var", "running_var"),
    ("spatial_batchnorm_forward", "momentun", "momentum"),
    ("spatial_batchnorm_forward", "esp", "eps"),
    ("layernorm_forward", "esp", "eps"),
    ("spatial_groupnorm_forward", "esp", "eps"),
    ("dropout_forward", "sed", "seed"),
    ("dropout_forward", "P", "p"),
    ("dropout_forward", "mdoe", "mode"),
    ("dropout_forward", "keep_probability", "keep_prob"),
    ("conv_forward_naive", "padd", "pad"),
    ("conv_forward_naive", "strid", "stride"),
    ("conv_forward_fast", "padd", "pad"),
    ("conv_forward_fast", "padding", "pad"),
    ("conv_forward_fast", "strides", "stride"),
    ("max_pool_forward_naive", "pool_heigth", "pool_height"),
    ("max_pool_forward_naive", "strid", "stride"),
    ("max_pool_forward_fast", "pool_heigth", "pool_height"),
    ("max_pool_forward_fast", "pool_widht", "pool_width"),
]

# Every key CS231n's assignment 2 (2019-2026) puts in any of these dicts, for any layer.
COURSE_KEYS = {"mode", "eps", "momentum", "running_mean", "running_var", "p", "seed", "stride",
               "pad", "pool_height", "pool_width"}
# Keys of students' own, and keys unlike any: accepted everywhere, and ignored.
OWN_KEYS = ["layernorm", "normalization", "axis", "name", "groups", "no_such_key", 7]


def _message(door, typo, meant):
    return re.escape(f"{door}: {DOORS[door][0]} has {typo!r}: did you mean {meant!r}?")


@pytest.mark.parametrize("door, typo, meant", TYPOS)
def test_a_near_miss_is_refused_naming_the_key_it_spells(door, typo, meant):
    _, valid, call = DOORS[door]
    with pytest.raises(ValueError, match=_message(door, typo, meant)):
        call({**valid, typo: 0.5})


@pytest.mark.parametrize("door, typo, meant", [("batchnorm_forward", "momentun", "momentum"),
                                               ("conv_forward_fast", "padd", "pad")])
def test_the_typo_instead_of_the_key_is_refused_as_a_typo(door, typo, meant):
    """With the key itself missing, the typo is named rather than the missing key."""
    _, valid, call = DOORS[door]
    params = {**valid, typo: valid.get(meant, 0.5)}
    params.pop(meant, None)
    with pytest.raises(ValueError, match=_message(door, typo, meant)):
        call(params)


def test_the_issue_example_no_longer_runs_on_the_default_momentum():
    with pytest.raises(ValueError, match=re.escape(
            "batchnorm_forward: bn_param has 'momentun': did you mean 'momentum'?")):
        layers.batchnorm_forward(X2, GAMMA, BETA, {"mode": "train", "momentun": 0.5})


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("door", DOORS)
def test_course_keys_and_own_keys_are_accepted_and_ignored(door):
    """Each key the layer does not read, among the course's and students' own, changes
    nothing: the output is that of the valid dict."""
    name, valid, call = DOORS[door]
    expected = call(dict(valid))[0]
    for key in [*sorted(COURSE_KEYS - PARAM_KEYS[name]), *OWN_KEYS]:
        value = np.zeros(3) if str(key).startswith("running") else 1
        params = {**valid, key: value}
        assert _same(call(params)[0], expected), (door, key)


def test_the_course_keys_are_keys_some_layer_reads():
    assert COURSE_KEYS <= ANY_LAYER_READS


def test_sandwiches_pass_the_refusal_on_with_their_own_name():
    with pytest.raises(ValueError, match=re.escape(
            "affine_bn_relu_forward: batchnorm_forward: bn_param has 'momentun'")):
        layers.affine_bn_relu_forward(X2, W2, B3, GAMMA, BETA, {"momentun": 0.5})
    with pytest.raises(ValueError, match=re.escape(
            "conv_relu_pool_forward: max_pool_forward_fast: pool_param has 'strid'")):
        layers.conv_relu_pool_forward(X4, W4, B2, CONV, {**POOL, "strid": 2})


def test_the_dict_is_left_as_given_when_refused():
    params = {"mode": "train", "momentun": 0.5}
    with pytest.raises(ValueError):
        layers.batchnorm_forward(X2, GAMMA, BETA, params)
    assert params == {"mode": "train", "momentun": 0.5}


def _dict_cases():
    """(case, argument position, key) for each key of each param dict among the layer cases
    of gradcheck.cases, the sandwiches' included."""
    for case in CASES:
        args, _ = case.make(np.random.default_rng(0))
        for position, arg in enumerate(args):
            if isinstance(arg, dict):
                yield from ((case, position, key) for key in arg)


@pytest.mark.parametrize("case, position, key", [
    pytest.param(*c, id=f"{c[0].name}-{c[2]}") for c in _dict_cases()])
def test_every_key_of_every_case_misspelled_is_refused(case, position, key):
    args, kwargs = case.make(np.random.default_rng(0))
    args = list(args)
    params = dict(args[position])
    params[key + key[-1]] = params.pop(key)
    args[position] = params
    with pytest.raises(ValueError, match=re.escape(f"has {key + key[-1]!r}: did you mean")):
        case.forward(*args, **kwargs)
