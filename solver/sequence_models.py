"""Models over sequences: the course's image captioner, and a language model over tokens.

    CaptioningRNN(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell_type='rnn'|'lstm')
        loss(features, captions) -> (loss, grads);   sample(features, max_length) -> captions
    LanguageModel(vocab_size, wordvec_dim, hidden_dim, cell_type='rnn'|'lstm'|'transformer')
        loss(X, y=None, mask=None) -> scores, or (loss, grads)
        loss_with_state(X, y, mask=None, state=None) -> (loss, grads, next_state)   (TBPTT)
        sample(prompt, length, temperature=1.0, rng=None, context=None) -> tokens
        generate(prompt, temperature=1.0, rng=None, context=None) -> one step's tokens at a time

Both follow the models' contract (``params``, ``buffers`` (empty), ``reg``, ``dtype``) and are
built from the pairs of ``layers.recurrent`` and ``layers.attention``. Initial weights: with
``seed=None`` they come from numpy's global generator in the course's order (so
``np.random.seed(231)`` gives the course's model); an int seed uses a local generator.

Shapes: N sequences (or images), T time steps, D image features, W word-vector size, H hidden
units, V words or characters in the vocabulary.
"""

import numbers

import numpy as np

from layers import (
    affine_backward, affine_forward, layernorm_backward, layernorm_forward, lstm_backward,
    lstm_final_cell, lstm_forward, lstm_step_forward, rnn_backward, rnn_forward, rnn_step_forward,
    sinusoidal_positional_encoding, temporal_affine_backward, temporal_affine_forward,
    temporal_softmax_loss, transformer_block_backward, transformer_block_forward,
    word_embedding_backward, word_embedding_forward)

from solver.classifier import (
    _check_choice, _check_dtype, _check_memory, _check_size, _draw, _Regularized)
from solver.solver_inputs import UNSCORED

# cell -> (sequence forward, its backward, one step, blocks of H columns in Wx, Wh and b)
RECURRENT_CELLS = {
    "rnn": (rnn_forward, rnn_backward, rnn_step_forward, 1),
    "lstm": (lstm_forward, lstm_backward, lstm_step_forward, 4),
}
BLOCK_PARAMS = ("ln1_gamma", "ln1_beta", "Wq", "Wk", "Wv", "Wo", "ln2_gamma", "ln2_beta",
                "W1", "b1", "W2", "b2")


def _tokens(model, name, X, vocab_size, unscored=False):
    """Token ids of an (N, T) batch, integers in [0, V) (or -1, with ``unscored``)."""
    X = np.asarray(X)
    if X.dtype.kind not in "iu" or X.ndim != 2:
        raise ValueError(f"{model}: {name} must be an integer array of shape (N, T), got "
                         f"{X.dtype} of shape {X.shape}")
    ids = X[X != UNSCORED] if unscored else X
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        extra = f" (or {UNSCORED}: not scored)" if unscored else ""
        raise ValueError(f"{model}: {name} must hold ids in [0, V) = [0, {vocab_size}){extra}, "
                         f"got values in [{X.min()}, {X.max()}]")
    return X


