"""Options and output helpers shared by every `couchnet` command."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

import click
import orjson

from loader.client import DEFAULT_DB, DEFAULT_URL, Couch


def check_url(ctx: click.Context, param: click.Parameter, url: str) -> str:
    """Refuse a server URL that is not http(s)://host[:port][/path].

    The message never repeats the URL: it may hold a password.
    """
    problem = url_problem(url)
    if problem:
        raise click.BadParameter(
            f"{problem}: expected http://host:port or http://user:password@host:port "
            "(the URL is not shown, as it may hold a password)",
            ctx,
            param,
        )
    return url


def url_problem(url: str) -> str | None:
    """What is wrong with a server URL, or None; never a piece of the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the URL does not parse"
    if parts.scheme not in ("http", "https"):
        return "the URL does not start with http:// or https://"
    if "@" in parts.path + parts.query + parts.fragment:
        return "a /, ? or # in a user name or password must be percent-encoded"
    try:
        parts.port  # noqa: B018 (a port that is no number raises)
    except ValueError:
        return "the URL's port is not a number from 0 to 65535"
    if not parts.hostname:
        return "the URL names no host"
    if "@" in parts.netloc and not parts.username:
        return "the URL has a password but no user name"
    return None


def connection_options(command: Callable) -> Callable:
    """Add --url, --db and --json, and pass `couch` and `as_json` instead."""

    @click.option(
        "--url",
        envvar="COUCHDB_URL",
        default=DEFAULT_URL,
        show_default=True,
        callback=check_url,
        help="CouchDB server (env COUCHDB_URL); credentials may be in the URL "
        "or in COUCHDB_USER and COUCHDB_PASSWORD.",
    )
    @click.option(
        "--db",
        envvar="COUCHNET_DB",
        default=DEFAULT_DB,
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
