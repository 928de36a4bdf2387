"""View collation checked against a plain comparator of CouchDB's rules.

The comparator compares values directly (type rank, numbers by value,
strings by the Unicode Collation Algorithm, arrays and objects member by
member), independently of how the server encodes its sort keys.
"""

import functools
import uuid

import pyuca
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import source, view_rows

T = 60
# Letters on which ICU (CouchDB) and the UCA tables (pyuca) agree.
TEXT = st.text(alphabet="aAbBeéz 1-", max_size=4)
NUMBERS = st.one_of(
    st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False, width=32)
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=2)
    ),
    max_leaves=6,
)
collator = pyuca.Collator()


def rank(value) -> int:
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    for position, kind in enumerate((int | float, str, list, dict), start=3):
        if isinstance(value, kind):
            return position
    raise TypeError(value)


def compare(a, b) -> int:
    ra, rb = rank(a), rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if isinstance(a, str):
        ka, kb = collator.sort_key(a), collator.sort_key(b)
        return (ka > kb) - (ka < kb)
    if isinstance(a, list):
        return compare_sequences(a, b)
    if isinstance(a, dict):
        return compare_sequences(list(a.items()), list(b.items()), pairs=True)
    return (a > b) - (a < b) if rank(a) == 3 else 0


def compare_sequences(a: list, b: list, pairs: bool = False) -> int:
    for x, y in zip(a, b, strict=False):
        if pairs:
            found = compare(x[0], y[0]) or compare(x[1], y[1])
        else:
            found = compare(x, y)
        if found:
            return found
    return (len(a) > len(b)) - (len(a) < len(b))


EMIT = source(
    """
    def fun(doc):
        yield doc["key"], None
    """
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(keys=st.lists(VALUES, min_size=1, max_size=25))
def test_view_order_matches_couchdb_rules(couch_url, keys):
    db = f"{couch_url}/test_collation_{uuid.uuid4().hex[:10]}"
    assert requests.put(db, timeout=T).status_code == 201
    try:
        docs = [{"_id": f"d{i:03}", "key": key} for i, key in enumerate(keys)]
        requests.post(f"{db}/_bulk_docs", json={"docs": docs}, timeout=T)
        ddoc = {"language": "python", "views": {"v": {"map": EMIT}}}
        requests.put(f"{db}/_design/c", json=ddoc, timeout=T)
        rows = view_rows(requests.get(f"{db}/_design/c/_view/v", timeout=T))["rows"]
        order = functools.cmp_to_key(lambda a, b: compare(a["key"], b["key"]))
        expected = sorted(docs, key=lambda d: d["_id"])
        expected = sorted(expected, key=order)
        assert [r["id"] for r in rows] == [d["_id"] for d in expected]
    finally:
        requests.delete(db, timeout=T)
