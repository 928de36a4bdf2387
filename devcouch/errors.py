"""CouchDB's error replies: an HTTP status plus an `error`/`reason` pair."""


class CouchError(Exception):
    """An error that becomes `{"error": ..., "reason": ...}` with a status."""

    def __init__(
        self, status: int, error: str, reason: str, headers: dict | None = None
    ):
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": self.error, "reason": self.reason}


def bad_request(reason: str) -> CouchError:
    return CouchError(400, "bad_request", reason)


def not_found(reason: str = "missing") -> CouchError:
    return CouchError(404, "not_found", reason)


def conflict() -> CouchError:
    return CouchError(409, "conflict", "Document update conflict.")


def unauthorized(reason: str) -> CouchError:
    return CouchError(401, "unauthorized", reason)


def forbidden(reason: str) -> CouchError:
    return CouchError(403, "forbidden", reason)


def method_not_allowed(allowed: str) -> CouchError:
    """CouchDB's 405, with the `Allow` header naming the methods."""
    reason = f"Only {allowed} allowed"
    return CouchError(405, "method_not_allowed", reason, {"Allow": allowed})


class QueryServerError(CouchError):
    """A query server answered `["error", id, reason]` or broke down."""

    def __init__(self, error: str, reason: str, status: int = 500):
        super().__init__(status, error, reason)
