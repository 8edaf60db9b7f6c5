"""The table behind ``python -m gradcheck``: one case per layer pair of the library.

    Case(name, forward, backward, make)   # a pair, checked with check_layer
    Case(name, loss, None, make)          # a *_loss function, checked with check_loss
    report = case.check(mode="fast")

``make(rng) -> (args, kwargs)`` builds small float64 inputs from the generator it is given, kept
away from kinks (where a one-sided slope would make any centred difference disagree with a
correct backward): ReLU inputs away from 0, max-gate operands apart, winning maxout pieces
ahead of the runners-up, hinge margins away from 0. Keep shapes small (full mode perturbs
every element) and distinct per axis, so that a transposed gradient cannot pass.

To add a layer, append one ``Case`` to ``CASES``; tests/gradcheck/test_cases.py fails while
any public pair of ``layers`` has no case. Unlike the rest of ``gradcheck``, this module
imports ``layers``; ``import gradcheck`` does not import it.

Shapes: N batch, D features, M or H outputs, K maxout pieces, C classes.
"""

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

import layers

from .check import check_layer, check_loss

KINK_MARGIN = 0.05


@dataclass(frozen=True)
class Case:
    """One layer pair (or loss) and how to build inputs for checking it.

    Attributes
    ----------
    name : str
        Short name shown in the table, matched by ``--only``.
    forward : callable
        The ``*_forward`` function, or the ``*_loss`` function when ``backward`` is None.
    backward : callable or None
        The ``*_backward`` function; None for a loss, which returns its gradient itself.
    make : callable
        ``make(rng) -> (args, kwargs)``: the forward's arguments, float64 and away from kinks.
    """

    name: str
    forward: Callable
    backward: Callable | None
    make: Callable

    def check(self, mode="full", seed=0, **options):
        """Build the inputs from ``default_rng(seed)`` and check them; return the report.

        ``options`` (``h``, ``tol``, ``verbose``) go to :func:`check_layer` or
        :func:`check_loss`.
        """
        args, kwargs = self.make(np.random.default_rng(seed))
        if self.backward is None:
            return check_loss(self.forward, *args, mode=mode, seed=seed, **options, **kwargs)
        return check_layer(self.forward, self.backward, *args, mode=mode, seed=seed,
                           **options, **kwargs)


def away_from_zero(rng, shape, margin=KINK_MARGIN):
    """Gaussian values pushed ``margin`` away from 0: ``z + margin * sign(z)``."""
    z = rng.standard_normal(shape)
    return z + margin * np.sign(z)


def redraw(rng, draw, accept, tries=100):
    """Call ``draw(rng)`` until ``accept(*values)`` holds; return those values.

    For inputs whose kinks depend on several arrays at once (affine then ReLU, maxout).
    """
    for _ in range(tries):
        values = draw(rng)
        if accept(*values):
            return values
    raise RuntimeError(f"no draw accepted in {tries} tries: loosen the case's margin")


def _broadcast_pair(rng):
    """x (3, 1, 4) and y (2, 1): each broadcasts along an axis of the other, out (3, 2, 4)."""
    return rng.standard_normal((3, 1, 4)), rng.standard_normal((2, 1))


def _add(rng):
    return _broadcast_pair(rng), {}


def _mul(rng):
    return _broadcast_pair(rng), {}


def _max(rng):
    def apart(x, y):
        return np.min(np.abs(x - y)) > KINK_MARGIN  # over all (3, 2, 4) pairs compared

    return redraw(rng, _broadcast_pair, apart), {}


def _affine(rng):
    return (rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)),
            rng.standard_normal(5)), {}


def _affine_relu(rng):
    def draw(rng):
        return rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)

    def accept(x, w, b):
        return np.min(np.abs(x.reshape(3, 4) @ w + b)) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


