"""The command loop: one JSON command per line in, one reply per line out.

A session as CouchDB runs it (``>`` is sent to the server, ``<`` comes back)::

    > ["reset",{"reduce_limit":true,"timeout":5000}]
    < true
    > ["add_fun","def fun(doc):\\n    yield doc['_id'], 1"]
    < true
    > ["map_doc",{"_id":"n1","bias":0.5}]
    < [[["n1",1]]]

Errors are answered in one place here: a :class:`QueryError` becomes
``["error", code, reason]`` and serving goes on; a :class:`FatalError`
becomes ``["fatal", code, reason]`` and ends the process with exit status 1.
"""

import gc
import os
import sys

import orjson
from orjson import loads

from . import design, diagnostics, views
from .errors import FatalError, QueryError
from .state import State
from .streams import LineReader, LogStream, Output, fd_writer

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
    """How many arguments each command takes after the state: (fewest, most)."""
    arities = {}
    for name, handler in commands.items():
        most = handler.__code__.co_argcount - 1
        arities[name] = (most - len(handler.__defaults__ or ()), most)
    return arities


ARITIES = _arities(COMMANDS)


def serve(reader: LineReader, output: Output) -> int:
    """Answer commands until the input ends (0) or a fatal error (1)."""
    state = State(reader, output)
    send, send_line = output.send, output.send_line
    debugging = diagnostics.debugging
    for line in reader:
        state.line = line
        if debugging:
            diagnostics.log.debug("command: %s", line[:500].decode(errors="replace"))
        try:
            command = loads(line)
            reply = COMMANDS[command[0]](state, *command[1:])
            if reply.__class__ is bytes:
                send_line(reply)
            elif reply is not None:
                send(reply)
        except QueryError as exc:
            if answer_error(output, exc):
                return 1
        except Exception as exc:
            if answer_error(output, failure(line, exc)):
                return 1
    output.flush()
    return 0


def answer_error(output: Output, exc: QueryError) -> bool:
    """Send the error's reply; True when the server must now exit."""
    output.send(exc.reply())
    if isinstance(exc, FatalError):
        diagnostics.log.error("fatal: %s: %s", exc.code, exc.reason)
        output.flush()
        return True
    diagnostics.log.info("error: %s: %s", exc.code, exc.reason)
    return False


def failure(line: bytes, exc: Exception) -> QueryError:
    """What went wrong with ``line``: bad JSON, an unknown command, or a bug."""
    try:
        command = loads(line)
    except orjson.JSONDecodeError as error:
        return QueryError("invalid_json", f"{error}: {line[:100]!r}")
    if not isinstance(command, list) or not command:
        return FatalError("unknown_command", f"not a command: {line[:100]!r}")
    name = command[0]
    if not isinstance(name, str) or name not in COMMANDS:
        return FatalError("unknown_command", f"unknown command '{name}'")
    fewest, most = ARITIES[name]
    if not fewest <= len(command) - 1 <= most:
        reason = f"{name} takes {fewest} to {most} arguments, got {len(command) - 1}"
        return FatalError("query_protocol_error", reason)
    # A bug of this server or a malformed argument; the process stays usable.
    diagnostics.log.error("%s failed", name, exc_info=exc)
    return QueryError("query_server_error", f"{name}: {exc!r}")


def serve_stdio() -> int:
    """Serve on file descriptors 0 and 1, as CouchDB starts the process.

    Anything else that writes to ``sys.stdout`` (a library's ``print()``)
    becomes log lines, so stdout carries the protocol alone. Replies go to a
    private copy of descriptor 1, and descriptor 1 itself now leads to
    stderr: what C code or a child process started by a design function
    writes there cannot break the protocol either.
    """
    protocol = os.dup(1)
    os.dup2(2, 1)
    output = Output(fd_writer(protocol))
    reader = LineReader(lambda size: os.read(0, size), output.flush)
    sys.stdout = LogStream(output)
    tune_garbage_collector()
    return serve(reader, output)


def tune_garbage_collector() -> None:
    """Collect cycles less often: decoded documents hold none, and their many
    short-lived containers would otherwise trigger a collection every few
    documents. Objects made at start-up are left out of collections for good.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
