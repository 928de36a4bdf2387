"""Document endpoints: GET/HEAD/PUT/DELETE of normal, design and _local docs."""

from urllib.parse import quote

import orjson
from starlette.responses import Response

from .. import documents
from ..auth import is_db_admin, require_db_admin
from ..design import compile_design_doc
from ..errors import (
    CouchError,
    bad_request,
    conflict,
    forbidden,
    method_not_allowed,
    not_found,
)
from ..http import Request, json_response
from ..storage import Database, Edit, doc_json


def document(couch, req: Request, db: Database, doc_id: str):
    if doc_id.startswith("_local/"):
        return local_document(req, db, doc_id)
    documents.check_doc_id(doc_id)
    if req.method in ("GET", "HEAD"):
        return get_document(req, db, doc_id)
    if req.method == "PUT":
        edit = documents.make_edit(req.json(), doc_id)
        edit.rev = request_rev(req, edit.rev)
        return save(couch, req, db, edit, created_status=201)
    if req.method == "DELETE":
        rev = request_rev(req, None)
        found = db.current(doc_id)
        if found is None:
            raise not_found("missing")
        if rev is None:
            raise conflict()
        return save(couch, req, db, Edit(doc_id, rev, True, "{}"), created_status=200)
    raise method_not_allowed("DELETE,GET,HEAD,PUT")


def request_rev(req: Request, body_rev: str | None) -> str | None:
    """The revision being replaced, from ?rev=, If-Match or the body."""
    query_rev = req.query.get("rev")
    if query_rev and body_rev and query_rev != body_rev:
        raise bad_request(
            "Document rev from request body and query string have different values"
        )
    header_rev = req.headers.get("if-match", "").strip('"') or None
    rev = query_rev or body_rev or header_rev
    if rev is not None and not documents.valid_rev(rev):
        raise bad_request("Invalid rev format")
    return rev


def get_document(req: Request, db: Database, doc_id: str):
    if "open_revs" in req.query:  # an array of revisions, which devcouch lacks
        raise CouchError(400, "not_implemented", "devcouch does not serve open_revs")
    rev = req.query.get("rev")
    if rev is not None and not documents.valid_rev(rev):
        raise bad_request("Invalid rev format")
    found = db.revision(doc_id, rev) if rev else db.current(doc_id)
    if found is None:
        raise not_found("missing")
    rev, deleted, body = found
    if deleted and not req.query.get("rev"):
        raise not_found("deleted")
    etag = f'"{rev}"'
    if req.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    text = doc_json(doc_id, rev, body, deleted)
    if req.param_bool("revs"):
        text = with_revisions(db, doc_id, rev, text)
    return json_response(text.encode(), headers={"ETag": etag})


def with_revisions(db: Database, doc_id: str, rev: str, text: str) -> str:
    chain = db.history(doc_id, rev)
    ids = [r.split("-", 1)[1] for r in chain]
    revisions = {"start": int(rev.split("-", 1)[0]), "ids": ids}
    return text[:-1] + ',"_revisions":' + orjson.dumps(revisions).decode() + "}"


def save(couch, req: Request, db: Database, edit: Edit, created_status: int):
    """Write one document and answer as CouchDB does, or raise its error."""
    if edit.id.startswith("_design/"):
        require_db_admin(db.security(), req.user)
    prepare_and_write(couch, req, db, [edit])
    if edit.error is not None:
        raise edit.error
    headers = {"ETag": f'"{edit.new_rev}"'}
    if created_status == 201:
        headers["Location"] = location(req, db, edit.id)
    body = {"ok": True, "id": edit.id, "rev": edit.new_rev}
    status = 202 if req.query.get("batch") == "ok" else created_status
    return json_response(body, status, headers)


def location(req: Request, db: Database, doc_id: str) -> str:
    host = req.headers.get("host", "127.0.0.1")
    safe = "/" if doc_id.startswith("_design/") else ""
    return f"http://{host}/{quote(db.name, safe='')}/{quote(doc_id, safe=safe)}"


def prepare_and_write(couch, req: Request, db: Database, edits: list[Edit]) -> None:
    """Compile design docs, hash user passwords, validate, then write."""
    for edit in edits:
        if edit.error is not None:
            continue
        if edit.id.startswith("_design/") and not edit.deleted:
            edit.error = compile_error(couch, edit)
        if db.name == "_users" and not edit.id.startswith("_"):
            if not is_db_admin(db.security(), req.user):
                edit.error = forbidden("Only admins edit users.")
            documents.hash_user_password(edit)
    documents.validate(db, couch.pool, edits, req.user)
    db.write(edits)


def compile_error(couch, edit: Edit) -> CouchError | None:
    try:
        compile_design_doc(couch.pool, documents.new_doc_of(edit))
    except CouchError as error:
        return error
    return None


def local_document(req: Request, db: Database, doc_id: str):
    if req.method in ("GET", "HEAD"):
        found = db.get_local(doc_id)
        if found is None:
            raise not_found("missing")
        return json_response(doc_json(doc_id, *found).encode())
    if req.method == "PUT":
        edit = documents.make_edit(req.json(), doc_id)
        rev = db.put_local(doc_id, request_rev(req, edit.rev), edit.body)
        return json_response({"ok": True, "id": doc_id, "rev": rev}, 201)
    if req.method == "DELETE":
        db.put_local(doc_id, request_rev(req, None), None)
        return json_response({"ok": True, "id": doc_id, "rev": "0-0"})
    raise method_not_allowed("DELETE,GET,HEAD,PUT")
