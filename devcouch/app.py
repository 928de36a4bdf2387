"""The ASGI application: read the request, authenticate, route, log."""

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from anyio import to_thread
from starlette.responses import Response

from .auth import Auth
from .errors import CouchError, bad_request
from .http import Request, error_response
from .queryserver import QueryServerPool
from .routes import dispatch
from .storage import Server

log = logging.getLogger("devcouch")
MAX_BODY = 256 * 1024 * 1024


@dataclass
class Couch:
    """Everything a handler may need, shared by all requests."""

    server: Server
    auth: Auth
    pool: QueryServerPool
    uuid: str


def build(data_dir: Path, admin, query_server: list[str], config: dict, processes=4):
    """The application over a data folder, with its query server pool."""
    server = Server(data_dir)
    pool = QueryServerPool(query_server, config, size=processes)
    auth = Auth(admin, server, Path(data_dir))
    uuid_path = Path(data_dir) / ".server_uuid"
    if not uuid_path.exists():
        uuid_path.write_text(os.urandom(16).hex())
    return App(Couch(server, auth, pool, uuid_path.read_text().strip()))


class App:
    """Reads each request whole, then runs its handler in a worker thread."""

    def __init__(self, couch: Couch):
        self.couch = couch

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        response = await self.respond(scope, receive)
        try:
            await response(scope, receive, send)
        except Exception:  # headers are out: all that is left is to hang up
            line = request_line(scope)
            log.exception("%s %d broke off while streaming", line, response.status_code)
            return
        if log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - started) * 1000
            line = request_line(scope)
            log.info("%s %d %.1fms", line, response.status_code, elapsed)

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                to_thread.current_default_thread_limiter().total_tokens = 64
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.couch.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def respond(self, scope, receive) -> Response:
        try:
            req = await read_request(scope, receive)
            if is_quick(req):
                return self.handle(req)
            return await to_thread.run_sync(self.handle, req)
        except CouchError as error:
            return error_response(error)

    def handle(self, req: Request) -> Response:
        try:
            self.couch.auth.authenticate(req)
            response = dispatch(self.couch, req)
            if req.new_cookie:
                response.headers.append("Set-Cookie", req.new_cookie)
            return response
        except CouchError as error:
            if error.status >= 500:  # the server's failure, not the client's
                log.warning("%s %s: %s", req.method, req.raw_path, error)
            return error_response(error)
        except Exception as error:  # a bug of ours: say so, keep serving
            log.exception("unexpected error on %s %s", req.method, req.raw_path)
            return error_response(CouchError(500, "unknown_error", repr(error)))


def request_line(scope) -> str:
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope['method']} {path}" + (f"?{query}" if query else "")


def is_quick(req: Request) -> bool:
    """Reads of one document: a single indexed SQLite read, no query server.

    They are served on the event loop; a thread hop would double their time.
    """
    if req.method not in ("GET", "HEAD"):
        return False
    if len(req.path) == 2:
        return not req.path[1].startswith("_")
    return req.path in ([], ["_up"])


async def read_request(scope, receive) -> Request:
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
    }
    declared = headers.get("content-length", "0") or "0"
    if not declared.isdigit():
        raise bad_request("invalid Content-Length")
    if int(declared) > MAX_BODY:
        raise CouchError(413, "too_large", "the request entity is too large")
    body = await read_body(receive)
    raw_path = scope.get("raw_path") or scope["path"].encode()
    try:
        raw = raw_path.decode().split("?", 1)[0]
        segments = [unquote(part, errors="strict") for part in raw.split("/")]
    except UnicodeDecodeError:
        raise bad_request("invalid UTF-8 in the path") from None
    return Request(
        method=scope["method"],
        path=[segment for segment in segments if segment],
        raw_path=raw,
        query_string=scope.get("query_string", b"").decode(errors="replace"),
        headers=headers,
        body=body,
        peer=(scope.get("client") or ("127.0.0.1", 0))[0],
    )


async def read_body(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise CouchError(413, "too_large", "the request entity is too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)
