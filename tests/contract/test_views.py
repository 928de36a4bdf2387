"""Views: collation, query parameters, reductions, index upkeep, errors."""

import time

import pytest
import requests

from .conftest import source, view_rows

T = 60

EMIT_KEY = source(
    """
    def fun(doc):
        if "key" in doc:
            yield doc["key"], doc.get("value", 1)
    """
)
SUM = source(
    """
    def fun(keys, values, rereduce):
        return sum(values)
    """
)


def query(url, **params):
    return view_rows(requests.get(url, params=params, timeout=T))


def keys_of(body):
    return [row["key"] for row in body["rows"]]


COLLATED = [
    None,
    False,
    True,
    -2,
    1,
    2.5,
    10,
    "a",
    "A",
    "aa",
    "b",
    "B",
    "e",
    "é",
    "f",
    [],
    ["a"],
    ["a", 1],
    ["b"],
    {},
    {"a": 1},
    {"b": 0},
]


def test_view_collation(db_url, bulk, put_ddoc):
    docs = [{"_id": f"d{i:02}", "key": key} for i, key in enumerate(COLLATED)]
    bulk(list(reversed(docs)))
    assert put_ddoc("c", {"views": {"v": {"map": EMIT_KEY}}}).status_code == 201
    body = query(f"{db_url}/_design/c/_view/v")
    assert keys_of(body) == COLLATED
    assert body["total_rows"] == len(COLLATED)


@pytest.fixture
def numbers(db_url, bulk, put_ddoc):
    """Ten docs, key n % 5 and value n, with views with and without reduces."""
    bulk([{"_id": f"n{n}", "key": n % 5, "value": n} for n in range(10)])
    views = {
        "map": {"map": EMIT_KEY},
        "sum": {"map": EMIT_KEY, "reduce": "_sum"},
        "count": {"map": EMIT_KEY, "reduce": "_count"},
        "stats": {"map": EMIT_KEY, "reduce": "_stats"},
        "py": {"map": EMIT_KEY, "reduce": SUM},
    }
    assert put_ddoc("n", {"views": views}).status_code == 201
    return f"{db_url}/_design/n/_view"


def test_key_and_docid_order(numbers):
    body = query(f"{numbers}/map")
    assert keys_of(body) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [r["id"] for r in body["rows"][:2]] == ["n0", "n5"]
    assert body["rows"][0] == {"id": "n0", "key": 0, "value": 0}


def test_key_keys_and_ranges(numbers):
    assert [r["id"] for r in query(f"{numbers}/map", key=2)["rows"]] == ["n2", "n7"]
    assert keys_of(query(f"{numbers}/map", keys="[3, 1]")) == [3, 3, 1, 1]
    assert keys_of(query(f"{numbers}/map", startkey=1, endkey=2)) == [1, 1, 2, 2]
    exclusive = query(f"{numbers}/map", startkey=1, endkey=2, inclusive_end="false")
    assert keys_of(exclusive) == [1, 1]
    descending = query(f"{numbers}/map", startkey=2, endkey=1, descending="true")
    assert [r["id"] for r in descending["rows"]] == ["n7", "n2", "n6", "n1"]


def test_docid_bounds(numbers):
    body = query(
        f"{numbers}/map",
        startkey=1,
        startkey_docid="n6",
        endkey=3,
        endkey_docid="n3",
    )
    assert [r["id"] for r in body["rows"]] == ["n6", "n2", "n7", "n3"]


def test_inclusive_end_descending_and_with_docid(numbers):
    down = query(
        f"{numbers}/map", startkey=2, endkey=1, descending="true", inclusive_end="false"
    )
    assert [r["id"] for r in down["rows"]] == ["n7", "n2"]
    docid_end = query(
        f"{numbers}/map", endkey=1, endkey_docid="n6", inclusive_end="false"
    )
    assert [r["id"] for r in docid_end["rows"]] == ["n0", "n5", "n1"]


def test_limit_skip_offset(numbers):
    body = query(f"{numbers}/map", limit=3, skip=2)
    assert keys_of(body) == [1, 1, 2]
    assert body["offset"] == 2 and body["total_rows"] == 10
    assert query(f"{numbers}/map", startkey=3)["offset"] == 6


def test_post_keys(numbers):
    response = requests.post(f"{numbers}/map", json={"keys": [4, 0]}, timeout=T)
    assert keys_of(view_rows(response)) == [4, 4, 0, 0]


