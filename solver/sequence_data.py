"""Data for the sequence models: generated digit tasks, and text read at run time.

    task = digit_task("reverse", num_sequences, num_digits, rng)    # TokenTask: X, y, mask
    text = stdlib_text(max_chars)            # Python's own standard-library source, as it lies
    vocab = CharVocab(text);  ids = vocab.encode(text);  vocab.decode(ids)
    for X, y, first in tbptt_windows(ids, batch_size, seq_length): ...

Nothing is downloaded and no text is stored in this repository: ``stdlib_text`` reads the
``.py`` files of the running interpreter's standard library.

Shapes: N sequences, T steps. A language model reads X (N, T) and is scored on predicting
y (N, T), the tokens that follow, at the steps where mask (N, T) is True.
"""

import numbers
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .solver_inputs import UNSCORED

DIGITS = "0123456789"
TASK_VOCAB = DIGITS + ">+"  # '>' ends the question, '+' joins the operands of "add"


@dataclass(frozen=True)
class TokenTask:
    """A batch of a generated task: each sequence is a question then its answer.

    Attributes
    ----------
    X : ndarray of shape (N, T), int
        The sequences without their last token.
    y : ndarray of shape (N, T), int
        The sequences without their first token: the token after each one of X.
    mask : ndarray of shape (N, T), bool
        True where y is a token of the answer: the only steps scored.
    vocab : str
        The token of each id.
    """

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    vocab: str = TASK_VOCAB

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


def _digits_of(numbers_, width):
    """(N,) integers -> (N, width) their decimal digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1)
    return numbers_[:, None] // powers % 10


def digit_task(task, num_sequences, num_digits, rng=None):
    """A batch of a small sequence task whose answer follows from the question alone.

    - ``'copy'``:    ``d1 .. dk >`` then ``d1 .. dk``
    - ``'reverse'``: ``d1 .. dk >`` then ``dk .. d1``
    - ``'add'``:     ``a1 .. ak + b1 .. bk >`` then the k + 1 digits of a + b, least
      significant first (the order in which a carry is computed)

    Parameters
    ----------
    task : {'copy', 'reverse', 'add'}
    num_sequences : int
        N.
    num_digits : int
        k, the digits of each operand.
    rng : numpy Generator, int or None

    Returns
    -------
    TokenTask
    """
    func = "digit_task"
    if task not in TASKS:
        raise ValueError(f"{func}: task must be one of {', '.join(map(repr, TASKS))}, "
                         f"got {task!r}")
    for name, value in (("num_sequences", num_sequences), ("num_digits", num_digits)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{func}: {name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(rng)
    sequences = TASKS[task](rng, num_sequences, num_digits)  # (N, L)
    question = sequences.shape[1] - (num_digits + (task == "add"))  # tokens up to '>'
    mask = np.zeros((num_sequences, sequences.shape[1] - 1), bool)
    mask[:, question - 1:] = True  # y[t] is token t + 1: the answer's tokens
    return TokenTask(sequences[:, :-1], sequences[:, 1:], mask)


def _copy(rng, N, k):
    digits = rng.integers(10, size=(N, k))
    return np.concatenate([digits, np.full((N, 1), 10), digits], axis=1)


def _reverse(rng, N, k):
    digits = rng.integers(10, size=(N, k))
    return np.concatenate([digits, np.full((N, 1), 10), digits[:, ::-1]], axis=1)


def _add(rng, N, k):
    a, b = rng.integers(10 ** k, size=N), rng.integers(10 ** k, size=N)
    total = _digits_of(a + b, k + 1)[:, ::-1]  # least significant first
    return np.concatenate([_digits_of(a, k), np.full((N, 1), 11), _digits_of(b, k),
                           np.full((N, 1), 10), total], axis=1)


TASKS = {"copy": _copy, "reverse": _reverse, "add": _add}

# Plain, stable modules of the standard library, read in this order until max_chars.
STDLIB_MODULES = ("textwrap.py", "string.py", "heapq.py", "bisect.py", "colorsys.py",
                  "fnmatch.py", "shlex.py", "queue.py", "calendar.py", "difflib.py")


def stdlib_text(max_chars=200_000, modules=STDLIB_MODULES):
    """Source text of Python's standard library, read from this interpreter's installation.

    Parameters
    ----------
    max_chars : int, default 200_000
        Stop once this many characters are read.
    modules : sequence of str
        File names under the standard library's directory, read in order; missing ones
        are skipped.

    Returns
    -------
    text : str
        Non-ASCII characters replaced by '?', so that the vocabulary stays small.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, numbers.Integral) or (
            max_chars < 1):
        raise ValueError(f"stdlib_text: max_chars must be a positive integer, got {max_chars!r}")
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for name in modules:
        path = root / name
        if not path.is_file() or size >= max_chars:
            continue
        text = path.read_text(encoding="utf-8")
        parts.append(text)
        size += len(text)
    if not parts:
        raise FileNotFoundError(f"stdlib_text: none of {', '.join(modules)} under {root}")
    text = "".join(parts)[:max_chars]
    return text.encode("ascii", "replace").decode("ascii")


