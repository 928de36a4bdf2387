"""validate_doc_update: who it runs for, and how its rejections come back."""

import pytest
import requests

from .conftest import source

T = 30

VALIDATE = source(
    """
    def validate(new_doc, old_doc, user_ctx, sec_obj):
        if new_doc.get("_deleted"):
            if old_doc and old_doc.get("locked"):
                raise Forbidden("locked documents stay")
            return
        if "weight" not in new_doc:
            raise Forbidden("a neuron needs a weight")
        if new_doc.get("owner") and new_doc["owner"] != user_ctx["name"]:
            raise Unauthorized("only the owner writes this")
        if old_doc and old_doc.get("frozen"):
            raise Forbidden("frozen by " + str(sec_obj.get("admins")))
    """
)


@pytest.fixture
def guarded(db_url, put_ddoc):
    response = put_ddoc("guard", {"validate_doc_update": VALIDATE})
    assert response.status_code == 201, response.text
    return db_url


def test_forbidden_is_403_even_for_admins(guarded):
    response = requests.put(f"{guarded}/n", json={"bias": 1}, timeout=T)
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "reason": "a neuron needs a weight",
    }
    assert requests.get(f"{guarded}/n", timeout=T).status_code == 404


def test_unauthorized_is_401(guarded):
    response = requests.put(
        f"{guarded}/n", json={"weight": 1, "owner": "somebody"}, timeout=T
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["reason"] == "only the owner writes this"


def test_valid_document_passes_and_old_doc_is_given(guarded):
    created = requests.put(
        f"{guarded}/n", json={"weight": 1, "frozen": True}, timeout=T
    )
    assert created.status_code == 201
    rev = created.json()["rev"]
    changed = requests.put(f"{guarded}/n", json={"_rev": rev, "weight": 2}, timeout=T)
    assert changed.status_code == 403
    assert changed.json()["reason"].startswith("frozen by")


def test_deletes_are_validated(guarded):
    rev = requests.put(
        f"{guarded}/n", json={"weight": 1, "locked": True}, timeout=T
    ).json()["rev"]
    response = requests.delete(f"{guarded}/n", params={"rev": rev}, timeout=T)
    assert response.status_code == 403


def test_bulk_docs_rejections_are_per_document(guarded, bulk):
    results = bulk([{"_id": "ok", "weight": 1}, {"_id": "bad"}])
    assert results[0]["ok"] is True
    assert results[1] == {
        "id": "bad",
        "error": "forbidden",
        "reason": "a neuron needs a weight",
    }


def test_design_and_local_docs_are_exempt(guarded, put_ddoc):
    assert put_ddoc("other", {"views": {}}).status_code == 201
    local = requests.put(f"{guarded}/_local/x", json={"no": "weight"}, timeout=T)
    assert local.status_code == 201


def test_every_design_doc_validates(guarded, put_ddoc):
    second = source(
        """
        def validate(new_doc, old_doc, user_ctx, sec_obj):
            if new_doc.get("weight") == 13:
                raise Forbidden("unlucky")
        """
    )
    assert put_ddoc("second", {"validate_doc_update": second}).status_code == 201
    assert (
        requests.put(f"{guarded}/a", json={"weight": 13}, timeout=T).status_code == 403
    )
    assert requests.put(f"{guarded}/b", json={}, timeout=T).status_code == 403
    assert (
        requests.put(f"{guarded}/c", json={"weight": 1}, timeout=T).status_code == 201
    )


def test_user_ctx_names_the_writer(public_db, put_ddoc, anon_url):
    check = source(
        """
        def validate(new_doc, old_doc, user_ctx, sec_obj):
            if user_ctx["name"] is None:
                raise Unauthorized("log in first")
            if user_ctx["db"] != new_doc["db"]:
                raise Forbidden("wrong db in user_ctx")
        """
    )
    assert put_ddoc("who", {"validate_doc_update": check}).status_code == 201
    db = public_db.rsplit("/", 1)[1]
    anonymous = requests.put(f"{anon_url}/{db}/x", json={"db": db}, timeout=T)
    assert anonymous.status_code == 401
    admin = requests.put(f"{public_db}/x", json={"db": db}, timeout=T)
    assert admin.status_code == 201, admin.text


def test_validation_that_raises_unexpectedly_rejects_the_write(db_url, put_ddoc):
    broken = source(
        """
        def validate(new_doc, old_doc, user_ctx, sec_obj):
            return 1 / 0
        """
    )
    assert put_ddoc("broken", {"validate_doc_update": broken}).status_code == 201
    response = requests.put(f"{db_url}/x", json={}, timeout=T)
    assert response.status_code >= 400
    assert requests.get(f"{db_url}/x", timeout=T).status_code == 404