def _maxout(rng):
    def draw(rng):
        return (rng.standard_normal((3, 4)), rng.standard_normal((4, 5, 2)),
                rng.standard_normal((5, 2)))

    def accept(x, w, b):
        pieces = np.einsum("nd,dhk->nhk", x, w) + b  # (N, H, K)
        top_two = np.sort(pieces, axis=2)[:, :, -2:]  # (N, H, 2)
        return np.min(top_two[:, :, 1] - top_two[:, :, 0]) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


def _elementwise(rng):
    return (rng.standard_normal((3, 5)),), {}


def _kinked(**kwargs):
    """Inputs for an activation with a kink at 0, with ``kwargs`` for its forward."""
    return lambda rng: ((away_from_zero(rng, (3, 5)),), kwargs)


def _scores(rng):
    return (rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)), {}


def _svm_scores(rng):
    def draw(rng):
        return rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)

    def accept(x, y):
        margins = x - x[np.arange(4), y][:, None] + 1  # (N, C)
        margins[np.arange(4), y] = 1  # the correct class's own term is not a hinge
        return np.min(np.abs(margins)) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


def _pool_gaps(values, pool):
    """The smallest gap between the largest and second-largest value of any window of the
    fixed 2x2, stride 2 or 3x3, stride 2 pooling used by the cases (0 on a tie)."""
    size = pool["pool_height"]
    windows = np.lib.stride_tricks.sliding_window_view(values, (size, size), axis=(2, 3))
    windows = windows[:, :, ::pool["stride"], ::pool["stride"]]
    top_two = np.sort(windows.reshape(windows.shape[:4] + (-1,)), axis=-1)[..., -2:]
    return np.min(top_two[..., 1] - top_two[..., 0])


CONV_PARAM = {"stride": 2, "pad": (1, 0)}          # non-square: stride 2, padding of rows only
POOL_2x2 = {"pool_height": 2, "pool_width": 2, "stride": 2}
POOL_3x3 = {"pool_height": 3, "pool_width": 3, "stride": 2}  # overlapping windows


def _conv(rng):
    return (rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((4, 3, 3, 3)),
            rng.standard_normal(4), CONV_PARAM), {}


def _max_pool(rng):
    def draw(rng):
        return (rng.standard_normal((2, 3, 7, 5)),)

    return redraw(rng, draw, lambda x: _pool_gaps(x, POOL_3x3) > KINK_MARGIN) + (POOL_3x3,), {}


def _norm(mode):
    """Inputs for batchnorm in ``mode``, with running statistics (lists, which compare
    simply) for test mode."""
    def make(rng):
        bn_param = {"mode": mode}
        if mode == "test":
            bn_param.update(running_mean=rng.standard_normal(4).tolist(),
                            running_var=(rng.random(4) + 0.5).tolist())
        return (rng.standard_normal((5, 4)) * 2 + 1, rng.standard_normal(4),
                rng.standard_normal(4), bn_param), {}
    return make


def _layernorm(rng):
    return (rng.standard_normal((3, 5)) * 2 + 1, rng.standard_normal(5),
            rng.standard_normal(5), {}), {}


def _spatial_batchnorm(rng):
    return (rng.standard_normal((2, 3, 4, 5)) * 2 + 1, rng.standard_normal(3),
            rng.standard_normal(3), {"mode": "train"}), {}


def _spatial_groupnorm(rng):
    return (rng.standard_normal((2, 4, 3, 2)) * 2 + 1, rng.standard_normal((1, 4, 1, 1)),
            rng.standard_normal((1, 4, 1, 1)), 2, {}), {}


def _dropout(rng):
    return (rng.standard_normal((4, 5)), {"mode": "train", "p": 0.6, "seed": 0}), {}


SANDWICH_MARGIN = 0.01  # a step of h = 1e-5 in any input moves a conv output far less


def _conv_inputs(rng):
    return (rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3)) * 0.5,
            rng.standard_normal(3))


def _conv_relu(rng):
    conv_param = {"stride": 1, "pad": 1}

    def accept(x, w, b):
        scores = layers.conv_forward_fast(x, w, b, conv_param)[0]
        return np.min(np.abs(scores)) > SANDWICH_MARGIN

    return redraw(rng, _conv_inputs, accept) + (conv_param,), {}


