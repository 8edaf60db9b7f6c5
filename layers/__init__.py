"""backprop-layers: every layer as a pair of plain numpy functions, the CS231n way.

    out, cache = <name>_forward(x, *params, [param_dict])
    dx, *dparams = <name>_backward(dout, cache)    # one gradient per array input, same order
    loss, dx = <name>_loss(x, y)                    # losses return the gradient directly

Each family lives in its own module; this package re-exports every public pair.

A param dict (bn_param, conv_param, ...) may carry keys of the caller's own, as CS231n's models
put 'mode' in layernorm's; a key the layer does not read but nearly spells one it does is
refused: ``batchnorm_forward: bn_param has 'momentun': did you mean 'momentum'?``.
"""

from .activations import elu_backward, elu_forward
from .activations import leaky_relu_backward, leaky_relu_forward
from .activations import maxout_backward, maxout_forward
from .activations import relu_backward, relu_forward
from .activations import sigmoid_backward, sigmoid_forward
from .activations import tanh_backward, tanh_forward
from .affine import affine_backward, affine_forward
from .conv import conv_backward_fast, conv_forward_fast
from .conv import conv_backward_naive, conv_forward_naive
from .dropout import dropout_backward, dropout_forward
from .gates import add_backward, add_forward
from .gates import max_backward, max_forward
from .gates import mul_backward, mul_forward
from .losses import softmax_loss, svm_loss
from .normalization import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward
from .normalization import layernorm_backward, layernorm_forward
from .normalization import spatial_batchnorm_backward, spatial_batchnorm_forward
from .normalization import spatial_groupnorm_backward, spatial_groupnorm_forward
from .pooling import max_pool_backward_fast, max_pool_forward_fast
from .pooling import max_pool_backward_naive, max_pool_forward_naive
from .sandwich import affine_relu_backward, affine_relu_forward
from .sandwich import affine_bn_relu_backward, affine_bn_relu_forward
from .sandwich import affine_ln_relu_backward, affine_ln_relu_forward
from .sandwich import conv_bn_relu_backward, conv_bn_relu_forward
from .sandwich import conv_relu_backward, conv_relu_forward
from .sandwich import conv_relu_pool_backward, conv_relu_pool_forward
from .recurrent import rnn_step_backward, rnn_step_forward
from .recurrent import rnn_backward, rnn_forward
from .recurrent import lstm_step_backward, lstm_step_forward
from .recurrent import lstm_backward, lstm_final_cell, lstm_forward
from .temporal import word_embedding_backward, word_embedding_forward
from .temporal import temporal_affine_backward, temporal_affine_forward
from .temporal import temporal_softmax_loss
from .attention import attention_backward, attention_forward, causal_mask
from .attention import multihead_attention_backward, multihead_attention_forward
from .attention import multihead_cross_attention_backward, multihead_cross_attention_forward
from .attention import sinusoidal_positional_encoding
from .attention import transformer_block_backward, transformer_block_forward

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
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "dropout_forward", "dropout_backward",
    "conv_forward_naive", "conv_backward_naive",
    "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward_naive", "max_pool_backward_naive",
    "max_pool_forward_fast", "max_pool_backward_fast",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "affine_bn_relu_forward", "affine_bn_relu_backward",
    "affine_ln_relu_forward", "affine_ln_relu_backward",
    "conv_bn_relu_forward", "conv_bn_relu_backward",
    "rnn_step_forward", "rnn_step_backward",
    "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward",
    "lstm_forward", "lstm_backward", "lstm_final_cell",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward",
    "temporal_softmax_loss",
    "attention_forward", "attention_backward", "causal_mask",
    "multihead_attention_forward", "multihead_attention_backward",
    "multihead_cross_attention_forward", "multihead_cross_attention_backward",
    "sinusoidal_positional_encoding",
    "transformer_block_forward", "transformer_block_backward",
]
