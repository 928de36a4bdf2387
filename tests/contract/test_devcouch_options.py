"""devcouch itself: its options (reduce_limit, the query server command and
its timeout, quiet, the admin), its help and its log, and what it refuses
that CouchDB serves. Skipped against CouchDB; most start a devcouch of their own.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from loader.devserver import stop

from .conftest import on_devcouch, source, start_devcouch

T = 30
pytestmark = on_devcouch

GROWING = source(
    """
    def fun(keys, values, rereduce):
        return values
    """
)
EMIT = "def fun(doc):\n    yield doc['k'], 'x' * 40\n"


@pytest.fixture
def server(tmp_path, request):
    options, env = request.param
    proc, url = start_devcouch(tmp_path, *options, env=env)
    yield url
    stop(proc)


def growing_view(url: str) -> requests.Response:
    requests.put(f"{url}/db", timeout=T)
    docs = [{"k": i} for i in range(3000)]
    requests.post(f"{url}/db/_bulk_docs", json={"docs": docs}, timeout=T)
    ddoc = {"language": "python", "views": {"v": {"map": EMIT, "reduce": GROWING}}}
    saved = requests.put(f"{url}/db/_design/g", json=ddoc, timeout=T)
    assert saved.status_code == 201, saved.text
    return requests.get(f"{url}/db/_design/g/_view/v", timeout=60)


@pytest.mark.parametrize("server", [(["--reduce-limit", "false"], None)], indirect=True)
def test_reduce_limit_false_lets_reductions_grow(server):
    response = growing_view(server)
    assert response.status_code == 200
    assert "reduce_overflow_error" not in response.text
    assert len(response.json()["rows"][0]["value"]) > 1


@pytest.mark.parametrize(
    "server", [(["--os-process-timeout", "500"], None)], indirect=True
)
def test_os_process_timeout_is_applied(server):
    requests.put(f"{server}/db", timeout=T)
    hang = "import time\n\ndef fun(doc):\n    time.sleep(60)\n    yield 1, 1\n"
    ddoc = {"language": "python", "views": {"v": {"map": hang}}}
    requests.put(f"{server}/db/_design/h", json=ddoc, timeout=T)
    requests.put(f"{server}/db/doc", json={}, timeout=T)
    response = requests.get(f"{server}/db/_design/h/_view/v", timeout=30)
    assert response.status_code == 500
    assert response.json() == {
        "error": "os_process_error",
        "reason": "OS process timed out.",
    }


@pytest.mark.parametrize(
    "server",
    [([], {"DEVCOUCH_QUERY_SERVER": "/nonexistent/query-server"})],
    indirect=True,
)
def test_query_server_command_from_the_environment(server):
    requests.put(f"{server}/db", timeout=T)
    ddoc = {"language": "python", "views": {"v": {"map": EMIT}}}
    response = requests.put(f"{server}/db/_design/x", json=ddoc, timeout=T)
    assert response.status_code == 500
    assert "query server" in response.json()["reason"]
    assert requests.put(f"{server}/db/plain", json={}, timeout=T).status_code == 201


@pytest.mark.parametrize("server", [([], None)], indirect=True)
def test_log_has_requests_and_child_processes(server, tmp_path):
    requests.put(f"{server}/db", timeout=T)
    ddoc = {"language": "python", "views": {"v": {"map": EMIT}}}
    requests.put(f"{server}/db/_design/x", json=ddoc, timeout=T)
    text = (tmp_path / "devcouch.log").read_text()
    assert "PUT /db 201" in text
    assert "PUT /db/_design/x 201" in text
    assert "query server started: pid" in text


@pytest.mark.parametrize("server", [([], None)], indirect=True)
def test_a_query_server_killed_while_idle_is_replaced(server, tmp_path):
    requests.put(f"{server}/db", timeout=T)
    ddoc = {"language": "python", "views": {"v": {"map": EMIT}}}
    requests.put(f"{server}/db/_design/x", json=ddoc, timeout=T)
    text = (tmp_path / "devcouch.log").read_text()
    pids = {
        int(line.split("pid ")[1].split(",")[0])
        for line in text.splitlines()
        if "query server started" in line
    }
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    requests.put(f"{server}/db/doc", json={"k": 1}, timeout=T)
    response = requests.get(f"{server}/db/_design/x/_view/v", timeout=T)
    assert response.status_code == 200, response.text
    assert response.json()["rows"][0]["key"] == 1


@pytest.mark.parametrize("server", [([], None)], indirect=True)
def test_old_revision_bodies_are_compacted_away(server):
    requests.put(f"{server}/db", timeout=T)
    revs = [requests.put(f"{server}/db/doc", json={"n": 0}, timeout=T).json()["rev"]]
    session = requests.Session()
    for n in range(1, 45):
        body = {"_rev": revs[-1], "n": n}
        revs.append(session.put(f"{server}/db/doc", json=body, timeout=T).json()["rev"])
    first = session.get(f"{server}/db/doc", params={"rev": revs[0]}, timeout=T)
    assert first.status_code == 404
    previous = session.get(f"{server}/db/doc", params={"rev": revs[-2]}, timeout=T)
    assert previous.json()["n"] == 43
    history = session.get(f"{server}/db/doc", params={"revs": "true"}, timeout=T)
    assert len(history.json()["_revisions"]["ids"]) == 45


def test_help_documents_every_option():
    done = subprocess.run(
        [sys.executable, "-m", "devcouch", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    names = ["host", "port", "data", "admin", "query-server"]
    names += ["os-process-timeout", "reduce-limit", "query-servers", "quiet"]
    for name in names:
        assert f"--{name} " in done.stdout, name
        assert f"$DEVCOUCH_{name.replace('-', '_').upper()}" in done.stdout, name
    assert "Example:" in done.stdout


@pytest.mark.parametrize(
    "option", [["--query-servers", "0"], ["--os-process-timeout", "-1"]]
)
def test_a_number_that_cannot_work_is_a_usage_error(option, tmp_path):
    command = [sys.executable, "-m", "devcouch", "--data", str(tmp_path)]
    command += ["--admin", "a:b", "--port", "0", *option]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert option[0] in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("server", [([], {"DEVCOUCH_QUIET": "1"})], indirect=True)
def test_quiet_from_the_environment_logs_no_requests(server, tmp_path):
    assert requests.put(f"{server}/db", timeout=T).status_code == 201
    assert "PUT /db" not in (tmp_path / "devcouch.log").read_text()


@pytest.mark.parametrize("server", [([], None)], indirect=True)
def test_a_design_function_that_raises_keeps_its_query_server(server, tmp_path):
    requests.put(f"{server}/db", timeout=T)
    shows = {"no": "def show(doc, req):\n    raise KeyError('nothing')\n"}
    ddoc = {"language": "python", "shows": shows}
    requests.put(f"{server}/db/_design/s", json=ddoc, timeout=T)
    for _ in range(3):
        response = requests.get(f"{server}/db/_design/s/_show/no", timeout=T)
        assert response.status_code == 500 and "KeyError" in response.text
    assert "query server killed" not in (tmp_path / "devcouch.log").read_text()


@pytest.mark.parametrize(
    "server", [(["--os-process-timeout", "500"], None)], indirect=True
)
def test_a_killed_query_server_is_logged_with_the_reason(server, tmp_path):
    requests.put(f"{server}/db", timeout=T)
    shows = {"hang": "import time\n\ndef show(doc, req):\n    time.sleep(60)\n"}
    ddoc = {"language": "python", "shows": shows}
    requests.put(f"{server}/db/_design/s", json=ddoc, timeout=T)
    response = requests.get(f"{server}/db/_design/s/_show/hang", timeout=T)
    assert response.status_code == 500
    log = (tmp_path / "devcouch.log").read_text()
    assert "query server killed: pid" in log and "os_process_timeout" in log
    assert "/db/_design/s/_show/hang: 500 os_process_error" in log


@pytest.mark.parametrize(
    "server", [(["--admin", "admin:se:cret"], None)], indirect=True
)
def test_admin_password_with_a_colon(server):
    base = server.replace("admin:secret@", "")
    session = f"{base}/_session"
    right = {"name": "admin", "password": "se:cret"}
    assert requests.post(session, json=right, timeout=T).status_code == 200
    shifted = {"name": "admin:se", "password": "cret"}
    assert requests.post(session, json=shifted, timeout=T).status_code == 401


def test_open_revs_is_refused_rather_than_ignored(db_url):
    requests.put(f"{db_url}/doc", json={}, timeout=T)
    response = requests.get(f"{db_url}/doc", params={"open_revs": "all"}, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "not_implemented"


@pytest.mark.parametrize(
    "endpoint", ["_find", "_bulk_get", "_design_docs", "/_scheduler", "/_node"]
)
def test_unserved_endpoints_say_so(db_url, couch_url, endpoint):
    if endpoint.startswith("/"):
        url, endpoint = couch_url + endpoint, endpoint[1:]
    else:
        url = f"{db_url}/{endpoint}"
    response = requests.post(url, json={}, timeout=T)
    assert response.status_code == 400
    assert response.json() == {
        "error": "not_implemented",
        "reason": f"devcouch does not serve {endpoint}; Apache CouchDB does",
    }
