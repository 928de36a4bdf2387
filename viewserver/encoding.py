"""JSON encoding that says clearly what a value JSON cannot hold came from."""

import orjson

from .errors import QueryError


class EncodingError(ValueError):
    """A value that no JSON text can carry (a set, an object, NaN, ...)."""


def encode(value: object) -> bytes:
    """Compact UTF-8 JSON for ``value``; raise EncodingError if JSON cannot hold it.

    orjson does the work; it writes NaN and infinities as null and refuses
    integers beyond 64 bits, so those cases are checked or retried here.
    """
    try:
        data = orjson.dumps(value)
    except TypeError as exc:
        return _encode_slowly(value, exc)
    if b"null" in data and has_non_finite(value):
        raise EncodingError("NaN or an infinity is not a JSON number")
    return data


def encode_reply(value: object, what: str) -> bytes:
    """Like :func:`encode`, failing with a QueryError that names ``what``."""
    try:
        return encode(value)
    except EncodingError as exc:
        raise QueryError("invalid_value", f"{what}: {exc}") from exc


def has_non_finite(value: object) -> bool:
    """True when a NaN or an infinity lies anywhere inside ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if item - item != 0.0:  # only NaN and the infinities fail this
                return True
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _encode_slowly(value: object, first_error: TypeError) -> bytes:
    """The standard library's encoder, which also handles integers of any size."""
    import json  # rarely needed, so not loaded at start-up

    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise EncodingError(f"{first_error}") from exc
