"""Robustness: concurrent writers, kill -9 mid-write, broken design functions,
and malformed requests of every kind (a 4xx, never a 500 or a hang).
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.devserver import stop

from .conftest import on_devcouch, source, start_devcouch

T = 30


def test_concurrent_writers_one_winner_per_revision(db_url):
    requests.put(f"{db_url}/counter", json={"count": 0}, timeout=T)
    wins: list[str] = []
    lock = threading.Lock()

    def writer():
        session = requests.Session()
        for _ in range(15):
            doc = session.get(f"{db_url}/counter", timeout=T).json()
            doc["count"] += 1
            response = session.put(f"{db_url}/counter", json=doc, timeout=T)
            assert response.status_code in (201, 409), response.text
            if response.status_code == 201:
                with lock:
                    wins.append(response.json()["rev"])

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = requests.get(f"{db_url}/counter", timeout=T).json()
    positions = sorted(int(rev.split("-")[0]) for rev in wins)
    assert positions == list(range(2, len(wins) + 2)), "one winner per revision"
    assert final["count"] == len(wins), "no acknowledged increment lost"
    assert final["_rev"] == max(wins, key=lambda rev: int(rev.split("-")[0]))


def test_concurrent_bulk_writers_do_not_lose_documents(db_url):
    def writer(n):
        docs = [{"_id": f"w{n}-{i}"} for i in range(50)]
        for start in range(0, 50, 10):
            response = requests.post(
                f"{db_url}/_bulk_docs",
                json={"docs": docs[start : start + 10]},
                timeout=T,
            )
            assert response.status_code == 201

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    info = requests.get(db_url, timeout=T).json()
    assert info["doc_count"] == 300
    seqs = [
        r["seq"]
        for r in requests.get(f"{db_url}/_changes", timeout=T).json()["results"]
    ]
    assert len(seqs) == 300


# -- a devcouch of the test's own, to kill -----------------------------------


@on_devcouch
def test_kill_9_during_bulk_writes_keeps_every_acknowledged_write(tmp_path):
    proc, url = start_devcouch(tmp_path, "--quiet")
    acknowledged: list[str] = []
    try:
        requests.put(f"{url}/crash", timeout=T)
        stopping = threading.Event()

        def load():
            batch = 0
            while not stopping.is_set():
                docs = [{"_id": f"b{batch:05}-{i:03}", "v": i} for i in range(200)]
                try:
                    response = requests.post(
                        f"{url}/crash/_bulk_docs", json={"docs": docs}, timeout=T
                    )
                except requests.ConnectionError:
                    return
                if response.status_code == 201:
                    acknowledged.extend(r["id"] for r in response.json() if r.get("ok"))
                batch += 1

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stopping.set()
        loader.join()
    finally:
        stop(proc)
    assert acknowledged, "nothing was written before the kill"

    proc, url = start_devcouch(tmp_path, "--quiet")
    try:
        stored = requests.get(f"{url}/crash/_all_docs", timeout=T).json()
        ids = {row["id"] for row in stored["rows"]}
        assert set(acknowledged) <= ids
        info = requests.get(f"{url}/crash", timeout=T).json()
        assert info["doc_count"] == len(ids) == stored["total_rows"]
        feed = requests.get(f"{url}/crash/_changes", timeout=T).json()["results"]
        assert {row["id"] for row in feed} == ids
        more = requests.put(f"{url}/crash/after", json={}, timeout=T)
        assert more.status_code == 201
    finally:
        stop(proc)


@on_devcouch
def test_refuses_a_port_in_use_and_an_unwritable_data_folder(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        command = [sys.executable, "-m", "devcouch", "--port", str(port)]
        command += ["--data", str(tmp_path), "--admin", "a:b"]
        taken = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert taken.returncode != 0 and "in use" in taken.stderr
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    command = [sys.executable, "-m", "devcouch", "--port", "0", "--data", str(blocked)]
    bad = subprocess.run(command + ["--admin", "a:b"], capture_output=True, text=True)
    assert bad.returncode != 0 and "not writable" in bad.stderr


# -- design functions that hang or kill their process ------------------------

HANG_OR_CRASH = source(
    """
    import os
    import time

    def fun(doc):
        if doc.get("hang"):
            time.sleep(3600)
        if doc.get("crash"):
            os._exit(3)
        yield doc["_id"], None
    """
)


def test_crashing_map_gives_an_error_and_the_next_query_works(db_url, put_ddoc):
    assert put_ddoc("bad", {"views": {"v": {"map": HANG_OR_CRASH}}}).status_code == 201
    rev = requests.put(f"{db_url}/boom", json={"crash": True}, timeout=T).json()["rev"]
    failed = requests.get(f"{db_url}/_design/bad/_view/v", timeout=T)
    assert failed.status_code >= 400 and "error" in failed.json()
    requests.put(f"{db_url}/boom", json={"_rev": rev}, timeout=T)
    fixed = requests.get(f"{db_url}/_design/bad/_view/v", timeout=T)
    assert fixed.status_code == 200
    assert [row["id"] for row in fixed.json()["rows"]] == ["boom"]


def test_hanging_map_times_out_and_the_next_query_works(db_url, put_ddoc):
    assert put_ddoc("bad", {"views": {"v": {"map": HANG_OR_CRASH}}}).status_code == 201
    rev = requests.put(f"{db_url}/slow", json={"hang": True}, timeout=T).json()["rev"]
    failed = requests.get(f"{db_url}/_design/bad/_view/v", timeout=60)
    assert failed.status_code >= 400 and "error" in failed.json()
    requests.put(f"{db_url}/slow", json={"_rev": rev}, timeout=T)
    fixed = requests.get(f"{db_url}/_design/bad/_view/v", timeout=60)
    assert fixed.status_code == 200
    assert [row["id"] for row in fixed.json()["rows"]] == ["slow"]


def test_crashing_show_gives_an_error_and_the_next_call_works(db_url, put_ddoc):
    shows = {
        "die": "import os\n\ndef show(doc, req):\n    os._exit(1)\n",
        "ok": "def show(doc, req):\n    return 'fine'\n",
    }
    assert put_ddoc("s", {"shows": shows}).status_code == 201
    failed = requests.get(f"{db_url}/_design/s/_show/die", timeout=T)
    assert failed.status_code >= 500
    assert requests.get(f"{db_url}/_design/s/_show/ok", timeout=T).text == "fine"


# -- malformed requests ------------------------------------------------------

BAD_BODIES = [b"", b"{", b"[]", b"null", b'"text"', b"\xff\xfe\xfd", b'{"docs": 5}']
PATHS = [
    "",
    "/_bulk_docs",
    "/_all_docs",
    "/_changes",
    "/_security",
    "/doc",
    "/_local/doc",
    "/_design/d",
    "/_design/d/_view/v",
    "/_design/d/_show/s",
    "/_design/d/_list/l/v",
    "/_design/d/_update/u",
    "/_design/d/_info",
    "/_design/d/_nothing/x",
    "/_unknown",
    "/doc/extra/parts",
]


@pytest.fixture
def malformed_target(db_url, put_ddoc):
    mapper = "def fun(doc):\n    yield doc.get('k'), 1\n"
    ddoc = {"views": {"v": {"map": mapper, "reduce": "_count"}}}
    assert put_ddoc("d", ddoc).status_code == 201
    requests.put(f"{db_url}/doc", json={"k": 1}, timeout=T)
    return db_url


def test_malformed_bodies_and_methods_get_4xx(malformed_target):
    for path in PATHS:
        for method in ("GET", "PUT", "POST", "DELETE", "PATCH"):
            for body in BAD_BODIES:
                response = requests.request(
                    method,
                    f"{malformed_target}{path}",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=T,
                )
                assert response.status_code < 500, (method, path, body, response.text)


BAD_PARAMS = [
    {"limit": "-5"},
    {"limit": "1e3"},
    {"skip": "x"},
    {"key": "{"},
    {"keys": "5"},
    {"keys": "[{"},
    {"startkey": "[1,"},
    {"descending": "yes"},
    {"group_level": "-1"},
    {"group": "1"},
    {"reduce": "maybe"},
    {"include_docs": "2"},
    {"update": "sometimes"},
    {"stale": "never"},
    {"since": "abc"},
    {"feed": "carrier-pigeon"},
    {"filter": "nofilter"},
    {"filter": "_view"},
    {"filter": "_view", "view": "x"},
    {"timeout": "soon"},
    {"rev": "not-a-rev"},
    {"revs": "please"},
    {"count": "many"},
]


def test_malformed_parameters_get_4xx(malformed_target, couch_url):
    paths = ["", "/_all_docs", "/_changes", "/doc", "/_design/d/_view/v"]
    for path in paths:
        for params in BAD_PARAMS:
            response = requests.get(
                f"{malformed_target}{path}", params=params, timeout=T
            )
            assert response.status_code < 500, (path, params, response.text)
    for params in BAD_PARAMS:
        response = requests.get(f"{couch_url}/_uuids", params=params, timeout=T)
        assert response.status_code < 500, (params, response.text)


HUGE = "9" * 30


def test_huge_numbers_give_a_whole_answer(malformed_target, couch_url):
    """Numbers past 64 bits in limit, skip, group_level: 4xx or a whole body."""
    cases = [
        ("/_all_docs", {"limit": HUGE}),
        ("/_all_docs", {"skip": HUGE}),
        ("/_all_docs", {"keys": '["doc"]', "limit": HUGE}),
        ("/_changes", {"limit": HUGE}),
        ("/_design/d/_view/v", {"limit": HUGE, "reduce": "false"}),
        ("/_design/d/_view/v", {"skip": HUGE, "reduce": "false"}),
        ("/_design/d/_view/v", {"group_level": HUGE}),
    ]
    for path, params in cases:
        response = requests.get(f"{malformed_target}{path}", params=params, timeout=T)
        assert response.status_code < 500, (path, params, response.text)
        if response.status_code == 200:
            response.json()
    response = requests.get(f"{couch_url}/_uuids", params={"count": HUGE}, timeout=T)
    assert response.status_code == 400


def test_longpoll_with_a_huge_timeout_still_answers(malformed_target):
    last_seq = requests.get(f"{malformed_target}/_changes", timeout=T).json()
    params = {"feed": "longpoll", "since": last_seq["last_seq"], "timeout": HUGE}
    writer = threading.Timer(
        0.5, requests.put, (f"{malformed_target}/late",), {"json": {}, "timeout": T}
    )
    writer.start()
    response = requests.get(f"{malformed_target}/_changes", params=params, timeout=90)
    writer.join()
    assert response.status_code == 200, response.text
    assert [row["id"] for row in response.json()["results"]] == ["late"]


RAW_REQUESTS = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /x/doc HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"PUT /x/doc HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}",
    b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + b"QQ==" + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nCookie: AuthSession=garbage==\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100_000 + b"\r\n\r\n",
]


def raw_status(couch_url: str, payload: bytes) -> int | None:
    """The status of a raw request, None if the server just closed."""
    parts = urlsplit(couch_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.settimeout(10)
        sock.sendall(payload)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    if not data:
        return None
    return int(data.split(b" ", 2)[1])


def test_raw_malformed_requests_never_500_or_hang(couch_url):
    for payload in RAW_REQUESTS:
        status = raw_status(couch_url, payload)
        assert status is None or 400 <= status < 500 or status == 200, (
            payload[:60],
            status,
        )
    assert requests.get(f"{couch_url}/_up", timeout=T).ok


PARAM_NAMES = [
    "key",
    "keys",
    "startkey",
    "endkey",
    "startkey_docid",
    "endkey_docid",
    "limit",
    "skip",
    "descending",
    "include_docs",
    "inclusive_end",
    "reduce",
    "group",
    "group_level",
    "update",
    "since",
    "feed",
    "filter",
    "doc_ids",
    "rev",
    "revs",
]
PARAM_VALUES = st.one_of(
    st.sampled_from(["true", "false", "0", "-1", "1", "[]", "{}", '"a"', "null"]),
    st.text(max_size=12),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(["/_all_docs", "/_changes", "/doc", "/_design/d/_view/v"]),
    params=st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=4),
)
def test_random_parameters_never_500(malformed_target, path, params):
    params = {k: v for k, v in params.items() if k != "feed" or v != "longpoll"}
    response = requests.get(f"{malformed_target}{path}", params=params, timeout=T)
    assert response.status_code < 500, (path, params, response.text)


SHAPES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2),
        st.dictionaries(st.sampled_from(["map", "reduce", "v", "lib", "x"]), inner),
    ),
    max_leaves=5,
)
DDOC_FIELDS = ["views", "shows", "lists", "updates", "filters", "options"]
DDOC_FIELDS += ["validate_doc_update", "language"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ddoc=st.dictionaries(st.sampled_from(DDOC_FIELDS), SHAPES, max_size=3))
def test_odd_design_documents_never_500(db_url, ddoc):
    url = f"{db_url}/_design/odd{uuid.uuid4().hex[:8]}"
    saved = requests.put(url, json=ddoc, timeout=T)
    assert saved.status_code < 500, (ddoc, saved.text)
    for path in ("_view/v", "_show/x", "_list/x/v", "_update/x", "_info"):
        response = requests.get(f"{url}/{path}", timeout=T)
        assert response.status_code < 500, (ddoc, path, response.text)
    assert requests.put(f"{db_url}/plain", json={}, timeout=T).status_code < 500


DOC_KEYS = st.sampled_from(["_id", "_rev", "_deleted", "_revisions", "_foo", "a", ""])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    docs=st.lists(st.dictionaries(DOC_KEYS, SHAPES, max_size=4), max_size=4),
    body=st.one_of(st.dictionaries(DOC_KEYS, SHAPES, max_size=4), SHAPES),
)
def test_odd_documents_never_500(db_url, docs, body):
    put = requests.put(f"{db_url}/odd", json=body, timeout=T)
    assert put.status_code < 500, (body, put.text)
    posted = requests.post(f"{db_url}", json=body, timeout=T)
    assert posted.status_code < 500, (body, posted.text)
    bulk = requests.post(f"{db_url}/_bulk_docs", json={"docs": docs}, timeout=T)
    assert bulk.status_code < 500, (docs, bulk.text)
