"""The Solver: CS231n's training loop, with checkpoints that resume a run exactly.

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, print_every=100, seed=0)
    solver.train()              # the model now holds the best weights found
    solver.check_accuracy(data["X_test"], data["y_test"])

The model contract (see ``solver.models``):

    model.params         dict name -> ndarray, the learnable parameters
    model.buffers        dict name -> ndarray, non-learnable state such as batchnorm running
                         statistics and the dropout step (optional; empty when missing)
    model.loss(X)        -> scores, ndarray of shape (N, C), or (N, T, V) for sequences
    model.loss(X, y)     -> (loss, grads), grads a dict keyed like params

The Solver replaces entries of ``model.params`` and ``model.buffers`` with new arrays; it never
writes into the arrays themselves.

``data`` is CS231n's dict: X_train (N_train, d1, ..., dk), y_train (N_train,), X_val, y_val
(X_test, y_test optional and unused here). Shapes: N examples, C classes.

Sequences (a ``LanguageModel``): X_train (N_train, T) integer tokens and y_train (N_train, T)
the token that should follow each, -1 where a step is not scored (the question of a
generated task); the model scores (N, T, V), and accuracy is the share of the scored steps
whose most likely token is right. Each window is drawn and scored on its own, from a zero
state: truncated backpropagation through time, which carries the state from window to
window, is ``solver.sequence_training.train_sequence_model``'s.

Gradient clipping (``clip_norm``): before each update the gradients are rescaled together so
that their joint L2 norm is at most clip_norm (``solver.sequence_training.clip_gradients``,
the rule of torch's ``clip_grad_norm_``); ``grad_norm_history`` keeps each iteration's norm
before clipping.

The course's keywords and printout: with ``verbose`` (the default) ``train`` prints
``(Iteration 1 / 4900) loss: 2.302585`` every ``print_every`` iterations and
``(Epoch 0 / 10) train acc: 0.100000; val_acc: 0.087000`` after the first iteration (epoch 0)
and after every epoch, so the accuracy histories hold num_epochs + 1 entries. The command line
turns the prints off and shows a progress bar instead (``progress_bar=True``), or, outside a
terminal, one line per epoch (``on_epoch_end``).

The validation loss is measured with the validation accuracy, from the same scores: the test-
mode scores ``model.loss(X_val)`` (dropout off, batchnorm's running statistics) through the
softmax cross-entropy, ``layers.softmax_loss``. ``model.loss(X, y)`` would give a loss, but a
train-mode one: dropout masks drawn, batch statistics, and batchnorm's running averages
updated, so neither the figure the accuracy is measured on nor a state-free measurement. It is
the data term alone: the training loss also holds the L2 penalty (``0.5 * reg * sum(W**2)``),
which is not the model's fit to the data and which the contract does not expose. It costs no
extra forward pass and draws nothing from the generator.

Randomness, all from one local generator ``np.random.default_rng(seed)``, drawn in a fixed
order each epoch: the permutation of the training set, then the training subsample for the
accuracy check, then (with num_val_samples) the validation subsample. Its state is saved in
every checkpoint, which is what lets ``resume`` continue a run to the last bit. (Epoch 0's
check draws its subsamples from a generator of its own, ``default_rng(seed)``, as
``check_accuracy`` does.) The training loop owns time for the model too: after every iteration
it advances ``model.buffers['dropout_step']``, when there is one, so that each iteration draws
fresh dropout masks while every ``loss`` call within it sees the same ones.

This module holds the training loop; ``solver_inputs`` the constructor's checks and
``solver_state`` the copying of the model's state, ``save_checkpoint`` and ``resume``.
"""

import math
import numbers
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from layers import softmax_loss, temporal_softmax_loss

from .optim import UPDATE_RULES
from .sequence_training import update_parameters
from .solver_inputs import (REQUIRED_DATA, UNSCORED, check_clip_norm, check_count, check_fits,
                            check_model, check_path, check_settings, check_update_rule,
                            is_sequence, split_data)
from .solver_state import SolverState, describe_divergence

