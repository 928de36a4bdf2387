"""`couchnet check` decisions that need a server misbehaving in a given way."""

from loader.check import run_checks
from loader.client import Couch, CouchError


class FakeCouch(Couch):
    """A Couch whose server answers from a table instead of the network."""

    def __init__(self, view_error: CouchError | None):
        super().__init__("http://127.0.0.1:9", "net")
        self.view_error = view_error

    def server_info(self):
        return {"couchdb": "Welcome", "version": "3.5.0"}

    def json(self, method, path, **kwargs):
        return {"doc_count": 3}

    def get(self, doc_id, **params):
        return {"_id": doc_id, "language": "python", "views": {"inputs": {}}}

    def view(self, ddoc, view, **params):
        if self.view_error:
            raise self.view_error
        return [{"key": "a", "value": {"node": "static", "weight": 1}}]


def test_a_server_without_the_python_query_server_is_named():
    error = CouchError(500, "unknown_query_language", "python")
    outcomes = run_checks(FakeCouch(error))
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert "register the query server with COUCHDB_QUERY_SERVER_PYTHON" in (
        outcomes[-1].detail
    )


def test_an_os_process_error_gets_the_same_advice():
    error = CouchError(500, "os_process_error", "{exit_status,127}")
    (*_, last) = run_checks(FakeCouch(error))
    assert "COUCHDB_QUERY_SERVER_PYTHON" in last.detail


def test_other_view_failures_are_reported_as_they_are():
    error = CouchError(500, "timeout", "the view took too long")
    (*_, last) = run_checks(FakeCouch(error))
    assert not last.ok
    assert "COUCHDB_QUERY_SERVER_PYTHON" not in last.detail
    assert "timeout" in last.detail


def test_all_pass_when_the_view_answers():
    outcomes = run_checks(FakeCouch(None))
    assert all(o.ok for o in outcomes) and len(outcomes) == 4
