"""Row streams shaped exactly as CouchDB 3.x sends them, one row per line."""

from collections.abc import Iterable, Iterator
from itertools import islice

import orjson

BATCH = 1000


def view_head(total_rows: int | None, offset: int | None, update_seq=None) -> str:
    fields = []
    if total_rows is not None:
        fields.append(f'"total_rows":{total_rows}')
        fields.append(f'"offset":{orjson.dumps(offset).decode()}')
    if update_seq is not None:
        fields.append(f'"update_seq":{orjson.dumps(update_seq).decode()}')
    return "{" + "".join(f + "," for f in fields)


def rows_stream(head: str, rows: Iterable[str]) -> Iterator[bytes]:
    """`{head "rows":[\\r\\n` row `,\\r\\n` row `\\r\\n]}\\n`, in batches."""
    rows = iter(rows)
    first = '"rows":[\r\n'
    try:
        while batch := list(islice(rows, BATCH)):
            yield (head + first + ",\r\n".join(batch)).encode()
            head, first = "", ",\r\n"
        if head:
            yield (head + first).encode()
        yield b"\r\n]}\n"
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
