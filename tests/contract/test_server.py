"""Server-wide endpoints and authentication."""

import requests

T = 30


def test_welcome_and_up(couch_url):
    welcome = requests.get(couch_url, timeout=T)
    assert welcome.status_code == 200
    assert welcome.json()["couchdb"] == "Welcome"
    assert welcome.json()["version"].startswith("3.")
    up = requests.get(f"{couch_url}/_up", timeout=T)
    assert up.status_code == 200 and up.json()["status"] == "ok"


def test_all_dbs_lists_new_database_for_admin_only(couch_url, db_url, anon_url):
    name = db_url.rsplit("/", 1)[1]
    names = requests.get(f"{couch_url}/_all_dbs", timeout=T).json()
    assert name in names and names == sorted(names)
    anonymous = requests.get(f"{anon_url}/_all_dbs", timeout=T)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"


def test_wrong_method_is_405_naming_the_allowed_ones(couch_url):
    response = requests.post(f"{couch_url}/_up", timeout=T)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert response.json()["reason"] == f"Only {response.headers['Allow']} allowed"


def test_uuids_are_unique_hex(couch_url):
    response = requests.get(f"{couch_url}/_uuids", params={"count": 5}, timeout=T)
    uuids = response.json()["uuids"]
    assert len(uuids) == 5 == len(set(uuids))
    assert all(len(u) == 32 and int(u, 16) >= 0 for u in uuids)
    assert requests.get(f"{couch_url}/_uuids", timeout=T).json()["uuids"][0]


def test_uuids_count_must_be_a_number(couch_url):
    response = requests.get(f"{couch_url}/_uuids", params={"count": "x"}, timeout=T)
    assert response.status_code == 400


def test_basic_auth_with_wrong_password_is_401(anon_url):
    url = anon_url.replace("://", "://admin:wrong-password@")
    response = requests.get(f"{url}/_session", timeout=T)
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "reason": "Name or password is incorrect.",
    }


def test_session_of_basic_auth_admin(couch_url):
    body = requests.get(f"{couch_url}/_session", timeout=T).json()
    assert body["ok"] is True
    assert "_admin" in body["userCtx"]["roles"]


def test_anonymous_session(anon_url):
    body = requests.get(f"{anon_url}/_session", timeout=T).json()
    assert body["userCtx"] == {"name": None, "roles": []}


def test_cookie_login_use_and_logout(user, anon_url, public_db):
    name, password = user
    session = requests.Session()
    login = session.post(
        f"{anon_url}/_session", json={"name": name, "password": password}, timeout=T
    )
    assert login.status_code == 200, login.text
    assert login.json() == {"ok": True, "name": name, "roles": ["reader"]}
    assert "AuthSession" in session.cookies
    info = session.get(f"{anon_url}/_session", timeout=T).json()
    assert info["userCtx"]["name"] == name
    assert info["info"]["authenticated"] == "cookie"
    session.delete(f"{anon_url}/_session", timeout=T)
    session.cookies.clear()
    after = session.get(f"{anon_url}/_session", timeout=T).json()
    assert after["userCtx"]["name"] is None


def test_cookie_login_with_form_body(user, anon_url):
    name, password = user
    response = requests.post(
        f"{anon_url}/_session", data={"name": name, "password": password}, timeout=T
    )
    assert response.status_code == 200
    assert "AuthSession=" in response.headers["Set-Cookie"]


def test_cookie_login_with_bad_password(user, anon_url):
    name, _ = user
    response = requests.post(
        f"{anon_url}/_session", json={"name": name, "password": "nope"}, timeout=T
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_user_passwords_are_stored_hashed(couch_url, user):
    name, password = user
    doc = requests.get(f"{couch_url}/_users/org.couchdb.user:{name}", timeout=T).json()
    assert "password" not in doc
    assert doc["derived_key"] and doc["salt"]
    assert password not in str(doc)
