"""Turning request bodies into edits: id rules, special fields, validation."""

import os
import threading

import orjson

from . import auth
from .errors import CouchError, QueryServerError, bad_request, forbidden, unauthorized
from .http import UserCtx
from .storage import Database, Edit

SPECIAL_FIELDS = {
    "_id",
    "_rev",
    "_deleted",
    "_revisions",
    "_revs_info",
    "_conflicts",
    "_deleted_conflicts",
    "_local_seq",
}


class UuidSource:
    """CouchDB's default 'sequential' ids: a random prefix and a rising tail."""

    def __init__(self):
        self.lock = threading.Lock()
        self._new_prefix()

    def _new_prefix(self):
        self.prefix = os.urandom(13).hex()
        self.counter = int.from_bytes(os.urandom(2), "big")

    def next(self) -> str:
        with self.lock:
            self.counter += 1 + os.urandom(1)[0]
            if self.counter >= 0xFFFFFF:
                self._new_prefix()
            return f"{self.prefix}{self.counter:06x}"


uuids = UuidSource()


def check_doc_id(doc_id) -> None:
    if not isinstance(doc_id, str):
        raise CouchError(400, "illegal_docid", "Document id must be a string")
    if not doc_id:
        raise CouchError(400, "illegal_docid", "Document id must not be empty")
    if doc_id.startswith("_") and not doc_id.startswith(("_design/", "_local/")):
        raise CouchError(
            400,
            "illegal_docid",
            "Only reserved document ids may start with underscore.",
        )


def make_edit(doc: dict, doc_id: str | None = None) -> Edit:
    """An Edit from a document body; `doc_id` from the URL wins over `_id`."""
    if not isinstance(doc, dict):
        raise bad_request("Document must be a JSON object")
    doc_id = doc_id if doc_id is not None else doc.get("_id", uuids.next())
    check_doc_id(doc_id)
    rev = doc.get("_rev")
    if rev is not None and not valid_rev(rev):
        raise bad_request("Invalid rev format")
    body = {}
    for name, value in doc.items():
        if not name.startswith("_"):
            body[name] = value
        elif name == "_attachments":
            raise CouchError(
                400, "doc_validation", "devcouch does not store attachments"
            )
        elif name not in SPECIAL_FIELDS:
            raise CouchError(
                400, "doc_validation", f"Bad special document member: {name}"
            )
    deleted = doc.get("_deleted") is True
    return Edit(doc_id, rev, deleted, dump_body(body))


def dump_body(body: dict) -> str:
    try:
        return orjson.dumps(body).decode()
    except TypeError as error:
        raise bad_request(f"invalid document: {error}") from None


def valid_rev(rev) -> bool:
    if not isinstance(rev, str) or "-" not in rev:
        return False
    pos, _, digest = rev.partition("-")
    return pos.isdigit() and bool(digest)


def new_doc_of(edit: Edit) -> dict:
    """The document as validate_doc_update sees it."""
    doc = {"_id": edit.id, **orjson.loads(edit.body)}
    if edit.rev:
        doc["_rev"] = edit.rev
    if edit.deleted:
        doc["_deleted"] = True
    return doc


def validate(db: Database, pool, edits: list[Edit], user: UserCtx) -> None:
    """Run every validate_doc_update on the normal documents among edits.

    A rejection is stored on the edit as its error; other edits go on.
    """
    checked = [e for e in edits if e.error is None and not e.id.startswith("_")]
    ddocs = [
        d for d in db.design_docs() if isinstance(d.get("validate_doc_update"), str)
    ]
    if not checked or not ddocs:
        return
    security = db.security()
    ctx = user.as_json(db.name)
    calls, owners = [], []
    for edit in checked:
        old = db.get(edit.id)
        for ddoc in ddocs:
            args = [new_doc_of(edit), old, ctx, security]
            calls.append(["ddoc", ddoc["_id"], ["validate_doc_update"], args])
            owners.append(edit)
    for ddoc in ddocs:
        require_python(ddoc)  # before a checkout, which an error would kill
    with pool.checkout() as proc:
        for ddoc in ddocs:
            proc.teach(ddoc)
        replies = proc.call_many(calls)
    for edit, reply in zip(owners, replies, strict=True):
        if edit.error is None:
            edit.error = rejection(reply)


def rejection(reply) -> CouchError | None:
    if isinstance(reply, QueryServerError):
        return reply
    if isinstance(reply, dict):
        if "forbidden" in reply:
            return forbidden(str(reply["forbidden"]))
        if "unauthorized" in reply:
            return unauthorized(str(reply["unauthorized"]))
    return None


def require_python(ddoc: dict) -> None:
    language = ddoc.get("language", "javascript")
    if language != "python":
        raise CouchError(
            400,
            "unknown_eval_api_language",
            f"unsupported language in design doc: `{language}`",
        )


def hash_user_password(edit: Edit) -> None:
    """_users documents keep a PBKDF2 hash, never the plain password."""
    body = orjson.loads(edit.body)
    if isinstance(body.get("password"), str):
        body.update(auth.hash_password(body.pop("password")))
        edit.body = dump_body(body)
