"""Helpers for the contract suite: plain HTTP against `couch_url`/`db_url`.

Nothing here knows which server answers: the same tests run against devcouch
and, with COUCHDB_URL set, against Apache CouchDB 3.x with the Python query
server registered.
"""

import os
import textwrap
import uuid
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
import requests

from loader import devserver

TIMEOUT = 30
on_devcouch = pytest.mark.skipif(
    bool(os.environ.get("COUCHDB_URL")), reason="starts a devcouch of its own"
)


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host))


def source(text: str) -> str:
    """A design function's source, without the indentation of the test."""
    return textwrap.dedent(text).strip() + "\n"


def view_rows(response: requests.Response) -> dict:
    """A view body checked line by line for CouchDB's exact framing."""
    assert response.status_code == 200, response.text
    text = response.text
    head, sep, rest = text.partition('"rows":[\r\n')
    assert sep, f"no rows opening in {text[:200]!r}"
    assert rest.endswith("\r\n]}\n"), f"bad ending {text[-30:]!r}"
    body = rest[: -len("\r\n]}\n")]
    lines = body.split(",\r\n") if body else []
    for line in lines:
        assert "\n" not in line, f"a row spans lines: {line[:100]!r}"
    parsed = orjson.loads(text)
    assert [orjson.loads(line) for line in lines] == parsed["rows"]
    return parsed


@pytest.fixture
def anon_url(couch_url):
    """The server's base URL without credentials."""
    return without_credentials(couch_url)


@pytest.fixture
def public_db(db_url):
    """A database whose _security has no members: anyone may read and write."""
    body = {"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": []}}
    response = requests.put(f"{db_url}/_security", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return db_url


@pytest.fixture
def put_ddoc(db_url):
    """Save a Python design doc into db_url; returns the response."""

    def put(name: str, body: dict, url: str | None = None) -> requests.Response:
        doc = {"language": "python", **body}
        return requests.put(
            f"{url or db_url}/_design/{name}", json=doc, timeout=TIMEOUT
        )

    return put


@pytest.fixture
def bulk(db_url):
    """Write documents with _bulk_docs; returns the per-document results."""

    def write(docs: list[dict], url: str | None = None) -> list[dict]:
        response = requests.post(
            f"{url or db_url}/_bulk_docs", json={"docs": docs}, timeout=TIMEOUT
        )
        assert response.status_code == 201, response.text
        return response.json()

    return write


@pytest.fixture
def user(couch_url):
    """A named, non-admin user in _users; yields (name, password)."""
    users = f"{couch_url}/_users"
    if requests.get(users, timeout=TIMEOUT).status_code == 404:
        requests.put(users, timeout=TIMEOUT)
    name, password = f"user_{uuid.uuid4().hex[:8]}", "pass-" + uuid.uuid4().hex[:6]
    doc_url = f"{users}/org.couchdb.user:{name}"
    body = {"name": name, "password": password, "roles": ["reader"], "type": "user"}
    response = requests.put(doc_url, json=body, timeout=TIMEOUT)
    assert response.status_code in (201, 202), response.text
    yield name, password
    rev = requests.get(doc_url, timeout=TIMEOUT).json()["_rev"]
    requests.delete(doc_url, params={"rev": rev}, timeout=TIMEOUT)


def start_devcouch(folder, *options: str, env: dict | None = None):
    """A devcouch of the test's own, its data and log in `folder`: (proc, url).

    Started again on the same folder, it finds the same data.
    """
    log = folder / "devcouch.log"
    return devserver.start_devcouch(
        folder / "data", "secret", *options, env=env, log=log
    )
