"""The command loop: one JSON command per line in, one reply per line out.

A session as CouchDB runs it (``>`` is sent to the server, ``<`` comes back)::

    > ["reset",{"reduce_limit":true,"timeout":5000}]
    < true
    > ["add_fun","def fun(doc):\\n    yield doc['_id'], 1"]
    < true
    > ["map_doc",{"_id":"n1","bias":0.5}]
    < [[["n1",1]]]

Errors are answered in one place here: a :class:`QueryError` becomes
``["error", code, reason]`` and serving goes on; a :class:`FatalError` is
answered the same way and ends the process with exit status 1.
"""

import inspect
import logging
import os
import sys

import orjson

from . import design, views
from .errors import FatalError, QueryError
from .state import State
from .streams import LineReader, LogStream, Output, fd_writer

logger = logging.getLogger("viewserver")

COMMANDS = {
    "reset": views.reset,
    "add_lib": views.add_lib,
    "add_fun": views.add_fun,
    "map_doc": views.map_doc,
    "reduce": views.reduce,
    "rereduce": views.rereduce,
    "ddoc": design.ddoc,
}


def _arities(commands: dict) -> dict:
    """How many arguments each command takes: (fewest, most)."""
    arities = {}
    for name, handler in commands.items():
        params = list(inspect.signature(handler).parameters.values())[1:]
        required = [p for p in params if p.default is inspect.Parameter.empty]
        arities[name] = (len(required), len(params))
    return arities


ARITIES = _arities(COMMANDS)


def serve(reader: LineReader, output: Output) -> int:
    """Answer commands until the input ends (0) or a fatal error (1)."""
    state = State(reader, output)
    debug = logger.isEnabledFor(logging.DEBUG)
    while (line := reader.readline()) is not None:
        state.line = line
        if debug:
            logger.debug("command: %s", line[:500].decode(errors="replace"))
        try:
            reply = dispatch(state, line)
        except FatalError as exc:
            logger.error("fatal: %s: %s", exc.code, exc.reason)
            output.send(exc.reply())
            output.flush()
            return 1
        except QueryError as exc:
            logger.info("error: %s: %s", exc.code, exc.reason)
            output.send(exc.reply())
            continue
        if reply is None:
            continue
        if reply.__class__ is bytes:
            output.send_line(reply)
        else:
            output.send(reply)
    output.flush()
    return 0


def dispatch(state: State, line: bytes) -> object:
    """Run the command on ``line``; its reply, pre-encoded bytes, or None if sent."""
    try:
        command = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise QueryError("invalid_json", f"{exc}: {line[:100]!r}") from exc
    if not isinstance(command, list) or not command:
        raise FatalError("unknown_command", f"not a command: {line[:100]!r}")
    name = command[0]
    handler = COMMANDS.get(name) if isinstance(name, str) else None
    if handler is None:
        raise FatalError("unknown_command", f"unknown command '{name}'")
    fewest, most = ARITIES[name]
    if not fewest <= len(command) - 1 <= most:
        reason = f"{name} takes {fewest} to {most} arguments, got {len(command) - 1}"
        raise FatalError("query_protocol_error", reason)
    try:
        return handler(state, *command[1:])
    except QueryError:
        raise
    except Exception as exc:
        # A bug of this server or a malformed command; the process stays usable.
        logger.exception("%s failed", name)
        raise QueryError("query_server_error", f"{name}: {exc!r}") from exc


def serve_stdio() -> int:
    """Serve on file descriptors 0 and 1, as CouchDB starts the process.

    Anything else that writes to ``sys.stdout`` (a library's ``print()``)
    becomes log lines, so stdout carries the protocol alone.
    """
    output = Output(fd_writer(1))
    reader = LineReader(lambda size: os.read(0, size), output.flush)
    sys.stdout = LogStream(output)
    return serve(reader, output)
