"""_show, _list and _update functions, run by the query server."""

import pytest
import requests

from .conftest import source

T = 30

SHOWS = {
    "hello": source(
        """
        def show(doc, req):
            if doc is None:
                return {"code": 404, "body": "no neuron " + str(req["id"])}
            return {"body": "neuron " + doc["_id"], "headers": {"X-Neuron": doc["_id"]}}
        """
    ),
    "as_json": source(
        """
        def show(doc, req):
            return {"json": {"query": req["query"], "method": req["method"]}}
        """
    ),
}
LISTS = {
    "csv": source(
        """
        def fun(head, req):
            start({"headers": {"Content-Type": "text/csv"}})
            send("total=" + str(head.get("total_rows")) + "\\n")
            while (row := get_row()) is not None:
                send(str(row["key"]) + "," + str(row["value"]) + "\\n")
            return "end\\n"
        """
    ),
    "first": source(
        """
        def fun(head, req):
            start({"code": 200})
            row = get_row()
            return "first=" + str(row["key"] if row else None)
        """
    ),
}
UPDATES = {
    "bump": source(
        """
        def update(doc, req):
            if doc is None:
                new = {"_id": req["id"] or req["uuid"], "count": 1}
                return new, {"json": {"created": new["_id"]}}
            doc["count"] = doc.get("count", 0) + int(req["query"].get("by", 1))
            return doc, "bumped to " + str(doc["count"])
        """
    ),
    "echo": source(
        """
        def update(doc, req):
            return None, {"code": 202, "body": req["body"]}
        """
    ),
}
MAP = source(
    """
    def fun(doc):
        if "n" in doc:
            yield doc["n"], doc["n"] * 10
    """
)


@pytest.fixture
def app(db_url, put_ddoc, bulk):
    ddoc = {
        "shows": SHOWS,
        "lists": LISTS,
        "updates": UPDATES,
        "views": {"by_n": {"map": MAP}},
    }
    response = put_ddoc("app", ddoc)
    assert response.status_code == 201, response.text
    bulk([{"_id": f"d{n}", "n": n} for n in (3, 1, 2)])
    return f"{db_url}/_design/app"


def test_show_with_document(app):
    response = requests.get(f"{app}/_show/hello/d1", timeout=T)
    assert response.status_code == 200
    assert response.text == "neuron d1"
    assert response.headers["X-Neuron"] == "d1"


def test_show_of_missing_document_gets_null(app):
    response = requests.get(f"{app}/_show/hello/nothing", timeout=T)
    assert response.status_code == 404
    assert response.text == "no neuron nothing"


def test_show_without_document_and_json_body(app):
    response = requests.get(f"{app}/_show/as_json", params={"a": "b"}, timeout=T)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"query": {"a": "b"}, "method": "GET"}


def test_changed_show_function_is_used_at_once(app):
    assert requests.get(f"{app}/_show/hello/d1", timeout=T).text == "neuron d1"
    ddoc = requests.get(app, timeout=T).json()
    ddoc["shows"]["hello"] = "def show(doc, req):\n    return 'changed'\n"
    assert requests.put(app, json=ddoc, timeout=T).status_code == 201
    for _ in range(4):  # every query server process sees the new version
        assert requests.get(f"{app}/_show/hello/d1", timeout=T).text == "changed"


def test_missing_show_function(app):
    response = requests.get(f"{app}/_show/nope", timeout=T)
    assert response.status_code == 404


def test_list_over_a_view(app):
    response = requests.get(f"{app}/_list/csv/by_n", timeout=T)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.text == "total=3\n1,10\n2,20\n3,30\nend\n"


def test_list_with_view_parameters(app):
    response = requests.get(
        f"{app}/_list/csv/by_n", params={"descending": "true", "limit": 2}, timeout=T
    )
    assert response.text.splitlines()[1:] == ["3,30", "2,20", "end"]


def test_list_that_stops_early(app):
    response = requests.get(f"{app}/_list/first/by_n", timeout=T)
    assert response.status_code == 200
    assert response.text == "first=1"


def test_list_over_another_design_docs_view(app, db_url, put_ddoc):
    put_ddoc("other", {"views": {"v": {"map": MAP}}})
    response = requests.get(f"{app}/_list/csv/other/v", params={"key": 2}, timeout=T)
    assert response.text.splitlines()[1:] == ["2,20", "end"]


def test_update_existing_document(app, db_url):
    response = requests.put(f"{app}/_update/bump/d1", params={"by": 5}, timeout=T)
    assert response.status_code == 201
    assert response.text == "bumped to 5"
    assert response.headers["X-Couch-Id"] == "d1"
    new_rev = response.headers["X-Couch-Update-NewRev"]
    doc = requests.get(f"{db_url}/d1", timeout=T).json()
    assert doc["count"] == 5 and doc["_rev"] == new_rev


def test_update_creates_with_and_without_id(app, db_url):
    named = requests.post(f"{app}/_update/bump/fresh", timeout=T)
    assert named.status_code == 201
    assert named.json() == {"created": "fresh"}
    assert requests.get(f"{db_url}/fresh", timeout=T).json()["count"] == 1
    unnamed = requests.post(f"{app}/_update/bump", timeout=T)
    assert unnamed.status_code == 201
    doc_id = unnamed.headers["X-Couch-Id"]
    assert requests.get(f"{db_url}/{doc_id}", timeout=T).json()["count"] == 1


def test_update_that_saves_nothing(app):
    response = requests.post(f"{app}/_update/echo", data=b"hello body", timeout=T)
    assert response.status_code == 202
    assert response.text == "hello body"


def test_update_is_validated(app, put_ddoc):
    guard = source(
        """
        def validate(new_doc, old_doc, user_ctx, sec_obj):
            if new_doc.get("count", 0) > 3:
                raise Forbidden("too many")
        """
    )
    assert put_ddoc("guard", {"validate_doc_update": guard}).status_code == 201
    response = requests.put(f"{app}/_update/bump/d2", params={"by": 10}, timeout=T)
    assert response.status_code == 403


def test_update_needs_put_or_post(app):
    assert requests.get(f"{app}/_update/bump/d1", timeout=T).status_code == 405
