"""Who is asking (basic auth, the AuthSession cookie) and what they may do.

The one server admin comes from the command line. Other users live in the
`_users` database as CouchDB keeps them: `org.couchdb.user:NAME` documents
whose `password` is replaced by a PBKDF2 `derived_key` when saved.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time

from .errors import forbidden, unauthorized
from .http import Request, UserCtx

USER_PREFIX = "org.couchdb.user:"
COOKIE_SECONDS = 600
PBKDF2_ITERATIONS = 10
BAD_LOGIN = "Name or password is incorrect."


def hash_password(password: str, salt: str | None = None) -> dict:
    """The fields CouchDB stores in place of a user's plain password."""
    salt = salt or secrets.token_hex(16)
    key = hashlib.pbkdf2_hmac(
        "sha1", password.encode(), salt.encode(), PBKDF2_ITERATIONS, 20
    )
    return {
        "password_scheme": "pbkdf2",
        "iterations": PBKDF2_ITERATIONS,
        "derived_key": key.hex(),
        "salt": salt,
    }


def password_matches(user_doc: dict, password: str) -> bool:
    if user_doc.get("password_scheme") != "pbkdf2":
        return False
    key = hashlib.pbkdf2_hmac(
        "sha1",
        password.encode(),
        str(user_doc.get("salt", "")).encode(),
        int(user_doc.get("iterations", PBKDF2_ITERATIONS)),
        20,
    )
    return hmac.compare_digest(key.hex(), str(user_doc.get("derived_key", "")))


class Auth:
    """Checks credentials against the admin and the `_users` database."""

    def __init__(self, admin: tuple[str, str] | None, server, data_dir):
        self.admin = admin
        self.server = server
        self.secret = self._load_secret(data_dir)

    @staticmethod
    def _load_secret(data_dir) -> bytes:
        # Kept in the data folder so that cookies outlive a restart.
        path = data_dir / ".cookie_secret"
        if not path.exists():
            path.write_bytes(os.urandom(32))
        return path.read_bytes()

    def login(self, name: str, password: str) -> UserCtx | None:
        if self.admin and is_admin_login(self.admin, name, password):
            return UserCtx(name, ["_admin"])
        user_doc = self.user_doc(name)
        if user_doc and password_matches(user_doc, password):
            return user_of(name, user_doc)
        return None

    def user_doc(self, name: str) -> dict | None:
        try:
            users = self.server.get("_users")
        except Exception:
            return None
        return users.get(USER_PREFIX + name)

    def authenticate(self, req: Request) -> None:
        """Set req.user from the Authorization header or the session cookie."""
        header = req.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            name, password = decode_basic(header[6:])
            user = self.login(name, password)
            if user is None:
                raise unauthorized(BAD_LOGIN)
            req.user, req.authenticated_by = user, "default"
            return
        cookie = cookie_value(req.headers.get("cookie", ""), "AuthSession")
        user = self.check_cookie(cookie) if cookie else None
        if user is not None:
            req.user, req.authenticated_by = user, "cookie"
            if cookie_age(cookie) > COOKIE_SECONDS / 2:
                req.new_cookie = self.set_cookie_header(user.name)

    def set_cookie_header(self, name: str) -> str:
        cookie = self.make_cookie(name)
        attributes = f"Version=1; Path=/; HttpOnly; Max-Age={COOKIE_SECONDS}"
        return f"AuthSession={cookie}; {attributes}"

    def make_cookie(self, name: str) -> str:
        stamp = format(int(time.time()), "X")
        mac = self._mac(name, stamp, self.user_doc(name))
        raw = f"{name}:{stamp}:".encode() + mac
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def check_cookie(self, cookie: str) -> UserCtx | None:
        try:
            name, stamp, mac = split_cookie(cookie)
        except ValueError:
            return None
        if int(stamp, 16) + COOKIE_SECONDS <= time.time():
            return None
        user_doc = self.user_doc(name)
        if not hmac.compare_digest(mac, self._mac(name, stamp, user_doc)):
            return None
        if self.admin and name == self.admin[0]:
            return UserCtx(name, ["_admin"])
        return user_of(name, user_doc) if user_doc else None

    def _mac(self, name: str, stamp: str, user_doc: dict | None) -> bytes:
        # The user's salt is part of the key, so a changed password ends sessions.
        salt = (user_doc or {}).get("salt", "") if name else ""
        key = self.secret + str(salt).encode()
        return hmac.new(key, f"{name}:{stamp}".encode(), hashlib.sha256).digest()


def user_of(name: str, user_doc: dict) -> UserCtx:
    """The userCtx of a user kept in `_users`."""
    return UserCtx(name, list(user_doc.get("roles", [])))


def is_admin_login(admin: tuple[str, str], name: str, password: str) -> bool:
    # Name and password apart: joined, "a:b" + "c" would pass for "a" + "b:c".
    same_name = hmac.compare_digest(name.encode(), admin[0].encode())
    return hmac.compare_digest(password.encode(), admin[1].encode()) and same_name


def split_cookie(cookie: str) -> tuple[str, str, bytes]:
    """(name, hex timestamp, mac) of an AuthSession value; ValueError if bad."""
    raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    name, stamp, mac = raw.split(b":", 2)
    int(stamp, 16)
    return name.decode(), stamp.decode(), mac


def cookie_age(cookie: str) -> float:
    return time.time() - int(split_cookie(cookie)[1], 16)


def decode_basic(token: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(token.strip(), validate=True).decode()
    except ValueError:
        raise unauthorized(BAD_LOGIN) from None
    name, _, password = text.partition(":")
    return name, password


def cookie_value(header: str, wanted: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted and value:
            return value
    return None


# -- what a user may do with a database -------------------------------------


def _listed(section: dict, user: UserCtx) -> bool:
    names = section.get("names") or []
    roles = section.get("roles") or []
    return user.name in names or any(role in roles for role in user.roles)


def is_db_admin(security: dict, user: UserCtx) -> bool:
    return user.is_admin or _listed(security.get("admins") or {}, user)


def is_member(security: dict, user: UserCtx) -> bool:
    members = security.get("members") or {}
    public = not members.get("names") and not members.get("roles")
    return public or is_db_admin(security, user) or _listed(members, user)


def require_member(security: dict, user: UserCtx) -> None:
    if is_member(security, user):
        return
    if user.name is None:
        raise unauthorized("You are not authorized to access this db.")
    raise forbidden("You are not allowed to access this db.")


def require_db_admin(security: dict, user: UserCtx) -> None:
    if is_db_admin(security, user):
        return
    if user.name is None:
        raise unauthorized("You are not a db or server admin.")
    raise forbidden("You are not a db or server admin.")


def require_server_admin(user: UserCtx) -> None:
    if not user.is_admin:
        raise unauthorized("You are not a server admin.")
