"""Input validation shared by every layer: the errors a user sees at the public door.

Every public layer function checks its inputs with these helpers, so that a mistake is
reported where it was made, naming the function, what it expected and what it got:

    affine_forward: w must have shape (D, M) = (12, M) to match x flattened to (N, D) = (4, 12);
    got w of shape (10, 5).

User mistakes raise ``TypeError``/``ValueError`` (never ``assert``, which ``python -O`` removes).

Caches are :class:`Cache` tuples that remember the forward function that made them, so a
backward handed another layer's cache says so instead of failing deep inside numpy.
"""

import difflib
import functools
import numbers

import numpy as np


class Cache(tuple):
    """A layer's cache: a plain tuple of what backward needs, tagged with the layer's name.

    Unpack it like any tuple: ``x, w = cache``. ``cache.layer`` names the forward that made it.
    """

    def __new__(cls, layer, *items):
        cache = super().__new__(cls, items)
        cache.layer = layer
        return cache

    def __getnewargs__(self):
        # copy.deepcopy and pickle rebuild a tuple subclass through __new__: pass the tag too.
        return (self.layer, *self)

    def __repr__(self):
        return f"Cache({self.layer!r}, {len(self)} items)"


# The layers whose forward comes in two forms, naive and fast, making the same cache.
_TWO_FORMS = ("conv", "max_pool")


def _forward_name(layer):
    """The forward function(s) that make a cache tagged ``layer``, for messages."""
    if layer in _TWO_FORMS:
        return f"{layer}_forward_naive or {layer}_forward_fast"
    return f"{layer}_forward"


def check_cache(func, cache, layer, size=None):
    """Refuse a cache that ``<layer>_forward`` did not make; return it for unpacking."""
    forward = _forward_name(layer)
    if not isinstance(cache, Cache):
        raise TypeError(
            f"{func}: cache must be the second value returned by {forward}, "
            f"got {type(cache).__name__}")
    if cache.layer != layer:
        raise TypeError(
            f"{func}: got the cache of {_forward_name(cache.layer)}; "
            f"pass the cache returned by {forward}")
    if size is not None and len(cache) != size:
        raise ValueError(
            f"{func}: the cache from {forward} should hold {size} items, "
            f"got {len(cache)}: was it built by hand?")
    return cache


def as_float_array(func, name, x):
    """Return ``x`` as a floating-point ndarray, refusing what is not numeric.

    Floating arrays keep their dtype (float32 stays float32) and are not copied; Python
    numbers, bools and integer arrays become float64.
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (numbers.Number, np.generic, list, tuple)):
        arr = as_array(func, name, x)
    else:
        raise TypeError(
            f"{func}: {name} must be a numpy array or a number, got {type(x).__name__}")
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(f"{func}: {name} must hold real numbers, got dtype {arr.dtype}")


def as_array(func, name, x):
    """``np.asarray(x)``, refusing a ragged nested list (rows of different lengths) by name."""
    try:
        return np.asarray(x)
    except ValueError as error:  # numpy: "setting an array element with a sequence ..."
        raise ValueError(
            f"{func}: {name} must be an array, or a nested list whose rows all have the same "
            f"length; got a ragged nested list ({error})") from None


def shape_str(shape):
    """``(3, 4)`` for a shape tuple, with ``1-tuples`` written ``(3,)``."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_ndim(func, name, x, ndim, letters):
    """Require ``x.ndim == ndim``; ``letters`` documents the shape, e.g. ``"(N, C)"``."""
    if x.ndim != ndim:
        raise ValueError(
            f"{func}: {name} must be {ndim}-d of shape {letters}, "
            f"got shape {shape_str(x.shape)}")


def check_shape(func, name, x, expected, letters, why=""):
    """Require ``x.shape == expected``; ``None`` in ``expected`` matches any size."""
    ok = x.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, x.shape))
    if not ok:
        want = shape_str(tuple("?" if e is None else e for e in expected))
        raise ValueError(
            f"{func}: {name} must have shape {letters} = {want}{why}, "
            f"got {name} of shape {shape_str(x.shape)}")


def check_same_shape(func, name, x, ref_name, ref):
    """Require ``x`` (usually ``dout``) to have the shape of ``ref`` (usually ``out``)."""
    if x.shape != ref.shape:
        raise ValueError(
            f"{func}: {name} must have the shape of {ref_name}, {shape_str(ref.shape)}, "
            f"got {shape_str(x.shape)}")


def check_dout(func, dout, shape, letters=None, dtype=None):
    """The upstream gradient at a backward's door: a float array of out's ``shape``.

    ``letters`` names that shape in the message, e.g. ``"(N, M)"``; with ``dtype`` (the
    forward's), a dout of another float dtype is cast to it, so that the gradients come out in
    the forward's dtype.
    """
    dout = as_float_array(func, "dout", dout)
    if letters is None:
        if dout.shape != tuple(shape):
            raise ValueError(
                f"{func}: dout must have the shape of out, {shape_str(shape)}, "
                f"got {shape_str(dout.shape)}")
    else:
        check_shape(func, "dout", dout, shape, letters, " (the shape of out)")
    return dout if dtype is None else dout.astype(dtype, copy=False)


