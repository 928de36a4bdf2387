"""Design documents: shape checks and compiling every function on save."""

from .documents import require_python
from .errors import CouchError, QueryServerError

BUILTIN_REDUCES = {"_sum", "_count", "_stats", "_approx_count_distinct"}
FUNCTION_SECTIONS = ("shows", "lists", "updates", "filters")


def invalid(reason: str) -> CouchError:
    return CouchError(400, "invalid_design_doc", reason)


def views_of(ddoc: dict) -> dict:
    """The design doc's views, after checking their shape."""
    views = ddoc.get("views", {})
    if not isinstance(views, dict):
        raise invalid("`views` is not an object")
    for name, view in views.items():
        if name == "lib":
            continue
        if not isinstance(view, dict) or not isinstance(view.get("map"), str):
            raise invalid(f"View {name} must have a `map` function as a string")
        reduce = view.get("reduce")
        if reduce is not None and not isinstance(reduce, str):
            raise invalid(f"View {name} has a `reduce` that is not a string")
        if isinstance(reduce, str) and reduce.startswith("_"):
            if reduce.strip() not in BUILTIN_REDUCES:
                raise invalid(f"Reduce function `{reduce}` is not a builtin")
    return {n: v for n, v in views.items() if n != "lib"}


def sources_of(ddoc: dict) -> list[str]:
    """Every function source of a design doc that passed check_shape, views first."""
    sources = []
    for view in views_of(ddoc).values():
        sources.append(view["map"])
        reduce = view.get("reduce")
        if reduce and not reduce.startswith("_"):
            sources.append(reduce)
    for section in FUNCTION_SECTIONS:
        for name, source in ddoc.get(section, {}).items():
            if not isinstance(source, str):
                raise invalid(f"{section}/{name} is not a string")
            sources.append(source)
    validate = ddoc.get("validate_doc_update")
    if validate is not None:
        if not isinstance(validate, str):
            raise invalid("`validate_doc_update` is not a string")
        sources.append(validate)
    return sources


def check_shape(ddoc: dict) -> None:
    """The members devcouch reads must have the types CouchDB expects."""
    for member in ("views", "options", *FUNCTION_SECTIONS):
        if not isinstance(ddoc.get(member, {}), dict):
            raise invalid(f"`{member}` is not an object")
    if not isinstance(ddoc.get("language", ""), str):
        raise invalid("`language` is not a string")


def compile_design_doc(pool, ddoc: dict) -> None:
    """Compile each function through a query server; 400 on a bad one."""
    check_shape(ddoc)
    sources = sources_of(ddoc)
    if not sources:
        return
    require_python(ddoc)
    with pool.checkout() as proc:
        lib = ddoc.get("views", {}).get("lib")
        if isinstance(lib, dict):
            proc.call(["add_lib", lib])
        replies = proc.call_many([["add_fun", source] for source in sources])
    for reply in replies:
        if isinstance(reply, QueryServerError):
            status = 400 if reply.error == "compilation_error" else 500
            raise CouchError(status, reply.error, reply.reason)
