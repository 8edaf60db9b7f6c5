"""backprop-layers: every layer as a pair of plain numpy functions, the CS231n way.

    out, cache = <name>_forward(x, *params, [param_dict])
    dx, *dparams = <name>_backward(dout, cache)    # one gradient per array input, same order
    loss, dx = <name>_loss(x, y)                    # losses return the gradient directly

Each family lives in its own module; this package re-exports every public pair.
"""

from .activations import elu_backward, elu_forward
from .activations import leaky_relu_backward, leaky_relu_forward
from .activations import maxout_backward, maxout_forward
from .activations import relu_backward, relu_forward
from .activations import sigmoid_backward, sigmoid_forward
from .activations import tanh_backward, tanh_forward
from .affine import affine_backward, affine_forward
from .gates import add_backward, add_forward
from .gates import max_backward, max_forward
from .gates import mul_backward, mul_forward
from .losses import softmax_loss, svm_loss
from .sandwich import affine_relu_backward, affine_relu_forward

__all__ = [
    "add_forward", "add_backward",
    "mul_forward", "mul_backward",
    "max_forward", "max_backward",
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward",
    "maxout_forward", "maxout_backward",
    "softmax_loss", "svm_loss",
    "affine_relu_forward", "affine_relu_backward",
]
