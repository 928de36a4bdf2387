"""Databases: naming rules, info, deletion, _security and who may do what."""

import uuid

import pytest
import requests

T = 30


def fresh_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


def test_create_info_and_delete(couch_url):
    url = f"{couch_url}/{fresh_name()}"
    created = requests.put(url, timeout=T)
    assert created.status_code == 201 and created.json() == {"ok": True}
    assert created.headers["Location"].endswith(url.rsplit("/", 1)[1])
    info = requests.get(url, timeout=T).json()
    assert info["db_name"] == url.rsplit("/", 1)[1]
    assert info["doc_count"] == 0 and info["doc_del_count"] == 0
    assert isinstance(info["update_seq"], str)
    assert requests.head(url, timeout=T).status_code == 200
    assert requests.delete(url, timeout=T).json() == {"ok": True}
    missing = requests.get(url, timeout=T)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "reason": "Database does not exist.",
    }
    assert requests.head(url, timeout=T).status_code == 404


def test_create_twice_is_412(db_url):
    response = requests.put(db_url, timeout=T)
    assert response.status_code == 412
    assert response.json()["error"] == "file_exists"


@pytest.mark.parametrize(
    "name", ["Upper", "1starts_with_digit", "has space", "a*b", "_reserved"]
)
def test_illegal_database_names(couch_url, name):
    response = requests.put(f"{couch_url}/{requests.utils.quote(name)}", timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "illegal_database_name"
    reason = response.json()["reason"]
    assert reason.startswith(f"Name: '{name}'. Only lowercase characters (a-z)")
    assert reason.endswith("Must begin with a letter.")


def test_name_with_slash_and_specials(couch_url):
    name = fresh_name() + "/a$b(c)+d-e"
    url = f"{couch_url}/{requests.utils.quote(name, safe='')}"
    assert requests.put(url, timeout=T).status_code == 201
    try:
        assert requests.get(url, timeout=T).json()["db_name"] == name
        assert name in requests.get(f"{couch_url}/_all_dbs", timeout=T).json()
    finally:
        requests.delete(url, timeout=T)


def test_delete_missing_database_is_404(couch_url):
    response = requests.delete(f"{couch_url}/{fresh_name()}", timeout=T)
    assert response.status_code == 404


def test_info_counts_follow_writes(db_url):
    requests.put(f"{db_url}/a", json={}, timeout=T)
    rev = requests.put(f"{db_url}/b", json={}, timeout=T).json()["rev"]
    requests.delete(f"{db_url}/b", params={"rev": rev}, timeout=T)
    info = requests.get(db_url, timeout=T).json()
    assert (info["doc_count"], info["doc_del_count"]) == (1, 1)
    assert int(info["update_seq"].split("-")[0]) == 3


def test_only_admins_create_and_delete_databases(anon_url, db_url):
    name = fresh_name()
    assert requests.put(f"{anon_url}/{name}", timeout=T).status_code == 401
    db_name = db_url.rsplit("/", 1)[1]
    assert requests.delete(f"{anon_url}/{db_name}", timeout=T).status_code == 401


def test_new_database_is_admin_only(db_url, anon_url):
    db_name = db_url.rsplit("/", 1)[1]
    response = requests.get(f"{anon_url}/{db_name}", timeout=T)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    write = requests.put(f"{anon_url}/{db_name}/doc", json={}, timeout=T)
    assert write.status_code == 401


def test_public_database_lets_anyone_write_but_not_design_docs(public_db, anon_url):
    db = f"{anon_url}/{public_db.rsplit('/', 1)[1]}"
    assert requests.put(f"{db}/doc", json={"a": 1}, timeout=T).status_code == 201
    assert requests.get(f"{db}/doc", timeout=T).json()["a"] == 1
    ddoc = requests.put(f"{db}/_design/x", json={"language": "python"}, timeout=T)
    assert ddoc.status_code == 401
    assert ddoc.json()["error"] == "unauthorized"
    security = requests.put(f"{db}/_security", json={}, timeout=T)
    assert security.status_code == 401


def test_security_round_trip(db_url):
    body = {"admins": {"names": ["boss"], "roles": []}, "members": {"roles": ["staff"]}}
    assert requests.put(f"{db_url}/_security", json=body, timeout=T).json() == {
        "ok": True
    }
    assert requests.get(f"{db_url}/_security", timeout=T).json() == body


@pytest.mark.parametrize("field", ["names", "roles"])
def test_security_names_and_roles_must_be_lists_of_strings(db_url, field):
    for wrong in ("bob", [1], {"bob": True}):
        body = {"members": {field: wrong}}
        response = requests.put(f"{db_url}/_security", json=body, timeout=T)
        assert response.status_code >= 400, (wrong, response.text)
        assert f"{field} must be a JSON list of strings" in response.text
    assert requests.get(f"{db_url}/_security", timeout=T).json() != body


def test_member_names_and_roles(db_url, user, anon_url):
    name, password = user
    db = db_url.rsplit("/", 1)[1]
    as_user = anon_url.replace("://", f"://{name}:{password}@") + f"/{db}"
    requests.put(
        f"{db_url}/_security", json={"members": {"names": ["other"]}}, timeout=T
    )
    denied = requests.get(as_user, timeout=T)
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    requests.put(
        f"{db_url}/_security", json={"members": {"roles": ["reader"]}}, timeout=T
    )
    assert requests.get(as_user, timeout=T).status_code == 200
    assert requests.put(f"{as_user}/doc", json={}, timeout=T).status_code == 201
    ddoc = requests.put(f"{as_user}/_design/x", json={"language": "python"}, timeout=T)
    assert ddoc.status_code == 403


def test_db_admin_by_name_may_write_design_docs(db_url, user, anon_url):
    name, password = user
    db = db_url.rsplit("/", 1)[1]
    as_user = anon_url.replace("://", f"://{name}:{password}@") + f"/{db}"
    security = {"admins": {"names": [name]}, "members": {"names": ["someone"]}}
    requests.put(f"{db_url}/_security", json=security, timeout=T)
    ddoc = requests.put(f"{as_user}/_design/x", json={"language": "python"}, timeout=T)
    assert ddoc.status_code == 201, ddoc.text
