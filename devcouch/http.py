"""The request as handlers see it, and CouchDB-shaped responses."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response, StreamingResponse

from .errors import CouchError, bad_request

JSON_TYPE = "application/json"
LARGEST_INT = 2**63 - 1  # SQLite's; CouchDB takes any integer


@dataclass
class UserCtx:
    name: str | None = None
    roles: list[str] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return "_admin" in self.roles

    def as_json(self, db: str | None = None) -> dict:
        """The userCtx object; with `db` first as design functions see it."""
        ctx = {"name": self.name, "roles": self.roles}
        return ctx if db is None else {"db": db, **ctx}


@dataclass
class Request:
    method: str
    path: list[str]
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    peer: str = "127.0.0.1"
    user: UserCtx = field(default_factory=UserCtx)
    authenticated_by: str | None = None
    new_cookie: str | None = None  # a Set-Cookie header renewing the session

    def __post_init__(self):
        self.query = dict(parse_qsl(self.query_string, keep_blank_values=True))

    def json(self):
        """The body parsed as JSON, or CouchDB's 400 for anything else."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise bad_request("invalid UTF-8 JSON") from None

    def json_object(self, what: str = "Request body") -> dict:
        value = self.json()
        if not isinstance(value, dict):
            raise bad_request(f"{what} must be a JSON object")
        return value

    def require_json_type(self) -> None:
        if not self.headers.get("content-type", "").startswith(JSON_TYPE):
            raise CouchError(
                415, "bad_content_type", "Content-Type must be application/json"
            )

    def param_json(self, *names: str, default=None):
        for name in names:
            if name in self.query:
                try:
                    return orjson.loads(self.query[name])
                except orjson.JSONDecodeError:
                    raise bad_request("invalid UTF-8 JSON") from None
        return default

    def param_bool(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        if value in ("true", "false"):
            return value == "true"
        raise query_parse_error(f'Invalid boolean parameter: "{value}"')

    def param_int(self, name: str, default: int | None = None) -> int | None:
        value = self.query.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise query_parse_error(f'Invalid value for integer: "{value}"') from None
        if number < 0:
            raise query_parse_error(f'Invalid value for positive integer: "{value}"')
        return min(number, LARGEST_INT)  # larger ones mean "all" all the same


def query_parse_error(reason: str) -> CouchError:
    return CouchError(400, "query_parse_error", reason)


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(
        content + b"\n", status, couch_headers(headers), media_type=JSON_TYPE
    )


def stream_response(
    chunks: Iterable[str | bytes], status: int = 200, headers: dict | None = None
) -> StreamingResponse:
    return StreamingResponse(
        chunks, status, couch_headers(headers), media_type=JSON_TYPE
    )


def couch_headers(headers: dict | None) -> dict:
    """`headers` and the Cache-Control CouchDB sends with every JSON reply."""
    return {"Cache-Control": "must-revalidate", **(headers or {})}


def error_response(error: CouchError) -> Response:
    return json_response(error.body(), error.status, error.headers)
