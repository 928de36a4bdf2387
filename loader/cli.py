"""The `couchnet` command line.

Each command lives in its own module and is registered below. Commands take
the shared options through `loader.options.connection_options` and get a
ready `Couch` client; expected failures raise `click.ClickException` (or a
`CouchError`/`ModelError`, turned into one here) and print `Error: ...`.
"""

from __future__ import annotations

import sys

import click

from loader.check_cli import check_command
from loader.client import CouchError, explain
from loader.documents_cli import create_command, export_command, import_command
from loader.evaluate_cli import eval_command
from loader.model import ModelError
from loader.network import QUERY_SERVER_HINT, runs_no_python
from loader.push import push
from loader.show_cli import show_command
from loader.train_cli import plot_command, runs_command, train_command


class Group(click.Group):
    """Turns expected failures into `Error: ...` and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (CouchError, ModelError) as exc:
            raise click.ClickException(failure_message(exc)) from exc


def failure_message(exc: Exception) -> str:
    """The `Error: ...` line; a server without Python views is told how to fix it."""
    message = explain(exc)
    if isinstance(exc, CouchError) and runs_no_python(exc):
        if QUERY_SERVER_HINT not in message:
            return f"{message}; {QUERY_SERVER_HINT}"
    return message


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Keep, browse, evaluate and train a neural network stored in CouchDB.

    \b
    Example:
      couchnet push && couchnet create --layers 2,4,1 && couchnet eval \\
          --input input_0=0.5 --input input_1=-1
    """


def main() -> None:
    sys.exit(cli.main(prog_name="couchnet", standalone_mode=True))


for command in (
    push,
    check_command,
    create_command,
    import_command,
    export_command,
    eval_command,
    show_command,
    train_command,
    runs_command,
    plot_command,
):
    cli.add_command(command)
