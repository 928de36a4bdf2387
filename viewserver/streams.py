"""Line input and batched output for the protocol.

Replies are collected and written in one go whenever the input holds no
complete line: CouchDB (one command, then wait) sees every reply at once, and
a stream of commands costs one write per batch instead of one per reply.
"""

import io
import os
from collections import deque
from collections.abc import Callable

import orjson

CHUNK_SIZE = 1 << 16
MAX_PENDING = 512  # replies kept before writing even when more input waits


class LineReader:
    """Split bytes from ``read(n)`` into lines; flush the output before blocking."""

    def __init__(self, read: Callable[[int], bytes], before_wait: Callable[[], None]):
        self._read = read
        self._before_wait = before_wait
        self._lines: deque[bytes] = deque()
        self._partial: list[bytes] = []

    def readline(self) -> bytes | None:
        """The next non-blank line without its newline, or None at end of input."""
        while True:
            while self._lines:
                line = self._lines.popleft()
                if line.strip():
                    return line
            if not self._fill():
                return None

    def _fill(self) -> bool:
        self._before_wait()
        chunk = self._read(CHUNK_SIZE)
        if not chunk:
            tail = b"".join(self._partial)
            self._partial.clear()
            self._lines.append(tail)
            return bool(tail.strip())
        if b"\n" not in chunk:
            self._partial.append(chunk)
            return True
        self._partial.append(chunk)
        lines = b"".join(self._partial).split(b"\n")
        self._partial = [lines.pop()]
        self._lines.extend(lines)
        return True


class Output:
    """Protocol replies, one compact JSON value per line, written in batches."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write = write
        self._pending: list[bytes] = []

    def send(self, reply: object) -> None:
        self.send_line(orjson.dumps(reply))

    def send_line(self, line: bytes) -> None:
        pending = self._pending
        pending.append(line)
        if len(pending) >= MAX_PENDING:
            self.flush()

    def log(self, message: str) -> None:
        self.send(["log", message])

    def flush(self) -> None:
        if self._pending:
            self._pending.append(b"")
            data = b"\n".join(self._pending)
            self._pending.clear()
            self._write(data)


def fd_writer(fd: int) -> Callable[[bytes], None]:
    """A write function for a file descriptor that writes every byte."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write


def stream_writer(stream) -> Callable[[bytes], None]:
    """A write function for a binary file object, flushed after each batch."""

    def write(data: bytes) -> None:
        stream.write(data)
        stream.flush()

    return write


class LogStream(io.TextIOBase):
    """A text stream whose lines become ``["log", line]`` protocol lines."""

    def __init__(self, output: Output):
        self._output = output
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._output.log(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._output.log(self._partial)
            self._partial = ""
