"""A small CouchDB HTTP client: one session, a timeout on every call, and
CouchDB's `error`/`reason` bodies turned into a few exceptions in one place."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import orjson
import requests

DEFAULT_URL = "http://127.0.0.1:5984"
DEFAULT_DB = "neural_net"
VIEW_CHUNK = 1 << 20
ROW_STARTS = (b'{"id"', b'{"key"')


class CouchError(Exception):
    """A CouchDB request failed; `status`, `error` and `reason` say how."""

    def __init__(self, status: int, error: str, reason: str):
        super().__init__(f"{error}: {reason}" if reason else error)
        self.status = status
        self.error = error
        self.reason = reason


class BadRequest(CouchError):
    pass


class Unauthorized(CouchError):
    pass


class Forbidden(CouchError):
    pass


class NotFound(CouchError):
    pass


class Conflict(CouchError):
    pass


class Unreachable(CouchError):
    """The server did not answer at all (refused, timed out, bad address)."""


class BadResponse(CouchError):
    """The server answered, but not with CouchDB's JSON."""


ERRORS_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden}
ERRORS_BY_STATUS |= {404: NotFound, 409: Conflict, 412: Conflict}


def explain(exc: Exception) -> str:
    """One line for an expected failure, never with credentials in it."""
    if isinstance(exc, Unreachable):
        return f"cannot reach CouchDB: {exc.reason}"
    if isinstance(exc, BadResponse):
        return exc.reason
    if isinstance(exc, Unauthorized):
        return f"CouchDB refused the credentials ({exc.reason or exc.error})"
    if isinstance(exc, CouchError):
        return f"CouchDB answered {exc.status} {exc.error}: {exc.reason}"
    return str(exc)


def connection_failure(exc: requests.RequestException) -> str:
    """What went wrong, without the layers of urllib3's wrapping around it."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    errno = re.search(r"\[Errno -?\d+\] [^'\"\)]*", str(exc))
    return errno.group(0).strip() if errno else str(exc)


def error_from_response(response: requests.Response) -> CouchError:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error = str(body.get("error") or response.reason or "error")
    reason = str(body.get("reason") or "")
    kind = ERRORS_BY_STATUS.get(response.status_code, CouchError)
    return kind(response.status_code, error, reason)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Take user:password out of a URL so that it is never printed."""
    parts = urlsplit(url)
    if not parts.username:
        return url.rstrip("/"), None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit(parts._replace(netloc=netloc)).rstrip("/")
    return bare, (unquote(parts.username), unquote(parts.password or ""))


