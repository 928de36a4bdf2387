"""Database endpoints: create, info, delete, _security, _bulk_docs, _all_docs."""

from urllib.parse import quote

import orjson

from .. import documents
from ..auth import require_db_admin, require_member, require_server_admin
from ..errors import CouchError, bad_request, method_not_allowed
from ..http import Request, json_response, stream_response
from ..rows import rows_stream, view_head
from ..storage import Database, Edit, doc_json, format_seq
from ..views import signature
from .documents import prepare_and_write, save
from .server import require_method


def open_db(couch, req: Request, name: str) -> Database:
    """The database, once the user is known to be allowed to read it."""
    db = couch.server.get(name)
    require_member(db.security(), req.user)
    return db


def database(couch, req: Request, name: str):
    if req.method == "PUT":
        require_server_admin(req.user)
        couch.server.create(name)
        host = req.headers.get("host", "127.0.0.1")
        location = f"http://{host}/{quote(name, safe='')}"
        return json_response({"ok": True}, 201, {"Location": location})
    if req.method == "DELETE":
        require_server_admin(req.user)
        if req.query.get("rev"):
            raise bad_request(
                "You tried to DELETE a database with a ?=rev parameter. Did you"
                " mean to DELETE a document instead?"
            )
        couch.server.delete(name)
        return json_response({"ok": True})
    if req.method in ("GET", "HEAD"):
        return json_response(open_db(couch, req, name).info())
    if req.method == "POST":
        return post_doc(couch, req, open_db(couch, req, name))
    raise method_not_allowed("DELETE,GET,HEAD,POST,PUT")


def post_doc(couch, req: Request, db: Database):
    req.require_json_type()
    edit = documents.make_edit(req.json())
    return save(couch, req, db, edit, created_status=201)


def ensure_full_commit(couch, req: Request, db: Database):
    require_method(req, "POST")
    # Every write is already on disk when it is acknowledged.
    return json_response({"ok": True, "instance_start_time": "0"}, 201)


def view_cleanup(couch, req: Request, db: Database):
    require_method(req, "POST")
    require_db_admin(db.security(), req.user)
    live = {signature(ddoc) for ddoc in db.design_docs()}
    db.drop_indexes_except(live)
    return json_response({"ok": True}, 202)


def security(couch, req: Request, db: Database):
    if req.method == "GET":
        return json_response(db.security())
    if req.method == "PUT":
        require_db_admin(db.security(), req.user)
        value = req.json_object()
        for section in ("admins", "members"):
            check_security_section(section, value.get(section, {}))
        db.set_meta("security", value)
        return json_response({"ok": True})
    raise method_not_allowed("GET,PUT")


def check_security_section(section: str, value) -> None:
    """As CouchDB checks them: names and roles are lists of strings."""
    if not isinstance(value, dict):
        raise bad_request(f"{section} must be a JSON object")
    for field in ("names", "roles"):
        listed = value.get(field, [])
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise bad_request(f"{field} must be a JSON list of strings")


def bulk_docs(couch, req: Request, db: Database):
    require_method(req, "POST")
    req.require_json_type()
    body = req.json_object()
    docs = body.get("docs")
    if docs is None:
        raise bad_request("POST body must include `docs` parameter.")
    if not isinstance(docs, list):
        raise bad_request("`docs` parameter must be an array.")
    if body.get("new_edits", True) is not True:
        raise CouchError(
            400, "not_implemented", "devcouch does not accept new_edits=false"
        )
    # As CouchDB, every member is parsed first: one invalid refuses them all.
    edits = [documents.make_edit(doc) for doc in docs]
    for edit in edits:
        if edit.id.startswith("_design/"):
            edit.error = admin_error(db, req)
    prepare_and_write(couch, req, db, edits)
    return json_response([bulk_result(edit) for edit in edits], 201)


def admin_error(db: Database, req: Request) -> CouchError | None:
    """Why the user may not write design docs here (401 or 403), or None."""
    try:
        require_db_admin(db.security(), req.user)
    except CouchError as error:
        return error
    return None


def bulk_result(edit: Edit) -> dict:
    if edit.error is not None:
        return {"id": edit.id, **edit.error.body()}
    return {"ok": True, "id": edit.id, "rev": edit.new_rev}


