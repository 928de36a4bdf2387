"""Fixtures for the command-line tests: a database, with or without the design."""

import uuid

import pytest
import requests
from click.testing import CliRunner

from loader.cli import cli
from loader.client import Couch


class Runner:
    """Runs `couchnet` commands in-process against one database."""

    def __init__(self, db_url: str):
        self.server, self.db = db_url.rsplit("/", 1)
        self.couch = Couch(self.server, self.db)

    def __call__(self, *args: str, stdin: str | None = None, env: dict | None = None):
        arguments = list(args)
        if "--url" not in args:
            arguments += ["--url", self.server]
        if "--db" not in args:
            arguments += ["--db", self.db]
        return CliRunner(env=env).invoke(cli, arguments, input=stdin)

    def ok(self, *args: str, stdin: str | None = None):
        result = self(*args, stdin=stdin)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result


@pytest.fixture
def bare(couch_url):
    """A runner on a database of its own, without the design document."""
    url = f"{couch_url}/test_bare_{uuid.uuid4().hex[:12]}"
    requests.put(url, timeout=30).raise_for_status()
    yield Runner(url)
    requests.delete(url, timeout=30)


@pytest.fixture
def couchnet(db_url):
    """A runner on an empty database with the design documents pushed."""
    runner = Runner(db_url)
    runner.ok("push")
    return runner
