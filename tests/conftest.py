"""Fixtures shared by every test that needs a CouchDB-compatible server.

Tests run against devcouch, started once per session on a free port with a
temporary data directory, unless COUCHDB_URL names a real CouchDB (with the
query server registered there); COUCHDB_USER and COUCHDB_PASSWORD may carry
its admin credentials when the URL does not.
"""

import uuid

import pytest
import requests

from loader.devserver import devcouch, external_url


@pytest.fixture(scope="session")
def couch_url(tmp_path_factory):
    """Base URL of the server under test, with admin credentials in it."""
    external = external_url()
    if external:
        yield external.rstrip("/")
        return

    data_dir = tmp_path_factory.mktemp("devcouch-data")
    with devcouch(data_dir, "secret") as url:
        yield url


@pytest.fixture
def db_url(couch_url):
    """A freshly created, uniquely named database, deleted afterwards."""
    url = f"{couch_url}/test_{uuid.uuid4().hex[:12]}"
    response = requests.put(url, timeout=30)
    assert response.status_code == 201, response.text
    yield url
    requests.delete(url, timeout=30)
