"""Bad input is refused at the public door, naming the function, the expected and actual shapes.

The mistakes every layer must catch (an input that is no number, a cache that is not the
forward's, a dout of the wrong shape) are tried on every pair and loss of gradcheck's CASES;
CASES below lists what is particular to one layer: its parameters and their shapes.
"""

import re

import numpy as np
import pytest

from gradcheck.cases import CASES as ALL_CASES
from layers import (
    add_backward, add_forward, affine_backward, affine_forward, affine_relu_backward,
    affine_relu_forward, elu_forward, leaky_relu_forward, max_backward, max_forward,
    maxout_backward, maxout_forward, mul_forward, relu_forward, sigmoid_backward,
    sigmoid_forward, softmax_loss, svm_loss, tanh_forward)
from layers._checks import Cache, shape_str

ONES = np.ones
# The sequence layers (issue 16) name their inputs as the course does (q, dnext_h, integer x)
# and some return two states: tests/layers/test_recurrent.py and test_attention.py hold them
# to the same refusals by those names. Every other case is tried here.
SEQUENCE_MODULES = ("layers.recurrent", "layers.temporal", "layers.attention")
LAYER_CASES = [case for case in ALL_CASES if case.forward.__module__ not in SEQUENCE_MODULES]


def _cache(forward, *args, **kwargs):
    return forward(*args, **kwargs)[1]