class CharVocab:
    """The characters of a text, each given an id in sorted order.

    ``encode(text) -> ndarray of int``; ``decode(ids) -> str``; ``len(vocab)`` is V.
    """

    def __init__(self, text):
        self.chars = "".join(sorted(set(text)))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        missing = set(text) - set(self.index)
        if missing:
            raise ValueError(f"CharVocab.encode: characters not in the vocabulary: "
                             f"{''.join(sorted(missing))!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in np.asarray(ids).ravel())


def tbptt_windows(ids, batch_size, seq_length):
    """Windows of a long token stream for truncated backpropagation through time.

    The stream is cut into ``batch_size`` equal rows, read side by side; each window is the
    next ``seq_length`` tokens of every row. Row n of one window continues row n of the
    window before, so a model may start each window from the state the last one ended in
    (and backpropagate only within the window).

    Parameters
    ----------
    ids : ndarray of shape (L,), int
    batch_size : int
        N.
    seq_length : int
        T.

    Yields
    ------
    X : ndarray of shape (N, T)
    y : ndarray of shape (N, T)
        X shifted by one token.
    first : bool
        True for the first window of a pass: start from a fresh state.
    """
    ids = np.asarray(ids)
    row = (len(ids) - 1) // batch_size
    if row < seq_length:
        raise ValueError(f"tbptt_windows: {len(ids)} tokens make rows of {row} for "
                         f"batch_size = {batch_size}, shorter than seq_length = {seq_length}")
    inputs = ids[:row * batch_size].reshape(batch_size, row)  # (N, L / N)
    targets = ids[1:row * batch_size + 1].reshape(batch_size, row)
    for start in range(0, row - seq_length + 1, seq_length):
        yield (inputs[:, start:start + seq_length], targets[:, start:start + seq_length],
               start == 0)


# ---- as datasets of solver.data: token windows X (N, T) and targets y (N, T) ---------------

TEXT_WINDOW = 50  # T of stdlib-text's windows


def digit_task_dataset(task, num_digits):
    """A loader for :data:`solver.data.DATASETS`: the splits of a :func:`digit_task`, each
    drawn from its own generator; y is -1 where the question stands (only the answer is
    scored). Returns ``load(sizes, seed, source)``."""
    def load(sizes, seed, source):
        raw = {"class_names": tuple(TASK_VOCAB)}
        for split, size, rng in zip(("train", "val", "test"), sizes,
                                    np.random.default_rng(seed).spawn(3)):
            batch = digit_task(task, size, num_digits, rng)
            raw[f"X_{split}"] = batch.X
            raw[f"y_{split}"] = np.where(batch.mask, batch.y, UNSCORED)  # (N, T)
        return raw
    return load


def load_stdlib_text(sizes, seed, source, window=TEXT_WINDOW):
    """A loader for :data:`solver.data.DATASETS`: windows of ``window`` characters of
    :func:`stdlib_text`, cut one after another: the training windows first, then the
    validation and the test windows, so that the three splits are different stretches of
    source (``seed`` plays no part). Each window's y is its X shifted by one character; the
    vocabulary is every character read."""
    needed = sum(sizes) * window + 1
    text = stdlib_text(max_chars=needed)
    if len(text) < needed:
        raise ValueError(f"load_dataset('stdlib-text'): {sum(sizes)} windows of {window} "
                         f"characters need {needed} characters; this Python's standard "
                         f"library gives {len(text)} from {', '.join(STDLIB_MODULES)}")
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    raw, start = {"class_names": tuple(vocab.chars)}, 0
    for split, size in zip(("train", "val", "test"), sizes):
        stop = start + size * window
        raw[f"X_{split}"] = ids[start:stop].reshape(size, window)  # (N, T)
        raw[f"y_{split}"] = ids[start + 1:stop + 1].reshape(size, window)
        start = stop
    return raw
