"""Exceptions that become protocol replies, and those design functions raise."""


class QueryError(Exception):
    """A recoverable failure, answered ``["error", code, reason]``; serving goes on.

    Design functions may raise it to choose the error CouchDB reports.
    """

    def __init__(self, code: str, reason: str):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def reply(self) -> list:
        return ["error", self.code, self.reason]


class FatalError(QueryError):
    """Answered ``["fatal", code, reason]``, then the process exits non-zero.

    CouchDB (and devcouch) drop a process at once on a ``fatal`` reply.
    CouchDB's JavaScript server sends ``error`` here and lets CouchDB notice
    that it died, which leaves a moment in which the dead process can be
    handed to the next request.
    """

    def reply(self) -> list:
        return ["fatal", self.code, self.reason]


class Rejection(Exception):
    """Base of the rejections a validate_doc_update function may raise."""

    key = ""

    def __init__(self, reason: object = ""):
        super().__init__(reason)
        self.reason = reason

    def reply(self) -> dict:
        return {self.key: self.reason}


class Forbidden(Rejection):
    """Reject a document write with HTTP 403."""

    key = "forbidden"


class Unauthorized(Rejection):
    """Reject a document write with HTTP 401."""

    key = "unauthorized"
