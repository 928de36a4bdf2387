"""_bulk_docs results and _all_docs queries, framed as CouchDB streams them."""

import pytest
import requests

from .conftest import view_rows

T = 30


def test_bulk_docs_reports_each_document(db_url, bulk):
    first = bulk([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}, {"n": 3}])
    assert [r["ok"] for r in first] == [True, True, True]
    assert first[0]["id"] == "a" and first[2]["id"]
    second = bulk(
        [{"_id": "a", "_rev": first[0]["rev"], "n": 10}, {"_id": "b", "n": 20}]
    )
    assert second[0]["ok"] is True and second[0]["rev"].startswith("2-")
    assert second[1] == {
        "id": "b",
        "error": "conflict",
        "reason": "Document update conflict.",
    }
    assert requests.get(f"{db_url}/b", timeout=T).json()["n"] == 2


def test_bulk_docs_deletes(db_url, bulk):
    rev = bulk([{"_id": "a"}])[0]["rev"]
    result = bulk([{"_id": "a", "_rev": rev, "_deleted": True}])
    assert result[0]["ok"] is True
    assert requests.get(f"{db_url}/a", timeout=T).status_code == 404


def test_bulk_docs_needs_docs_list(db_url):
    response = requests.post(f"{db_url}/_bulk_docs", json={"nope": []}, timeout=T)
    assert response.status_code == 400
    assert response.json()["reason"] == "POST body must include `docs` parameter."
    response = requests.post(f"{db_url}/_bulk_docs", json=[1, 2], timeout=T)
    assert response.status_code == 400
    response = requests.post(f"{db_url}/_bulk_docs", json={"docs": {}}, timeout=T)
    assert response.status_code == 400
    assert response.json()["reason"] == "`docs` parameter must be an array."


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"_id": "_bad"}, "illegal_docid"),
        ({"_id": ""}, "illegal_docid"),
        ({"_id": "x", "_rev": "nonsense"}, "bad_request"),
        ({"_id": "x", "_secret": 1}, "doc_validation"),
        ([1], "bad_request"),
    ],
)
def test_bulk_docs_invalid_member_refuses_the_request(db_url, bad, error):
    """CouchDB parses every member before writing any: one bad refuses all."""
    docs = [{"_id": "good"}, bad]
    response = requests.post(f"{db_url}/_bulk_docs", json={"docs": docs}, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert requests.get(f"{db_url}/good", timeout=T).status_code == 404


def test_bulk_docs_design_doc_needs_a_db_admin(public_db, anon_url):
    db = f"{anon_url}/{public_db.rsplit('/', 1)[1]}"
    docs = [{"_id": "plain"}, {"_id": "_design/x", "language": "python"}]
    response = requests.post(f"{db}/_bulk_docs", json={"docs": docs}, timeout=T)
    if response.status_code == 201:
        results = response.json()
        assert results[0]["ok"] is True
        assert results[1]["id"] == "_design/x"
        assert results[1]["error"] == "unauthorized" and "rev" not in results[1]
    else:  # or the whole request is refused
        assert response.status_code == 401, response.text
    assert requests.get(f"{public_db}/_design/x", timeout=T).status_code == 404


@pytest.fixture
def letters(db_url, bulk):
    bulk([{"_id": c, "letter": c} for c in "edcba"])
    return db_url


def all_docs(url, **params):
    return view_rows(requests.get(f"{url}/_all_docs", params=params, timeout=T))


def ids(body):
    return [row["id"] for row in body["rows"]]


def test_all_docs_order_and_framing(letters):
    body = all_docs(letters)
    assert ids(body) == list("abcde")
    assert body["total_rows"] == 5 and body["offset"] == 0
    row = body["rows"][0]
    assert row["key"] == "a" and row["value"]["rev"].startswith("1-")


def test_all_docs_ranges(letters):
    assert ids(all_docs(letters, startkey='"b"', endkey='"d"')) == list("bcd")
    exclusive = all_docs(letters, startkey='"b"', endkey='"d"', inclusive_end="false")
    assert ids(exclusive) == list("bc")
    descending = all_docs(letters, descending="true", startkey='"d"', endkey='"b"')
    assert ids(descending) == list("dcb")
    assert ids(all_docs(letters, start_key='"c"')) == list("cde")
    assert ids(all_docs(letters, key='"c"')) == ["c"]
    down = all_docs(
        letters, descending="true", startkey='"d"', endkey='"b"', inclusive_end="false"
    )
    assert ids(down) == list("dc")


def test_all_docs_limit_skip_offset(letters):
    body = all_docs(letters, limit=2, skip=1)
    assert ids(body) == list("bc")
    assert body["offset"] == 1
    assert all_docs(letters, startkey='"c"')["offset"] == 2


def test_all_docs_include_docs(letters):
    body = all_docs(letters, include_docs="true", limit=1)
    doc = body["rows"][0]["doc"]
    assert doc["_id"] == "a" and doc["letter"] == "a" and doc["_rev"]


def test_all_docs_keys_get_and_post(letters):
    rev = requests.get(f"{letters}/b", timeout=T).json()["_rev"]
    requests.delete(f"{letters}/b", params={"rev": rev}, timeout=T)
    body = all_docs(letters, keys='["c", "zz", "b"]')
    assert body["rows"][0]["id"] == "c"
    assert body["rows"][1] == {"key": "zz", "error": "not_found"}
    assert body["rows"][2]["value"]["deleted"] is True
    posted = requests.post(f"{letters}/_all_docs", json={"keys": ["e", "a"]}, timeout=T)
    assert ids(view_rows(posted)) == ["e", "a"]


def test_all_docs_excludes_deleted_and_counts_design(letters, put_ddoc):
    put_ddoc("d", {})
    rev = requests.get(f"{letters}/a", timeout=T).json()["_rev"]
    requests.delete(f"{letters}/a", params={"rev": rev}, timeout=T)
    body = all_docs(letters)
    assert ids(body) == ["_design/d", "b", "c", "d", "e"]
    assert body["total_rows"] == 5


def test_all_docs_empty_database_framing(db_url):
    response = requests.get(f"{db_url}/_all_docs", timeout=T)
    assert response.text == '{"total_rows":0,"offset":0,"rows":[\r\n\r\n]}\n'


def test_all_docs_bad_parameters(letters):
    for params in ({"limit": "x"}, {"descending": "maybe"}, {"startkey": "nojson"}):
        response = requests.get(f"{letters}/_all_docs", params=params, timeout=T)
        assert response.status_code == 400, params
