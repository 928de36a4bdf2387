"""`couchnet push`: deploy design documents from their folders."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from loader.client import Conflict, Couch
from loader.designdoc import DesignDoc, DesignDocError, build, check
from loader.model import DESIGNDOCS
from loader.options import connection_options, echo_json

SAVE_ATTEMPTS = 5


def default_folders() -> list[Path]:
    """Every design document folder in the project's designdocs/."""
    return sorted(
        path
        for path in DESIGNDOCS.iterdir()
        if path.is_dir() and not path.name.startswith((".", "_"))
    )


def build_all(folders: list[Path]) -> list[DesignDoc]:
    """Build and compile every folder before anything is sent."""
    try:
        designs = [build(folder) for folder in folders]
        for design in designs:
            check(design)
    except DesignDocError as exc:
        raise click.ClickException(str(exc)) from None
    return designs


def save(couch: Couch, doc: dict) -> tuple[str, str]:
    """Save `doc` unless the stored copy is the same; (status, rev).

    A 409 means someone saved in between: read again and retry.
    """
    for _ in range(SAVE_ATTEMPTS):
        stored = couch.get_or_none(doc["_id"])
        if stored is not None:
            rev = stored.pop("_rev")
            if stored == doc:
                return "unchanged", rev
        candidate = dict(doc) if stored is None else dict(doc, _rev=rev)
        try:
            new_rev = couch.put(candidate)
        except Conflict:
            continue
        return ("created" if stored is None else "updated"), new_rev
    raise click.ClickException(
        f"{doc['_id']}: still in conflict after {SAVE_ATTEMPTS} attempts"
    )


@click.command()
@click.argument(
    "folders",
    nargs=-1,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--dry-run", is_flag=True, help="Print the design documents as JSON; send nothing."
)
@connection_options
def push(folders: tuple[Path, ...], dry_run: bool, couch: Couch, as_json: bool):
    """Build design documents from FOLDERs and save them to the database.

    Each folder becomes `_design/<folder name>` with language "python": a .py
    file is a function's source, a .json file a JSON value. Every function is
    compiled locally first; only documents that changed are saved, and the
    database is created when missing. Without FOLDERs, every folder in
    designdocs/ is pushed.

    \b
    Example:
      COUCHDB_URL=http://admin:secret@127.0.0.1:5984 couchnet push
      couchnet push designdocs/network --dry-run
    """
    designs = build_all(list(folders) or default_folders())
    if dry_run:
        text = orjson.dumps([d.doc for d in designs], option=orjson.OPT_INDENT_2)
        click.echo(text.decode())
        return

    if not couch.db_exists():
        couch.create_db()
    results = []
    for design in designs:
        status, rev = save(couch, design.doc)
        results.append({"id": design.id, "status": status, "rev": rev})
    if as_json:
        echo_json(results)
        return
    for result in results:
        click.echo(f"{result['status']:9} {result['id']}  {result['rev']}")
