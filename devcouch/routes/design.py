"""Design functions over HTTP: _show, _list, _update, and _info."""

import base64
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response

from .. import documents
from ..auth import require_db_admin
from ..errors import CouchError, QueryServerError, method_not_allowed, not_found
from ..http import Request, json_response
from ..storage import Database, format_seq
from ..views import group_for, signature
from . import views as view_routes
from .documents import prepare_and_write

HTML_TYPE = "text/html; charset=utf-8"


def load_ddoc(db: Database, ddoc_name: str) -> dict:
    ddoc = db.get(f"_design/{ddoc_name}")
    if ddoc is None:
        raise not_found("missing")
    documents.require_python(ddoc)
    return ddoc


def function_exists(ddoc: dict, section: str, name: str) -> None:
    if not isinstance(ddoc.get(section), dict) or name not in ddoc[section]:
        raise not_found(f"missing {section[:-1]} function {name} on design doc")


def request_object(req: Request, db: Database, doc_id: str | None) -> dict:
    """The request as CouchDB hands it to design functions."""
    return {
        "info": db.info(),
        "id": doc_id,
        "uuid": documents.uuids.next(),
        "method": req.method,
        "requested_path": req.path,
        "path": req.path,
        "raw_path": req.raw_path + (f"?{req.query_string}" if req.query_string else ""),
        "query": dict(req.query),
        "headers": {title_case(k): v for k, v in req.headers.items()},
        "body": req.body.decode(errors="replace") if req.body else "undefined",
        "peer": req.peer,
        "form": form_of(req),
        "cookie": cookies_of(req),
        "userCtx": req.user.as_json(db.name),
        "secObj": db.security(),
    }


def form_of(req: Request) -> dict:
    content_type = req.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl(req.body.decode(errors="replace")))


def cookies_of(req: Request) -> dict:
    cookies = {}
    for part in req.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = value
    return cookies