class CaptioningRNN(_Regularized):
    """The course's image captioner: an RNN or LSTM whose first hidden state is projected
    from the image's features, trained to predict each next word of a caption.

        h0 = features @ W_proj + b_proj                                  (N, H)
        x = W_embed[captions[:, :-1]]                                    (N, T-1, W)
        h = rnn_forward or lstm_forward(x, h0, Wx, Wh, b)                (N, T-1, H)
        scores = h @ W_vocab + b_vocab                                   (N, T-1, V)
        loss = temporal_softmax_loss(scores, captions[:, 1:], captions[:, 1:] != <NULL>)

    Parameters
    ----------
    word_to_idx : dict str -> int
        The vocabulary, V = len(word_to_idx) words; must hold '<NULL>' (padding) and, to
        sample, '<START>' (and '<END>', where sampling stops).
    input_dim : int
        D, the size of an image's feature vector.
    wordvec_dim : int
        W, the size of a word vector.
    hidden_dim : int
        H, the size of the hidden state.
    cell_type : {'rnn', 'lstm'}
    dtype : numpy float dtype, default float32
        Of every parameter and computation (float64 for gradient checks).
    seed : None or int, default None
        None draws the weights from numpy's global state in the course's order.
    reg : float, default 0.0
        L2 strength, ``0.5 * reg * sum(W**2)`` over the weight matrices (the course's has none).

    Attributes
    ----------
    params : dict
        W_embed (V, W), W_proj (D, H), b_proj (H,), Wx (W, H) or (W, 4H), Wh (H, H) or
        (H, 4H), b (H,) or (4H,), W_vocab (H, V), b_vocab (V,): the course's names.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32, seed=None, reg=0.0):
        name = "CaptioningRNN"
        self.cell_type = _check_choice(name, "cell_type", cell_type, tuple(RECURRENT_CELLS))
        if not isinstance(word_to_idx, dict) or "<NULL>" not in word_to_idx:
            raise ValueError(f"{name}: word_to_idx must be a dict holding '<NULL>' (the padding "
                             f"word), got {type(word_to_idx).__name__}")
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>")
        self._end = word_to_idx.get("<END>")
        D, W, H = (_check_size(name, n, v) for n, v in (
            ("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)))
        V = len(word_to_idx)
        G = RECURRENT_CELLS[self.cell_type][3]
        self.dtype = _check_dtype(name, dtype)
        self.reg = reg
        self.buffers = {}
        _check_memory(name, V * W + D * H + H + G * H * (W + H + 1) + H * V + V)
        randn = _draw(name, seed)
        # the course's draws, in the course's order and scales; biases start at zero
        params = {"W_embed": randn(V, W) / 100,
                  "W_proj": randn(D, H) / np.sqrt(D), "b_proj": np.zeros(H),
                  "Wx": randn(W, G * H) / np.sqrt(W), "Wh": randn(H, G * H) / np.sqrt(H),
                  "b": np.zeros(G * H),
                  "W_vocab": randn(H, V) / np.sqrt(H), "b_vocab": np.zeros(V)}
        self.params = {k: v.astype(self.dtype) for k, v in params.items()}

    def __repr__(self):
        W, GH = self.params["Wx"].shape
        return (f"CaptioningRNN(V={len(self.word_to_idx)}, input_dim="
                f"{self.params['W_proj'].shape[0]}, wordvec_dim={W}, hidden_dim="
                f"{self.params['Wh'].shape[0]}, cell_type={self.cell_type!r}, "
                f"dtype={self.dtype.name})")

    def loss(self, features, captions):
        """The captioning loss and the gradient of every parameter.

        Parameters
        ----------
        features : ndarray of shape (N, D)
            Image features.
        captions : ndarray of shape (N, T), integers in [0, V)
            Captions, each beginning with <START> and padded with <NULL>; the model reads
            ``captions[:, :-1]`` and is scored on predicting ``captions[:, 1:]``.

        Returns
        -------
        loss : float
        grads : dict
            Keyed like ``params``.
        """
        p = self.params
        V = p["W_vocab"].shape[1]
        captions = _tokens("CaptioningRNN.loss", "captions", captions, V)
        if captions.shape[1] < 2:
            raise ValueError(f"CaptioningRNN.loss: captions must have T >= 2 words (the model "
                             f"predicts each word from the ones before), got shape "
                             f"{captions.shape}")
        features = np.asarray(features, dtype=self.dtype)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        forward, backward = RECURRENT_CELLS[self.cell_type][:2]

        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])  # (N, H)
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])  # (N, T-1, W)
        h, cell_cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T-1, H)
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache, input_grad=False)
        return self._add_l2(loss, grads, ("W_embed", "W_proj", "Wx", "Wh", "W_vocab"))

    def sample(self, features, max_length=30):
        """Greedy captions: from <START>, feed back the most likely word at every step.

        Parameters
        ----------
        features : ndarray of shape (N, D)
        max_length : int, default 30

        Returns
        -------
        captions : ndarray of shape (N, max_length), int
            The words after <START>; after <END> a caption holds <NULL>.
        """
        if self._start is None:
            raise ValueError("CaptioningRNN.sample: word_to_idx has no '<START>' to begin with")
        max_length = _check_size("CaptioningRNN.sample", "max_length", max_length)
        p = self.params
        features = np.asarray(features, dtype=self.dtype)
        N = features.shape[0]
        step = RECURRENT_CELLS[self.cell_type][2]
        h = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        c = np.zeros_like(h)
        words = np.full(N, self._start)
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        done = np.zeros(N, bool)
        for t in range(max_length):
            x = p["W_embed"][words]  # (N, W)
            if self.cell_type == "lstm":
                h, c, _ = step(x, h, c, p["Wx"], p["Wh"], p["b"])
            else:
                h, _ = step(x, h, p["Wx"], p["Wh"], p["b"])
            words = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)  # (N,)
            captions[~done, t] = words[~done]
            if self._end is not None:
                done |= words == self._end
        return captions


class LanguageModel(_Regularized):
    """A next-token model over sequences of integer tokens (characters, digits):
    an RNN, an LSTM or a stack of causal transformer blocks between an embedding and a
    projection onto the vocabulary.

        x = W_embed[X]                                            (N, T, W)
        rnn / lstm:     h = cell(x, h0)                           (N, T, H), h0 = state or 0
        transformer:    h = blocks(x + positional encoding)       (N, T, W), then layernorm
        scores = h @ W_vocab + b_vocab                            (N, T, V)

    Parameters
    ----------
    vocab_size : int
        V.
    wordvec_dim : int
        W, the embedding size (the transformer's model width).
    hidden_dim : int
        H for the recurrent cells; the width of the transformer's MLP.
    cell_type : {'rnn', 'lstm', 'transformer'}
    num_layers : int, default 2
        Transformer blocks (recurrent models have one layer).
    num_heads : int, default 4
        Attention heads per block; divides wordvec_dim.
    dtype : numpy float dtype, default float32
    seed : None or int, default None
    reg : float, default 0.0

    Notes
    -----
    For the LSTM the forget gate's bias starts at 1, so the cell path carries memory from
    the first step (Jozefowicz et al., 2015); every other bias starts at 0.
    """

    def __init__(self, vocab_size, wordvec_dim=64, hidden_dim=128, cell_type="lstm", *,
                 num_layers=2, num_heads=4, dtype=np.float32, seed=None, reg=0.0):
        name = "LanguageModel"
        choices = tuple(RECURRENT_CELLS) + ("transformer",)
        self.cell_type = _check_choice(name, "cell_type", cell_type, choices)
        V, W, H = (_check_size(name, n, v) for n, v in (
            ("vocab_size", vocab_size), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)))
        self.num_layers = _check_size(name, "num_layers", num_layers)
        self.num_heads = _check_size(name, "num_heads", num_heads)
        if cell_type == "transformer" and W % self.num_heads:
            raise ValueError(f"{name}: num_heads = {num_heads} must divide wordvec_dim = {W}")
        self.dtype = _check_dtype(name, dtype)
        self.reg = reg
        self.buffers = {}
        if self.cell_type in RECURRENT_CELLS:
            G = RECURRENT_CELLS[self.cell_type][3]
            inner, out_dim = G * H * (W + H + 1), H  # Wx, Wh, b
        else:
            blocks = self.num_layers * (4 * W * W + 2 * W * H + H + 5 * W)
            inner, out_dim = blocks + 2 * W, W  # the blocks, lnf_gamma, lnf_beta
        _check_memory(name, V * W + inner + out_dim * V + V)
        randn = _draw(name, seed)
        params = {"W_embed": randn(V, W) / np.sqrt(W)}
        if self.cell_type in RECURRENT_CELLS:
            params.update(Wx=randn(W, G * H) / np.sqrt(W), Wh=randn(H, G * H) / np.sqrt(H),
                          b=np.zeros(G * H))
            if self.cell_type == "lstm":
                params["b"][H:2 * H] = 1.0  # the forget gate, in the order i, f, o, g
        else:
            for layer in range(1, self.num_layers + 1):
                # the residual branches' output weights scaled down by the depth, as GPT-2
                depth = np.sqrt(2 * self.num_layers)
                block = {"ln1_gamma": np.ones(W), "ln1_beta": np.zeros(W),
                         "Wq": randn(W, W) / np.sqrt(W), "Wk": randn(W, W) / np.sqrt(W),
                         "Wv": randn(W, W) / np.sqrt(W), "Wo": randn(W, W) / np.sqrt(W) / depth,
                         "ln2_gamma": np.ones(W), "ln2_beta": np.zeros(W),
                         "W1": randn(W, H) / np.sqrt(W), "b1": np.zeros(H),
                         "W2": randn(H, W) / np.sqrt(H) / depth, "b2": np.zeros(W)}
                params.update({f"{key}{layer}": value for key, value in block.items()})
            params.update(lnf_gamma=np.ones(W), lnf_beta=np.zeros(W))
        params.update(W_vocab=randn(out_dim, V) / np.sqrt(out_dim), b_vocab=np.zeros(V))
        self.params = {k: v.astype(self.dtype) for k, v in params.items()}

    @property
    def vocab_size(self):
        return self.params["W_vocab"].shape[1]

    def __repr__(self):
        W = self.params["W_embed"].shape[1]
        extra = (f", num_layers={self.num_layers}, num_heads={self.num_heads}"
                 if self.cell_type == "transformer" else "")
        return (f"LanguageModel(vocab_size={self.vocab_size}, wordvec_dim={W}, "
                f"cell_type={self.cell_type!r}{extra}, dtype={self.dtype.name})")

    def _weights(self):
        return [k for k in self.params if k.startswith("W")]

    def _forward(self, X, state):
        """Scores (N, T, V), the caches, and the recurrent state after the last step."""
        p = self.params
        x, embed_cache = word_embedding_forward(X, p["W_embed"])  # (N, T, W)
        N, T, _ = x.shape
        if self.cell_type == "lstm":
            h0, c0 = (None, None) if state is None else state
            h0 = np.zeros((N, p["Wh"].shape[0]), self.dtype) if h0 is None else h0
            h, cell_cache = lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0)  # (N, T, H)
            caches = [cell_cache]
            next_state = (h[:, -1].copy(), lstm_final_cell(cell_cache))
        elif self.cell_type == "rnn":
            h0 = np.zeros((N, p["Wh"].shape[0]), self.dtype) if state is None else state
            h, cell_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
            caches = [cell_cache]
            next_state = h[:, -1].copy()
        else:
            h = x + sinusoidal_positional_encoding(T, x.shape[2], self.dtype)  # (N, T, W)
            caches = []
            for layer in range(1, self.num_layers + 1):
                h, cache = transformer_block_forward(
                    h, *(p[f"{key}{layer}"] for key in BLOCK_PARAMS), self.num_heads,
                    mask="causal")
                caches.append(cache)
            normed, lnf_cache = layernorm_forward(h.reshape(N * T, -1), p["lnf_gamma"],
                                                  p["lnf_beta"], {})
            h = normed.reshape(N, T, -1)
            caches.append(lnf_cache)
            next_state = None
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        return scores, (embed_cache, caches, vocab_cache), next_state

    def _backward(self, dscores, caches):
        embed_cache, inner, vocab_cache = caches
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        if self.cell_type in RECURRENT_CELLS:
            backward = RECURRENT_CELLS[self.cell_type][1]
            dx, _, grads["Wx"], grads["Wh"], grads["b"], *_ = backward(dh, inner[0])
        else:
            N, T, W = dh.shape
            dnormed, grads["lnf_gamma"], grads["lnf_beta"] = layernorm_backward(
                dh.reshape(N * T, W), inner[-1])
            dx = dnormed.reshape(N, T, W)
            for layer in range(self.num_layers, 0, -1):
                dx, *dblock = transformer_block_backward(dx, inner[layer - 1])
                grads.update({f"{key}{layer}": g for key, g in zip(BLOCK_PARAMS, dblock)})
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        return grads

    def attention_weights(self, X):
        """The transformer's attention weights on X: one (N, heads, T, T) array per block,
        row t the weights with which position t reads positions 0..t."""
        if self.cell_type != "transformer":
            raise ValueError(f"LanguageModel.attention_weights: a {self.cell_type} model has "
                             f"no attention")
        X = _tokens("LanguageModel.attention_weights", "X", X, self.vocab_size)
        _, (_, caches, _), _ = self._forward(X, None)
        # a block's cache holds its attention's cache second; that cache holds the weights
        # tenth (see layers.attention._multihead)
        return [block_cache[1][9] for block_cache in caches[:-1]]

    def predict(self, X, state=None):
        """Scores of the next token at every step, from a recurrent state (zeros when None),
        and the state after the last step (None for the transformer).

        Returns
        -------
        scores : ndarray of shape (N, T, V)
        next_state : h, (h, c) or None, as :meth:`loss_with_state`
        """
        X = _tokens("LanguageModel.predict", "X", X, self.vocab_size)
        scores, _, next_state = self._forward(X, state)
        return scores, next_state

    def loss(self, X, y=None, mask=None):
        """Scores, or the loss and gradients of predicting y from X.

        Parameters
        ----------
        X : ndarray of shape (N, T), integers in [0, V)
            Input tokens.
        y : ndarray of shape (N, T), integers in [0, V), optional
            The token that follows each input token; -1 at a step that is not scored (how
            the Solver's data say it, as torch's ``ignore_index``).
        mask : ndarray of shape (N, T), bool, optional
            The steps that count in the loss (all when None, except where y is -1).

        Returns
        -------
        scores : ndarray of shape (N, T, V), when y is None
        (loss, grads) : float and dict keyed like ``params``, otherwise
            The loss is summed over time and averaged over N, as ``temporal_softmax_loss``.
        """
        if y is None:
            X = _tokens("LanguageModel.loss", "X", X, self.vocab_size)
            return self._forward(X, None)[0]
        loss, grads, _ = self.loss_with_state(X, y, mask)
        return loss, grads

    def loss_with_state(self, X, y, mask=None, state=None):
        """:meth:`loss` starting from a recurrent state; also returns the state after the
        last step. Truncated backpropagation through time: pass each window the state the
        previous one ended in (gradients stop at the window's edge, the state does not).

        Parameters
        ----------
        X, y, mask
            As :meth:`loss`.
        state : optional
            The state to start from, as the previous call returned it (zeros when None):
            h (N, H) for the RNN, the pair (h, c) for the LSTM; the transformer has none.

        Returns
        -------
        loss : float
        grads : dict
        next_state : h, (h, c), or None for the transformer
        """
        func = "LanguageModel.loss"
        X = _tokens(func, "X", X, self.vocab_size)
        y = _tokens(func, "y", y, self.vocab_size, unscored=True)
        if y.shape != X.shape:
            raise ValueError(f"{func}: y must have X's shape {X.shape}, got {y.shape}")
        scored = y != UNSCORED
        if not scored.all():
            mask = scored if mask is None else scored & np.asarray(mask)
            y = np.where(scored, y, 0)  # any id: these steps are masked out
        scores, caches, next_state = self._forward(X, state)
        loss, dscores = temporal_softmax_loss(scores, y, mask)
        grads = self._backward(dscores, caches)
        loss, grads = self._add_l2(loss, grads, self._weights())
        return loss, grads, next_state

    def sample(self, prompt, length, temperature=1.0, rng=None, context=None):
        """Continue each prompt by ``length`` tokens, each drawn from the model's softmax
        (``temperature`` 0 takes the most likely one).

        Parameters
        ----------
        prompt : ndarray of shape (N, T0), integers in [0, V), T0 >= 1
        length : int
        temperature : float >= 0, default 1.0
        rng : numpy Generator or int, optional
            Where the draws come from.
        context : int, optional
            The transformer reads at most the last ``context`` tokens for each draw (all by
            default). Give it the length of the windows it was trained on: it has seen no
            later position, and each draw then costs the same however long the text grows.
            The recurrent models read all of it through their state and ignore this.

        Returns
        -------
        tokens : ndarray of shape (N, length), int
        """
        length = _check_size("LanguageModel.sample", "length", length)
        draws = self._draws("LanguageModel.sample", prompt, temperature, rng, context)
        return np.stack([next(draws) for _ in range(length)], axis=1)  # (N, length)

    def generate(self, prompt, temperature=1.0, rng=None, context=None):
        """:meth:`sample` one step at a time: an endless iterator of the N tokens of each step,
        each drawn when asked for (to show text as it is written). The same arguments and
        draws: its first ``length`` steps are ``sample(..., length, ...)``'s columns."""
        return self._draws("LanguageModel.generate", prompt, temperature, rng, context)

    def _draws(self, func, prompt, temperature, rng, context):
        """The arguments checked at once; then the iterator of :meth:`generate`."""
        prompt = _tokens(func, "prompt", prompt, self.vocab_size)
        if not isinstance(temperature, numbers.Real) or temperature < 0:
            raise ValueError(f"{func}: temperature must be a number >= 0, got {temperature!r}")
        recurrent = self.cell_type in RECURRENT_CELLS
        context = None if context is None else _check_size(func, "context", context)
        last = slice(-context, None) if context and not recurrent else slice(None)
        return self._drawn(prompt[:, last], temperature, np.random.default_rng(rng), last)

    def _drawn(self, reading, temperature, rng, last):
        recurrent, state = self.cell_type in RECURRENT_CELLS, None
        while True:
            # a recurrent model reads each new token from the state the last one left; the
            # transformer reads its last tokens again (no cache of keys and values)
            scores, _, state = self._forward(reading, state)
            scores = scores[:, -1].astype(np.float64)  # (N, V)
            if temperature == 0:
                token = scores.argmax(axis=1)
            else:
                logits = scores / temperature
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs /= probs.sum(axis=1, keepdims=True)
                token = np.array([rng.choice(len(row), p=row) for row in probs], np.int64)
            yield token  # (N,)
            reading = token[:, None] if recurrent else np.concatenate(
                [reading, token[:, None]], axis=1)[:, last]
