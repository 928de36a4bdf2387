"""Documents: revisions, conflicts, ids, special fields, _local documents."""

import re

import pytest
import requests

T = 30
REV = re.compile(r"^\d+-[0-9a-f]{32}$")


def test_put_get_update_delete(db_url):
    created = requests.put(f"{db_url}/doc", json={"a": 1}, timeout=T)
    assert created.status_code == 201
    body = created.json()
    assert body["ok"] is True and body["id"] == "doc"
    assert REV.match(body["rev"]) and body["rev"].startswith("1-")
    assert created.headers["ETag"] == f'"{body["rev"]}"'
    assert created.headers["Location"].endswith("/doc")

    fetched = requests.get(f"{db_url}/doc", timeout=T)
    assert fetched.json() == {"_id": "doc", "_rev": body["rev"], "a": 1}
    assert fetched.headers["ETag"] == f'"{body["rev"]}"'

    updated = requests.put(
        f"{db_url}/doc", json={"_rev": body["rev"], "a": 2}, timeout=T
    ).json()
    assert updated["rev"].startswith("2-")

    deleted = requests.delete(
        f"{db_url}/doc", params={"rev": updated["rev"]}, timeout=T
    )
    assert deleted.status_code == 200
    assert deleted.json()["rev"].startswith("3-")
    gone = requests.get(f"{db_url}/doc", timeout=T)
    assert gone.status_code == 404
    assert gone.json() == {"error": "not_found", "reason": "deleted"}


def test_missing_document(db_url):
    response = requests.get(f"{db_url}/nothing", timeout=T)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "reason": "missing"}
    assert requests.head(f"{db_url}/nothing", timeout=T).status_code == 404


def test_head_gives_etag_without_body(db_url):
    rev = requests.put(f"{db_url}/doc", json={"a": 1}, timeout=T).json()["rev"]
    response = requests.head(f"{db_url}/doc", timeout=T)
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{rev}"'
    assert response.content == b""


def test_if_none_match_gives_304(db_url):
    rev = requests.put(f"{db_url}/doc", json={}, timeout=T).json()["rev"]
    response = requests.get(
        f"{db_url}/doc", headers={"If-None-Match": f'"{rev}"'}, timeout=T
    )
    assert response.status_code == 304


def test_stale_and_missing_revisions_conflict(db_url):
    first = requests.put(f"{db_url}/doc", json={"n": 1}, timeout=T).json()["rev"]
    requests.put(f"{db_url}/doc", json={"_rev": first, "n": 2}, timeout=T)
    stale = requests.put(f"{db_url}/doc", json={"_rev": first, "n": 3}, timeout=T)
    assert stale.status_code == 409
    assert stale.json() == {"error": "conflict", "reason": "Document update conflict."}
    no_rev = requests.put(f"{db_url}/doc", json={"n": 4}, timeout=T)
    assert no_rev.status_code == 409
    delete_stale = requests.delete(f"{db_url}/doc", params={"rev": first}, timeout=T)
    assert delete_stale.status_code == 409
    delete_no_rev = requests.delete(f"{db_url}/doc", timeout=T)
    assert delete_no_rev.status_code == 409


def test_rev_on_new_document_conflicts(db_url):
    response = requests.put(f"{db_url}/new", json={"_rev": "1-" + "0" * 32}, timeout=T)
    assert response.status_code == 409


def test_rev_from_query_string_and_if_match(db_url):
    rev = requests.put(f"{db_url}/doc", json={}, timeout=T).json()["rev"]
    by_query = requests.put(f"{db_url}/doc", params={"rev": rev}, json={}, timeout=T)
    assert by_query.status_code == 201
    rev = by_query.json()["rev"]
    by_header = requests.delete(f"{db_url}/doc", headers={"If-Match": rev}, timeout=T)
    assert by_header.status_code == 200


def test_old_revision_by_rev_parameter(db_url):
    first = requests.put(f"{db_url}/doc", json={"v": "old"}, timeout=T).json()["rev"]
    requests.put(f"{db_url}/doc", json={"_rev": first, "v": "new"}, timeout=T)
    old = requests.get(f"{db_url}/doc", params={"rev": first}, timeout=T)
    assert old.status_code == 200 and old.json()["v"] == "old"
    unknown = requests.get(f"{db_url}/doc", params={"rev": "9-" + "a" * 32}, timeout=T)
    assert unknown.status_code == 404


