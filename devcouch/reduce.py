"""Reductions: CouchDB's built-in reducers, and Python reduces run the way
CouchDB's b-tree runs them: `reduce` over runs of rows about one leaf node
long, then `rereduce` over those results until one value is left.
"""

import orjson

from .errors import CouchError, QueryServerError

# CouchDB's b-tree splits nodes at about this many bytes of key and value.
NODE_BYTES = 1279
PIPELINE = 500
OVERFLOW = "reduce_overflow_error"


def builtin_error(reason: str) -> CouchError:
    return CouchError(400, "builtin_reduce_error", reason)


SUM_RULE = (
    "The _sum function requires that map values be numbers, arrays of numbers,"
    " or objects. Objects cannot be mixed with other data structures."
)


def add(a, b):
    """_sum's addition: numbers, arrays of numbers element-wise, objects by key."""
    if isinstance(a, bool) or isinstance(b, bool):
        raise builtin_error(SUM_RULE)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
        return [
            add(x, shorter[i]) if i < len(shorter) else x for i, x in enumerate(longer)
        ]
    if isinstance(a, int | float) and isinstance(b, list):
        return add([a], b)
    if isinstance(a, list) and isinstance(b, int | float):
        return add(a, [b])
    if isinstance(a, dict) and isinstance(b, dict):
        merged = dict(a)
        for key, value in b.items():
            merged[key] = add(merged[key], value) if key in merged else value
        return merged
    raise builtin_error(SUM_RULE)


def builtin_sum(values: list):
    total = None
    for value in values:
        total = summable(value) if total is None else add(total, value)
    return 0 if total is None else total


def summable(value):
    if isinstance(value, dict):
        return {k: summable(v) for k, v in value.items()}
    if isinstance(value, list):
        return add([], value)
    return add(0, value)


def builtin_stats(values: list) -> dict:
    stats = [stats_of(v) for v in values]
    return {
        "sum": sum(s["sum"] for s in stats),
        "count": sum(s["count"] for s in stats),
        "min": min(s["min"] for s in stats),
        "max": max(s["max"] for s in stats),
        "sumsqr": sum(s["sumsqr"] for s in stats),
    }


def stats_of(value) -> dict:
    if isinstance(value, dict) and {"sum", "count", "min", "max", "sumsqr"} <= set(
        value
    ):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {
            "sum": value,
            "count": 1,
            "min": value,
            "max": value,
            "sumsqr": value**2,
        }
    raise builtin_error(
        "The _stats function requires that map values be numbers or arrays of numbers,"
        " not '" + orjson.dumps(value).decode() + "'"
    )


def builtin(name: str, rows: list[tuple]):
    """One built-in reduction over a group's (key_json, docid, value_json) rows.

    Only what a reducer reads is decoded: `_count` needs no values, and
    `_approx_count_distinct` compares key texts, which orjson wrote alike
    for equal keys.
    """
    name = name.strip()
    if name == "_count":
        return len(rows)
    if name == "_approx_count_distinct":
        return len({key for key, _, _ in rows})
    values = [orjson.loads(value) for _, _, value in rows]
    if name == "_sum":
        return builtin_sum(values)
    if name == "_stats":
        return builtin_stats(values) if values else None
    raise CouchError(400, "invalid_design_doc", f"unknown builtin reduce {name}")


# -- Python reduces through the query server ---------------------------------


def chunks(items: list, size_of, least: int = 1) -> list[list]:
    """Split items into runs of about NODE_BYTES, as b-tree nodes are.

    Runs hold at least `least` items, so that the tree's levels shrink.
    """
    runs, run, size = [], [], 0
    for item in items:
        run.append(item)
        size += size_of(item)
        if size >= NODE_BYTES and len(run) >= least:
            runs.append(run)
            run, size = [], 0
    if run or not runs:
        runs.append(run)
    return runs


def custom(proc, source: str, groups: list[list[tuple]]) -> list:
    """Reduce each group of (key_json, docid, value_json) rows with `source`."""
    runs = [leaf_runs(rows) for rows in groups]
    flat = [(g, run) for g, group_runs in enumerate(runs) for run in group_runs]
    commands = [["reduce", [source], kvs(run)] for _, run in flat]
    results = answer(proc, commands)
    pending = [[] for _ in groups]  # per group, partial results to combine
    for (g, _), result in zip(flat, results, strict=True):
        pending[g].append(result)
    while any(len(p) > 1 for p in pending):
        pending = rereduce_level(proc, source, pending)
    return [p[0] for p in pending]


def leaf_runs(rows: list[tuple]) -> list[list[tuple]]:
    """Runs of rows as CouchDB's leaf nodes hold them.

    The rows one document emits under one key are a single b-tree entry, so
    they always reach the same reduce call.
    """
    entries, last = [], None
    for row in rows:
        if (row[0], row[1]) != last:
            entries.append([])
            last = (row[0], row[1])
        entries[-1].append(row)
    runs = chunks(entries, entry_size)
    return [[row for entry in run for row in entry] for run in runs]


def entry_size(entry: list[tuple]) -> int:
    return sum(len(key) + len(value) for key, _, value in entry)


def kvs(run: list[tuple]) -> list:
    fragment = orjson.Fragment
    return [[[fragment(key), docid], fragment(value)] for key, docid, value in run]


def rereduce_level(proc, source: str, pending: list[list]) -> list[list]:
    """One level up the tree: rereduce runs of partial results, in order."""
    commands, levels = [], []
    for partials in pending:
        if len(partials) == 1:
            levels.append(partials)
            continue
        level = []
        for run in chunks(partials, lambda v: len(orjson.dumps(v)), least=2):
            overflow = [v for v in run if is_overflow(v)]
            if overflow:  # a failed reduction stays failed on the way up
                level.append(overflow[0])
            else:
                level.append(Pending(len(commands)))
                commands.append(["rereduce", [source], run])
        levels.append(level)
    results = answer(proc, commands)
    return [[resolve(v, results) for v in level] for level in levels]


class Pending:
    """The place of a result that a queued command will produce."""

    def __init__(self, index: int):
        self.index = index


def resolve(value, results: list):
    return results[value.index] if isinstance(value, Pending) else value


def answer(proc, commands: list) -> list:
    """Run commands in pipelined batches; one reduction out of each reply."""
    results = []
    for start in range(0, len(commands), PIPELINE):
        batch = commands[start : start + PIPELINE]
        results.extend(map(reduction, proc.call_many(batch)))
    return results


def reduction(reply):
    if isinstance(reply, QueryServerError):
        if reply.error == OVERFLOW:
            return {OVERFLOW: reply.reason}
        raise reply
    if not (isinstance(reply, list) and len(reply) == 2 and reply[0] is True):
        raise QueryServerError("reduce_error", f"unexpected reply: {reply!r:.200}")
    return reply[1][0]


def is_overflow(value) -> bool:
    return isinstance(value, dict) and list(value) == [OVERFLOW]
