"""Training for the nets that ``layers`` composes into: update rules, models, the Solver.

The names below are imported on first use (PEP 562), so that ``import solver`` itself costs
nothing: the ``solver`` command can then catch a Ctrl-C pressed while numpy and scipy load
(see ``solver.__main__``), and ``from solver import Solver`` works as ever.
"""

import importlib

_EXPORTS = {
    "optim": ("UPDATE_RULES", "adam", "get_update_rule", "rmsprop", "sgd", "sgd_momentum"),
    "models": ("ConvNet", "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet"),
    "linear_classifier": ("LinearClassifier", "LinearSVM", "Softmax"),
    "solver": ("Solver", "TrainingDiverged"),
    "checkpoint": ("read_checkpoint",),
    "data": ("DATASETS", "load_dataset"),
    "sequence_models": ("CaptioningRNN", "LanguageModel"),
    "sequence_training": ("clip_gradients", "train_sequence_model"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'solver' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


def __dir__():
    return sorted({*globals(), *__all__})