def test_include_docs_and_linked_docs(db_url, bulk, put_ddoc):
    bulk([{"_id": "parent", "name": "p"}, {"_id": "child", "parent": "parent"}])
    linked = source(
        """
        def fun(doc):
            if "parent" in doc:
                yield "own", None
                yield "linked", {"_id": doc["parent"]}
        """
    )
    put_ddoc("l", {"views": {"v": {"map": linked}}})
    rows = query(f"{db_url}/_design/l/_view/v", include_docs="true")["rows"]
    docs = {row["key"]: row["doc"] for row in rows}
    assert docs["own"]["_id"] == "child"
    assert docs["linked"]["name"] == "p"


def test_builtin_reduces(numbers):
    assert query(f"{numbers}/sum")["rows"] == [{"key": None, "value": 45}]
    assert query(f"{numbers}/count")["rows"] == [{"key": None, "value": 10}]
    stats = query(f"{numbers}/stats")["rows"][0]["value"]
    assert stats == {"sum": 45, "count": 10, "min": 0, "max": 9, "sumsqr": 285}
    grouped = query(f"{numbers}/sum", group="true")["rows"]
    assert grouped == [{"key": k, "value": k + k + 5} for k in range(5)]
    ranged = query(f"{numbers}/count", startkey=1, endkey=2)["rows"]
    assert ranged == [{"key": None, "value": 4}]
    assert keys_of(query(f"{numbers}/map", reduce="false")) == keys_of(
        query(f"{numbers}/map")
    )


def test_python_reduce(numbers):
    assert query(f"{numbers}/py")["rows"] == [{"key": None, "value": 45}]
    grouped = query(f"{numbers}/py", group="true", limit=2, skip=1)["rows"]
    assert grouped == [{"key": 1, "value": 7}, {"key": 2, "value": 9}]
    keyed = query(f"{numbers}/py", group="true", keys="[4, 0]")["rows"]
    assert keyed == [{"key": 4, "value": 13}, {"key": 0, "value": 5}]


def test_group_level(db_url, bulk, put_ddoc):
    keys = [["a", 1, 1], ["a", 1, 2], ["a", 2, 1], ["b", 1, 1], "plain"]
    bulk([{"key": key, "value": 1} for key in keys])
    put_ddoc("g", {"views": {"v": {"map": EMIT_KEY, "reduce": "_count"}}})
    url = f"{db_url}/_design/g/_view/v"
    level1 = query(url, group_level=1)["rows"]
    assert level1 == [
        {"key": "plain", "value": 1},
        {"key": ["a"], "value": 3},
        {"key": ["b"], "value": 1},
    ]
    level2 = query(url, group_level=2)["rows"]
    assert [r["key"] for r in level2] == ["plain", ["a", 1], ["a", 2], ["b", 1]]
    assert query(url, group_level=0)["rows"] == [{"key": None, "value": 5}]


def test_rereduce_runs_over_many_rows(db_url, bulk, put_ddoc):
    """A reduce that forgets rereduce undercounts, as it would on CouchDB."""
    bulk([{"key": i, "value": 1} for i in range(3000)])
    careless = source(
        """
        def fun(keys, values, rereduce):
            return len(values)
        """
    )
    views = {"careless": {"map": EMIT_KEY, "reduce": careless}}
    views["careful"] = {"map": EMIT_KEY, "reduce": SUM}
    put_ddoc("r", {"views": views})
    careful = query(f"{db_url}/_design/r/_view/careful")["rows"][0]["value"]
    assert careful == 3000
    careless_total = query(f"{db_url}/_design/r/_view/careless")["rows"][0]["value"]
    assert careless_total < 3000


def test_reduce_limit_stops_growing_reductions(db_url, bulk, put_ddoc):
    bulk([{"key": i, "value": "x" * 40} for i in range(3000)])
    collect = source(
        """
        def fun(keys, values, rereduce):
            return values
        """
    )
    put_ddoc("o", {"views": {"v": {"map": EMIT_KEY, "reduce": collect}}})
    response = requests.get(f"{db_url}/_design/o/_view/v", timeout=T)
    assert "reduce_overflow_error" in response.text
    row = view_rows(response)["rows"][0]
    assert row["key"] is None and "value" not in row
    assert row["error"] == "reduce_overflow_error"
    assert row["reason"].startswith("Reduce output must shrink more rapidly")


def test_index_follows_updates_and_deletes(numbers, db_url):
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10
    doc = requests.get(f"{db_url}/n3", timeout=T).json()
    requests.put(f"{db_url}/n3", json={**doc, "key": 100}, timeout=T)
    doc = requests.get(f"{db_url}/n4", timeout=T).json()
    requests.delete(f"{db_url}/n4", params={"rev": doc["_rev"]}, timeout=T)
    body = query(f"{numbers}/map")
    assert body["total_rows"] == 9 and keys_of(body)[-1] == 100
    assert "n4" not in [r["id"] for r in body["rows"]]


