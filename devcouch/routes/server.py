"""Server-wide endpoints: /, /_up, /_all_dbs, /_uuids, /_session."""

from urllib.parse import parse_qsl

from .. import __version__
from ..auth import BAD_LOGIN, require_server_admin
from ..documents import uuids
from ..errors import CouchError, bad_request, method_not_allowed, unauthorized
from ..http import Request, json_response

MAX_UUIDS = 1000


def root(couch, req: Request):
    require_method(req, "GET", "HEAD")
    return json_response(
        {
            "couchdb": "Welcome",
            "version": "3.5.0",
            "devcouch": __version__,
            "uuid": couch.uuid,
            "features": [],
            "vendor": {"name": "devcouch"},
        }
    )


def up(couch, req: Request):
    require_method(req, "GET", "HEAD")
    return json_response({"status": "ok", "seeds": {}})


def all_dbs(couch, req: Request):
    require_method(req, "GET", "HEAD")
    require_server_admin(req.user)
    return json_response(couch.server.all_dbs())


def new_uuids(couch, req: Request):
    require_method(req, "GET", "HEAD")
    count = req.param_int("count", 1)
    if count > MAX_UUIDS:
        raise bad_request("count parameter too large")
    return json_response({"uuids": [uuids.next() for _ in range(count)]})


def session(couch, req: Request):
    if req.method in ("GET", "HEAD"):
        return session_info(req)
    if req.method == "POST":
        return log_in(couch, req)
    if req.method == "DELETE":
        cookie = "AuthSession=; Version=1; Path=/; HttpOnly; Max-Age=0"
        return json_response({"ok": True}, headers={"Set-Cookie": cookie})
    raise method_not_allowed("GET,HEAD,POST,DELETE")


def session_info(req: Request):
    info = {"authentication_handlers": ["cookie", "default"]}
    if req.authenticated_by:
        info["authenticated"] = req.authenticated_by
    user = req.user.as_json()
    return json_response({"ok": True, "userCtx": user, "info": info})


def log_in(couch, req: Request):
    name, password = login_fields(req)
    user = couch.auth.login(name, password)
    if user is None:
        raise unauthorized(BAD_LOGIN)
    header = couch.auth.set_cookie_header(name)
    body = {"ok": True, "name": user.name, "roles": user.roles}
    return json_response(body, headers={"Set-Cookie": header})


def login_fields(req: Request) -> tuple[str, str]:
    content_type = req.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = dict(parse_qsl(req.body.decode(errors="replace")))
    elif content_type.startswith("application/json"):
        fields = req.json_object()
    else:
        raise CouchError(
            415,
            "bad_content_type",
            "Content-Type must be application/json or"
            " application/x-www-form-urlencoded",
        )
    name, password = fields.get("name"), fields.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise unauthorized(BAD_LOGIN)
    return name, password


def require_method(req: Request, *allowed: str) -> None:
    if req.method not in allowed:
        raise method_not_allowed(",".join(allowed))
