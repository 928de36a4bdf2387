"""The query server as CouchDB runs it: a child process, replies read line by line."""

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest


def installed_script(name: str, package: str) -> str:
    """The console script ``name`` next to this interpreter, or else on PATH."""
    script = Path(sys.executable).with_name(name)
    found = str(script) if script.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run `make install` ({package})")
    return found


def installed_viewserver() -> str:
    return installed_script("couchnet-viewserver", "couchnet")


class ChildServer:
    """A query server process; ``run`` sends a command and reads its reply."""

    def __init__(self, command: list[str]):
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.logs: list[str] = []

    def run(self, command: object) -> object:
        self.send(command)
        return self.reply()

    def send(self, command: object) -> None:
        self.process.stdin.write(orjson.dumps(command) + b"\n")
        self.process.stdin.flush()

    def reply(self) -> object:
        """The next reply line, log lines set aside as CouchDB does."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise EOFError("no response")
            reply = orjson.loads(line)
            if not (isinstance(reply, list) and reply[:1] == ["log"]):
                return reply
            self.logs.append(reply[1])

    def has_exited(self) -> bool:
        """True when the process no longer answers (as the spec checks it)."""
        try:
            self.run(["reset"])
        except (EOFError, BrokenPipeError):
            return self.process.wait(timeout=10) is not None
        return False

    def close(self) -> int:
        """End the input as CouchDB does and wait for the exit status."""
        if not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        return self.process.wait(timeout=10)

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.close()
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def start_server():
    """Start ``couchnet-viewserver`` child processes; all are closed afterwards."""
    started = []

    def start(*args: str, command: list[str] | None = None) -> ChildServer:
        server = ChildServer((command or [installed_viewserver()]) + list(args))
        started.append(server)
        return server

    yield start
    for server in started:
        server.release()


def couchpy() -> str:
    """couchdb-python 1.2's query server, the one this project replaces."""
    return installed_script("couchpy", "CouchDB==1.2")


@pytest.fixture(scope="module")
def shared_server():
    """One ``couchnet-viewserver`` for a whole test module, as a spec suite uses."""
    server = ChildServer([installed_viewserver()])
    yield server
    server.release()


@pytest.fixture(scope="session")
def couchpy_command() -> list[str]:
    return [couchpy()]


@pytest.fixture(scope="module")
def shared_couchpy():
    """One couchpy process for a whole test module."""
    server = ChildServer([couchpy()])
    yield server
    server.release()


def _json_strategies():
    from hypothesis import strategies as st

    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    values = st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
        ),
        max_leaves=12,
    )
    documents = st.tuples(text, st.dictionaries(text, values, max_size=6)).map(
        lambda pair: {**pair[1], "_id": pair[0]}
    )
    return values, documents


@pytest.fixture(scope="session")
def json_values():
    """A hypothesis strategy: any value a JSON document may hold.

    Integers stay within 64 bits, the range orjson (and so this server)
    keeps exact; larger ones come back as floats, as in JavaScript.
    """
    return _json_strategies()[0]


@pytest.fixture(scope="session")
def json_documents():
    """A hypothesis strategy: JSON objects with an ``_id``, like CouchDB documents."""
    return _json_strategies()[1]
