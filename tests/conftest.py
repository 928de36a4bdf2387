"""Fixtures shared by every test that needs a CouchDB-compatible server.

Tests run against devcouch, started once per session on a free port with a
temporary data directory, unless COUCHDB_URL names a real CouchDB (with the
query server registered there); COUCHDB_USER and COUCHDB_PASSWORD may carry
its admin credentials when the URL does not.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests

DEVCOUCH_ADMIN = ("admin", "secret")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_with_credentials(url: str, user: str | None, password: str | None) -> str:
    parts = urlsplit(url)
    if parts.username or not user:
        return url.rstrip("/")
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc)).rstrip("/")


def wait_until_up(url: str, proc: subprocess.Popen, log_path, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"devcouch exited early:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/_up", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"devcouch did not answer in {seconds}s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def couch_url(tmp_path_factory):
    """Base URL of the server under test, with admin credentials in it."""
    external = os.environ.get("COUCHDB_URL")
    if external:
        user = os.environ.get("COUCHDB_USER")
        password = os.environ.get("COUCHDB_PASSWORD")
        yield url_with_credentials(external, user, password)
        return

    port = free_port()
    data_dir = tmp_path_factory.mktemp("devcouch-data")
    log_path = data_dir.parent / "devcouch.log"
    user, password = DEVCOUCH_ADMIN
    command = [sys.executable, "-m", "devcouch", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data", str(data_dir)]
    command += ["--admin", f"{user}:{password}"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{user}:{password}@127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def db_url(couch_url):
    """A freshly created, uniquely named database, deleted afterwards."""
    url = f"{couch_url}/test_{uuid.uuid4().hex[:12]}"
    response = requests.put(url, timeout=30)
    assert response.status_code == 201, response.text
    yield url
    requests.delete(url, timeout=30)
