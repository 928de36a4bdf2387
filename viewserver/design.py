"""The ``ddoc`` command: cache design documents and run their functions.

``["ddoc", "new", "_design/net", {...}]`` caches a design document;
``["ddoc", "_design/net", ["shows", "neuron"], [doc, req]]`` runs one of its
functions, compiled on first use and kept until the document is replaced.
"""

from collections.abc import Callable
from typing import NamedTuple

from .compiler import describe_error, positional_arity
from .encoding import encode_reply
from .errors import FatalError, QueryError, Rejection
from .modules import make_require
from .render import with_content_type, wrap_response
from .state import State
from .streams import LineReader, Output
from .views import compile_or_error, with_doc_id


class DesignFunction(NamedTuple):
    """A compiled design function and what messages call it."""

    call: Callable
    name: str  # "_design/net/shows/neuron"
    emitted: list  # what its emit() adds to, for views used as filters


class DesignDoc:
    """A cached design document with its compiled functions and modules."""

    def __init__(self, state: State, ddoc_id: str, doc: dict):
        self.id = ddoc_id
        self.doc = doc if isinstance(doc, dict) else {}
        self.functions: dict = {}
        self.emitted: list = []
        namespace = state.namespace(self.emitted)
        namespace.update(state.render.functions())
        namespace["require"] = make_require(self.doc, {}, state.base_namespace())
        namespace["ddoc"] = self.doc  # what JavaScript functions see as `this`
        self.namespace = namespace

    def function(self, path: list) -> DesignFunction:
        """The compiled function at ``path`` (``["shows", "neuron"]``)."""
        key = tuple(path)
        function = self.functions.get(key)
        if function is None:
            source = self._source(path)
            name = "/".join([self.id, *map(str, path)])
            compiled = compile_or_error(source, name, self.namespace)
            function = DesignFunction(compiled, name, self.emitted)
            self.functions[key] = function
        return function

    def _source(self, path: list) -> str:
        node: object = self.doc
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not node:
            raise QueryError(
                "not_found",
                f"missing {path[0]} function {path[-1]} on design doc {self.id}",
            )
        return node


def ddoc(state: State, first: str, second, third) -> object:
    """Handle ``["ddoc", "new", id, doc]`` and ``["ddoc", id, path, args]``."""
    if first == "new":
        return learn(state, second, third)
    return run_function(state, first, second, third)


def learn(state: State, ddoc_id: str, doc: dict) -> bool:
    """Cache ``doc``, replacing an older copy and what was compiled from it."""
    state.ddocs[ddoc_id] = DesignDoc(state, ddoc_id, doc)
    return True


def run_function(state: State, ddoc_id: str, path: list, args: list) -> object:
    """Run the function at ``path`` of a cached design doc with ``args``."""
    design = state.ddocs.get(ddoc_id)
    if design is None:
        raise FatalError("query_protocol_error", f"uncached design doc: {ddoc_id}")
    if not isinstance(path, list) or not path:
        raise FatalError("query_protocol_error", f"bad function path: {path!r}")
    runner = RUNNERS.get(path[0])
    if runner is None:
        raise FatalError("unknown_command", f"unknown ddoc command '{path[0]}'")
    return runner(state, design.function(path), args)


def run_show(state: State, fun: DesignFunction, args: list) -> bytes:
    """``["resp", {"body": ..., "headers": ...}]`` from ``show(doc, req)``."""
    doc, req = args[0], request_of(args)
    render = state.render
    render.reset(fun.name)
    try:
        response = wrap_response(call(fun, args) or {})
        response = _with_sent_chunks(render, response)
        if render.provided:
            response = _with_provided(render, req, response)
    except Exception as exc:
        missing = doc is None and len(req.get("path") or []) > 5
        if missing and not isinstance(exc, FatalError):
            raise QueryError("not_found", "document not found") from exc
        raise render_error(exc, fun) from exc
    if not isinstance(response, dict):
        raise QueryError("render_error", "undefined response from show function")
    return encode_reply(["resp", response], _about(fun, doc))


def run_list(state: State, fun: DesignFunction, args: list) -> None:
    """Run ``list(head, req)``; rows are read while it calls ``get_row()``.

    Its replies (``start``, ``chunks``, ``end``) are sent as it goes.
    """
    render = state.render
    render.reset(fun.name, listing=True)
    try:
        tail = call(fun, args)
        if render.provided:
            tail = render.run_provides(request_of(args))
        if not render.got_row:
            render.get_row()
        if tail is not None:
            render.send(tail)
        render.flush_chunks("end")
    except Exception as exc:
        raise render_error(exc, fun) from exc
    finally:
        render.listing = False


def run_update(state: State, fun: DesignFunction, args: list) -> bytes:
    """``["up", doc or null, response]`` from ``update(doc, req)``."""
    req = request_of(args)
    if req.get("method") == "GET":
        raise QueryError("method_not_allowed", "Update functions do not allow GET")
    try:
        doc, response = call(fun, args)
    except Exception as exc:
        raise render_error(exc, fun) from exc
    if not isinstance(response, dict | str):
        raise QueryError("render_error", "undefined response from update function")
    reply = ["up", doc, wrap_response(response)]
    return encode_reply(reply, _about(fun, args[0] or doc))