def _conv_relu_pool(rng):
    conv_param = {"stride": 1, "pad": 1}

    def accept(x, w, b):
        scores = layers.conv_forward_fast(x, w, b, conv_param)[0]
        # a window whose top score is negative pools a tie of zeros that no step of h breaks
        return (np.min(np.abs(scores)) > SANDWICH_MARGIN
                and _pool_gaps(scores, POOL_2x2) > SANDWICH_MARGIN)

    return redraw(rng, _conv_inputs, accept) + (conv_param, POOL_2x2), {}


def _norm_params(rng, size):
    """gamma, beta and a train-mode bn_param for ``size`` features. In train mode batchnorm
    subtracts the batch mean, so the bias before it has a gradient of exactly zero: the
    check's floors, scaled by the largest gradient of any input, judge db ~1e-17 as such."""
    return rng.standard_normal(size), rng.standard_normal(size), {"mode": "train"}


def _affine_norm_relu(norm):
    """Inputs for an affine-norm-ReLU sandwich, with every normalized value away from 0."""
    def make(rng):
        gamma, beta, bn_param = _norm_params(rng, 5)
        params = bn_param if norm is layers.batchnorm_forward else {}

        def draw(rng):
            return (rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)),
                    rng.standard_normal(5))

        def accept(x, w, b):
            normed = norm(x.reshape(3, 4) @ w + b, gamma, beta, dict(params))[0]
            return np.min(np.abs(normed)) > SANDWICH_MARGIN

        return redraw(rng, draw, accept) + (gamma, beta, params), {}
    return make


def _conv_bn_relu(rng):
    conv_param = {"stride": 1, "pad": 1}
    gamma, beta, bn_param = _norm_params(rng, 3)

    def accept(x, w, b):
        scores = layers.conv_forward_fast(x, w, b, conv_param)[0]
        normed = layers.spatial_batchnorm_forward(scores, gamma, beta, dict(bn_param))[0]
        return np.min(np.abs(normed)) > SANDWICH_MARGIN

    return redraw(rng, _conv_inputs, accept) + (gamma, beta, conv_param, bn_param), {}


CASES = [
    Case("add", layers.add_forward, layers.add_backward, _add),
    Case("mul", layers.mul_forward, layers.mul_backward, _mul),
    Case("max", layers.max_forward, layers.max_backward, _max),
    Case("affine", layers.affine_forward, layers.affine_backward, _affine),
    Case("relu", layers.relu_forward, layers.relu_backward, _kinked()),
    Case("sigmoid", layers.sigmoid_forward, layers.sigmoid_backward, _elementwise),
    Case("tanh", layers.tanh_forward, layers.tanh_backward, _elementwise),
    Case("leaky_relu", layers.leaky_relu_forward, layers.leaky_relu_backward,
         _kinked(alpha=0.2)),
    Case("elu", layers.elu_forward, layers.elu_backward, _kinked(alpha=0.7)),
    Case("maxout", layers.maxout_forward, layers.maxout_backward, _maxout),
    Case("affine_relu", layers.affine_relu_forward, layers.affine_relu_backward, _affine_relu),
    Case("softmax_loss", layers.softmax_loss, None, _scores),
    Case("svm_loss", layers.svm_loss, None, _svm_scores),
    Case("batchnorm", layers.batchnorm_forward, layers.batchnorm_backward, _norm("train")),
    Case("batchnorm_alt", layers.batchnorm_forward, layers.batchnorm_backward_alt,
         _norm("train")),
    Case("batchnorm_test", layers.batchnorm_forward, layers.batchnorm_backward, _norm("test")),
    Case("layernorm", layers.layernorm_forward, layers.layernorm_backward, _layernorm),
    Case("dropout", layers.dropout_forward, layers.dropout_backward, _dropout),
    Case("conv_naive", layers.conv_forward_naive, layers.conv_backward_naive, _conv),
    Case("conv_fast", layers.conv_forward_fast, layers.conv_backward_fast, _conv),
    Case("max_pool_naive", layers.max_pool_forward_naive, layers.max_pool_backward_naive,
         _max_pool),
    Case("max_pool_fast", layers.max_pool_forward_fast, layers.max_pool_backward_fast,
         _max_pool),
    Case("spatial_batchnorm", layers.spatial_batchnorm_forward,
         layers.spatial_batchnorm_backward, _spatial_batchnorm),
    Case("spatial_groupnorm", layers.spatial_groupnorm_forward,
         layers.spatial_groupnorm_backward, _spatial_groupnorm),
    Case("conv_relu", layers.conv_relu_forward, layers.conv_relu_backward, _conv_relu),
    Case("conv_relu_pool", layers.conv_relu_pool_forward, layers.conv_relu_pool_backward,
         _conv_relu_pool),
    Case("affine_bn_relu", layers.affine_bn_relu_forward, layers.affine_bn_relu_backward,
         _affine_norm_relu(layers.batchnorm_forward)),
    Case("affine_ln_relu", layers.affine_ln_relu_forward, layers.affine_ln_relu_backward,
         _affine_norm_relu(layers.layernorm_forward)),
    Case("conv_bn_relu", layers.conv_bn_relu_forward, layers.conv_bn_relu_backward,
         _conv_bn_relu),
]