def in_dtypes(grads, dtypes):
    """Each gradient in its input's dtype (None stays None).

    A no-op, no copy, when the inputs share one dtype: numpy 2 keeps float32 float32 with
    Python scalars. Only inputs of mixed dtypes (x float32, w float64) need the cast.
    """
    return tuple(None if grad is None else grad.astype(dtype, copy=False)
                 for grad, dtype in zip(grads, dtypes, strict=True))


def check_labels(func, y, N, C):
    """Labels: an integer array of shape (N,) with values in [0, C). Returns it as intp."""
    y = as_array(func, "y", y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(y == np.round(y)):
            y = y.astype(np.intp)
        else:
            raise TypeError(f"{func}: y must hold integer class labels, got dtype {y.dtype}")
    check_shape(func, "y", y, (N,), "(N,)", " (one label per row of x)")
    if y.size and (y.min() < 0 or y.max() >= C):
        bad = y[(y < 0) | (y >= C)][0]
        raise ValueError(
            f"{func}: labels must lie in [0, C) = [0, {C}) for x with C = {C} columns, "
            f"got label {bad}")
    return y.astype(np.intp, copy=False)


def check_positive(func, name, value):
    """Require a finite number > 0 (eps, stride, ...)."""
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{func}: {name} must be a positive number, got {value!r}")
    return value


def check_probability(func, name, value):
    """Require a number in (0, 1]."""
    if not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{func}: {name} must be a number in (0, 1], got {value!r}")
    return value


# The keys each layer reads from its param dict, by the dict's name.
PARAM_KEYS = {
    "bn_param": frozenset({"mode", "eps", "momentum", "running_mean", "running_var"}),
    "ln_param": frozenset({"eps"}),
    "gn_param": frozenset({"eps"}),
    "dropout_param": frozenset({"mode", "p", "keep_prob", "seed"}),
    "conv_param": frozenset({"stride", "pad"}),
    "pool_param": frozenset({"pool_height", "pool_width", "stride"}),
}
# Accepted in every dict: each key some layer reads. These cover every key CS231n's code
# (2019-2026) puts in these dicts, wherever it puts them: 'mode' in layernorm's dict too,
# batchnorm's running statistics, dropout's 'p', 'mode' and 'seed', conv's and pool's geometry.
ANY_LAYER_READS = frozenset().union(*PARAM_KEYS.values())
# difflib's ratio, 2 * (letters in common, in order) / (letters in both keys): 0.6 catches a
# letter doubled, dropped or swapped ('padd' and 'sed' score 0.86, 'esp' 0.67, 'P' 1.0 as
# compared in lower case) and torch's spellings 'padding' and 'epsilon' (0.6), while the flags
# students add ('layernorm', 'normalization', 'axis', 'name', 'groups') score 0.5 or less.
NEAR_MISS = 0.6


def check_param_dict(func, name, params, form=""):
    """Require ``params`` (the dict called ``name`` in PARAM_KEYS) to be a dict; return it.

    A key the layer does not read but nearly spells one it does is refused, naming both
    (``bn_param has 'momentun': did you mean 'momentum'?``): with the typo the layer would run
    on the default. Other unknown keys are the caller's own and stay accepted, as in CS231n.
    ``form`` shows the expected dict in the type error, e.g. ``" {'stride': s, 'pad': p}"``.
    """
    if not isinstance(params, dict):
        raise TypeError(f"{func}: {name} must be a dict{form}, got {type(params).__name__}")
    if ANY_LAYER_READS.issuperset(params):  # the usual dict: one set lookup per key
        return params
    for key in params:
        if isinstance(key, str) and key not in ANY_LAYER_READS:
            meant = _near_miss(name, key)
            if meant:
                raise ValueError(f"{func}: {name} has {key!r}: did you mean {meant!r}?")
    return params


@functools.lru_cache(maxsize=1024)
def _near_miss(name, key):
    """The key of ``PARAM_KEYS[name]`` that ``key`` nearly spells, or None. Cached: a caller's
    own key, passed on every forward call, is compared once."""
    meant = difflib.get_close_matches(key.lower(), PARAM_KEYS[name], 1, NEAR_MISS)
    return meant[0] if meant else None


def check_mode(func, param_name, params):
    """Read ``params['mode']`` ('train' or 'test') without writing into the caller's dict."""
    mode = params.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"{func}: {param_name}['mode'] must be 'train' or 'test', got {mode!r}")
    return mode


def check_input_grad(func, input_grad):
    """Require the ``input_grad`` flag of a backward to be a bool; return it."""
    if not isinstance(input_grad, (bool, np.bool_)):
        raise TypeError(
            f"{func}: input_grad must be True or False, got {type(input_grad).__name__}")
    return bool(input_grad)
