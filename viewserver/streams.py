"""Line input and batched output for the protocol.

Replies are collected and written in one go whenever the input holds no
complete line: CouchDB (one command, then wait) sees every reply at once, and
a stream of commands costs one write per batch instead of one per reply.
"""

import io
import os
from collections.abc import Callable, Iterator

import orjson

CHUNK_SIZE = 1 << 16


class LineReader:
    """Lines from ``read(n)``; ``before_wait()`` runs before every read.

    Iterating gives the non-blank lines, without their newline, until the
    input ends; :meth:`readline` takes the next one from the same iterator.
    """

    def __init__(self, read: Callable[[int], bytes], before_wait: Callable[[], None]):
        self._lines = _split_lines(read, before_wait)

    def __iter__(self) -> Iterator[bytes]:
        return self._lines

    def readline(self) -> bytes | None:
        """The next line, or None at end of input."""
        return next(self._lines, None)


def _split_lines(read, before_wait) -> Iterator[bytes]:
    partial: list[bytes] = []
    while True:
        before_wait()
        chunk = read(CHUNK_SIZE)
        if not chunk:
            break
        if not partial and chunk.find(b"\n") == len(chunk) - 1:
            # One whole line, as CouchDB sends a command and waits: no splitting.
            if not chunk.isspace():
                yield chunk[:-1]
            continue
        partial.append(chunk)
        if b"\n" not in chunk:
            continue
        lines = b"".join(partial).split(b"\n")
        partial = [lines.pop()]
        for line in lines:
            if line and not line.isspace():
                yield line
    tail = b"".join(partial)
    if tail and not tail.isspace():
        yield tail


class Output:
    """Protocol replies, one compact JSON value per line, written in batches."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write = write
        self._pending: list[bytes] = []
        # Replies wait at most until the next read of input, which comes
        # after every 64 KiB of commands, so the batch stays small.
        self.send_line = self._pending.append

    def send(self, reply: object) -> None:
        self.send_line(orjson.dumps(reply))

    def log(self, message: str) -> None:
        try:
            self.send(["log", message])
        except TypeError:  # lone surrogates, which UTF-8 cannot carry
            self.send(["log", message.encode("utf-8", "replace").decode("utf-8")])

    def flush(self) -> None:
        if self._pending:
            self._pending.append(b"")
            data = b"\n".join(self._pending)
            self._pending.clear()
            self._write(data)


def fd_writer(fd: int) -> Callable[[bytes], None]:
    """A write function for a file descriptor that writes every byte."""

    def write(data: bytes) -> None:
        written = os.write(fd, data)
        while written < len(data):  # a pipe may take a large write in parts
            data = data[written:]
            written = os.write(fd, data)

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
