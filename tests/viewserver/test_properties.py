"""Properties that hold for any input hypothesis can think of."""

from hypothesis import given, settings
from hypothesis import strategies as st

from viewserver.testing import replies, source

EMIT_WHOLE = "def fun(doc):\n    emit(doc, doc)\n    yield doc['_id'], doc\n"

STATS = source(
    """
    def fun(keys, values, rereduce):
        if not rereduce:
            values = [{"count": 1, "sum": v, "min": v, "max": v} for v in values]
        return {
            "count": sum(s["count"] for s in values),
            "sum": sum(s["sum"] for s in values),
            "min": min((s["min"] for s in values), default=None),
            "max": max((s["max"] for s in values), default=None),
        }
    """
)
COLLECT_SORTED = source(
    """
    def fun(keys, values, rereduce):
        if rereduce:
            return sorted(v for part in values for v in part)
        return sorted(values)
    """
)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_document_round_trips_through_a_map_that_emits_it(json_documents, data):
    doc = data.draw(json_documents)
    answer = replies(["add_fun", EMIT_WHOLE], ["map_doc", doc])
    assert answer == [True, [[[doc, doc], [doc["_id"], doc]]]]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_any_json_value_round_trips_as_key_and_value(json_values, data):
    value = data.draw(json_values)
    fun = "def fun(doc):\n    yield doc['v'], [doc['v']]\n"
    answer = replies(["add_fun", fun], ["map_doc", {"v": value}])
    assert answer[-1] == [[[value, [value]]]]


def partitions(items: list, cuts: list[int]) -> list[list]:
    """``items`` cut at the (sorted, distinct) positions in ``cuts``."""
    bounds = [0, *sorted(set(cuts)), len(items)]
    return [
        items[start:end]
        for start, end in zip(bounds, bounds[1:], strict=False)
        if end > start
    ]


rows = st.lists(
    st.tuples(st.text(max_size=5), st.integers(-(10**6), 10**6)), min_size=1
)


@settings(max_examples=150, deadline=None)
@given(rows, st.lists(st.integers(0, 50)), st.sampled_from([STATS, COLLECT_SORTED]))
def test_reduce_of_all_rows_equals_rereduce_of_the_parts(rows, cuts, fun):
    kvs = [[[key, f"doc{i}"], value] for i, (key, value) in enumerate(rows)]
    parts = partitions(kvs, [cut for cut in cuts if cut < len(kvs)])
    commands = [["reduce", [fun], part] for part in parts]
    answers = replies(["reduce", [fun], kvs], *commands)
    whole, part_results = answers[0], [answer[1][0] for answer in answers[1:]]
    assert replies(["rereduce", [fun], part_results]) == [whole]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["reset", "map", "reduce", "bad_json", "ddoc"])))
def test_every_command_gets_exactly_one_reply(kinds):
    commands = {
        "reset": ["reset", {"reduce_limit": True}],
        "map": ["map_doc", {"_id": "a"}],
        "reduce": ["reduce", [STATS], [[["k", "a"], 1]]],
        "bad_json": b"[nonsense",
        "ddoc": ["ddoc", "new", "_design/x", {}],
    }
    sent = [["add_fun", EMIT_WHOLE]] + [commands[kind] for kind in kinds]
    assert len(replies(*sent)) == len(sent)
