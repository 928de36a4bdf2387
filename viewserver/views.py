"""View commands: reset, add_lib, add_fun, map_doc, reduce and rereduce."""

from operator import itemgetter

import orjson

from .compiler import (
    CompilationError,
    compile_function,
    describe_error,
    positional_arity,
)
from .encoding import EncodingError, encode, encode_reply
from .errors import QueryError
from .state import Config, State, remember


def reset(state: State, config: dict | None = None) -> bool:
    """``["reset", {"reduce_limit": true}]`` → ``true``; design docs stay cached."""
    state.config = Config.from_reset(config)
    state.map_functions = []
    state.set_lib({})
    return True


def add_lib(state: State, lib: dict) -> bool:
    """``["add_lib", {"name": "source"}]``: ``require("views/lib/name")`` modules."""
    state.set_lib(lib)
    return True


def add_fun(state: State, source: str) -> bool:
    """``["add_fun", "def fun(doc): ..."]``: compile a map function and keep it."""
    key = (state.lib_key, source)
    function = state.compiled_maps.get(key)
    if function is None:
        function = compile_map(state, source)
        remember(state.compiled_maps, key, function)
    state.map_functions.append(function)
    return True


def compile_map(state: State, source: str):
    """The map function of ``source``; see :func:`missing_library`."""
    try:
        # CouchDB sends the source alone: the view's name is not known here.
        return compile_or_error(source, "map function", state.map_namespace)
    except QueryError as exc:
        if exc.code != "invalid_require_path" or state.has_lib:
            raise
        return missing_library(exc.reason)


def missing_library(reason: str):
    """A map function that fails on every document because ``require`` did.

    CouchDB checks the map functions of a design document being saved with
    ``add_fun`` alone, never ``add_lib``, so a top-level
    ``require("views/lib/...")`` cannot be resolved then; refusing it would
    make the design document impossible to save. The failure shows at map
    time instead, logged per document, as a require inside the function would.
    """

    def fun(doc: dict) -> None:
        raise LookupError(reason)

    return fun


def map_doc(state: State, doc: dict) -> bytes:
    """``["map_doc", doc]`` → one list of ``[key, value]`` rows per map function."""
    functions = state.map_functions
    if len(functions) == 1:
        return b"[" + run_map(state, 0, functions[0], doc) + b"]"
    parts = []
    for index, function in enumerate(functions):
        if index:
            # A fresh copy, so no function sees what an earlier one changed.
            doc = orjson.loads(state.line)[1]
        parts.append(run_map(state, index, function, doc))
    return b"[" + b",".join(parts) + b"]"


def run_map(state: State, index: int, function, doc: dict) -> bytes:
    """The JSON rows ``function`` makes of ``doc``; ``[]`` (and a log) on failure."""
    emitted = state.emitted
    emitted.clear()
    try:
        result = function(doc)
        if result is not None:
            emitted.extend(result)
            if not all_pairs(emitted):
                raise TypeError("a map function must give (key, value) pairs")
    except QueryError:
        raise
    except Exception as exc:
        about = with_doc_id(doc)
        state.log(f"map function {index} raised {describe_error(exc)}{about}")
        return b"[]"
    try:
        data = orjson.dumps(emitted)
    except TypeError:
        data = b"null"  # orjson refuses some values JSON can hold: retry below
    if b"null" in data:
        return _checked(state, index, doc, emitted)
    return data


def all_pairs(rows: list) -> bool:
    """Whether every row is a tuple or list of two items (C loops, no Python one).

    Checking the length alone would let ``"ab"`` or ``{"a": 1, "b": 2}``
    through, and CouchDB's indexer fails on a row that is not a pair.
    """
    try:
        lengths = set(map(len, rows))
    except TypeError:  # a row without len(): a number, None, ...
        return False
    if not lengths <= PAIR_LENGTH:
        return False
    # A namedtuple or other subclass is rare: checked in Python only then.
    return set(map(type, rows)) <= PAIR_TYPES or all(
        isinstance(row, tuple | list) for row in rows
    )


PAIR_LENGTH = {2}
PAIR_TYPES = {tuple, list}


def _checked(state: State, index: int, doc: dict, emitted: list) -> bytes:
    """Encode rows holding null or odd values, logging what JSON cannot hold."""
    try:
        return encode(emitted)
    except EncodingError as exc:
        about = with_doc_id(doc)
        state.log(
            f"map function {index} emitted a value JSON cannot hold{about}: {exc}"
        )
        return b"[]"


def reduce(state: State, sources: list, kvs: list, context: object = None) -> bytes:
    """``["reduce", [source, ...], [[[key, id], value], ...]]`` → ``[true, [r, ...]]``.

    CouchDB 3.5.2 adds a context object as a fourth element; it is accepted
    and not needed here.
    """
    keys = list(map(itemgetter(0), kvs))
    values = list(map(itemgetter(1), kvs))
    return run_reduce(state, sources, keys, values, False)


def rereduce(
    state: State, sources: list, values: list, context: object = None
) -> bytes:
    """``["rereduce", [source, ...], [value, ...]]`` → ``[true, [r, ...]]``."""
    return run_reduce(state, sources, None, values, True)


def run_reduce(
    state: State, sources: list, keys: list | None, values: list, rereduce: bool
) -> bytes:
    """``[true, [r, ...]]``: every source's function over the same rows, in order."""
    functions = [reduce_function(state, source) for source in sources]
    arguments = (keys, values, rereduce)
    parts = []
    for index, (function, arity) in enumerate(functions):
        try:
            result = function(*arguments[:arity])
        except QueryError:
            raise
        except Exception as exc:
            # As CouchDB's JavaScript server: log it, and the result is null.
            state.log(f"reduce function {index} raised {describe_error(exc)}")
            result = None
        parts.append(encode_reply(result, f"reduce function {index} returned"))
    output = b"[" + b",".join(parts) + b"]"
    check_reduce_limit(state, sources, output)
    return b"[true," + output + b"]"


def reduce_function(state: State, source: str) -> tuple:
    """The compiled reduce function for ``source`` and its arity, compiled once."""
    entry = state.reduce_functions.get(source)
    if entry is None:
        function = compile_or_error(source, "reduce function", state.base_namespace())
        entry = (function, positional_arity(function))
        remember(state.reduce_functions, source, entry)
    return entry


def check_reduce_limit(state: State, sources: list, output: bytes) -> None:
    """Fail (or log) output that does not shrink, as CouchDB's JS server does."""
    config = state.config
    if not config.reduce_limit or len(output) <= config.reduce_limit_threshold:
        return
    input_size = len(state.line) - sum(len(source) for source in sources)
    if len(output) * config.reduce_limit_ratio <= input_size:
        return
    message = (
        "Reduce output must shrink more rapidly: "
        f"input size: {input_size} output size: {len(output)}"
    )
    if config.reduce_limit == "log":
        state.log(f"reduce_overflow_error: {message}")
    else:
        raise QueryError("reduce_overflow_error", message)


def compile_or_error(source: str, name: str, namespace: dict):
    """``compile_function``, failing with the QueryError CouchDB is to see."""
    try:
        return compile_function(source, name, namespace)
    except CompilationError as exc:
        if isinstance(exc.__cause__, QueryError):  # a failed require() at top level
            raise exc.__cause__ from None
        raise QueryError("compilation_error", str(exc)) from exc


def with_doc_id(doc: object) -> str:
    """`` with doc._id n1``, or nothing for a document without an id."""
    doc_id = doc.get("_id") if isinstance(doc, dict) else None
    return f" with doc._id {doc_id}" if doc_id is not None else ""
