"""Checks that a server can hold and evaluate a network, in dependency order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loader.client import Couch, CouchError, NotFound, explain
from loader.network import DESIGN, INPUTS_VIEW, QUERY_SERVER_HINT, runs_no_python


@dataclass
class Outcome:
    name: str
    ok: bool
    detail: str


class Failed(Exception):
    """A check did not pass; the message says why and what to do."""


def check_server(couch: Couch) -> str:
    info = couch.server_info()
    vendor = info.get("vendor", {}).get("name") or "CouchDB"
    return f"{couch.url} answers: {vendor} {info.get('version', '')}".rstrip()


def check_database(couch: Couch) -> str:
    try:
        info = couch.json("GET", couch.db_path)
    except NotFound:
        raise Failed(
            f"database {couch.db!r} does not exist; "
            "create it with `couchnet push` or `couchnet create`"
        ) from None
    return f"database {couch.db!r} holds {info.get('doc_count', 0)} documents"


def check_design(couch: Couch) -> str:
    try:
        ddoc = couch.get(f"_design/{DESIGN}")
    except NotFound:
        raise Failed(
            f"_design/{DESIGN} is missing; deploy it with `couchnet push`"
        ) from None
    if INPUTS_VIEW not in ddoc.get("views", {}):
        raise Failed(
            f"_design/{DESIGN} has no {INPUTS_VIEW!r} view; run `couchnet push`"
        )
    return f"_design/{DESIGN} is there (language {ddoc.get('language', 'javascript')})"


def check_views(couch: Couch) -> str:
    try:
        rows = couch.view(DESIGN, INPUTS_VIEW, reduce=False, limit=1)
    except CouchError as exc:
        if runs_no_python(exc):
            raise Failed(
                f"the server cannot run Python views ({exc.error}); {QUERY_SERVER_HINT}"
            ) from None
        raise Failed(f"querying the {INPUTS_VIEW!r} view failed: {exc}") from None
    found = "with rows" if rows else "(no neurons yet)"
    return f"the {INPUTS_VIEW!r} view answers {found}"


CHECKS: list[tuple[str, Callable[[Couch], str]]] = [
    ("server", check_server),
    ("database", check_database),
    ("design document", check_design),
    ("python views", check_views),
]


def run_checks(couch: Couch) -> list[Outcome]:
    """Every check until the first failure (later ones depend on it)."""
    outcomes = []
    for name, check in CHECKS:
        try:
            outcomes.append(Outcome(name, True, check(couch)))
        except (Failed, CouchError) as exc:
            outcomes.append(Outcome(name, False, explain(exc)))
            break
    return outcomes
