"""Everything a query server process remembers between commands."""

import builtins
import io

import orjson

from . import diagnostics
from .errors import FatalError, Forbidden, QueryError, Unauthorized
from .modules import make_require
from .render import Render
from .streams import LineReader, Output

# Compiled sources kept per cache; past it the oldest goes, compiled again if
# it comes back. Cached design docs are never dropped: CouchDB counts on them.
CACHE_LIMIT = 1000


def remember(cache: dict, key: object, value: object) -> None:
    """Store ``value`` in a bounded ``cache``."""
    if len(cache) >= CACHE_LIMIT:
        del cache[next(iter(cache))]
    cache[key] = value


class Config:
    """The ``reset`` configuration CouchDB sends; the class attributes are the
    defaults, those of a reset without one."""

    reduce_limit: bool | str = False  # True, False or "log"
    reduce_limit_threshold: float = 4096  # bytes; fixed before CouchDB 3.5.1
    reduce_limit_ratio: float = 2.0
    timeout: int | None = None  # ms; CouchDB enforces it, so it is only kept

    @classmethod
    def from_reset(cls, config: dict | None) -> "Config":
        config = config if isinstance(config, dict) else {}
        result = cls()
        limit = config.get("reduce_limit", cls.reduce_limit)
        if isinstance(limit, str) and limit != "log":
            limit = limit.lower() == "true"
        result.reduce_limit = limit
        result.reduce_limit_threshold = _number(config, "reduce_limit_threshold")
        result.reduce_limit_ratio = _number(config, "reduce_limit_ratio")
        result.timeout = config.get("timeout")
        return result


def _number(config: dict, key: str) -> float:
    """``config[key]`` as a number; the default when absent or not a number.

    CouchDB sends numbers; anything else falls back to the default rather
    than failing the reset that starts every use of the process.
    """
    default = getattr(Config, key)
    value = config.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return value


class State:
    """Map functions, libraries, config, cached design docs and functions."""

    def __init__(self, reader: LineReader, output: Output):
        self.output = output
        self.render = Render(reader, output)
        self.config = Config()
        self.line = b""  # the raw command line being served
        self.ddocs: dict = {}
        self.reduce_functions: dict = {}
        self.map_functions: list = []
        self.compiled_maps: dict = {}
        self.map_namespaces: dict = {}
        self.emitted: list = []
        self.set_lib({})

    def set_lib(self, lib: dict) -> None:
        """Use ``lib`` (a design doc's views.lib) for the next map functions."""
        lib = lib if isinstance(lib, dict) else {}
        self.has_lib = bool(lib)
        self.lib_key = orjson.dumps(lib, option=orjson.OPT_SORT_KEYS)
        namespace = self.map_namespaces.get(self.lib_key)
        if namespace is None:
            # Same libraries, same modules: CouchDB sends add_lib on every reset.
            namespace = self.namespace(self.emitted)
            root = {"views": {"lib": lib}}
            namespace["require"] = make_require(root, {}, self.base_namespace())
            remember(self.map_namespaces, self.lib_key, namespace)
        self.map_namespace = namespace

    def log(self, message: object) -> None:
        """Send ``message`` to CouchDB's log as a ``["log", ...]`` line."""
        if not isinstance(message, str):
            message = _as_text(message)
        diagnostics.log.info("log: %s", message)
        self.output.log(message)

    def print(self, *values, sep=" ", end="\n", file=None, flush=False) -> None:
        """``print()`` for user functions: a log line unless a file is named."""
        if file is not None:
            builtins.print(*values, sep=sep, end=end, file=file, flush=flush)
            return
        text = io.StringIO()
        builtins.print(*values, sep=sep, end=end, file=text)
        self.log(text.getvalue().removesuffix("\n"))

    def base_namespace(self) -> dict:
        """Globals every user function and library module gets."""
        return {
            "log": self.log,
            "print": self.print,
            "QueryError": QueryError,
            "FatalError": FatalError,
            "Forbidden": Forbidden,
            "Unauthorized": Unauthorized,
        }

    def namespace(self, emitted: list) -> dict:
        """Globals of map functions: the base ones and ``emit`` into ``emitted``."""

        def emit(key: object, value: object = None) -> None:
            emitted.append((key, value))

        return {**self.base_namespace(), "emit": emit}


def _as_text(message: object) -> str:
    try:
        return orjson.dumps(message).decode()
    except TypeError:
        return repr(message)