class Couch:
    """One database on one CouchDB server."""

    def __init__(
        self,
        url: str | None = None,
        db: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 60,
    ):
        url = url or os.environ.get("COUCHDB_URL") or DEFAULT_URL
        self.url, auth = split_credentials(url)
        if user is None and auth is None:
            user = os.environ.get("COUCHDB_USER")
        if user:
            password = password or os.environ.get("COUCHDB_PASSWORD", "")
            auth = (user, password)
        self.db = db or os.environ.get("COUCHNET_DB") or DEFAULT_DB
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["Accept"] = "application/json"

    @property
    def db_path(self) -> str:
        """The database's name as a path on the server, quoted."""
        return quote(self.db, safe="")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to `path` (relative to the server) and check it."""
        if "json" in kwargs:
            kwargs["data"] = orjson.dumps(kwargs.pop("json"))
            headers = kwargs.setdefault("headers", {})
            headers["Content-Type"] = "application/json"
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, f"{self.url}/{path}", **kwargs)
        except requests.RequestException as exc:
            reason = f"{self.url}: {connection_failure(exc)}"
            raise Unreachable(0, "unreachable", reason) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise self.not_json(response) from None

    def not_json(self, response: requests.Response) -> BadResponse:
        reason = f"{self.url} did not answer with JSON; is it CouchDB?"
        return BadResponse(response.status_code, "bad_response", reason)

    def doc_path(self, doc_id: str) -> str:
        if doc_id.startswith("_design/"):
            return f"{self.db_path}/_design/{quote(doc_id[8:], safe='')}"
        return f"{self.db_path}/{quote(doc_id, safe='')}"

    # server and database

    def server_info(self) -> dict:
        return self.json("GET", "")

    def db_exists(self) -> bool:
        try:
            self.request("HEAD", self.db_path)
        except NotFound:
            return False
        return True

    def create_db(self, exist_ok: bool = True) -> bool:
        """Create the database; return False when it was already there."""
        try:
            self.request("PUT", self.db_path)
        except CouchError as exc:
            if exist_ok and exc.status == 412:
                return False
            raise
        return True

    def delete_db(self) -> None:
        self.request("DELETE", self.db_path)

    # documents

    def get(self, doc_id: str, **params: Any) -> dict:
        return self.json("GET", self.doc_path(doc_id), params=params)

    def get_or_none(self, doc_id: str) -> dict | None:
        try:
            return self.get(doc_id)
        except NotFound:
            return None

    def put(self, doc: dict) -> str:
        """Save a document; returns its new revision and sets `_rev`."""
        reply = self.json("PUT", self.doc_path(doc["_id"]), json=doc)
        doc["_rev"] = reply["rev"]
        return reply["rev"]

    def delete(self, doc_id: str, rev: str) -> None:
        self.request("DELETE", self.doc_path(doc_id), params={"rev": rev})

    def bulk_docs(self, docs: list[dict]) -> list[dict]:
        """Write many documents; one result per document, errors included."""
        path = f"{self.db_path}/_bulk_docs"
        return self.json("POST", path, json={"docs": docs})

    def all_docs(self, **params: Any) -> list[dict]:
        path = f"{self.db_path}/_all_docs"
        params = encode_params(params)
        return self.json("GET", path, params=params)["rows"]

    def all_docs_by_keys(self, keys: list[str], **params: Any) -> list[dict]:
        """_all_docs rows for these ids, sent in the body: no URL length limit."""
        path = f"{self.db_path}/_all_docs"
        params = encode_params(params)
        return self.json("POST", path, params=params, json={"keys": keys})["rows"]

    # views

    def view_path(self, ddoc: str, view: str) -> str:
        return f"{self.db_path}/_design/{quote(ddoc, safe='')}/_view/{view}"

    def view(self, ddoc: str, view: str, **params: Any) -> list[dict]:
        params = encode_params(params)
        return self.json("GET", self.view_path(ddoc, view), params=params)["rows"]

    def stream_view(self, ddoc: str, view: str, **params: Any) -> Iterator[list[dict]]:
        """Yield a view's rows in batches without holding the whole response.

        CouchDB streams a view one row per line:
            {"total_rows":3,"offset":0,"rows":[
            {"id":"h1","key":"h1","value":{"node":"x","weight":0.5}},
            ...
            ]}
        A batch is the complete lines of one chunk of the response.
        """
        params = encode_params(params)
        path = self.view_path(ddoc, view)
        response = self.request("GET", path, params=params, stream=True)
        with response:
            try:
                yield from batches_of_rows(response.iter_content(VIEW_CHUNK))
            except requests.RequestException as exc:
                reason = f"{self.url}: the view broke off ({connection_failure(exc)})"
                raise Unreachable(0, "unreachable", reason) from None
            except orjson.JSONDecodeError:
                raise self.not_json(response) from None


def batches_of_rows(chunks: Iterable[bytes]) -> Iterator[list[dict]]:
    """The rows of a view response's chunks, cut at the last line break of each."""
    pending = []
    for chunk in chunks:
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            pending.append(chunk)
            continue
        pending.append(chunk[:cut])
        yield rows_in(b"".join(pending))
        pending = [chunk[cut:]]
    yield rows_in(b"".join(pending))


def rows_in(lines: bytes) -> list[dict]:
    """The rows among complete lines of a view response, parsed as one JSON array.

    One parse for many rows is several times faster than a parse per line.
    The first line and the closing `]}` are left out; an error line, which
    CouchDB sends when a view fails after its first rows, is raised.
    """
    body = lines.strip()
    if body.startswith(b"{") and not body.startswith(ROW_STARTS):
        first, _, rest = body.partition(b"\n")
        return rows_on_line(first) + rows_in(rest)
    if body.startswith(b"]"):
        return []
    # No row holds a line break, so a line that starts with "]" closes the list.
    end = body.find(b"\n]")
    if end >= 0:
        body = body[:end].rstrip()
    error = body.find(b'\n{"error"')
    if error >= 0:
        rows_on_line(body[error + 1 :].partition(b"\n")[0])
    return orjson.loads(b"[" + body.rstrip(b",") + b"]")


def rows_on_line(line: bytes) -> list[dict]:
    """The rows on a line that is no row: none on the head line, all of them
    when a server sends the whole response on one line; an error line raises.
    """
    line = line.strip().rstrip(b",")
    if line.endswith(b"["):
        return []
    body = orjson.loads(line)
    if "error" in body:
        raise CouchError(200, body["error"], body.get("reason", ""))
    return body["rows"]


JSON_PARAMS = {"key", "keys", "startkey", "endkey", "start_key", "end_key"}


def encode_params(params: dict[str, Any]) -> dict[str, str]:
    return {name: encode_param(name, value) for name, value in params.items()}


def encode_param(name: str, value: Any) -> str:
    """View parameters: keys are JSON, booleans are lower-case words."""
    if name in JSON_PARAMS:
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
