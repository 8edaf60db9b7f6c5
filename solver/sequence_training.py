"""Training the sequence models: gradient clipping, one update of every parameter, a training
loop with truncated backpropagation through time, and the accuracy of a generated task.

    grads, norm = clip_gradients(grads, max_norm)       # rescale all together to norm <= max
    norm = update_parameters(params, grads, configs, rule, clip_norm)   # one step, as the Solver's
    history = train_sequence_model(model, batches, num_iterations, clip_norm=5.0)
    acc = sequence_accuracy(model, task)                 # answers right in every token

The Solver (``Solver(..., clip_norm=5.0)``) trains a LanguageModel too, on windows given as
arrays X (N, T) and y (N, T): it draws them in a shuffled order and starts each from a zero
state. Truncated backpropagation through time needs the windows of a stream in order, each
starting from the state the one before ended in, so it stays here, in
:func:`train_sequence_model`; both take their step from :func:`update_parameters`.
"""

import math
import numbers

import numpy as np

from solver.optim import get_update_rule


def global_norm(grads):
    """The joint L2 norm of a dict of gradients, ``sqrt(sum over all of sum(g**2))``, summed in
    float64 (a float32 sum of squares overflows at norms near 2e19)."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in (
        np.asarray(g, np.float64) for g in grads.values())))


def clip_gradients(grads, max_norm):
    """Rescale every gradient by one factor so that their joint L2 norm is at most max_norm.

    ``norm = sqrt(sum over all parameters of sum(g**2))``; if ``norm > max_norm`` each
    gradient is multiplied by ``max_norm / norm`` (its direction kept, its length capped:
    exploding gradients through time make a step of the same size as a normal one). The
    same rule as ``torch.nn.utils.clip_grad_norm_``.

    Parameters
    ----------
    grads : dict name -> ndarray
        Never modified.
    max_norm : float > 0

    Returns
    -------
    clipped : dict name -> ndarray
        New arrays when clipped, in each gradient's dtype; the same arrays otherwise.
    norm : float
        The joint norm before clipping. Gradients of an infinite or NaN norm pass through
        unclipped (a rescaling by 0 would hide them): the loss after the update shows it.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not (
            0 < max_norm < math.inf):
        raise ValueError(f"clip_gradients: max_norm must be a finite number > 0, "
                         f"got {max_norm!r}")
    if not isinstance(grads, dict):
        raise TypeError(f"clip_gradients: grads must be a dict of arrays, "
                        f"got {type(grads).__name__}")
    norm = global_norm(grads)
    if not math.isfinite(norm) or norm <= max_norm:
        return dict(grads), norm
    scale = max_norm / norm  # a Python float: float32 stays float32
    return {name: g * scale for name, g in grads.items()}, norm


def update_parameters(params, grads, configs, rule, clip_norm=None):
    """One step of gradient descent: clip the gradients' joint norm to ``clip_norm`` (when
    given), then update every parameter with ``rule``, each with its own config.

    Parameters
    ----------
    params : dict name -> ndarray
        Its entries are replaced by the updated arrays (the arrays themselves are not
        written into).
    grads : dict name -> ndarray
        Keyed like params.
    configs : dict name -> dict
        The rule's config of each parameter; entries replaced by the configs the rule returns.
    rule : callable
        ``next_w, config = rule(w, dw, config)``, as the rules of ``solver.optim``.
    clip_norm : float > 0, optional

    Returns
    -------
    norm : float
        The gradients' joint norm before clipping.
    """
    if clip_norm is not None:
        grads, norm = clip_gradients(grads, clip_norm)
    else:
        norm = global_norm(grads)
    for name, w in params.items():
        params[name], configs[name] = rule(w, grads[name], configs[name])
    return norm


def train_sequence_model(model, batches, num_iterations, *, update_rule="adam",
                         optim_config=None, clip_norm=None, carry_state=False):
    """Train a sequence model with an update rule of ``solver.optim``.

    Parameters
    ----------
    model : LanguageModel
        Anything with ``params`` and ``loss_with_state(X, y, mask, state)``.
    batches : callable
        ``batches(iteration) -> (X, y, mask, first)``: the batch of one iteration; ``first``
        False continues the stream of the batch before (truncated backpropagation through
        time: the state carries over, the gradient stops at the window's edge).
    num_iterations : int
    update_rule : str, default 'adam'
    optim_config : dict, optional
        Hyperparameters for every parameter (learning_rate, ...).
    clip_norm : float, optional
        Clip the joint gradient norm to this (:func:`clip_gradients`) before each update.
    carry_state : bool, default False
        Start each window from the state the previous one ended in, unless ``first``.

    Returns
    -------
    history : dict
        ``loss`` and ``grad_norm`` (before clipping) of every iteration, as lists.

    Raises
    ------
    FloatingPointError
        When the loss is not finite: the gradients exploded (try clip_norm).
    """
    rule = get_update_rule(update_rule)
    configs = {name: dict(optim_config or {}) for name in model.params}
    history = {"loss": [], "grad_norm": []}
    state = None
    for iteration in range(num_iterations):
        X, y, mask, first = batches(iteration)
        start = state if carry_state and not first else None
        loss, grads, state = model.loss_with_state(X, y, mask, start)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"train_sequence_model: the loss is {loss} at iteration {iteration}: the "
                f"gradients exploded; pass clip_norm or lower the learning rate")
        norm = update_parameters(model.params, grads, configs, rule, clip_norm)
        history["loss"].append(loss)
        history["grad_norm"].append(norm)
    return history


