"""What show and list functions call: ``start``, ``send``, ``get_row``, ``provides``.

A list function talks with CouchDB while it runs: its first ``get_row()``
sends ``["start", chunks, headers]``, each later one sends ``["chunks", [...]]``,
and each reads the next ``["list_row", row]`` line, until ``["list_end"]``::

    def fun(head, req):
        start({"headers": {"Content-Type": "text/plain"}})
        while (row := get_row()) is not None:
            send(row["key"])
        return "done"
"""

from collections.abc import Callable

import orjson

from . import mime
from .encoding import encode_reply
from .errors import FatalError, QueryError
from .streams import LineReader, Output


class Render:
    """The state of the show or list function that is running, if any."""

    def __init__(self, reader: LineReader, output: Output):
        self.reader = reader
        self.output = output
        self.types = {key: list(mimes) for key, mimes in mime.DEFAULT_TYPES.items()}
        self.reset()

    def reset(self, name: str = "", listing: bool = False) -> None:
        """Start show (or, with ``listing``, list) function ``name`` afresh."""
        self.name = name  # for messages: "_design/net/lists/csv"
        self.listing = listing  # rows may be read only while a list runs
        self.chunks: list[str] = []
        self.start_response: dict = {}
        self.new_header = False
        self.got_row = False
        self.last_row = False
        self.provided: list[tuple[str, Callable]] = []
        self.content_type: str | None = None

    def functions(self) -> dict:
        """The globals show and list functions see."""
        return {
            "start": self.start,
            "send": self.send,
            "get_row": self.get_row,
            "provides": self.provides,
            "register_type": self.register_type,
        }

    def start(self, response: dict | None = None) -> None:
        """Set the code and headers the list's first chunk is sent with."""
        self.start_response = response or {}
        self.new_header = True

    def send(self, chunk: object) -> None:
        """Queue a piece of the response body."""
        self.chunks.append(chunk if isinstance(chunk, str) else str(chunk))

    def get_row(self) -> dict | None:
        """The next view row of a list, or None after the last."""
        if not self.listing:
            raise QueryError("render_error", "get_row() works in list functions only")
        if self.last_row:
            return None
        if self.got_row:
            self.flush_chunks("chunks")
        else:
            self.got_row = True
            self.send_start()
        return self._read_row()

    def provides(self, key: str, function: Callable) -> None:
        """Offer ``function`` to make the response in format ``key``."""
        self.provided.append((key, function))

    def register_type(self, key: str, *mime_types: str) -> None:
        """Name a format for ``provides``: ``register_type("png", "image/png")``."""
        self.types[key] = list(mime_types)

    def send_start(self) -> None:
        response = with_content_type(self.start_response, self.content_type)
        line = encode_reply(["start", self.chunks, response], f"{self.name} start")
        self.output.send_line(line)
        self.chunks = []
        self.start_response = {}
        self.new_header = False

    def flush_chunks(self, label: str) -> None:
        reply = [label, self.chunks]
        if self.new_header:
            reply.append(self.start_response)
            self.new_header = False
        self.output.send_line(encode_reply(reply, f"{self.name} {label}"))
        self.chunks = []

    def run_provides(self, req: dict) -> object:
        """Call the ``provides`` function the request asks for."""
        key = self._chosen_format(req)
        for provided_key, function in self.provided:
            if provided_key == key:
                return function()
        offered = ", ".join(k for k, _ in self.provided)
        accept = (req.get("headers") or {}).get("Accept")
        raise QueryError(
            "not_acceptable",
            f"Content-Type {accept or key} not supported, try: {offered}",
        )

    def _chosen_format(self, req: dict) -> str | None:
        fmt = (req.get("query") or {}).get("format")
        accept = (req.get("headers") or {}).get("Accept")
        if fmt:
            self.content_type = (self.types.get(fmt) or [None])[0]
            return fmt
        if accept:
            return self._match_accept(accept)
        key = self.provided[0][0]
        self.content_type = (self.types.get(key) or [None])[0]
        return key

    def _match_accept(self, accept: str) -> str | None:
        supported = []  # in the order offered: on a tie the first offer wins
        for key, _ in self.provided:
            supported.extend(self.types.get(key, []))
        self.content_type = mime.best_match(supported, accept)
        for key, _ in self.provided:
            if self.content_type in self.types.get(key, []):
                return key
        return None

    def _read_row(self) -> dict | None:
        line = self.reader.readline()
        if line is None:
            raise FatalError("list_error", "input ended inside a list")
        try:
            command = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FatalError("list_error", f"not a row, invalid JSON: {exc}") from exc
        name = command[0] if isinstance(command, list) and command else command
        if name == "list_end":
            self.last_row = True
            return None
        if name != "list_row" or len(command) < 2:
            raise FatalError("list_error", f"not a row '{name}'")
        return command[1]


def with_content_type(response: dict, content_type: str | None) -> dict:
    """``response`` with a headers object, holding Content-Type when one is known."""
    response = dict(response)
    headers = dict(response.get("headers") or {})
    if content_type and "Content-Type" not in headers:
        headers["Content-Type"] = content_type
    response["headers"] = headers
    return response


def wrap_response(response: object) -> object:
    """A string response becomes ``{"body": string}``."""
    return {"body": response} if isinstance(response, str) else response
