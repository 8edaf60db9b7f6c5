"""The Solver's state and its checkpoints: copying the model's weights in and out, writing the
whole training state to one ``.npz`` and resuming a run from it, to the last bit.

``Solver`` inherits these methods from ``SolverState``; they read and write the attributes
``Solver.__init__`` sets (model, histories, best weights, optimizer configs, epoch, the
generator ``_rng``). The file format itself is ``solver.checkpoint``'s.
"""

import os

from .checkpoint import read_checkpoint, write_checkpoint


class SolverState:
    """The part of the Solver that moves state: model <-> copies, solver <-> checkpoint."""

    @property
    def _buffers(self):
        return getattr(self.model, "buffers", {})

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
            "val_loss_history": self.val_loss_history,
            "grad_norm_history": self.grad_norm_history,
            "epoch": self.epoch, "best_val_acc": self.best_val_acc,
            "rng_state": self._rng.bit_generator.state,
            "solver": {
                "update_rule": self.update_rule, "optim_config": self.optim_config,
                "lr_decay": self.lr_decay, "batch_size": self.batch_size,
                "num_epochs": self.num_epochs, "num_train_samples": self.num_train_samples,
                "num_val_samples": self.num_val_samples, "seed": self.seed,
                "patience": self.patience,
                "clip_norm": self.clip_norm,
                "model": type(self.model).__name__},
            "settings": self.settings,
            "diverged": diverged,
        })

    def resume(self, path):
        """Load a checkpoint into this solver and its model; ``train()`` then continues the run.

        Weights, buffers, optimizer state (including the decayed learning rate), histories,
        best weights, epoch and the generator's state all come from the checkpoint (and with
        them the epochs since the best one, which patience counts); the solver's own settings
        (num_epochs, batch_size, patience, ...) stay as constructed. With the
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
        self.val_loss_history = state["val_loss_history"]
        self.grad_norm_history = state["grad_norm_history"]
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
