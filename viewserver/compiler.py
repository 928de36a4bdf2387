"""Turn the source of a design function into a Python callable.

The source may hold imports, constants and helpers; the last function defined
at its top level is the entry point::

    >>> fun = compile_function("def fun(doc):\\n    yield doc['_id'], 1", "by_id")
    >>> list(fun({"_id": "a"}))
    [('a', 1)]

A source that does not parse, fails while running its top level, or defines no
function raises :class:`CompilationError`, whose message names the problem and
the line.
"""

import ast
import linecache
from collections.abc import Callable
from types import TracebackType

# Filenames given to compiled sources, so tracebacks can point into them.
_SOURCE_NAMES: set[str] = set()


class CompilationError(Exception):
    """The source of a design function cannot be turned into a function."""


def compile_function(source: str, name: str, namespace: dict | None = None) -> Callable:
    """Compile ``source`` and return the last function defined at its top level.

    ``name`` names the function in messages and tracebacks (for example
    ``_design/net/views/inputs/map``); ``namespace`` holds extra globals the
    source may use (``emit``, ``log``, ``require``, ...).
    """
    if not isinstance(source, str):
        raise CompilationError(f"{name}: source must be a string, not {_kind(source)}")
    tree = parse_source(source, name)
    entry = _entry_point(tree, name)
    scope = dict(namespace or {})
    scope["__name__"] = name
    run_source(compile(tree, name, "exec"), scope, name)
    function = scope.get(entry)
    if not callable(function):
        raise CompilationError(
            f"{name}: {entry!r} is not a function once the source ran"
        )
    return function


def run_source(code, scope: dict, name: str) -> None:
    """Run compiled top-level code; a failure is a :class:`CompilationError`."""
    try:
        exec(code, scope)
    except Exception as exc:
        line = source_line(exc.__traceback__)
        where = f" at line {line}" if line else ""
        message = f"{name}: {type(exc).__name__}: {exc}{where}"
        raise CompilationError(message) from exc


def positional_arity(function: Callable) -> int | None:
    """How many positional arguments ``function`` takes; None when unlimited."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_flags & 0x04:  # 0x04 is CO_VARARGS
        return None
    bound = 1 if getattr(function, "__self__", None) is not None else 0
    return code.co_argcount - bound


def describe_error(exc: BaseException) -> str:
    """``ValueError: bad (line 3)``: an exception and where in user code it rose."""
    line = source_line(exc.__traceback__)
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {exc}{where}"


def source_line(tb: TracebackType | None) -> int | None:
    """The line of the innermost traceback frame that lies in a compiled source."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in _SOURCE_NAMES:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def parse_source(source: str, name: str) -> ast.Module:
    """Parse ``source``; a syntax error is a :class:`CompilationError`.

    A source indented as a whole (as written inside a JSON file) is dedented
    first; that changes no line number, and no source that parses as it is.
    """
    if source.lstrip("\r\n")[:1] in (" ", "\t"):
        import textwrap  # rarely needed, so not loaded at start-up

        source = textwrap.dedent(source)
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as exc:
        raise CompilationError(f"{name}: {exc.msg} at line {exc.lineno}") from exc
    # Tracebacks of user functions then show their source lines.
    lines = source.splitlines(keepends=True)
    linecache.cache[name] = (len(source), None, lines, name)
    _SOURCE_NAMES.add(name)
    return tree


def _entry_point(tree: ast.Module, name: str) -> str:
    """Name of the last top-level ``def``, or else of a top-level lambda."""
    for node in reversed(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node.name
    # couchpy accepted a single global bound to a lambda; keep accepting it.
    for node in reversed(tree.body):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            target = node.targets[-1]
            if isinstance(target, ast.Name):
                return target.id
    if not tree.body:
        raise CompilationError(f"{name}: source is empty, line 1 defines no function")
    last = tree.body[-1]
    raise CompilationError(
        f"{name}: no function defined at top level; the last statement, "
        f"line {last.lineno}, is {_statement(last)}"
    )


def _statement(node: ast.stmt) -> str:
    words = {ast.Expr: "an expression", ast.Assign: "an assignment"}
    return words.get(type(node), f"a {type(node).__name__.lower()} statement")


def _kind(value: object) -> str:
    return type(value).__name__