def title_case(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


def external_response(resp, default_status: int = 200) -> Response:
    """A show or update function's response object as an HTTP response."""
    if isinstance(resp, str):
        resp = {"body": resp}
    if not isinstance(resp, dict):
        raise CouchError(500, "render_error", f"invalid response: {resp!r:.200}")
    headers = {str(k): str(v) for k, v in (resp.get("headers") or {}).items()}
    if "json" in resp:
        body = orjson.dumps(resp["json"])
        headers.setdefault("Content-Type", "application/json")
    elif "base64" in resp:
        body = base64.b64decode(resp["base64"])
        headers.setdefault("Content-Type", "application/binary")
    else:
        body = str(resp.get("body", "")).encode()
        headers.setdefault("Content-Type", HTML_TYPE)
    return Response(body, status_of(resp, default_status), headers=headers)


def status_of(resp: dict, default: int) -> int:
    code = resp.get("code") or default
    if not isinstance(code, int) or not 100 <= code <= 599:
        raise CouchError(500, "render_error", f"invalid response code: {code!r}")
    return code


def function_error(error: QueryServerError) -> QueryServerError:
    """Errors a design function raised, with CouchDB's statuses for them.

    Still a QueryServerError: the child answered in step and stays in the pool.
    """
    statuses = {"not_found": 404, "unauthorized": 401, "forbidden": 403}
    status = statuses.get(error.error, 500)
    return QueryServerError(error.error, error.reason, status)


def call_ddoc(couch, ddoc: dict, path: list, args: list):
    """Run the function at `path` of `ddoc` with `args`; its reply."""
    with couch.pool.checkout() as proc:
        proc.teach(ddoc)
        return call_function(proc, ["ddoc", ddoc["_id"], path, args])


def call_on_doc(couch, req: Request, db: Database, ddoc_name: str, path, doc_id):
    """A show or update function's reply for the document (None if missing)."""
    ddoc = load_ddoc(db, ddoc_name)
    function_exists(ddoc, *path)
    doc = db.get(doc_id) if doc_id is not None else None
    return call_ddoc(couch, ddoc, path, [doc, request_object(req, db, doc_id)])


def call_function(proc, command: list):
    try:
        return proc.call(command)
    except QueryServerError as error:
        if error.error == "os_process_error":
            raise
        raise function_error(error) from None


# -- _show -------------------------------------------------------------------


def show(couch, req: Request, db: Database, ddoc_name: str, name: str, doc_id=None):
    if req.method not in ("GET", "POST", "HEAD"):
        raise method_not_allowed("GET,POST,HEAD")
    reply = call_on_doc(couch, req, db, ddoc_name, ["shows", name], doc_id)
    if not (isinstance(reply, list) and len(reply) == 2 and reply[0] == "resp"):
        raise CouchError(500, "render_error", f"bad show reply: {reply!r:.200}")
    return external_response(reply[1])


# -- _update -----------------------------------------------------------------


def update(couch, req: Request, db: Database, ddoc_name: str, name: str, doc_id=None):
    if req.method not in ("PUT", "POST"):
        raise method_not_allowed("PUT,POST")
    reply = call_on_doc(couch, req, db, ddoc_name, ["updates", name], doc_id)
    if not (isinstance(reply, list) and len(reply) == 3 and reply[0] == "up"):
        raise CouchError(500, "render_error", f"bad update reply: {reply!r:.200}")
    _, new_doc, resp = reply
    if new_doc is None:
        return external_response(resp, 200)
    edit = save_updated(couch, req, db, new_doc, doc_id)
    response = external_response(resp, 201)
    response.headers["X-Couch-Id"] = edit.id
    response.headers["X-Couch-Update-NewRev"] = edit.new_rev
    return response


def save_updated(couch, req: Request, db: Database, new_doc, doc_id):
    if not isinstance(new_doc, dict):
        raise CouchError(500, "render_error", "an update must return a document")
    new_doc.setdefault("_id", doc_id or documents.uuids.next())
    edit = documents.make_edit(new_doc)
    if edit.id.startswith("_design/"):
        require_db_admin(db.security(), req.user)
    prepare_and_write(couch, req, db, [edit])
    if edit.error is not None:
        raise edit.error
    return edit


# -- _list -------------------------------------------------------------------


def list_view(couch, req: Request, db: Database, ddoc_name: str, name: str, *rest):
    if req.method not in ("GET", "POST", "HEAD"):
        raise method_not_allowed("GET,POST,HEAD")
    ddoc = load_ddoc(db, ddoc_name)
    function_exists(ddoc, "lists", name)
    view_ddoc, view_name = (ddoc_name, rest[0]) if len(rest) == 1 else rest
    request = request_object(req, db, None)  # before the view reads a POST body
    head, rows = list_input(couch, req, db, view_ddoc, view_name)
    with couch.pool.checkout() as proc:
        proc.teach(ddoc)
        return run_list(proc, ddoc, name, head, rows, request)


def list_input(couch, req: Request, db: Database, ddoc_name: str, view_name: str):
    """The head and row texts of the view a list function formats."""
    q, group, number, source = view_routes.open_view(
        couch, req, db, ddoc_name, view_name
    )
    if source is not None:
        rows = view_routes.reduce_rows(couch, group, number, source, q)
        return {"update_seq": format_seq(group.seq)}, rows
    lines = b"".join(view_routes.map_stream(group, number, q, None)).decode()
    parsed = orjson.loads(lines)
    rows = [orjson.dumps(row).decode() for row in parsed.pop("rows")]
    return parsed, rows


def run_list(proc, ddoc: dict, name: str, head: dict, rows: list[str], request):
    """The start / list_row / list_end conversation, collected into a body."""
    start = ["ddoc", ddoc["_id"], ["lists", name], [head, request]]
    reply = call_function(proc, start)
    if not (isinstance(reply, list) and reply[0] == "start"):
        raise CouchError(500, "list_error", f"bad list start: {reply!r:.200}")
    chunks, resp_head = list(reply[1]), reply[2] if len(reply) > 2 else {}
    ended = False
    for row in rows:
        reply = call_function(proc, ["list_row", orjson.Fragment(row)])
        chunks += reply[1]
        if reply[0] == "end":
            ended = True
            break
    if not ended:
        chunks += call_function(proc, ["list_end"])[1]
    headers = {str(k): str(v) for k, v in (resp_head.get("headers") or {}).items()}
    headers.setdefault("Content-Type", HTML_TYPE)
    body = "".join(str(c) for c in chunks).encode()
    return Response(body, status_of(resp_head, 200), headers=headers)


# -- _info -------------------------------------------------------------------


def info(couch, req: Request, db: Database, ddoc_name: str):
    if req.method != "GET":
        raise method_not_allowed("GET")
    ddoc, group = group_for(db, f"_design/{ddoc_name}")
    index = {
        "signature": signature(ddoc),
        "language": ddoc.get("language", "javascript"),
        "sizes": {"file": size_of(group.path), "external": 0, "active": 0},
        "update_seq": group.seq,
        "purge_seq": 0,
        "updater_running": group.lock.locked(),
        "compact_running": False,
        "waiting_clients": 0,
        "waiting_commit": False,
    }
    return json_response({"name": ddoc_name, "view_index": index})


def size_of(path) -> int:
    return path.stat().st_size if path.exists() else 0