def task_batches(make_task, batch_size, seed=0):
    """``batches`` for :func:`train_sequence_model` from a generated task: a fresh batch of
    ``make_task(batch_size, rng)`` every iteration, each its own sequences."""
    rng = np.random.default_rng(seed)

    def batches(iteration):
        task = make_task(batch_size, rng)
        return task.X, task.y, task.mask, True
    return batches


def text_batches(windows):
    """``batches`` for :func:`train_sequence_model` from a list of
    :func:`~solver.sequence_data.tbptt_windows`, walked in order, again and again."""
    def batches(iteration):
        X, y, first = windows[iteration % len(windows)]
        return X, y, None, first
    return batches


def next_token_accuracy(model, windows):
    """The share of tokens a model predicts right (its most likely next token), reading
    :func:`~solver.sequence_data.tbptt_windows` in order and carrying its state across them.

    Parameters
    ----------
    model : LanguageModel
    windows : iterable of (X, y, first)

    Returns
    -------
    float
    """
    right = total = 0
    state = None
    for X, y, first in windows:
        scores, state = model.predict(X, None if first else state)
        right += int(np.sum(scores.argmax(axis=2) == y))
        total += y.size
    return right / total


def sequence_accuracy(model, task):
    """The share of the task's sequences whose answer the model gets right in every token.

    Scored with the true answer fed in (teacher forcing): if every answer token is the most
    likely one given the right tokens before it, greedy generation produces exactly these
    tokens, so this is also the exact-match accuracy of greedy decoding.

    Returns
    -------
    sequences : float
        Answers right in every token.
    tokens : float
        Answer tokens right.
    """
    predicted = model.loss(task.X).argmax(axis=2)  # (N, T)
    right = (predicted == task.y) | ~task.mask
    token_right = (predicted == task.y)[task.mask]
    return float(np.mean(right.all(axis=1))), float(np.mean(token_right))


def gradient_through_time(cell, x, h0, Wx, Wh, b):
    """How the gradient of a loss on the last hidden state reaches the earlier steps.

    Runs the cell forward over x step by step, then sends back the gradient of
    ``L = sum(h_T)`` with the step backwards, recording after each step backward the norm
    of the gradient it passed on to the state before it: ``||dL/dh||`` for the RNN, and for
    the LSTM both ``||dL/dh||`` and ``||dL/dc||``, the cell path, on which the gradient is
    only multiplied by the forget gate from one step to the one before.

    Parameters
    ----------
    cell : {'rnn', 'lstm'}
    x : ndarray of shape (N, T, D)
    h0 : ndarray of shape (N, H)
    Wx, Wh, b : ndarrays
        As :func:`layers.rnn_forward` or :func:`layers.lstm_forward`.

    Returns
    -------
    norms : dict
        ``'h'`` (and for the LSTM ``'c'``): ndarray of shape (T,), entry k - 1 the norm of
        the gradient reaching the state k steps before the last one (the last entry: h0,
        and the LSTM's initial cell state).
    """
    from layers import lstm_step_backward, lstm_step_forward, rnn_step_backward, rnn_step_forward

    if cell not in ("rnn", "lstm"):
        raise ValueError(f"gradient_through_time: cell must be 'rnn' or 'lstm', got {cell!r}")
    T = x.shape[1]
    caches, h, c = [], h0, np.zeros_like(h0)
    for t in range(T):
        if cell == "rnn":
            h, cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        else:
            h, c, cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(cache)
    norms = {"h": np.empty(T)} if cell == "rnn" else {"h": np.empty(T), "c": np.empty(T)}
    dh, dc = np.ones_like(h), np.zeros_like(h)  # L = sum(h_T)
    for k, t in enumerate(reversed(range(T))):
        if cell == "rnn":
            _, dh, *_ = rnn_step_backward(dh, caches[t])
        else:
            _, dh, dc, *_ = lstm_step_backward(dh, dc, caches[t])
            norms["c"][k] = np.linalg.norm(dc)
        norms["h"][k] = np.linalg.norm(dh)
    return norms