def all_docs(couch, req: Request, db: Database):
    if req.method == "POST":
        req.require_json_type()
        keys = req.json_object().get("keys")
        if not isinstance(keys, list):
            raise bad_request("`keys` body member must be an array.")
    elif req.method in ("GET", "HEAD"):
        keys = req.param_json("keys")
        if keys is not None and not isinstance(keys, list):
            raise bad_request("`keys` parameter must be an array.")
    else:
        raise method_not_allowed("GET,HEAD,POST")
    include_docs = req.param_bool("include_docs")
    if keys is not None:
        return stream_response(all_docs_by_keys(db, keys, include_docs, req))
    return stream_response(all_docs_range(db, req, include_docs))


ROW_SQL = """'{"id":' || json_quote(id) || ',"key":' || json_quote(id) ||
    ',"value":{"rev":"' || rev || '"}'"""
DOC_SQL = """'{"_id":' || json_quote(id) || ',"_rev":"' || rev || '"' ||
    CASE body WHEN '{}' THEN '}' ELSE ',' || substr(body, 2) END"""


def all_docs_range(db: Database, req: Request, include_docs: bool):
    descending = req.param_bool("descending")
    limit = req.param_int("limit", -1)
    skip = req.param_int("skip", 0)
    start = req.param_json("startkey", "start_key")
    end = req.param_json("endkey", "end_key")
    key = req.param_json("key")
    if key is not None:
        start = end = key
    inclusive_end = req.param_bool("inclusive_end", True)
    where, args = ["NOT deleted"], []
    low, high = (end, start) if descending else (start, end)
    if low is not None:
        where.append("id >= ?" if not descending or inclusive_end else "id > ?")
        args.append(str(low))
    if high is not None:
        where.append("id <= ?" if descending or inclusive_end else "id < ?")
        args.append(str(high))
    row = ROW_SQL + (" || ',\"doc\":' || " + DOC_SQL if include_docs else "")
    order = "DESC" if descending else "ASC"
    sql = (
        f"SELECT {row} || '}}' FROM docs WHERE {' AND '.join(where)}"
        f" ORDER BY id {order} LIMIT ? OFFSET ?"
    )
    update_seq = format_seq(db.update_seq) if req.param_bool("update_seq") else None
    position = (start, descending, skip)
    return range_stream(db, sql, (*args, limit, skip), position, update_seq)


def range_stream(db: Database, sql: str, args: tuple, position: tuple, update_seq):
    """Rows of _all_docs; `position` is (start key, descending, skip)."""
    with db.reader() as conn:
        conn.execute("BEGIN")  # total, offset and rows from one snapshot
        total = conn.execute(LIVE_COUNT).fetchone()[0]
        offset = count_before(conn, *position, total)
        cursor = conn.execute(sql, args)
        rows = (row[0] for batch in iter(cursor.fetchmany, []) for row in batch)
        yield from rows_stream(view_head(total, offset, update_seq), rows)
        conn.execute("COMMIT")


LIVE_COUNT = "SELECT count(*) FROM docs WHERE NOT deleted"


def count_before(conn, start, descending: bool, skip: int, total: int) -> int:
    if start is None:
        before = 0
    else:
        op = ">" if descending else "<"
        before = conn.execute(
            f"SELECT count(*) FROM docs WHERE NOT deleted AND id {op} ?", (str(start),)
        ).fetchone()[0]
    return min(total, before + skip)


def all_docs_by_keys(db: Database, keys: list, include_docs: bool, req: Request):
    total = db.doc_count
    rows = []
    for key in keys:
        found = db.current(key) if isinstance(key, str) else None
        rows.append(key_row(key, found, include_docs))
    if req.param_bool("descending"):
        rows.reverse()
    skip, limit = req.param_int("skip", 0), req.param_int("limit")
    rows = rows[skip:] if limit is None else rows[skip : skip + limit]
    return rows_stream(view_head(total, 0), rows)


def key_row(key, found, include_docs: bool) -> str:
    if found is None:
        return orjson.dumps({"key": key, "error": "not_found"}).decode()
    rev, deleted, body = found
    value = {"rev": rev, "deleted": True} if deleted else {"rev": rev}
    row = {"id": key, "key": key, "value": value}
    if include_docs:
        row["doc"] = None if deleted else orjson.Fragment(doc_json(key, rev, body))
    return orjson.dumps(row).decode()
