"""How a setting of ``solver train`` reads its value: one parser per kind of value, each taking a
flag's text or a TOML/JSON value from a config or sweep file and returning the value, or raising
:class:`BadValue` with a message that says what it takes. :mod:`solver.settings` names one
for every setting in its table.
"""

import math


class BadValue(ValueError):
    """A value a setting refuses; the message says what it takes."""


def _number(text, kind):
    """``text`` (a str, int or float) as ``kind``, int or float."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise BadValue(f"expected a number, got {text!r}")
    try:
        value = kind(text)
    except ValueError:
        raise BadValue(f"expected {kind.__name__}, got {text!r}") from None
    if kind is int and isinstance(text, float) and value != text:
        raise BadValue(f"expected an integer, got {text!r}")
    return value


def _real(test, wanted):
    """A parser of finite floats that pass ``test``; ``wanted`` says which in the error."""
    def parse(text):
        value = _number(text, float)
        if not (math.isfinite(value) and test(value)):
            raise BadValue(f"must be {wanted}, got {text!r}")
        return value
    return parse


def _integer(minimum):
    """A parser of integers >= ``minimum``."""
    def parse(text):
        value = _number(text, int)
        if value < minimum:
            raise BadValue(f"must be an integer >= {minimum}, got {text!r}")
        return value
    return parse


def _optional(parse):
    """``parse``, but None (a setting left to its default) passes as None."""
    def parse_optional(text):
        return None if text is None else parse(text)
    return parse_optional


def _choice(choices):
    """A parser that accepts only the names in ``choices``."""
    def parse(text):
        if text not in choices:
            raise BadValue(f"invalid choice {text!r}; choose one of {', '.join(choices)}")
        return text
    return parse


def _integers(text):
    """'256,128', [256, 128] or 100 -> a list of ints; '' -> []."""
    if isinstance(text, str):
        items = [item.strip() for item in text.split(",")] if text.strip() else []
    else:
        items = text if isinstance(text, list) else [text]
    return [_number(item, int) for item in items]


def _hidden_dims(text):
    """'256,128' or [256, 128] or 100 -> [256, 128] / [100]; '' or [] -> [] (no hidden layer)."""
    dims = _integers(text)
    if any(d < 1 for d in dims):
        raise BadValue(f"hidden widths must be positive integers, got {text!r}")
    return dims


def _conv_filters(text):
    """'32,32' or [32, 32] or 32 -> [32, 32]: the filter count of each conv block."""
    counts = _integers(text)
    if not counts or any(count < 1 for count in counts):
        raise BadValue(f"must be one or more positive filter counts, e.g. 32,32, got {text!r}")
    return counts


def _pair(odd):
    """A parser of an (h, w) pair: '1,5' or [1, 5] -> [1, 5]; '3' or 3 -> [3, 3]."""
    wanted = "an odd positive" if odd else "a positive"

    def parse(text):
        values = _integers(text)
        values = values * 2 if len(values) == 1 else values
        if len(values) != 2 or any(v < 1 or (odd and v % 2 == 0) for v in values):
            raise BadValue(f"must be {wanted} int or an h,w pair of them, got {text!r}")
        return values
    return parse


def _weight_scale(text):
    """A number > 0, or 'he'."""
    if text == "he":
        return text
    try:
        return _real(lambda v: v > 0, "a number > 0")(text)
    except BadValue:
        raise BadValue(f"must be a number > 0 or 'he', got {text!r}") from None


def _path(text):
    """A folder or file name, or None."""
    if text is not None and not isinstance(text, str):
        raise BadValue(f"expected a path, got {text!r}")
    return text
