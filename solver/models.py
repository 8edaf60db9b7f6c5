"""Models: the layers composed into classifiers that the Solver trains.

    TwoLayerNet(input_dim, hidden_dim, num_classes)               affine - relu - affine
    FullyConnectedNet(hidden_dims, input_dim, num_classes, normalization=, dropout_keep_ratio=,
                      activation=)
    ConvNet(input_dim, conv_filters, filter_size, pool, hidden_dims, num_classes, normalization=)
    ThreeLayerConvNet(input_dim, num_filters, filter_size, hidden_dim, num_classes)

Every model offers the contract the Solver relies on, CS231n's plus ``buffers``:

    model.params    dict name -> ndarray of the learnable parameters: W1, b1, ... per layer,
                    gamma1, beta1, ... per normalized hidden layer
    model.buffers   dict name -> ndarray of state that is not learned: batchnorm's running
                    statistics (running_mean1, running_var1, ...) and, with dropout, the
                    training step that selects the masks (dropout_step); empty otherwise
    model.reg       L2 strength, read by every ``loss`` call (set it between calls)
    model.dtype     the dtype of every parameter, buffer and computation; input is cast to it
                    once, on the way in
    model.num_layers, model.normalization, model.use_dropout    as the course's models
    model.loss(X)       -> scores, ndarray of shape (N, K): test mode (running statistics,
                           no dropout); changes nothing
    model.loss(X, y)    -> (loss, grads): train mode; softmax loss plus 0.5 * reg * sum(W**2)
                           over the weights (not biases, gammas or betas), grads keyed like
                           params. STATE: a train-mode call updates the batchnorm running
                           statistics in ``buffers``.
    model.save(path), model.load(path)    params and buffers as an .npz file, read without
                                          pickle

Initial weights, ``seed``: None (the default, as the course's) draws them from numpy's global
random state, ``np.random.randn``, layer by layer in the course's order W1, W2, ..., so that
``np.random.seed(231)`` before building a model reproduces the course's reference outputs. An
int seed draws them from a local ``np.random.default_rng(seed)`` and leaves the global state
alone: what the Solver, ``solver train`` and the sweeps use, to be reproducible.

Dropout masks are seeded by :func:`dropout_seed` from the model's seed, the step in
``buffers['dropout_step']`` and the layer. The model never advances the step: every ``loss``
call of a model sees the same masks, so numerical and analytic gradients see one function (the
course's gradient checks rely on it). The training loop owns time: the Solver advances the
step after every iteration, and because the step lives in ``buffers`` (which the Solver
checkpoints) a resumed run draws the masks the uninterrupted run would have. A model built with
seed=None and dropout draws its mask seed from numpy's global state after its weights.

The models replace entries of ``params`` and ``buffers`` with new arrays rather than writing
into them, as the Solver does, and read their arrays from these dicts on every call.

Shapes: N examples; an example is an image (C, H, W) of C channels and (H, W) pixels for the
conv nets (a 1-d signal of length L is the image (C, 1, L)), or any (d1, ..., dk) flattened to
D = input_dim features for the fully connected ones; F filters of (HH, WW) pixels in a conv
layer; M the width of a hidden affine layer; K classes.

The code: the shared base, ``_Classifier`` (arguments, parameters, buffers, files, the loss
around the layers), lives in ``solver.classifier``; the fully connected nets in
``solver.fc_nets``, the conv nets in ``solver.conv_nets``. Import them from here.
"""

from .classifier import (  # noqa: F401  (every name defined here before the split)
    NORM_LAYERS,
    NORMALIZATIONS,
    _check_pair,
    _check_size,
    _check_sizes,
    _Classifier,
    dropout_seed,
)
from .conv_nets import CONV_BLOCKS, CONV_NORMALIZATIONS, ConvNet, ThreeLayerConvNet  # noqa: F401
from .fc_nets import FullyConnectedNet, TwoLayerNet

__all__ = ["ConvNet", "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet", "dropout_seed"]