# ---- sequences: recurrent layers and attention ----------------------------------------------
# Shapes: N sequences, T steps, D inputs, H hidden units, V words, S keys, distinct per axis.


@dataclass(frozen=True)
class TwoStateCase(Case):
    """An LSTM step: its forward returns ``(next_h, next_c, cache)`` and its backward takes
    both upstream gradients, ``backward(dnext_h, dnext_c, cache)``. Checked as one layer
    whose output is the two states stacked, (2, N, H)."""

    def one_output(self):
        """The pair as check_layer takes it: forward returns (stack of the states, cache)."""
        forward, backward = self.forward, self.backward

        @functools.wraps(forward)  # the check names the inputs from forward's signature
        def stacked_forward(*args, **kwargs):
            next_h, next_c, cache = forward(*args, **kwargs)
            return np.stack([next_h, next_c]), cache  # (2, N, H)

        def split_backward(dout, cache):
            return backward(dout[0], dout[1], cache)

        return stacked_forward, split_backward

    def check(self, mode="full", seed=0, **options):
        args, kwargs = self.make(np.random.default_rng(seed))
        return check_layer(*self.one_output(), *args, mode=mode, seed=seed, **options,
                           **kwargs)


def _recurrent(sequence, gates, lstm_step=False):
    """Inputs for an RNN (gates 1) or LSTM (gates 4), one step or a sequence of T = 3."""
    def make(rng):
        N, T, D, H = 2, 3, 4, 5
        x = rng.standard_normal((N, T, D) if sequence else (N, D))
        h = rng.standard_normal((N, H))
        extra = (rng.standard_normal((N, H)),) if lstm_step else ()  # prev_c
        weights = (rng.standard_normal((D, gates * H)) * 0.5,
                   rng.standard_normal((H, gates * H)) * 0.5, rng.standard_normal(gates * H))
        return (x, h) + extra + weights, {}
    return make


def _lstm_from_c0(rng):
    """An LSTM sequence started from a cell state c0 (truncated BPTT), its sixth input."""
    args, kwargs = _recurrent(True, 4)(rng)
    return args + (rng.standard_normal(args[1].shape),), kwargs


def _word_embedding(rng):
    return (rng.integers(0, 6, size=(3, 4)), rng.standard_normal((6, 5))), {}


def _temporal_affine(rng):
    return (rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)),
            rng.standard_normal(5)), {}


def _temporal_scores(rng):
    mask = rng.random((3, 4)) > 0.3
    return (rng.standard_normal((3, 4, 5)), rng.integers(0, 5, size=(3, 4)), mask), {}


