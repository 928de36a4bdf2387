"""Call the network's design functions directly, as the query server would.

Each function is compiled from the design document that `couchnet push`
builds, with the globals a query server gives: `log`, `require`, the
rejections, and for lists `start`, `send` and `get_row`.
"""

import json
from pathlib import Path
from types import ModuleType

import pytest

from loader.designdoc import build, lookup
from viewserver.compiler import compile_function

NETWORK = Path(__file__).resolve().parents[2] / "designdocs" / "network"
# The three example neurons of the original article, as its CouchDB stored them.
SEEDS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "article_neurons.json").read_text()
)


class Forbidden(Exception):
    pass


class Unauthorized(Exception):
    pass


class ListRun:
    """The list protocol in one process: rows in, start response and body out."""

    def __init__(self, rows):
        self.rows = list(rows)
        self.response = None
        self.chunks = []

    def start(self, response=None):
        assert self.response is None, "start() called twice"
        self.response = response or {}

    def send(self, chunk):
        assert self.response is not None, "send() before start()"
        self.chunks.append(chunk)

    def get_row(self):
        if self.response is None:
            self.response = {}
        return self.rows.pop(0) if self.rows else None

    @property
    def body(self):
        return "".join(self.chunks)


class Functions:
    Forbidden = Forbidden

    def __init__(self):
        self.ddoc = build(NETWORK).doc
        self.logged = []
        self.modules = {}

    def require(self, path):
        if path not in self.modules:
            module = ModuleType(path)
            module.__dict__.update(self.namespace())
            source = lookup(self.ddoc, tuple(path.split("/")))
            exec(compile(source, path, "exec"), module.__dict__)
            self.modules[path] = module
        return self.modules[path]

    def namespace(self, **extra):
        names = {"log": self.logged.append, "require": self.require}
        names |= {"Forbidden": Forbidden, "Unauthorized": Unauthorized}
        return names | extra

    def load(self, *key, **extra):
        source = lookup(self.ddoc, key)
        return compile_function(source, "/".join(key), self.namespace(**extra))

    def run_list(self, name, rows, query=None):
        run = ListRun(rows)
        protocol = {"start": run.start, "send": run.send, "get_row": run.get_row}
        function = self.load("lists", name, **protocol)
        function({"total_rows": len(run.rows), "offset": 0}, {"query": query or {}})
        return run


@pytest.fixture
def functions():
    return Functions()


@pytest.fixture
def seeds():
    return [dict(doc, inputs=[dict(e) for e in doc["inputs"]]) for doc in SEEDS]
