"""The `couchnet` command line.

Each command lives in its own module and is registered at the bottom of this
file. Commands take the shared options through `@connection_options` and get
a ready `Couch` client; expected failures raise `click.ClickException` (or a
`CouchError`/`ModelError`, turned into one here) and print `Error: ...`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click
import orjson

from loader.client import Couch, CouchError, explain
from loader.model import ModelError


def connection_options(command: Callable) -> Callable:
    """Add --url, --db and --json, and pass `couch` and `as_json` instead."""

    @click.option(
        "--url",
        envvar="COUCHDB_URL",
        default="http://127.0.0.1:5984",
        show_default=True,
        help="CouchDB server (env COUCHDB_URL); credentials may be in the URL "
        "or in COUCHDB_USER and COUCHDB_PASSWORD.",
    )
    @click.option(
        "--db",
        envvar="COUCHNET_DB",
        default="neural_net",
        show_default=True,
        help="Database holding the network (env COUCHNET_DB).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @functools.wraps(command)
    def wrapper(url: str, db: str, **kwargs):
        kwargs["couch"] = Couch(url, db)
        return command(**kwargs)

    return wrapper


def echo_json(value) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode())


class Group(click.Group):
    """Turns expected failures into `Error: ...` and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (CouchError, ModelError) as exc:
            raise click.ClickException(explain(exc)) from exc


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


# Commands are registered here, one line per module.
from loader.push import push  # noqa: E402

cli.add_command(push)

from loader.check_cli import check_command  # noqa: E402
from loader.documents_cli import (  # noqa: E402
    create_command,
    export_command,
    import_command,
)
from loader.evaluate_cli import eval_command  # noqa: E402
from loader.show_cli import show_command  # noqa: E402

cli.add_command(create_command)
cli.add_command(import_command)
cli.add_command(export_command)
cli.add_command(eval_command)
cli.add_command(show_command)
cli.add_command(check_command)

from loader.train_cli import plot_command, runs_command, train_command  # noqa: E402

cli.add_command(train_command)
cli.add_command(runs_command)
cli.add_command(plot_command)
