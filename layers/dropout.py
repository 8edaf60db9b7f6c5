"""Inverted dropout: in training, keep each unit with probability p and scale it by 1 / p.

    out, cache = dropout_forward(x, dropout_param)
    dx = dropout_backward(dout, cache)

Shapes: x of any shape S; out, dout and dx share it.

``dropout_param = {'mode': 'train' | 'test', 'p': keep_prob, 'seed': int}``.

    !!! p IS THE PROBABILITY OF KEEPING A UNIT, NOT OF DROPPING IT !!!

as in CS231n since 2018 (``p = 1`` keeps everything). ``'keep_prob'`` is accepted as a clearer
name for the same number. Scaling the kept units by ``1 / p`` keeps the expected output equal
to x, so test mode is the identity and needs no rescaling.
"""

import numbers

import numpy as np

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_mode, check_param_dict,
    check_probability)


def _keep_prob(func, dropout_param):
    """The keep probability from ``'p'`` or its alias ``'keep_prob'``, in (0, 1]."""
    given = {key: dropout_param[key] for key in ("p", "keep_prob") if key in dropout_param}
    if not given:
        raise ValueError(
            f"{func}: dropout_param needs 'p', the probability of KEEPING each unit "
            f"(or its alias 'keep_prob'), e.g. {{'mode': 'train', 'p': 0.5}}")
    if len(given) == 2 and given["p"] != given["keep_prob"]:
        raise ValueError(
            f"{func}: dropout_param gives both 'p' = {given['p']!r} and 'keep_prob' = "
            f"{given['keep_prob']!r}; they name the same keep probability, give one")
    key, value = next(iter(given.items()))
    return float(check_probability(func, f"dropout_param[{key!r}]", value))


def dropout_forward(x, dropout_param):
    """Inverted dropout. NOTE: ``p`` is the KEEP probability (CS231n since 2018), not the
    drop probability: ``p = 0.8`` keeps 80 % of the units.

    Train mode keeps each element independently with probability p and divides the kept
    ones by p, so ``E[out] = x``. Test mode returns x itself (no copy).

    The mask is drawn from a local ``np.random.default_rng(seed)``: a given seed gives the same
    mask on every call, in float32 and float64 alike; without a seed, fresh randomness.

    Parameters
    ----------
    x : ndarray of any shape
        Inputs.
    dropout_param : dict
        ``'p'`` (or ``'keep_prob'``): the probability of KEEPING a unit, in (0, 1];
        ``'mode'``: 'train' (default) or 'test'; ``'seed'`` (optional): an int that seeds the mask.

    Returns
    -------
    out : ndarray of x's shape and dtype
    cache : Cache
        The boolean keep-mask (None in test mode), p, x's shape and dtype.
    """
    func = "dropout_forward"
    x = as_float_array(func, "x", x)
    check_param_dict(func, "dropout_param", dropout_param)
    mode = check_mode(func, "dropout_param", dropout_param)
    keep_prob = _keep_prob(func, dropout_param)
    if mode == "test":
        return x, Cache("dropout", None, keep_prob, x.shape, x.dtype)
    seed = dropout_param.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{func}: dropout_param['seed'] must be an int or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"{func}: dropout_param['seed'] must be >= 0, got {seed}")
    rng = np.random.default_rng(seed)
    mask = rng.random(x.shape) < keep_prob  # bool, 1 byte per unit
    out = x * mask / keep_prob
    return out, Cache("dropout", mask, keep_prob, x.shape, x.dtype)


def dropout_backward(dout, cache):
    """Backward of inverted dropout: ``dx = dout * mask / p`` in training, ``dout`` at test.

    Parameters
    ----------
    dout : ndarray of x's shape
        Upstream gradient.
    cache : Cache
        From :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
        In test mode, dout itself (cast to x's dtype if it differs).
    """
    func = "dropout_backward"
    mask, keep_prob, shape, dtype = check_cache(func, cache, "dropout", 4)
    dout = check_dout(func, dout, shape, dtype=dtype)
    if mask is None:
        return dout
    dx = dout * mask / keep_prob
    return dx