# The names this module offered before it was split, kept importable from here.
from .checkpoint import read_checkpoint, write_checkpoint  # noqa: E402,F401
from .optim import validate_config  # noqa: E402,F401
from .solver_state import _check_same_arrays  # noqa: E402,F401
_check_count = check_count


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; ``epoch`` and ``iteration`` (1-based) say where."""

    def __init__(self, message, epoch, iteration, loss):
        super().__init__(message)
        self.epoch = epoch
        self.iteration = iteration
        self.loss = loss


class Solver(SolverState):
    """Trains a classification model, or a language model on token windows, with minibatch
    gradient descent.

    Each epoch walks a fresh permutation of the training set in minibatches (the last, partial
    batch included), updating every parameter with the chosen rule and its own optimizer
    config. After the first iteration (epoch 0) and after each epoch, train accuracy is
    measured on a random subsample and validation accuracy and loss on the validation set, and
    the weights with the best validation accuracy are kept; ``train`` ends by putting them into
    the model. After each epoch the learning rate decays (``learning_rate *= lr_decay``).

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
        Validation examples used for the per-epoch val accuracy and loss; None for all.
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
        Show a progress bar per epoch on stderr (what ``solver train`` shows on a terminal).
    clip_norm : float > 0 or None
        Clip the gradients' joint L2 norm to this before every update; None (the default,
        as the course's Solver) never clips.
    patience : int or None
        Stop early once the validation accuracy has not improved for ``patience`` epochs
        (``stopped_early`` says so; the model still gets the best weights); None never stops.
    on_epoch_end : callable or None
        Called after every epoch (its checkpoints written) with a dict: epoch, train_loss (the
        mean minibatch loss of the epoch), train_acc, val_acc, val_loss, seconds (the epoch's).

    Attributes
    ----------
    epoch : int
        Completed epochs.
    loss_history : list of float
        The minibatch loss of every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies after the first iteration (epoch 0) and after each epoch: entry e is epoch
        e's, num_epochs + 1 entries in all.
    val_loss_history : list of float
        The validation loss at the same epochs (see the module docstring).
    best_val_acc : float
        The best validation accuracy at the end of an epoch (epoch 0 does not compete: its
        weights are one iteration old, not a whole epoch's).
    best_epoch : int
        That epoch (from 1; 0 before the first epoch ends).
    best_params, best_buffers : dict
        Copies of the model's params and buffers from that epoch.
    stopped_early : str or None
        Why the last ``train`` stopped before num_epochs, patience having run out (as
        'the validation accuracy has not improved for 5 epochs, since epoch 7'); else None.
    grad_norm_history : list of float
        With clip_norm: the gradients' joint norm before clipping, every iteration (empty
        without it).
    optim_configs : dict
        Parameter name -> the update rule's current config for it.
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=10, verbose=True, seed=0, checkpoint_dir=None,
                 settings=None, progress_bar=False, patience=None, on_epoch_end=None,
                 clip_norm=None):
        check_model(model)
        self.model = model
        self.X_train, self.y_train = split_data("train", data)
        self.X_val, self.y_val = split_data("val", data)
        for split in ("train", "val"):
            check_fits(model, split, getattr(self, f"X_{split}"), getattr(self, f"y_{split}"))

        self.optim_config = check_update_rule(update_rule, optim_config)
        self.update_rule = update_rule
        self._update = UPDATE_RULES[update_rule]
        if not (isinstance(lr_decay, numbers.Real) and 0 < lr_decay < math.inf):
            raise ValueError(f"Solver: lr_decay must be a finite number > 0, got {lr_decay!r}")
        self.lr_decay = float(lr_decay)
        self.batch_size = check_count("batch_size", batch_size)
        self.num_epochs = check_count("num_epochs", num_epochs, minimum=0)
        self.num_train_samples = check_count(
            "num_train_samples", num_train_samples, allow_none=True)
        self.num_val_samples = check_count("num_val_samples", num_val_samples, allow_none=True)
        self.seed = check_count("seed", seed, minimum=0)
        self.checkpoint_dir = check_path("checkpoint_dir", checkpoint_dir)
        self.checkpoint_name = check_path("checkpoint_name", checkpoint_name)
        self.print_every = check_count("print_every", print_every)
        self.settings = check_settings(settings)
        self.verbose = bool(verbose)
        self.progress_bar = bool(progress_bar)
        self.clip_norm = check_clip_norm(clip_norm)
        self.patience = check_count("patience", patience, allow_none=True)
        if on_epoch_end is not None and not callable(on_epoch_end):
            raise TypeError(f"Solver: on_epoch_end must be a function or None, got "
                            f"{type(on_epoch_end).__name__}")
        self.on_epoch_end = on_epoch_end

        self._rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.grad_norm_history = []
        self.val_loss_history = []
        self.best_val_acc = 0.0
        self.stopped_early = None
        self.best_params = {}
        self.best_buffers = {}
        self.optim_configs = {name: dict(self.optim_config) for name in model.params}
        # The weights training left off with, while the model holds the best ones (after train).
        self._last = None

    def train(self):
        """Train from the current epoch up to ``num_epochs``, or until ``patience`` runs out;
        returns self.

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
        self.stopped_early = None
        for epoch in range(self.epoch, self.num_epochs):
            if self.patience is not None and self.epoch - self.best_epoch >= self.patience:
                self._stop_early()
                break
            started = time.perf_counter()
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
                figures = {"epoch": self.epoch, "train_loss": epoch_loss / iterations,
                           "train_acc": self.train_acc_history[-1],
                           "val_acc": self.val_acc_history[-1],
                           "val_loss": self.val_loss_history[-1]}
                bar.set_postfix({name: f"{value:.4f}" if name.endswith("loss") else
                                 f"{value:.3f}" for name, value in figures.items()
                                 if name != "epoch"})
            if self.on_epoch_end is not None:
                self.on_epoch_end({**figures, "seconds": time.perf_counter() - started})

        self._last = self._copy_model_state()
        self._set_model_state(self.best_params, self.best_buffers)
        return self

    def _step(self, X_batch, y_batch):
        """One minibatch: loss and gradients, then every parameter updated. Returns the loss."""
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            return loss
        norm = update_parameters(self.model.params, grads, self.optim_configs, self._update,
                                 self.clip_norm)
        if self.clip_norm is not None:
            self.grad_norm_history.append(norm)
        if "dropout_step" in self._buffers:  # the next iteration draws fresh dropout masks
            self._buffers["dropout_step"] = np.array(self._buffers["dropout_step"] + 1, np.int64)
        return loss

    @property
    def best_epoch(self):
        # Epoch 1 is the best so far whatever its accuracy, then only a higher one replaces
        # it: the best epoch is the first after epoch 0 whose accuracy is best_val_acc.
        after_zero = self.val_acc_history[1:]
        return after_zero.index(self.best_val_acc) + 1 if self.epoch and after_zero else 0

    def _stop_early(self):
        """Patience has run out: say why (and, with verbose, print it)."""
        self.stopped_early = (
            f"the validation accuracy has not improved for {self.epoch - self.best_epoch} "
            f"epochs, since epoch {self.best_epoch}")
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) stopping early: "
                  f"{self.stopped_early}")

    def _check_epoch_zero(self):
        """The course's epoch 0: accuracy (and validation loss) after the first iteration,
        from a generator of its own so that the training stream is the one a run without it
        draws. It is recorded and printed, but not a candidate for the best weights: best.npz
        holds a whole epoch."""
        rng = np.random.default_rng(self.seed)
        self._record(self._score(self.X_train, self.y_train, self.num_train_samples, rng)[0],
                     *self._score(self.X_val, self.y_val, self.num_val_samples, rng, loss=True))

    def _record(self, train_acc, val_acc, val_loss):
        """Append to the histories and, with verbose, print the course's line."""
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.val_loss_history.append(val_loss)
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                  f"val_acc: {val_acc:f}")

    def _end_epoch(self):
        """Decay the learning rate, measure accuracy and loss, keep the best, write
        checkpoints."""
        self.epoch += 1
        for config in self.optim_configs.values():
            config["learning_rate"] *= self.lr_decay
        train_acc = self._score(self.X_train, self.y_train, self.num_train_samples, self._rng)[0]
        val_acc, val_loss = self._score(self.X_val, self.y_val, self.num_val_samples, self._rng,
                                        loss=True)
        self._record(train_acc, val_acc, val_loss)
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
        if (y.ndim != 1 or len(y) != len(X)) and not is_sequence(X, y):
            raise ValueError(
                f"Solver.check_accuracy: y must have shape (N,) = ({len(X)},) to match X "
                f"(or X's shape (N, T) for integer token windows), got {y.shape}")
        num_samples = check_count("num_samples", num_samples, allow_none=True)
        batch_size = check_count("batch_size", batch_size)
        rng = np.random.default_rng(self.seed)
        return self._score(X, y, num_samples, rng, batch_size=batch_size)[0]

    def _score(self, X, y, num_samples, rng, *, loss=False, batch_size=100):
        """``(accuracy, loss)`` on X, y or, with num_samples < N, on a subsample drawn from
        rng; with ``loss``, the mean softmax loss of the test-mode scores (else None)."""
        N = len(X)
        if num_samples is not None and N > num_samples:
            idx = rng.choice(N, num_samples, replace=False)  # (num_samples,)
            X, y = X[idx], y[idx]
            N = num_samples
        correct, counted, total = 0, 0, 0.0
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])  # (B, C) or (B, T, V)
            labels = y[start:start + batch_size]  # (B,) or (B, T)
            # every label of a classifier counts; a sequence's -1 targets do not
            scored = labels != UNSCORED if labels.ndim == 2 else np.ones(len(labels), bool)
            correct += int(np.sum((np.argmax(scores, axis=-1) == labels) & scored))
            counted += int(np.sum(scored))
            if loss:
                total += _data_loss(scores, labels, scored) * len(labels)
        return correct / counted, total / N if loss else None


def _data_loss(scores, labels, scored):
    """The loss of test-mode scores without the L2 term: softmax_loss's mean over the examples
    or, for sequences, temporal_softmax_loss's sum over the scored steps, averaged over the
    windows, as the training loss is."""
    if labels.ndim == 1:
        return float(softmax_loss(scores, labels)[0])
    return float(temporal_softmax_loss(scores, np.where(scored, labels, 0), scored)[0])
