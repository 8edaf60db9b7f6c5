"""Training for the nets that ``layers`` composes into: update rules, models, the Solver."""

from .optim import UPDATE_RULES, adam, get_update_rule, rmsprop, sgd, sgd_momentum
from .models import ConvNet, FullyConnectedNet, ThreeLayerConvNet, TwoLayerNet
from .linear_classifier import LinearClassifier, LinearSVM, Softmax
from .solver import Solver, TrainingDiverged
from .checkpoint import read_checkpoint
from .data import DATASETS, load_dataset
