"""Routing a request by its path segments to the handler that serves it."""

from typing import NoReturn

from ..errors import CouchError, bad_request, not_found
from ..http import Request
from ..storage import SYSTEM_DBS, check_db_name
from . import changes, databases, design, documents, server, views

SERVER_ROUTES = {
    "_up": server.up,
    "_all_dbs": server.all_dbs,
    "_uuids": server.new_uuids,
    "_session": server.session,
}

DB_ROUTES = {
    "_all_docs": databases.all_docs,
    "_bulk_docs": databases.bulk_docs,
    "_security": databases.security,
    "_changes": changes.changes,
    "_ensure_full_commit": databases.ensure_full_commit,
    "_view_cleanup": databases.view_cleanup,
}

# CouchDB's database endpoints that devcouch lacks: said so, not taken for ids.
UNSERVED = {
    "_find",
    "_index",
    "_explain",
    "_bulk_get",
    "_revs_diff",
    "_missing_revs",
    "_purge",
    "_purged_infos_limit",
    "_compact",
    "_revs_limit",
    "_design_docs",
    "_local_docs",
    "_shards",
    "_partition",
}

SERVER_UNSERVED = {
    "_active_tasks",
    "_dbs_info",
    "_db_updates",
    "_replicate",
    "_scheduler",
    "_node",
    "_membership",
    "_cluster_setup",
    "_reshard",
    "_search_analyze",
}

# handler, and how many path segments may follow its name (fewest, most)
DESIGN_ROUTES = {
    "_view": (views.view, 1, 1),
    "_show": (design.show, 1, 2),
    "_list": (design.list_view, 2, 3),
    "_update": (design.update, 1, 2),
}


def dispatch(couch, req: Request):
    path = req.path
    if not path:
        return server.root(couch, req)
    head = path[0]
    if head.startswith("_") and head not in SYSTEM_DBS:
        handler = SERVER_ROUTES.get(head)
        if head == "_utils":
            raise not_found("devcouch has no Fauxton; Apache CouchDB serves one")
        if head in SERVER_UNSERVED:
            unserved(head)
        if handler is None and path == [head] and req.method == "PUT":
            check_db_name(head)  # as CouchDB, creating `_name` is a bad name
        if handler is None or len(path) > 1:
            raise not_found("Database does not exist.")
        return handler(couch, req)
    if len(path) == 1:
        return databases.database(couch, req, head)
    check_db_name(head)
    return database_route(couch, req, head, split_special(path[1:]))


def unserved(endpoint: str) -> NoReturn:
    reason = f"devcouch does not serve {endpoint}; Apache CouchDB does"
    raise CouchError(400, "not_implemented", reason)


def split_special(rest: list[str]) -> list[str]:
    """`_design%2Fx` and `_local%2Fx` name the same documents as `_design/x`."""
    first = rest[0]
    for prefix in ("_design/", "_local/"):
        if first.startswith(prefix):
            return [prefix[:-1], first[len(prefix) :], *rest[1:]]
    return rest


def database_route(couch, req: Request, name: str, rest: list[str]):
    db = databases.open_db(couch, req, name)
    first = rest[0]
    if first in DB_ROUTES and len(rest) == 1:
        return DB_ROUTES[first](couch, req, db)
    if first in UNSERVED:
        unserved(first)
    if first in ("_design", "_local") and len(rest) >= 2:
        doc_id = f"{first}/{rest[1]}"
        if len(rest) == 2:
            return documents.document(couch, req, db, doc_id)
        if first == "_design":
            return design_route(couch, req, db, rest[1], rest[2:])
    if len(rest) == 1:
        return documents.document(couch, req, db, first)
    raise not_found("missing")


def design_route(couch, req: Request, db, ddoc_name: str, rest: list[str]):
    if rest == ["_info"]:
        return design.info(couch, req, db, ddoc_name)
    handler, fewest, most = DESIGN_ROUTES.get(rest[0], (None, 0, 0))
    parts = rest[1:]
    if rest[0] in ("_show", "_update") and len(parts) > 2:
        parts = [parts[0], "/".join(parts[1:])]  # a doc id with slashes
    if handler is None or not fewest <= len(parts) <= most:
        raise bad_request(f"Invalid path: {req.raw_path}")
    return handler(couch, req, db, ddoc_name, *parts)