# (id, call, exception, the message must contain this text)
CASES = [
    # gates
    ("mul: complex y", lambda: mul_forward(1.0, 2j), TypeError,
     "mul_forward: y must hold real numbers, got dtype complex128"),
    ("max: string array", lambda: max_forward(np.array(["a"]), 1.0), TypeError,
     "max_forward: x must hold real numbers, got dtype <U1"),
    ("mul: shapes that do not broadcast", lambda: mul_forward(ONES(3), ONES((2, 4))), ValueError,
     "mul_forward: x and y must have shapes that broadcast together, "
     "got x of shape (3,) and y of shape (2, 4)"),
    ("add: dout of the wrong shape",
     lambda: add_backward(ONES(4), _cache(add_forward, ONES((2, 3)), 1.0)), ValueError,
     "add_backward: dout must have the shape of out, the broadcast of x (2, 3) and y (): "
     "(2, 3), got (4,)"),
    ("max: dout for a scalar out", lambda: max_backward(ONES(2), _cache(max_forward, 1, 2)),
     ValueError, "max_backward: dout must have the shape of out"),
    ("add: non-numeric dout",
     lambda: add_backward("1", _cache(add_forward, 1.0, 2.0)), TypeError,
     "add_backward: dout must be a numpy array or a number, got str"),
    # affine
    ("affine: 1-d x", lambda: affine_forward(ONES(5), ONES((5, 2)), ONES(2)), ValueError,
     "affine_forward: x must have shape (N, d1, ..., dk), one row per example, got shape (5,)"),
    ("affine: w not matching x", lambda: affine_forward(ONES((4, 3, 4)), ONES((10, 5)), ONES(5)),
     ValueError, "affine_forward: w must have shape (D, M) = (12, ?) to match x flattened to "
     "(N, D) = (4, 12), got w of shape (10, 5)"),
    ("affine: 1-d w", lambda: affine_forward(ONES((4, 3)), ONES(3), ONES(1)), ValueError,
     "affine_forward: w must have shape (D, M) = (3, ?)"),
    ("affine: b of the wrong length", lambda: affine_forward(ONES((4, 3)), ONES((3, 5)), ONES(4)),
     ValueError, "affine_forward: b must have shape (M,) = (5,) to match w of shape (3, 5), "
     "got b of shape (4,)"),
    ("affine: x is None", lambda: affine_forward(None, ONES((3, 5)), ONES(5)), TypeError,
     "affine_forward: x must be a numpy array or a number, got NoneType"),
    ("affine: dout of the wrong shape",
     lambda: affine_backward(ONES((4, 3)), _cache(affine_forward, ONES((4, 3)), ONES((3, 5)),
                                                   ONES(5))),
     ValueError, "affine_backward: dout must have shape (N, M) = (4, 5) (the shape of out), "
     "got dout of shape (4, 3)"),
    ("affine: cache of another layer",
     lambda: affine_backward(ONES((2, 2)), _cache(affine_relu_forward, ONES((2, 2)),
                                                  ONES((2, 2)), ONES(2))),
     TypeError, "affine_backward: got the cache of affine_relu_forward; pass the cache returned "
     "by affine_forward"),
    ("affine: hand-built cache", lambda: affine_backward(ONES((2, 2)), Cache("affine", ONES(2))),
     ValueError, "affine_backward: the cache from affine_forward should hold 4 items, got 1"),
    # activations
    ("sigmoid: tanh's cache", lambda: sigmoid_backward(ONES(2), _cache(tanh_forward, ONES(2))),
     TypeError, "sigmoid_backward: got the cache of tanh_forward; pass the cache returned by "
     "sigmoid_forward"),
    ("sigmoid: an object as x", lambda: sigmoid_forward(object()), TypeError,
     "sigmoid_forward: x must be a numpy array or a number, got object"),
    ("leaky_relu: alpha above 1", lambda: leaky_relu_forward(ONES(2), alpha=2.0), ValueError,
     "leaky_relu_forward: alpha must lie in [0, 1], got 2.0"),
    ("leaky_relu: alpha a string", lambda: leaky_relu_forward(ONES(2), alpha="0.1"), TypeError,
     "leaky_relu_forward: alpha must be a real number, got str"),
    ("elu: negative alpha", lambda: elu_forward(ONES(2), alpha=-1.0), ValueError,
     "elu_forward: alpha must lie in [0, inf), got -1.0"),
    ("elu: infinite alpha", lambda: elu_forward(ONES(2), alpha=float("inf")), ValueError,
     "elu_forward: alpha must lie in [0, inf), got inf"),
    ("elu: NaN alpha", lambda: elu_forward(ONES(2), alpha=float("nan")), ValueError,
     "elu_forward: alpha must lie in [0, inf), got nan"),
    ("maxout: 3-d x", lambda: maxout_forward(ONES((2, 3, 4)), ONES((12, 2, 2)), ONES((2, 2))),
     ValueError, "maxout_forward: x must be 2-d of shape (N, D), got shape (2, 3, 4)"),
    ("maxout: w not matching x", lambda: maxout_forward(ONES((2, 3)), ONES((4, 2, 2)),
                                                        ONES((2, 2))),
     ValueError, "maxout_forward: w must have shape (D, H, K) = (3, ?, ?) to match x of shape "
     "(N, D) = (2, 3), got w of shape (4, 2, 2)"),
    ("maxout: 2-d w", lambda: maxout_forward(ONES((2, 3)), ONES((3, 2)), ONES((2, 2))),
     ValueError, "maxout_forward: w must have shape (D, H, K) = (3, ?, ?)"),
    ("maxout: b of the wrong shape", lambda: maxout_forward(ONES((2, 3)), ONES((3, 4, 2)),
                                                            ONES((2, 4))),
     ValueError, "maxout_forward: b must have shape (H, K) = (4, 2) to match w of shape "
     "(3, 4, 2), got b of shape (2, 4)"),
    ("maxout: dout of the wrong shape",
     lambda: maxout_backward(ONES((2, 2)), _cache(maxout_forward, ONES((2, 3)), ONES((3, 4, 2)),
                                                  ONES((4, 2)))),
     ValueError, "maxout_backward: dout must have shape (N, H) = (2, 4) (the shape of out), "
     "got dout of shape (2, 2)"),
    # losses
    ("softmax: 1-d scores", lambda: softmax_loss(ONES(5), [0]), ValueError,
     "softmax_loss: x must be 2-d of shape (N, C), got shape (5,)"),
    ("softmax: labels of the wrong length", lambda: softmax_loss(ONES((3, 4)), [0, 1]),
     ValueError, "softmax_loss: y must have shape (N,) = (3,) (one label per row of x), "
     "got y of shape (2,)"),
    ("svm: label too large", lambda: svm_loss(ONES((2, 3)), [0, 3]), ValueError,
     "svm_loss: labels must lie in [0, C) = [0, 3) for x with C = 3 columns, got label 3"),
    ("svm: negative label", lambda: svm_loss(ONES((2, 3)), [-1, 0]), ValueError,
     "svm_loss: labels must lie in [0, C) = [0, 3) for x with C = 3 columns, got label -1"),
    ("softmax: fractional labels", lambda: softmax_loss(ONES((2, 3)), [0.5, 1.0]), TypeError,
     "softmax_loss: y must hold integer class labels, got dtype float64"),
    ("svm: no examples", lambda: svm_loss(ONES((0, 3)), []), ValueError,
     "svm_loss: x must hold at least one example (row) to average over, got shape (0, 3)"),
    # sandwich
    ("affine_relu: w not matching x",
     lambda: affine_relu_forward(ONES((4, 3)), ONES((2, 5)), ONES(5)), ValueError,
     "affine_relu_forward: affine_forward: w must have shape (D, M) = (3, ?) to match x "
     "flattened to "
     "(N, D) = (4, 3), got w of shape (2, 5)"),
    ("affine_relu: b of the wrong length",
     lambda: affine_relu_forward(ONES((4, 3)), ONES((3, 5)), ONES(3)), ValueError,
     "affine_relu_forward: affine_forward: b must have shape (M,) = (5,)"),
    ("affine_relu: affine's cache",
     lambda: affine_relu_backward(ONES((4, 5)), _cache(affine_forward, ONES((4, 3)),
                                                       ONES((3, 5)), ONES(5))),
     TypeError, "affine_relu_backward: got the cache of affine_forward; pass the cache returned "
     "by affine_relu_forward"),
]


