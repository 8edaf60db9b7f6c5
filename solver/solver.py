"""The Solver: CS231n's training loop, with checkpoints that resume a run exactly.

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, print_every=100, seed=0)
    solver.train()              # the model now holds the best weights found
    solver.check_accuracy(data["X_test"], data["y_test"])

The model contract (see ``solver.models``):

    model.params         dict name -> ndarray, the learnable parameters
    model.buffers        dict name -> ndarray, non-learnable state such as batchnorm running
                         statistics and the dropout step (optional; empty when missing)
    model.loss(X)        -> scores, ndarray of shape (N, C)
    model.loss(X, y)     -> (loss, grads), grads a dict keyed like params

The Solver replaces entries of ``model.params`` and ``model.buffers`` with new arrays; it never
writes into the arrays themselves.

``data`` is CS231n's dict: X_train (N_train, d1, ..., dk), y_train (N_train,), X_val, y_val
(X_test, y_test optional and unused here). Shapes: N examples, C classes.

The course's keywords and printout: with ``verbose`` (the default) ``train`` prints
``(Iteration 1 / 4900) loss: 2.302585`` every ``print_every`` iterations and
``(Epoch 0 / 10) train acc: 0.100000; val_acc: 0.087000`` after the first iteration (epoch 0)
and after every epoch, so the accuracy histories hold num_epochs + 1 entries. The command line
turns the prints off and shows a progress bar instead (``progress_bar=True``).

Randomness, all from one local generator ``np.random.default_rng(seed)``, drawn in a fixed
order each epoch: the permutation of the training set, then the training subsample for the
accuracy check, then (with num_val_samples) the validation subsample. Its state is saved in
every checkpoint, which is what lets ``resume`` continue a run to the last bit. (Epoch 0's
check draws its subsamples from a generator of its own, ``default_rng(seed)``, as
``check_accuracy`` does.) The training loop owns time for the model too: after every iteration
it advances ``model.buffers['dropout_step']``, when there is one, so that each iteration draws
fresh dropout masks while every ``loss`` call within it sees the same ones.
"""

import json
import math
import numbers
import os
import sys

import numpy as np
from tqdm import tqdm

from .checkpoint import read_checkpoint, write_checkpoint
from .optim import UPDATE_RULES, validate_config

REQUIRED_DATA = ("X_train", "y_train", "X_val", "y_val")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; ``epoch`` and ``iteration`` (1-based) say where."""

    def __init__(self, message, epoch, iteration, loss):
        super().__init__(message)
        self.epoch = epoch
        self.iteration = iteration
        self.loss = loss


def _check_count(name, value, minimum=1, allow_none=False):
    """Require an int >= minimum (or None where allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"Solver: {name} must be {wanted}, got {value!r}")
    return int(value)


