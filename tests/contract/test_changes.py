"""_changes: normal and longpoll feeds, since, limit, docs and filters."""

import threading
import time

import orjson
import pytest
import requests

from .conftest import source

T = 30


def changes(url, **params):
    response = requests.get(f"{url}/_changes", params=params, timeout=T)
    assert response.status_code == 200, response.text
    return response


def ids(body):
    return [row["id"] for row in body["results"]]


@pytest.fixture
def filled(db_url, bulk):
    bulk([{"_id": f"d{n}", "n": n} for n in range(5)])
    return db_url


def test_normal_feed_framing(filled):
    text = changes(filled).text
    assert text.startswith('{"results":[\n')
    head, _, tail = text.partition("\n],\n")
    lines = head[len('{"results":[\n') :].split(",\n")
    assert [orjson.loads(line)["id"] for line in lines] == [f"d{n}" for n in range(5)]
    assert tail.startswith('"last_seq":') and tail.endswith(',"pending":0}\n')


def test_empty_feed_framing(db_url):
    text = changes(db_url).text
    assert text.startswith('{"results":[\n\n],\n"last_seq":')


def test_rows_and_since(filled):
    body = changes(filled).json()
    first = body["results"][0]
    assert set(first) == {"seq", "id", "changes"}
    assert first["changes"][0]["rev"].startswith("1-")
    since = body["results"][2]["seq"]
    assert ids(changes(filled, since=since).json()) == ["d3", "d4"]
    assert changes(filled, since=body["last_seq"]).json()["results"] == []


def test_updated_document_moves_to_the_end(filled):
    doc = requests.get(f"{filled}/d0", timeout=T).json()
    requests.put(f"{filled}/d0", json={**doc, "n": 100}, timeout=T)
    rev = requests.get(f"{filled}/d1", timeout=T).json()["_rev"]
    requests.delete(f"{filled}/d1", params={"rev": rev}, timeout=T)
    results = changes(filled).json()["results"]
    assert [r["id"] for r in results] == ["d2", "d3", "d4", "d0", "d1"]
    assert results[-1]["deleted"] is True


def test_limit_pending_and_descending(filled):
    body = changes(filled, limit=2).json()
    assert ids(body) == ["d0", "d1"] and body["pending"] == 3
    assert body["last_seq"] == body["results"][-1]["seq"]
    assert ids(changes(filled, descending="true", limit=2).json()) == ["d4", "d3"]


def test_include_docs(filled):
    row = changes(filled, include_docs="true", limit=1).json()["results"][0]
    assert row["doc"]["_id"] == "d0" and row["doc"]["n"] == 0


def test_doc_ids_filter(filled):
    body = changes(filled, filter="_doc_ids", doc_ids='["d3", "d1"]').json()
    assert ids(body) == ["d1", "d3"]
    posted = requests.post(
        f"{filled}/_changes",
        params={"filter": "_doc_ids"},
        json={"doc_ids": ["d2"]},
        timeout=T,
    )
    assert ids(posted.json()) == ["d2"]


def test_design_filter_function(filled, put_ddoc):
    even = source(
        """
        def even(doc, req):
            limit = int(req["query"].get("below", 100))
            return doc.get("n", 1) % 2 == 0 and doc.get("n", 0) < limit
        """
    )
    assert put_ddoc("f", {"filters": {"even": even}}).status_code == 201
    assert ids(changes(filled, filter="f/even").json()) == ["d0", "d2", "d4"]
    assert ids(changes(filled, filter="f/even", below=3).json()) == ["d0", "d2"]


def test_view_filter(filled, put_ddoc):
    odd = source(
        """
        def fun(doc):
            if doc.get("n", 0) % 2:
                yield doc["n"], None
        """
    )
    assert put_ddoc("v", {"views": {"odd": {"map": odd}}}).status_code == 201
    body = changes(filled, filter="_view", view="v/odd").json()
    assert ids(body) == ["d1", "d3"]


def test_missing_filter_is_an_error(filled):
    response = requests.get(
        f"{filled}/_changes", params={"filter": "none/x"}, timeout=T
    )
    assert response.status_code == 404


def test_longpoll_returns_at_once_when_changes_exist(filled):
    body = changes(filled, feed="longpoll").json()
    assert len(body["results"]) == 5


def test_longpoll_waits_for_the_next_change(filled):
    last_seq = changes(filled).json()["last_seq"]

    def write_later():
        time.sleep(0.5)
        requests.put(f"{filled}/late", json={}, timeout=T)

    writer = threading.Thread(target=write_later)
    writer.start()
    body = changes(filled, feed="longpoll", since=last_seq, timeout=20_000).json()
    writer.join()
    assert ids(body) == ["late"]


def test_longpoll_times_out_empty(filled):
    last_seq = changes(filled).json()["last_seq"]
    body = changes(filled, feed="longpoll", since=last_seq, timeout=300).json()
    assert body["results"] == []


def test_since_now(filled):
    body = changes(filled, since="now").json()
    assert body["results"] == []


def test_unknown_feed_is_a_bad_request(db_url):
    response = requests.get(f"{db_url}/_changes", params={"feed": "pigeon"}, timeout=T)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "longpoll" in response.json()["reason"]
