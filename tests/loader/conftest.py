"""Fixtures for the command-line tests: a database, with or without the design."""

import pytest
from click.testing import CliRunner

from loader.cli import cli
from loader.client import Couch


def split_db_url(db_url: str) -> tuple[str, str]:
    server, db = db_url.rsplit("/", 1)
    return server, db


class Runner:
    """Runs `couchnet` commands in-process against one database."""

    def __init__(self, db_url: str):
        self.server, self.db = split_db_url(db_url)
        self.couch = Couch(self.server, self.db)

    def __call__(self, *args: str, stdin: str | None = None):
        arguments = [*args, "--url", self.server, "--db", self.db]
        return CliRunner().invoke(cli, arguments, input=stdin)

    def ok(self, *args: str, stdin: str | None = None):
        result = self(*args, stdin=stdin)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result


@pytest.fixture
def bare(db_url):
    """A runner on an empty database without the design document."""
    return Runner(db_url)


@pytest.fixture
def couchnet(db_url):
    """A runner on an empty database with the design documents pushed."""
    runner = Runner(db_url)
    runner.ok("push")
    return runner
