"""Query server child processes, spoken to as CouchDB speaks to them.

One compact JSON value per line on the child's stdin, one reply per line on
its stdout, `["log", msg]` lines allowed before a reply. A checkout starts
with `["reset", config]`; a design doc is sent with `["ddoc", "new", ...]`
the first time a process needs it. A child that times out, crashes or
answers `fatal` is killed and a fresh one takes its place.
"""

import logging
import os
import select
import subprocess
import threading
import time
from contextlib import contextmanager

import orjson

from .errors import QueryServerError

log = logging.getLogger("devcouch.queryserver")


class ProcessBroken(QueryServerError):
    """The child is no longer usable: killed, and replaced on next checkout."""

    def __init__(self, reason: str):
        super().__init__("os_process_error", reason)


class QueryProcess:
    """One running query server."""

    def __init__(self, command: list[str], timeout: float):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        self.buffer = b""
        self.ddocs: dict[str, str] = {}  # design doc id -> rev it has cached
        log.info("query server started: pid %d, %s", self.proc.pid, " ".join(command))

    def call(self, command: list):
        """Send one command and return its reply (`error` replies raise)."""
        reply = self.call_many([command])[0]
        if isinstance(reply, QueryServerError):
            raise reply
        return reply

    def call_many(self, commands: list[list]) -> list:
        """Send commands back to back, then read one reply for each.

        An `error` reply is returned as a QueryServerError in its place, so
        that the replies after it are still read and the stream stays in step.
        """
        lines = b"".join(orjson.dumps(c) + b"\n" for c in commands)
        # The child answers as it reads: with several commands in flight, a
        # thread writes so that its replies are read meanwhile and no pipe fills.
        writer = None
        if len(commands) > 1:
            writer = threading.Thread(target=self._write, args=(lines,), daemon=True)
            writer.start()
        else:
            self._write(lines)
        replies = []
        for _ in commands:
            replies.append(self._read_reply(time.monotonic() + self.timeout))
        if writer is not None:
            writer.join()
        for reply in replies:
            if isinstance(reply, ProcessBroken):
                raise reply
        return replies

    def _write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader sees the dead process and reports it

    def _read_reply(self, deadline: float):
        while True:
            line = self._read_line(deadline)
            try:
                reply = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.kill("it wrote a line that is not JSON")
                return ProcessBroken(f"query server sent invalid JSON: {line[:200]!r}")
            kind = reply[0] if isinstance(reply, list) and reply else None
            if kind == "log":
                log.info("query server log: %s", reply[1] if len(reply) > 1 else "")
                continue
            if kind == "error":
                return QueryServerError(str(reply[1]), str(reply[2]))
            if kind == "fatal":
                self.kill(f"it answered fatal: {str(reply[1:])[:200]}")
                return ProcessBroken(f"{reply[1]}: {reply[2]}")
            return reply

    def _read_line(self, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.kill(f"no answer within os_process_timeout ({self.timeout} s)")
                raise ProcessBroken("OS process timed out.")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                status = self.kill("it closed its stdout (crashed or exited)")
                raise ProcessBroken(f"{{exit_status,{status}}}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def teach(self, ddoc: dict) -> None:
        """Make sure the child holds this revision of the design doc."""
        if self.ddocs.get(ddoc["_id"]) != ddoc.get("_rev"):
            self.call(["ddoc", "new", ddoc["_id"], ddoc])
            self.ddocs[ddoc["_id"]] = ddoc.get("_rev")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, why: str | None = None):
        """Stop the child; `why` it is given up on, unless a normal shutdown."""
        if self.proc.poll() is None:
            self.proc.kill()
        status = self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if why:
            log.warning(
                "query server killed: pid %d, %s; exit status %s",
                self.proc.pid,
                why,
                status,
            )
        else:
            log.info("query server stopped: pid %d, status %s", self.proc.pid, status)
        return status


class QueryServerPool:
    """A few reusable children, checked out one request at a time."""

    def __init__(self, command: list[str], config: dict, size: int = 4):
        self.command = command
        self.config = config  # sent in every reset: reduce_limit, timeout
        self.size = size
        self.idle: list[QueryProcess] = []
        self.running = 0
        self.lock = threading.Condition()

    @property
    def timeout(self) -> float:
        return self.config["timeout"] / 1000

    @contextmanager
    def checkout(self):
        """A reset child; killed on any failure instead of going back."""
        proc = self._take()
        try:
            proc.call(["reset", self.config])
            yield proc
        except QueryServerError:
            # After an `error` reply the child is still in step: keep it.
            self._give_back(proc)
            raise
        except BaseException as error:
            proc.kill(f"its conversation broke off: {error!r:.200}")
            self._give_back(proc)
            raise
        self._give_back(proc)

    def _take(self) -> QueryProcess:
        with self.lock:
            self._drop_dead()
            while not self.idle and self.running >= self.size:
                self.lock.wait()
                self._drop_dead()
            if self.idle:
                return self.idle.pop()
            self.running += 1
        try:
            return QueryProcess(self.command, self.timeout)
        except OSError as error:
            with self.lock:
                self.running -= 1
                self.lock.notify()
            raise ProcessBroken(f"cannot start the query server: {error}") from None

    def _drop_dead(self) -> None:
        """Forget idle children that died while waiting (killed, out of memory)."""
        for proc in [p for p in self.idle if not p.alive()]:
            self.idle.remove(proc)
            proc.kill("it died while idle")
            self.running -= 1

    def _give_back(self, proc: QueryProcess) -> None:
        with self.lock:
            if proc.alive():
                self.idle.append(proc)
            else:
                self.running -= 1
            self.lock.notify()

    def close(self) -> None:
        with self.lock:
            for proc in self.idle:
                proc.kill()
            self.idle.clear()