@pytest.mark.parametrize("call, exception, message", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_is_refused_with_a_message_naming_the_function(call, exception, message):
    with pytest.raises(exception, match=re.escape(message)):
        call()


PAIRS = [case for case in LAYER_CASES if case.backward is not None]


def forward_of(case):
    """The case's forward, called on its own inputs; returns (out, cache)."""
    args, kwargs = case.make(np.random.default_rng(0))
    return case.forward(*args, **kwargs)


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda case: case.name)
def test_an_input_that_is_no_number_is_refused(case):
    """A sandwich names itself, then the layer that refused: ``conv_relu_forward:
    conv_forward_fast: x must be ...``."""
    args, kwargs = case.make(np.random.default_rng(0))
    name = case.forward.__name__
    with pytest.raises(TypeError, match=rf"^{name}: (\w+: )?"
                                        r"x must be a numpy array or a number, got str$"):
        case.forward("x", *args[1:], **kwargs)


@pytest.mark.parametrize("case", PAIRS, ids=lambda case: case.name)
def test_a_plain_tuple_is_refused_as_cache(case):
    _, cache = forward_of(case)
    name = case.backward.__name__
    with pytest.raises(TypeError) as error:
        case.backward(np.ones(1), tuple(cache))
    message = str(error.value)
    assert message.startswith(f"{name}: cache must be the second value returned by ")
    assert case.forward.__name__ in message and message.endswith(", got tuple")


@pytest.mark.parametrize("case", PAIRS, ids=lambda case: case.name)
def test_the_cache_of_another_layer_is_refused(case):
    other = "tanh" if case.forward is relu_forward else "relu"
    _, cache = (tanh_forward if other == "tanh" else relu_forward)(ONES(3))
    name = case.backward.__name__
    with pytest.raises(TypeError) as error:
        case.backward(ONES(3), cache)
    message = str(error.value)
    assert message.startswith(
        f"{name}: got the cache of {other}_forward; pass the cache returned by ")
    assert case.forward.__name__ in message


@pytest.mark.parametrize("case", PAIRS, ids=lambda case: case.name)
def test_a_dout_of_the_wrong_shape_is_refused(case):
    out, cache = forward_of(case)
    wrong = np.shape(out) + (2,)
    with pytest.raises(ValueError) as error:
        case.backward(np.ones(wrong), cache)
    message = str(error.value)
    assert re.match(rf"{case.backward.__name__}: (\w+: )?dout must have", message), message
    assert "shape of out" in message and message.endswith(f"{shape_str(wrong)}"), message
    assert shape_str(np.shape(out)) in message, message
