"""GET/POST /db/_changes: normal and longpoll feeds, with filters."""

import time

import orjson

from ..errors import (
    CouchError,
    QueryServerError,
    bad_request,
    method_not_allowed,
    not_found,
)
from ..http import Request, json_response, query_parse_error
from ..storage import Database, doc_json, format_seq, parse_seq
from .design import call_ddoc, load_ddoc, request_object

FILTER_BATCH = 100
DEFAULT_TIMEOUT_MS = 60_000


def changes(couch, req: Request, db: Database):
    if req.method not in ("GET", "HEAD", "POST"):
        raise method_not_allowed("GET,HEAD,POST")
    body = req.json_object() if req.method == "POST" and req.body else {}
    feed = req.query.get("feed", "normal")
    if feed in ("continuous", "eventsource", "live"):
        reason = f"devcouch does not serve feed={feed}; Apache CouchDB does"
        raise CouchError(400, "not_implemented", reason)
    if feed not in ("normal", "longpoll"):
        raise bad_request(
            "Supported `feed` types: normal, continuous, live, longpoll, eventsource"
        )
    keep = change_filter(couch, req, db, body)
    since = current_since(req, db)
    results, last_seq, pending = collect(db, req, since, keep)
    if feed == "longpoll" and not results:
        results, last_seq, pending = wait_and_collect(db, req, since, keep)
    text = '{"results":[\n' + ",\n".join(results) + "\n],\n"
    text += f'"last_seq":{orjson.dumps(format_seq(last_seq)).decode()},'
    text += f'"pending":{pending}}}'
    return json_response(text.encode())


def current_since(req: Request, db: Database) -> int:
    since = req.query.get("since", "0")
    return db.update_seq if since == "now" else parse_seq(since)


def wait_and_collect(db: Database, req: Request, since: int, keep):
    # As CouchDB, a longpoll waits at most changes_timeout (60 s by default).
    timeout = min(req.param_int("timeout", DEFAULT_TIMEOUT_MS), DEFAULT_TIMEOUT_MS)
    timeout /= 1000
    deadline = time.monotonic() + timeout
    seen = since
    while (left := deadline - time.monotonic()) > 0:
        if not db.wait_for_change(seen, left):
            break
        results, last_seq, pending = collect(db, req, since, keep)
        if results:
            return results, last_seq, pending
        seen = db.update_seq
    return [], max(since, seen), 0


def collect(db: Database, req: Request, since: int, keep):
    """Change rows after `since` that pass the filter, up to `limit`."""
    descending = req.param_bool("descending")
    limit = req.param_int("limit")
    include_docs = req.param_bool("include_docs")
    order = "DESC" if descending else "ASC"
    where = "" if descending else "WHERE seq > ?"
    sql = f"SELECT id, rev, deleted, seq, body FROM docs {where} ORDER BY seq {order}"
    kept, last_seq = [], db.update_seq if descending else since
    with db.reader() as conn:
        conn.execute("BEGIN")  # rows and pending from one snapshot
        cursor = conn.execute(sql, () if descending else (since,))
        for row, wanted in judged(cursor, keep):
            if limit is not None and len(kept) >= limit:
                break
            last_seq = row[3]
            if wanted:
                kept.append(change_row(row, include_docs))
        op = "<" if descending else ">"
        pending = conn.execute(
            f"SELECT count(*) FROM docs WHERE seq {op} ?", (last_seq,)
        ).fetchone()[0]
        conn.execute("COMMIT")
    return kept, last_seq, pending


def judged(cursor, keep):
    """(row, passes the filter) pairs, the filter run a batch at a time."""
    while batch := cursor.fetchmany(FILTER_BATCH):
        yield from zip(batch, keep(batch), strict=True)


def change_row(row, include_docs: bool) -> str:
    doc_id, rev, deleted, seq, body = row
    text = '{"seq":' + orjson.dumps(format_seq(seq)).decode()
    text += ',"id":' + orjson.dumps(doc_id).decode()
    text += ',"changes":[{"rev":"' + rev + '"}]'
    if deleted:
        text += ',"deleted":true'
    if include_docs:
        text += ',"doc":' + doc_json(doc_id, rev, body, bool(deleted))
    return text + "}"


def doc_of(row) -> dict:
    doc_id, rev, deleted, _, body = row
    return orjson.loads(doc_json(doc_id, rev, body, bool(deleted)))


# -- filters -----------------------------------------------------------------


def change_filter(couch, req: Request, db: Database, body: dict):
    """A function from a batch of change rows to one keep/drop flag each."""
    name = req.query.get("filter")
    if name is None:
        return lambda batch: [True] * len(batch)
    if name == "_doc_ids":
        return doc_ids_filter(req, body)
    if name == "_design":
        return lambda batch: [r[0].startswith("_design/") for r in batch]
    if name == "_view":
        return view_filter(couch, req, db)
    if "/" not in name:
        raise bad_request(
            "filter parameter must be of the form `designname/filtername`"
        )
    ddoc_name, filter_name = name.split("/", 1)
    ddoc = load_ddoc(db, ddoc_name)
    if filter_name not in (ddoc.get("filters") or {}):
        raise not_found(f"missing json key: {filter_name}")
    request = request_object(req, db, None)
    path = ["filters", filter_name]
    return lambda batch: ask(couch, ddoc, path, [[doc_of(r) for r in batch], request])


def doc_ids_filter(req: Request, body: dict):
    ids = body.get("doc_ids", req.param_json("doc_ids"))
    if not isinstance(ids, list):
        raise bad_request("`doc_ids` filter parameter is not a list of doc ids.")
    wanted = set(ids)
    return lambda batch: [r[0] in wanted for r in batch]


def view_filter(couch, req: Request, db: Database):
    view = req.query.get("view", "")
    if "/" not in view:
        raise query_parse_error("`view` must be of the form `designname/viewname`")
    ddoc_name, view_name = view.split("/", 1)
    ddoc = load_ddoc(db, ddoc_name)
    if view_name not in (ddoc.get("views") or {}):
        raise not_found("missing_named_view")
    path = ["views", view_name, "map"]
    return lambda batch: ask(couch, ddoc, path, [[doc_of(r) for r in batch]])


def ask(couch, ddoc: dict, path: list, args: list) -> list[bool]:
    reply = call_ddoc(couch, ddoc, path, args)
    if not (isinstance(reply, list) and len(reply) == 2 and reply[0] is True):
        raise QueryServerError("filter_error", f"bad filter reply: {reply!r:.200}")
    return [bool(flag) for flag in reply[1]]