def _attention(mask):
    def make(rng):
        q = rng.standard_normal((2, 3, 4))  # (N, T, d)
        k = rng.standard_normal((2, 3 if mask == "causal" else 5, 4))  # (N, S, d)
        v = rng.standard_normal((2, k.shape[1], 6))  # (N, S, dv)
        if mask == "random":
            return (q, k, v), {"mask": np.arange(5) <= 1 + np.arange(3)[:, None] % 2}
        return (q, k, v), {"mask": mask}
    return make


def _multihead(rng):
    return (rng.standard_normal((2, 3, 4)),) + tuple(
        rng.standard_normal((4, 4)) * 0.5 for _ in range(4)) + (2,), {"mask": "causal"}


def _multihead_cross(rng):
    return (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 6)),
            rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((6, 4)) * 0.5,
            rng.standard_normal((6, 4)) * 0.5, rng.standard_normal((4, 4)) * 0.5, 2), {}


def _transformer_block(rng):
    N, T, D, F = 2, 3, 4, 6

    def draw(rng):
        x = rng.standard_normal((N, T, D))
        ln1 = (1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D))
        attention = tuple(rng.standard_normal((D, D)) * 0.5 for _ in range(4))
        ln2 = (1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D))
        mlp = (rng.standard_normal((D, F)) * 0.5, rng.standard_normal(F) * 0.1,
               rng.standard_normal((F, D)) * 0.5, rng.standard_normal(D) * 0.1)
        return (x,) + ln1 + attention + ln2 + mlp

    def accept(x, g1, b1n, Wq, Wk, Wv, Wo, g2, b2n, W1, b1, W2, b2):
        """The MLP's ReLU inputs away from 0, as for the other sandwiches."""
        normed1 = layers.layernorm_forward(x.reshape(N * T, D), g1, b1n, {})[0]
        attended = layers.multihead_attention_forward(
            normed1.reshape(N, T, D), Wq, Wk, Wv, Wo, 2, "causal")[0]
        normed2 = layers.layernorm_forward((x + attended).reshape(N * T, D), g2, b2n, {})[0]
        return np.min(np.abs(normed2 @ W1 + b1)) > SANDWICH_MARGIN

    return redraw(rng, draw, accept) + (2,), {"mask": "causal"}


CASES += [
    Case("rnn_step", layers.rnn_step_forward, layers.rnn_step_backward, _recurrent(False, 1)),
    Case("rnn", layers.rnn_forward, layers.rnn_backward, _recurrent(True, 1)),
    TwoStateCase("lstm_step", layers.lstm_step_forward, layers.lstm_step_backward,
                 _recurrent(False, 4, lstm_step=True)),
    Case("lstm", layers.lstm_forward, layers.lstm_backward, _recurrent(True, 4)),
    Case("lstm_c0", layers.lstm_forward, layers.lstm_backward, _lstm_from_c0),
    Case("word_embedding", layers.word_embedding_forward, layers.word_embedding_backward,
         _word_embedding),
    Case("temporal_affine", layers.temporal_affine_forward, layers.temporal_affine_backward,
         _temporal_affine),
    Case("temporal_softmax_loss", layers.temporal_softmax_loss, None, _temporal_scores),
    Case("attention", layers.attention_forward, layers.attention_backward, _attention(None)),
    Case("attention_causal", layers.attention_forward, layers.attention_backward,
         _attention("causal")),
    Case("attention_masked", layers.attention_forward, layers.attention_backward,
         _attention("random")),
    Case("multihead_attention", layers.multihead_attention_forward,
         layers.multihead_attention_backward, _multihead),
    Case("multihead_cross_attention", layers.multihead_cross_attention_forward,
         layers.multihead_cross_attention_backward, _multihead_cross),
    Case("transformer_block", layers.transformer_block_forward,
         layers.transformer_block_backward, _transformer_block),
]
