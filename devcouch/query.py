"""View query parameters, parsed and checked as CouchDB checks them."""

from dataclasses import dataclass

import orjson

from .collation import sort_key
from .errors import bad_request
from .http import Request, query_parse_error

MISSING = object()
# Parameters whose query-string form is plain text rather than JSON.
TEXT_PARAMS = {
    "update",
    "stale",
    "startkey_docid",
    "start_key_doc_id",
    "endkey_docid",
    "end_key_doc_id",
}


@dataclass
class ViewQuery:
    key: object = MISSING
    keys: list | None = None
    start: object = MISSING
    end: object = MISSING
    start_docid: str | None = None
    end_docid: str | None = None
    inclusive_end: bool = True
    limit: int | None = None
    skip: int = 0
    descending: bool = False
    include_docs: bool = False
    reduce: bool | None = None
    group: bool = False
    group_level: int | None = None
    update: str = "true"
    update_seq: bool = False

    @property
    def grouped(self) -> bool:
        return self.group or self.group_level is not None


def parse_view_query(req: Request) -> ViewQuery:
    """Parameters from the query string, and for POST from the body too."""
    if req.method == "POST":
        req.require_json_type()
        for name, value in req.json_object().items():
            raw = isinstance(value, str) and name in TEXT_PARAMS
            req.query[name] = value if raw else orjson.dumps(value).decode()
    q = ViewQuery()
    q.key = req.param_json("key", default=MISSING)
    q.keys = req.param_json("keys")
    if q.keys is not None and not isinstance(q.keys, list):
        raise bad_request("`keys` member must be an array.")
    q.start = req.param_json("startkey", "start_key", default=MISSING)
    q.end = req.param_json("endkey", "end_key", default=MISSING)
    q.start_docid = _text(req, "startkey_docid", "start_key_doc_id")
    q.end_docid = _text(req, "endkey_docid", "end_key_doc_id")
    q.inclusive_end = req.param_bool("inclusive_end", True)
    q.limit = req.param_int("limit")
    q.skip = req.param_int("skip", 0)
    q.descending = req.param_bool("descending")
    q.include_docs = req.param_bool("include_docs")
    q.reduce = req.param_bool("reduce") if "reduce" in req.query else None
    q.group = req.param_bool("group")
    q.group_level = req.param_int("group_level")
    q.update = _update_mode(req)
    q.update_seq = req.param_bool("update_seq")
    check_range(q)
    return q


def _text(req: Request, *names: str) -> str | None:
    for name in names:
        if name in req.query:
            return req.query[name]
    return None


def _update_mode(req: Request) -> str:
    stale = req.query.get("stale")
    if stale is not None:
        modes = {"ok": "false", "update_after": "lazy"}
        if stale not in modes:
            raise query_parse_error(f'Invalid value for `stale`: "{stale}"')
        return modes[stale]
    update = req.query.get("update", "true")
    if update not in ("true", "false", "lazy"):
        raise query_parse_error(f'Invalid value for `update`: "{update}"')
    return update


def check_range(q: ViewQuery) -> None:
    if q.key is not MISSING and q.keys is not None:
        raise query_parse_error("`key` is incompatible with `keys`")
    if q.start is MISSING or q.end is MISSING:
        return
    low, high = sort_key(q.start), sort_key(q.end)
    if (low > high and not q.descending) or (low < high and q.descending):
        raise query_parse_error(
            "No rows can match your key range, reverse your start_key and end_key"
            " or set descending=" + ("false" if q.descending else "true")
        )