def test_revs_history(db_url):
    rev = requests.put(f"{db_url}/doc", json={}, timeout=T).json()["rev"]
    for _ in range(2):
        rev = requests.put(f"{db_url}/doc", json={"_rev": rev}, timeout=T).json()["rev"]
    revisions = requests.get(
        f"{db_url}/doc", params={"revs": "true"}, timeout=T
    ).json()["_revisions"]
    assert revisions["start"] == 3
    assert len(revisions["ids"]) == 3 and revisions["ids"][0] == rev.split("-")[1]


def test_recreate_after_delete_continues_revisions(db_url):
    rev = requests.put(f"{db_url}/doc", json={}, timeout=T).json()["rev"]
    requests.delete(f"{db_url}/doc", params={"rev": rev}, timeout=T)
    again = requests.put(f"{db_url}/doc", json={"back": True}, timeout=T)
    assert again.status_code == 201
    assert again.json()["rev"].startswith("3-")


def test_post_generates_id(db_url):
    response = requests.post(db_url, json={"a": 1}, timeout=T)
    assert response.status_code == 201
    doc_id = response.json()["id"]
    assert requests.get(f"{db_url}/{doc_id}", timeout=T).json()["a"] == 1
    named = requests.post(db_url, json={"_id": "chosen"}, timeout=T)
    assert named.json()["id"] == "chosen"


def test_post_needs_json_content_type(db_url):
    response = requests.post(
        db_url, data=b'{"a": 1}', headers={"Content-Type": "text/plain"}, timeout=T
    )
    assert response.status_code == 415
    assert response.json()["error"] == "bad_content_type"


@pytest.mark.parametrize("doc_id", ["_foo", "_all_docsx", "_designer"])
def test_reserved_ids_are_illegal(db_url, doc_id):
    response = requests.put(f"{db_url}/{doc_id}", json={}, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "illegal_docid"


def test_bad_special_member(db_url):
    response = requests.put(f"{db_url}/doc", json={"_secret": 1}, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "doc_validation"


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"a": 1', b"\xff\xfe"])
def test_invalid_json_is_bad_request(db_url, body):
    response = requests.put(f"{db_url}/doc", data=body, timeout=T)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "reason": "invalid UTF-8 JSON"}


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_document_must_be_an_object(db_url, body):
    response = requests.put(f"{db_url}/doc", json=body, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_ids_with_slashes_and_unicode(db_url):
    for doc_id, path in [
        ("a/b", "a%2Fb"),
        ("ü €", "%C3%BC%20%E2%82%AC"),
        ("😀", "%F0%9F%98%80"),
    ]:
        assert requests.put(f"{db_url}/{path}", json={}, timeout=T).status_code == 201
        assert requests.get(f"{db_url}/{path}", timeout=T).json()["_id"] == doc_id


def test_design_doc_by_encoded_slash(db_url, put_ddoc):
    assert put_ddoc("x", {}).status_code == 201
    response = requests.get(f"{db_url}/_design%2Fx", timeout=T)
    assert response.status_code == 200
    assert response.json()["_id"] == "_design/x"


def test_local_documents(db_url):
    created = requests.put(f"{db_url}/_local/cp", json={"seq": 1}, timeout=T)
    assert created.status_code == 201
    rev = created.json()["rev"]
    assert rev.startswith("0-")
    assert requests.get(f"{db_url}/_local/cp", timeout=T).json()["seq"] == 1
    updated = requests.put(
        f"{db_url}/_local/cp", json={"_rev": rev, "seq": 2}, timeout=T
    )
    assert updated.status_code == 201
    changes = requests.get(f"{db_url}/_changes", timeout=T).json()["results"]
    assert changes == []
    all_docs = requests.get(f"{db_url}/_all_docs", timeout=T).json()
    assert all_docs["rows"] == []
    rev = updated.json()["rev"]
    assert requests.delete(f"{db_url}/_local/cp", params={"rev": rev}, timeout=T).ok
    assert requests.get(f"{db_url}/_local/cp", timeout=T).status_code == 404


def test_malformed_revisions_are_bad_requests(db_url):
    requests.put(f"{db_url}/doc", json={}, timeout=T)
    for rev in ("abc", "x-1", "1-"):
        got = requests.get(f"{db_url}/doc", params={"rev": rev}, timeout=T)
        assert got.status_code == 400, rev
        put = requests.put(f"{db_url}/doc", params={"rev": rev}, json={}, timeout=T)
        assert put.status_code == 400, rev
