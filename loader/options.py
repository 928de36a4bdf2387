"""Options and output helpers shared by every `couchnet` command."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click
import orjson

from loader.client import Couch


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
