"""Run the query server in-process: commands in, decoded reply lines out.

Handy for testing design functions without CouchDB::

    >>> from viewserver.testing import replies
    >>> replies(["add_fun", "def fun(doc):\\n    yield doc['_id'], 1"],
    ...         ["map_doc", {"_id": "n1"}])
    [True, [[['n1', 1]]]]
"""

import io
import textwrap
from dataclasses import dataclass

import orjson

from viewserver.protocol import serve
from viewserver.streams import LineReader, Output, stream_writer


@dataclass
class Session:
    lines: list  # every line the server wrote, decoded, log lines included
    status: int  # what serve() returned: 0 at end of input, 1 after a fatal error

    @property
    def replies(self) -> list:
        """The lines CouchDB would take as replies: log lines left out."""
        return [line for line in self.lines if not is_log(line)]

    @property
    def logs(self) -> list[str]:
        return [line[1] for line in self.lines if is_log(line)]


def is_log(line: object) -> bool:
    return isinstance(line, list) and len(line) == 2 and line[0] == "log"


def run(*commands) -> Session:
    """Serve ``commands`` (objects, or bytes taken as raw lines) until they end."""
    data = b"".join(
        (command if isinstance(command, bytes) else orjson.dumps(command)) + b"\n"
        for command in commands
    )
    source, sink = io.BytesIO(data), io.BytesIO()
    output = Output(stream_writer(sink))
    status = serve(LineReader(source.read, output.flush), output)
    lines = [orjson.loads(line) for line in sink.getvalue().splitlines()]
    return Session(lines, status)


def replies(*commands) -> list:
    """The replies (no log lines) to ``commands``."""
    return run(*commands).replies


DDOC_ID = "_design/net"


def teach(**fields) -> list:
    """``["ddoc", "new", ...]`` for a design document ``_design/net`` of ``fields``."""
    return ["ddoc", "new", DDOC_ID, {"_id": DDOC_ID, "language": "python", **fields}]


def call(path: list, args: list) -> list:
    """``["ddoc", "_design/net", path, args]``: run a function of that document."""
    return ["ddoc", DDOC_ID, path, args]


def source(text: str) -> str:
    """Function source written indented inside a test, dedented."""
    return textwrap.dedent(text).strip("\n") + "\n"