def test_update_false_serves_the_index_as_it_is(numbers, db_url):
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10
    requests.put(f"{db_url}/extra", json={"key": 1}, timeout=T)
    stale = query(f"{numbers}/count", update="false")["rows"][0]["value"]
    assert stale == 10
    assert query(f"{numbers}/count")["rows"][0]["value"] == 11


def test_update_lazy_answers_first_then_catches_up(numbers, db_url):
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10
    requests.put(f"{db_url}/extra", json={"key": 1}, timeout=T)
    lazy = query(f"{numbers}/count", update="lazy")["rows"][0]["value"]
    assert lazy in (10, 11)
    for _ in range(200):
        if query(f"{numbers}/count", update="false")["rows"][0]["value"] == 11:
            return
        time.sleep(0.05)
    raise AssertionError("the index never caught up after update=lazy")


def test_changed_view_is_rebuilt(numbers, db_url, put_ddoc):
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10
    ddoc = requests.get(f"{db_url}/_design/n", timeout=T).json()
    ddoc["views"]["map"]["map"] = source(
        """
        def fun(doc):
            yield "same", None
        """
    )
    assert requests.put(f"{db_url}/_design/n", json=ddoc, timeout=T).status_code == 201
    assert set(keys_of(query(f"{numbers}/map"))) == {"same"}


def test_shared_map_with_different_reduces(numbers):
    """Views sharing a map source each keep their own reduce."""
    assert query(f"{numbers}/sum")["rows"][0]["value"] == 45
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10


def test_view_lib_require(db_url, bulk, put_ddoc):
    bulk([{"_id": "x", "key": 2}])
    lib = {"helpers": "def double(n):\n    return 2 * n\n"}
    mapper = source(
        """
        def fun(doc):
            helpers = require("views/lib/helpers")
            yield helpers.double(doc["key"]), None
        """
    )
    views = {"lib": lib, "v": {"map": mapper}}
    assert put_ddoc("lib", {"views": views}).status_code == 201
    assert keys_of(query(f"{db_url}/_design/lib/_view/v")) == [4]


def test_compilation_error_on_save(put_ddoc):
    response = put_ddoc("bad", {"views": {"v": {"map": "x = 1\n"}}})
    assert response.status_code == 400
    assert response.json()["error"] == "compilation_error"
    syntax = put_ddoc("bad", {"views": {"v": {"map": "def fun(doc:\n"}}})
    assert syntax.status_code == 400


def test_other_language_is_refused(db_url):
    ddoc = {"language": "javascript", "views": {"v": {"map": "function(doc){}"}}}
    response = requests.put(f"{db_url}/_design/js", json=ddoc, timeout=T)
    assert response.status_code in (400, 500) or response.status_code == 201
    if response.status_code == 201:  # a CouchDB with JavaScript takes it
        return
    assert response.json()["error"]


def test_view_errors(numbers, db_url):
    missing = requests.get(f"{numbers}/nope", timeout=T)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    no_ddoc = requests.get(f"{db_url}/_design/none/_view/v", timeout=T)
    assert no_ddoc.status_code == 404
    cases = [
        ("map", {"group": "true"}),
        ("map", {"reduce": "true"}),
        ("sum", {"include_docs": "true"}),
        ("map", {"limit": "-1"}),
        ("map", {"startkey": 3, "endkey": 1}),
        ("map", {"key": "{bad"}),
        ("sum", {"keys": "[1]"}),
    ]
    for view, params in cases:
        response = requests.get(f"{numbers}/{view}", params=params, timeout=T)
        assert response.status_code == 400, (view, params, response.text)
        assert response.json()["error"] in ("query_parse_error", "bad_request")


def test_reduce_of_empty_range_has_no_rows(numbers):
    assert query(f"{numbers}/sum", startkey=50)["rows"] == []


def test_map_framing_with_no_rows(numbers):
    response = requests.get(f"{numbers}/map", params={"startkey": 50}, timeout=T)
    assert response.text == '{"total_rows":10,"offset":10,"rows":[\r\n\r\n]}\n'


def test_design_info_and_cleanup(numbers, db_url):
    query(f"{numbers}/count")
    info = requests.get(f"{db_url}/_design/n/_info", timeout=T).json()
    assert info["name"] == "n"
    assert info["view_index"]["signature"]
    cleanup = requests.post(
        f"{db_url}/_view_cleanup",
        headers={"Content-Type": "application/json"},
        timeout=T,
    )
    assert cleanup.status_code == 202 and cleanup.json() == {"ok": True}
    assert query(f"{numbers}/count")["rows"][0]["value"] == 10
