"""`couchnet check`: is this server ready to hold and evaluate a network?"""

from __future__ import annotations

from dataclasses import asdict

import click

from loader.check import run_checks
from loader.client import Couch
from loader.options import connection_options, echo_json


@click.command("check")
@connection_options
def check_command(couch: Couch, as_json: bool) -> None:
    """Check the server, the database, the design document and Python views.

    Stops at the first failure, saying what to do about it; the exit status
    is 1 when a check fails.

    \b
    Example:
      COUCHDB_URL=http://admin:secret@127.0.0.1:5984 couchnet check
    """
    outcomes = run_checks(couch)
    failed = next((outcome for outcome in outcomes if not outcome.ok), None)
    if as_json:
        echo_json({"ok": failed is None, "checks": [asdict(o) for o in outcomes]})
    else:
        for outcome in outcomes:
            if outcome.ok:
                click.echo(f"ok    {outcome.name}: {outcome.detail}")
    if failed:
        raise click.ClickException(f"{failed.name}: {failed.detail}")
