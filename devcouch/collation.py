"""CouchDB's view collation as binary sort keys that SQLite compares bytewise.

Order: null < false < true < numbers < strings < arrays < objects; strings by
the Unicode Collation Algorithm (pyuca's DUCET, close to ICU's root locale);
arrays and objects element by element, a shorter one first.
"""

import struct
from functools import lru_cache

import pyuca

NULL, FALSE, TRUE, NUMBER, STRING, ARRAY, OBJECT = (bytes([n]) for n in range(1, 8))
END = b"\x00"

_collator = pyuca.Collator()


@lru_cache(maxsize=200_000)
def string_key(text: str) -> bytes:
    # A pyuca key holds one 0 after each level, so no key is a prefix of
    # another and keys can be concatenated inside arrays and objects.
    weights = _collator.sort_key(text)
    return STRING + struct.pack(f">{len(weights)}H", *weights)


def number_key(number: float) -> bytes:
    # IEEE 754 bits made to sort as unsigned integers.
    value = float(number) + 0.0  # turns -0.0 into 0.0
    (bits,) = struct.unpack(">Q", struct.pack(">d", value))
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
    return NUMBER + bits.to_bytes(8, "big")


def sort_key(value) -> bytes:
    """The bytes that order `value` as CouchDB orders view keys."""
    if isinstance(value, str):
        return string_key(value)
    if value is None:
        return NULL
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if isinstance(value, int | float):
        return number_key(value)
    if isinstance(value, list):
        return ARRAY + b"".join(sort_key(item) for item in value) + END
    if isinstance(value, dict):
        pairs = (string_key(k) + sort_key(v) for k, v in value.items())
        return OBJECT + b"".join(pairs) + END
    raise TypeError(f"not a JSON value: {value!r}")
