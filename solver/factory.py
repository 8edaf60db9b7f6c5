"""The models ``solver train`` builds, by name: one build function and one :data:`MODELS` entry
each.

    model = MODELS[name].build(settings, example_shape, num_classes)

``settings`` is a run's settings dict (see :mod:`solver.settings`), ``example_shape`` the shape
of one example as the model takes it (``(D,)`` when ``MODELS[name].flatten``, else
``(C, H, W)``), ``num_classes`` the dataset's. A build function raises ValueError for settings
the model refuses (a pool that does not fit the images); ``solver train`` reports it as a usage
error. Which settings a model reads is said by each setting (``Setting.applies`` in
:mod:`solver.settings`), not here.

To add a model: write its build function below and give it an entry in :data:`MODELS`; the
``--model`` choices and the help come from the registry.
"""

import math
from typing import Callable, NamedTuple

from .models import ConvNet, FullyConnectedNet, TwoLayerNet
from .sequence_models import LanguageModel


class ModelInfo(NamedTuple):
    """One entry of :data:`MODELS`."""

    build: Callable  # (settings, example_shape, num_classes) -> model
    flatten: bool  # whether the model takes examples as rows (N, D)
    hidden_layers: int | None  # how many --hidden-dims it takes; None for any number
    about: str
    tokens: bool = False  # whether it reads token windows (N, T) rather than features


def _common(settings):
    """The keyword arguments every model takes."""
    return {"weight_scale": settings["weight_scale"], "reg": settings["reg"],
            "dtype": settings["dtype"], "seed": settings["seed"]}


def _normalization(settings):
    return None if settings["normalization"] == "none" else settings["normalization"]


def _two_layer(settings, example_shape, num_classes):
    return TwoLayerNet(math.prod(example_shape), settings["hidden_dims"][0], num_classes,
                       **_common(settings))


def _fully_connected(settings, example_shape, num_classes):
    return FullyConnectedNet(settings["hidden_dims"], math.prod(example_shape), num_classes,
                             normalization=_normalization(settings),
                             dropout_keep_ratio=settings["dropout_keep_ratio"],
                             **_common(settings))


def _convnet(settings, example_shape, num_classes):
    if len(example_shape) != 3:
        raise ValueError(
            f"--model {settings['model']} takes images (C, H, W) or signals (C, 1, L); the "
            f"examples of --dataset {settings['dataset']} have shape {tuple(example_shape)}")
    # a square N,N reaches ConvNet as N: on a signal (height 1) that is 1,N
    filter_size, pool = ((h if h == w else [h, w]) for h, w in (
        settings["filter_size"], settings["pool"]))
    return ConvNet(example_shape, settings["conv_filters"], filter_size, pool,
                   settings["hidden_dims"], num_classes, normalization=_normalization(settings),
                   **_common(settings))


def _language_model(settings, example_shape, num_classes):
    return LanguageModel(num_classes, settings["wordvec_dim"], settings["hidden_dims"][0],
                         settings["cell_type"], num_layers=settings["num_layers"],
                         num_heads=settings["num_heads"], dtype=settings["dtype"],
                         seed=settings["seed"], reg=settings["reg"])


MODELS = {
    "two-layer": ModelInfo(_two_layer, True, 1, "TwoLayerNet: affine - relu - affine - softmax"),
    "fc": ModelInfo(_fully_connected, True, None,
                    "FullyConnectedNet: {affine - [norm] - relu - [dropout]} per hidden width, "
                    "affine - softmax"),
    "conv": ModelInfo(_convnet, False, None,
                      "ConvNet: {conv - [batchnorm] - relu - max pool} per --conv-filters, "
                      "{affine - [batchnorm] - relu} per hidden width, affine - softmax "
                      "('--conv-filters 32 --filter-size 7 --hidden-dims 100' is CS231n's "
                      "ThreeLayerConvNet)"),
    "lm": ModelInfo(_language_model, False, 1,
                    "LanguageModel: embedding - rnn, lstm or causal transformer blocks "
                    "(--cell-type) - affine - softmax at every step, on token datasets; "
                    "--hidden-dims is the cell's H (the transformer's MLP width)",
                    tokens=True),
}