class Solver:
    """Trains a classification model with minibatch gradient descent.

    Each epoch walks a fresh permutation of the training set in minibatches (the last, partial
    batch included), updating every parameter with the chosen rule and its own optimizer
    config. After the first iteration (epoch 0) and after each epoch, train accuracy is
    measured on a random subsample and validation accuracy on the validation set, and the
    weights with the best validation accuracy are kept; ``train`` ends by putting them into the
    model. After each epoch the learning rate decays (``learning_rate *= lr_decay``).

    Parameters
    ----------
    model : object
        Follows the model contract in the module docstring.
    data : dict
        X_train, y_train, X_val, y_val (X_test, y_test optional); never modified.
    update_rule : str
        A name in ``solver.optim.UPDATE_RULES``: 'sgd', 'sgd_momentum', 'rmsprop', 'adam'.
    optim_config : dict or None
        Hyperparameters for the rule (learning_rate, ...); each parameter gets its own copy.
    lr_decay : float > 0
        Factor applied to the learning rate after each epoch.
    batch_size : int
        Examples per minibatch.
    num_epochs : int
        Epochs to train in total (a resumed run continues up to this number).
    num_train_samples : int or None
        Training examples used for the per-epoch train accuracy; None for all.
    num_val_samples : int or None
        Validation examples used for the per-epoch val accuracy; None for all.
    seed : int
        Seed of the Solver's generator.
    checkpoint_name : str, os.PathLike or None
        The course's: if set, ``train`` writes the checkpoint ``{checkpoint_name}_epoch_{e}.npz``
        after every epoch e (an .npz as ``save_checkpoint`` writes, never a pickle).
    checkpoint_dir : str, os.PathLike or None
        If set, ``train`` writes ``last.npz`` there after every epoch and ``best.npz`` whenever
        the validation accuracy improves.
    settings : dict or None
        JSON-serialisable information saved in every checkpoint (the CLI keeps its dataset and
        model there); the Solver itself does not read it.
    print_every : int
        With verbose, print the loss every print_every iterations (the course's default, 10).
    verbose : bool
        Print the course's lines (the default, as the course's Solver); False prints nothing.
    progress_bar : bool
        Show a progress bar per epoch on stderr (what ``solver train`` shows).

    Attributes
    ----------
    epoch : int
        Completed epochs.
    loss_history : list of float
        The minibatch loss of every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies after the first iteration (epoch 0) and after each epoch: entry e is epoch
        e's, num_epochs + 1 entries in all.
    best_val_acc : float
        The best validation accuracy at the end of an epoch (epoch 0 does not compete: its
        weights are one iteration old, not a whole epoch's).
    best_params, best_buffers : dict
        Copies of the model's params and buffers from that epoch.
    optim_configs : dict
        Parameter name -> the update rule's current config for it.
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=10, verbose=True, seed=0, checkpoint_dir=None,
                 settings=None, progress_bar=False):
        if not isinstance(getattr(model, "params", None), dict) or not callable(
                getattr(model, "loss", None)):
            raise TypeError(
                "Solver: model must have a dict `params` and a method `loss(X, y=None)`, "
                f"got {type(model).__name__}")
        if not model.params:
            raise ValueError(
                f"Solver: the model has no parameters to train ({type(model).__name__})")
        self.model = model
        self.X_train, self.y_train = self._split("train", data)
        self.X_val, self.y_val = self._split("val", data)
        for split in ("train", "val"):
            self._check_fits(split, getattr(self, f"X_{split}"), getattr(self, f"y_{split}"))

        if update_rule not in UPDATE_RULES:
            raise ValueError(
                f"Solver: update_rule must be one of {', '.join(map(repr, UPDATE_RULES))}, "
                f"got {update_rule!r}")
        self.update_rule = update_rule
        self._update = UPDATE_RULES[update_rule]
        self.optim_config = validate_config(update_rule, optim_config)
        if not (isinstance(lr_decay, numbers.Real) and 0 < lr_decay < math.inf):
            raise ValueError(f"Solver: lr_decay must be a finite number > 0, got {lr_decay!r}")
        self.lr_decay = float(lr_decay)
        self.batch_size = _check_count("batch_size", batch_size)
        self.num_epochs = _check_count("num_epochs", num_epochs, minimum=0)
        self.num_train_samples = _check_count(
            "num_train_samples", num_train_samples, allow_none=True)
        self.num_val_samples = _check_count("num_val_samples", num_val_samples, allow_none=True)
        self.seed = _check_count("seed", seed, minimum=0)
        self.checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        self.checkpoint_name = None if checkpoint_name is None else os.fspath(checkpoint_name)
        self.print_every = _check_count("print_every", print_every)
        self.settings = {} if settings is None else settings
        if not isinstance(self.settings, dict):
            raise TypeError(f"Solver: settings must be a dict, got {type(settings).__name__}")
        try:
            json.dumps(self.settings, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Solver: settings must be JSON-serialisable: {error}") from None
        self.verbose = bool(verbose)
        self.progress_bar = bool(progress_bar)

        self._rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.best_val_acc = 0.0
        self.best_params = {}
        self.best_buffers = {}
        self.optim_configs = {name: dict(self.optim_config) for name in model.params}
        # The weights training left off with, while the model holds the best ones (after train).
        self._last = None

    @staticmethod
    def _split(split, data):
        """X and y of one split from ``data``, checked: y holds one integer label per row of X."""
        if not isinstance(data, dict):
            raise TypeError(f"Solver: data must be a dict, got {type(data).__name__}")
        missing = [key for key in REQUIRED_DATA if key not in data]
        if missing:
            raise ValueError(
                f"Solver: data lacks {', '.join(missing)}; it needs {', '.join(REQUIRED_DATA)}")
        X, y = np.asarray(data[f"X_{split}"]), np.asarray(data[f"y_{split}"])
        if X.ndim < 2 or len(X) == 0:
            raise ValueError(
                f"Solver: X_{split} must have shape (N, d1, ..., dk) with N >= 1, got {X.shape}")
        whole = y.dtype.kind == "f" and y.size and np.all(y == np.round(y))  # 3.0 is label 3
        if y.ndim != 1 or not (y.dtype.kind in "iu" or whole):
            raise ValueError(
                f"Solver: y_{split} must be a 1-d array of integer labels, "
                f"got dtype {y.dtype} and shape {y.shape}")
        if len(y) != len(X):
            raise ValueError(
                f"Solver: X_{split} and y_{split} must have the same length, "
                f"got {len(X)} and {len(y)}")
        return X, y.astype(np.intp, copy=False)

    def _check_fits(self, split, X, y):
        """Score one example of the split (test mode: nothing changes), so that data the model
        cannot take is refused now rather than an epoch into training; labels must index the
        scores' columns."""
        try:
            scores = self.model.loss(X[:1])
        except (ValueError, TypeError) as error:
            raise ValueError(f"Solver: X_{split} of shape {X.shape} does not fit the model: "
                             f"{error}") from error
        C = np.shape(scores)[-1]
        if y.min() < 0 or y.max() >= C:
            bad = y[(y < 0) | (y >= C)][0]
            raise ValueError(f"Solver: y_{split} holds label {bad}; the model scores "
                             f"{C} classes, so labels must lie in [0, {C})")

    @property
    def _buffers(self):
        return getattr(self.model, "buffers", {})

    def train(self):
        """Train from the current epoch up to ``num_epochs``; returns self.

        On return the model holds the weights (and buffers) with the best validation accuracy;
        calling ``train`` again (say, after raising ``num_epochs``) continues from the weights
        training left off with.

        Raises
        ------
        TrainingDiverged
            If a loss is NaN or infinite. The model then holds the best weights so far and,
            with checkpoint_dir, ``last.npz`` is written with them (its ``diverged`` entry
            says where); ``best.npz`` holds the last good checkpoint to resume from.
        """
        if self._last is not None:
            self._set_model_state(*self._last)
            self._last = None
        if self.epoch == 0:
            # Until an epoch is measured, the best weights are the ones training starts from.
            self.best_params, self.best_buffers = self._copy_model_state()
        if self.checkpoint_dir is not None:
            os.makedirs(self.checkpoint_dir, exist_ok=True)

        num_train = len(self.X_train)
        iterations = math.ceil(num_train / self.batch_size)
        # On a terminal the bar redraws 10 times a second; into a file or a pipe each redraw
        # is kept, so there it is drawn at the epoch's start and end (and every minute).
        refresh = 0.1 if getattr(sys.stderr, "isatty", lambda: False)() else 60
        total = self.num_epochs * iterations
        for epoch in range(self.epoch, self.num_epochs):
            order = self._rng.permutation(num_train)  # (N_train,)
            with tqdm(total=iterations, desc=f"epoch {epoch + 1}/{self.num_epochs}",
                      disable=not self.progress_bar, leave=True, mininterval=refresh) as bar:
                epoch_loss = 0.0
                for it in range(iterations):
                    idx = order[it * self.batch_size:(it + 1) * self.batch_size]  # (B,)
                    loss = self._step(self.X_train[idx], self.y_train[idx])
                    if not math.isfinite(loss):
                        self._diverge(epoch, it, iterations, loss)
                    self.loss_history.append(loss)
                    t = len(self.loss_history) - 1  # iterations done before this one
                    if self.verbose and t % self.print_every == 0:
                        print(f"(Iteration {t + 1} / {total}) loss: {loss:f}")
                    if t == 0:
                        self._check_epoch_zero()
                    epoch_loss += loss
                    bar.set_postfix(loss=epoch_loss / (it + 1), refresh=False)
                    bar.update()
                self._end_epoch()
                bar.set_postfix(loss=f"{epoch_loss / iterations:.4f}",
                                train_acc=f"{self.train_acc_history[-1]:.3f}",
                                val_acc=f"{self.val_acc_history[-1]:.3f}")

        self._last = self._copy_model_state()
        self._set_model_state(self.best_params, self.best_buffers)
        return self

    def _step(self, X_batch, y_batch):
        """One minibatch: loss and gradients, then every parameter updated. Returns the loss."""
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            return loss
        params = self.model.params
        for name, w in params.items():
            params[name], self.optim_configs[name] = self._update(
                w, grads[name], self.optim_configs[name])
        if "dropout_step" in self._buffers:  # the next iteration draws fresh dropout masks
            self._buffers["dropout_step"] = np.array(self._buffers["dropout_step"] + 1, np.int64)
        return loss

    def _check_epoch_zero(self):
        """The course's epoch 0: accuracy after the first iteration, from a generator of its
        own so that the training stream is the one a run without it draws. It is recorded and
        printed, but not a candidate for the best weights: best.npz holds a whole epoch."""
        rng = np.random.default_rng(self.seed)
        self._record_accuracy(
            self._accuracy(self.X_train, self.y_train, self.num_train_samples, rng),
            self._accuracy(self.X_val, self.y_val, self.num_val_samples, rng))

    def _record_accuracy(self, train_acc, val_acc):
        """Append to the histories and, with verbose, print the course's line."""
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                  f"val_acc: {val_acc:f}")

    def _end_epoch(self):
        """Decay the learning rate, measure accuracy, keep the best, write checkpoints."""
        self.epoch += 1
        for config in self.optim_configs.values():
            config["learning_rate"] *= self.lr_decay
        train_acc = self._accuracy(self.X_train, self.y_train, self.num_train_samples, self._rng)
        val_acc = self._accuracy(self.X_val, self.y_val, self.num_val_samples, self._rng)
        self._record_accuracy(train_acc, val_acc)
        # The first epoch is the best so far, whatever its accuracy.
        improved = self.epoch == 1 or val_acc > self.best_val_acc
        if improved:
            self.best_val_acc = val_acc
            self.best_params, self.best_buffers = self._copy_model_state()
        if self.checkpoint_name is not None:
            self.save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
        if self.checkpoint_dir is not None:
            # best.npz first: stopped between the two writes, last.npz still holds the epoch
            # before, whose resumed run redoes this epoch and writes best.npz again (the same
            # weights). The other order would leave last.npz past an improvement best.npz
            # never got, and the resumed run would not write it.
            if improved:
                self.save_checkpoint(os.path.join(self.checkpoint_dir, "best.npz"))
            self.save_checkpoint(os.path.join(self.checkpoint_dir, "last.npz"))

    def _diverge(self, epoch, it, iterations, loss):
        """Keep the best weights, record where it happened, and raise TrainingDiverged."""
        self._set_model_state(self.best_params, self.best_buffers)
        where = {"epoch": epoch + 1, "iteration": it + 1, "loss": repr(loss)}
        if self.checkpoint_dir is not None:
            self.save_checkpoint(os.path.join(self.checkpoint_dir, "last.npz"), diverged=where)
        learning_rate = next(iter(self.optim_configs.values()))["learning_rate"]
        raise TrainingDiverged(
            f"Solver.train: training diverged: the loss became {loss} at epoch {epoch + 1} of "
            f"{self.num_epochs}, iteration {it + 1} of {iterations}; the model now holds the "
            f"best weights so far. Try a lower learning rate (it was {learning_rate:g}).",
            epoch + 1, it + 1, loss)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """The fraction of examples the model classifies correctly.

        Parameters
        ----------
        X : ndarray of shape (N, d1, ..., dk)
        y : ndarray of shape (N,)
            Integer labels.
        num_samples : int or None
            If set and smaller than N, use a random subsample of that size, drawn from a fresh
            ``default_rng(seed)`` (so the training run's random stream is left alone).
        batch_size : int
            Examples scored at a time.

        Returns
        -------
        float
        """
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim < 2 or len(X) == 0:
            raise ValueError(
                f"Solver.check_accuracy: X must have shape (N, d1, ..., dk) with N >= 1, "
                f"got {X.shape}")
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"Solver.check_accuracy: y must have shape (N,) = ({len(X)},) to match X, "
                f"got {y.shape}")
        num_samples = _check_count("num_samples", num_samples, allow_none=True)
        batch_size = _check_count("batch_size", batch_size)
        return self._accuracy(X, y, num_samples, np.random.default_rng(self.seed), batch_size)

    def _accuracy(self, X, y, num_samples, rng, batch_size=100):
        """Accuracy on X, y or, with num_samples < N, on a subsample drawn from rng."""
        N = len(X)
        if num_samples is not None and N > num_samples:
            idx = rng.choice(N, num_samples, replace=False)  # (num_samples,)
            X, y = X[idx], y[idx]
            N = num_samples
        correct = 0
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])  # (B, C)
            correct += int(np.sum(np.argmax(scores, axis=1) == y[start:start + batch_size]))
        return correct / N

    def _copy_model_state(self):
        """Copies of the model's params and buffers."""
        return ({name: w.copy() for name, w in self.model.params.items()},
                {name: b.copy() for name, b in self._buffers.items()})

    def _set_model_state(self, params, buffers):
        """Put copies of params and buffers into the model's dicts."""
        for name, w in params.items():
            self.model.params[name] = w.copy()
        for name, b in buffers.items():
            self._buffers[name] = b.copy()

    def save_checkpoint(self, path, *, diverged=None):
        """Write the whole training state to ``path`` (one ``.npz``), atomically.

        After ``train`` returns, the weights saved are those training left off with (the model
        holds the best ones), so that ``resume`` continues the run exactly.
        """
        params, buffers = self._last or (self.model.params, self._buffers)
        write_checkpoint(path, {
            "params": params, "buffers": buffers,
            "best_params": self.best_params, "best_buffers": self.best_buffers,
            "optim_configs": self.optim_configs,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "epoch": self.epoch, "best_val_acc": self.best_val_acc,
            "rng_state": self._rng.bit_generator.state,
            "solver": {
                "update_rule": self.update_rule, "optim_config": self.optim_config,
                "lr_decay": self.lr_decay, "batch_size": self.batch_size,
                "num_epochs": self.num_epochs, "num_train_samples": self.num_train_samples,
                "num_val_samples": self.num_val_samples, "seed": self.seed,
                "model": type(self.model).__name__},
            "settings": self.settings,
            "diverged": diverged,
        })

    def resume(self, path):
        """Load a checkpoint into this solver and its model; ``train()`` then continues the run.

        Weights, buffers, optimizer state (including the decayed learning rate), histories,
        best weights, epoch and the generator's state all come from the checkpoint; the
        solver's own settings (num_epochs, batch_size, ...) stay as constructed. With the
        settings of the original run, resuming and training to num_epochs gives bit for bit
        the run trained in one go. To change a hyperparameter of the resumed run, edit
        ``solver.optim_configs[name]`` after resuming.

        Raises
        ------
        ValueError
            If the checkpoint cannot be read, was written when training diverged, was made
            with another update rule, or its parameters or buffers differ from the model's in
            name, shape or dtype.
        """
        state = read_checkpoint(path)
        where = f"Solver.resume: {os.fspath(path)!r}"
        if state["diverged"] is not None:
            # It holds the best weights but the failed epoch's losses: the same settings would
            # only diverge again, appending to a history that is no longer one run's.
            raise ValueError(
                f"{where} was written when training diverged {describe_divergence(state)}; "
                f"train again with a lower learning rate")
        saved_rule = state["solver"].get("update_rule")
        if saved_rule != self.update_rule:
            raise ValueError(
                f"{where} was trained with update_rule={saved_rule!r}, this solver uses "
                f"{self.update_rule!r}")
        for group, current in (("params", self.model.params), ("buffers", self._buffers),
                               ("best_params", self.model.params),
                               ("best_buffers", self._buffers)):
            _check_same_arrays(where, group, state[group], current)
        if set(state["optim_configs"]) != set(self.model.params):
            raise ValueError(
                f"{where} holds optimizer state for {sorted(state['optim_configs'])}, the model "
                f"has parameters {sorted(self.model.params)}")
        rng_state = state["rng_state"]
        if rng_state.get("bit_generator") != type(self._rng.bit_generator).__name__:
            raise ValueError(
                f"{where} holds the state of a {rng_state.get('bit_generator')} generator, "
                f"not {type(self._rng.bit_generator).__name__}")

        self._set_model_state(state["params"], state["buffers"])
        self._last = None
        self.best_params, self.best_buffers = state["best_params"], state["best_buffers"]
        self.optim_configs = state["optim_configs"]
        self.loss_history = state["loss_history"]
        self.train_acc_history = state["train_acc_history"]
        self.val_acc_history = state["val_acc_history"]
        self.epoch = int(state["epoch"])
        self.best_val_acc = float(state["best_val_acc"])
        self._rng.bit_generator.state = rng_state
        return self


def describe_divergence(state):
    """Where a checkpoint's run diverged: 'at epoch 1, iteration 3, where the loss became nan'."""
    where = state["diverged"]
    return (f"at epoch {where['epoch']}, iteration {where['iteration']}, where the loss became "
            f"{where['loss']}")


def _check_same_arrays(where, group, saved, current):
    """Require the saved arrays to match the model's in names, shapes and dtypes."""
    if set(saved) != set(current):
        raise ValueError(
            f"{where}: the checkpoint's {group} are {sorted(saved)}, the model has "
            f"{sorted(current)}")
    for name, array in saved.items():
        if array.shape != current[name].shape or array.dtype != current[name].dtype:
            raise ValueError(
                f"{where}: {group}[{name!r}] is {array.dtype} of shape {array.shape} in the "
                f"checkpoint, {current[name].dtype} of shape {current[name].shape} in the model")