def run_filter(state: State, fun: DesignFunction, args: list) -> list:
    """``[true, [bool, ...]]``: which docs ``filter(doc, req)`` lets through."""
    docs, req = args[0], request_of(args)
    arity = positional_arity(fun.call)
    results = []
    for doc in docs:
        try:
            results.append(bool(fun.call(*(doc, req)[:arity])))
        except QueryError:
            raise
        except Exception as exc:
            raise user_error(exc, fun, doc) from exc
    return [True, results]


def run_view_filter(state: State, fun: DesignFunction, args: list) -> list:
    """``[true, [bool, ...]]``: which docs make a view's map function emit."""
    emitted = fun.emitted
    results = []
    for doc in args[0]:
        emitted.clear()
        try:
            result = fun.call(doc)
            passed = bool(emitted) or (result is not None and any(True for _ in result))
        except QueryError:
            raise
        except Exception as exc:
            raise user_error(exc, fun, doc) from exc
        results.append(passed)
    return [True, results]


def run_validate(state: State, fun: DesignFunction, args: list) -> object:
    """``1``, or ``{"forbidden": reason}`` / ``{"unauthorized": reason}``."""
    try:
        call(fun, args)
    except Rejection as rejection:
        return encode_reply(rejection.reply(), _about(fun, args[0]))
    except QueryError:
        raise
    except Exception as exc:
        raise user_error(exc, fun, args[0]) from exc
    return 1


def run_rewrite(state: State, fun: DesignFunction, args: list) -> object:
    """``["ok", {"path": ...}]`` or ``["no_dispatch_rule"]`` from ``rewrite(req)``."""
    try:
        result = call(fun, args)
    except Rejection as rejection:
        return encode_reply(rejection.reply(), fun.name)
    except QueryError:
        raise
    except Exception as exc:
        raise user_error(exc, fun) from exc
    if not result:
        return ["no_dispatch_rule"]
    if isinstance(result, str):
        result = {"path": result}
    return encode_reply(["ok", result], fun.name)


def request_of(args: list) -> dict:
    """The ``req`` that follows the document (or head) in ``args``; ``{}`` if none."""
    return args[1] if len(args) > 1 else {}


def call(fun: DesignFunction, args: list) -> object:
    """Call ``fun`` with as many of ``args`` as it takes."""
    return fun.call(*args[: positional_arity(fun.call)])


def render_error(exc: Exception, fun: DesignFunction) -> QueryError:
    """The reply for a show, list or update function that failed."""
    if isinstance(exc, QueryError):
        return exc
    return QueryError("render_error", f"{fun.name} raised {describe_error(exc)}")


def user_error(exc: Exception, fun: DesignFunction, doc=None) -> QueryError:
    """The reply for a filter, validation or rewrite function that failed."""
    message = f"{fun.name} raised {describe_error(exc)}{with_doc_id(doc)}"
    return QueryError(type(exc).__name__, message)


def _about(fun: DesignFunction, doc: object) -> str:
    """``_design/net/shows/s with doc._id n1``: who made a value, for messages."""
    return fun.name + with_doc_id(doc)


def _with_sent_chunks(render, response: dict) -> dict:
    """A show that used ``send()``: the chunks come before the returned body."""
    if not render.chunks or not isinstance(response, dict):
        return response
    response = with_content_type(response, None)
    response["headers"].update(render.start_response.get("headers") or {})
    response["body"] = "".join(render.chunks) + (response.get("body") or "")
    render.chunks = []
    return response


def _with_provided(render, req: dict, response: dict) -> dict:
    provided = wrap_response(render.run_provides(req) or {})
    response = dict(response)
    body = (response.get("body") or "") + "".join(render.chunks)
    response["body"] = body + (provided.get("body") or "")
    render.chunks = []
    return with_content_type(response, render.content_type)


def check_design_doc(doc: dict) -> dict[str, str]:
    """Compile every Python function of design document ``doc`` as the server
    would, libraries required at load time included. Returns what fails, by
    path: ``{"shows/neuron": "require('lib/none'): no 'lib/none' found"}``."""
    output = Output(lambda data: None)  # what top levels log goes nowhere
    state = State(LineReader(lambda size: b"", output.flush), output)
    design = DesignDoc(state, str(doc.get("_id", "_design/?")), doc)
    problems = {}
    for path in function_paths(doc):
        try:
            design.function(path)
        except QueryError as exc:
            problems["/".join(path)] = exc.reason
    return problems


def function_paths(doc: dict) -> list[list[str]]:
    """Where ``doc`` holds functions: ``[["shows", "neuron"], ...]``."""
    paths = []
    for kind in ("shows", "lists", "updates", "filters"):
        paths += [[kind, name] for name in _mapping(doc.get(kind))]
    for name, view in _mapping(doc.get("views")).items():
        for part in ("map", "reduce"):
            source = view.get(part) if isinstance(view, dict) else None
            if isinstance(source, str) and not source.startswith("_"):
                paths.append(["views", name, part])  # "_sum" and such are built in
    paths += [[key] for key in ("validate_doc_update", "rewrites") if key in doc]
    return paths


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


RUNNERS = {
    "shows": run_show,
    "lists": run_list,
    "updates": run_update,
    "filters": run_filter,
    "views": run_view_filter,
    "validate_doc_update": run_validate,
    "rewrites": run_rewrite,
}
