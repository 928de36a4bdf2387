"""The same map/reduce/rereduce transcripts through couchpy (couchdb-python 1.2)
and couchnet-viewserver give the same replies, for the commands couchpy knows.

Functions are written as couchpy wants them: one top-level function that
yields ``(key, value)`` pairs. Log lines are left out: their text differs.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewserver.testing import source

BY_INPUT = source(
    """
    def fun(doc):
        for entry in doc.get("inputs", []):
            yield entry["node"], [doc["_id"], entry["weight"]]
    """
)
BY_ACTIVATION = source(
    """
    def fun(doc):
        if doc.get("type") == "neuron":
            yield [doc.get("activation"), doc["_id"]], len(doc.get("inputs", []))
    """
)
FAILS_ON_SOME = source(
    """
    def fun(doc):
        yield doc["_id"], 1.0 / doc["bias"]
    """
)
EMIT_ALL = "def fun(doc):\n    yield doc['_id'], doc\n"
COUNT = source(
    """
    def fun(keys, values, rereduce):
        if rereduce:
            return sum(values)
        return len(values)
    """
)
DOC_IDS = "def fun(keys, values):\n    return sorted(set(key[1] for key in keys))\n"
WEIGHTS = source(
    """
    def fun(keys, values, rereduce):
        if rereduce:
            return [min(v[0] for v in values), max(v[1] for v in values)]
        weights = [value[1] for value in values]
        return [min(weights), max(weights)]
    """
)

NEURONS = [
    {
        "_id": "n1",
        "type": "neuron",
        "activation": "tanh",
        "bias": 0.5,
        "inputs": [{"node": "x", "weight": 0.25}, {"node": "y", "weight": -1.5}],
    },
    {"_id": "n2", "type": "neuron", "bias": 0, "inputs": [{"node": "n1", "weight": 2}]},
    {"_id": "x", "type": "input", "bias": -2, "label": "Gewicht ≈ ½ 🧠"},
    {"_id": "y", "type": "neuron", "activation": None, "bias": 1e-7, "inputs": []},
]
KVS = [
    [["x", "n1"], ["n1", 0.25]],
    [["y", "n1"], ["n1", -1.5]],
    [["n1", "n2"], ["n2", 2]],
]

TRANSCRIPTS = {
    "one map function": [
        ["reset"],
        ["add_fun", BY_INPUT],
        *[["map_doc", doc] for doc in NEURONS],
    ],
    "several map functions, one raising": [
        ["reset", {"reduce_limit": True}],
        ["add_fun", BY_INPUT],
        ["add_fun", FAILS_ON_SOME],
        ["add_fun", BY_ACTIVATION],
        ["add_fun", EMIT_ALL],
        *[["map_doc", doc] for doc in NEURONS],
    ],
    "reduce and rereduce": [
        ["reset"],
        ["reduce", [COUNT], KVS],
        ["reduce", [DOC_IDS], KVS],
        ["reduce", [WEIGHTS], KVS],
        ["reduce", [COUNT], []],
        ["rereduce", [COUNT], [3, 4, 5]],
        ["rereduce", [WEIGHTS], [[-1, 2], [0.5, 7]]],
    ],
    "map after reset": [
        ["add_fun", EMIT_ALL],
        ["reset"],
        ["add_fun", BY_ACTIVATION],
        *[["map_doc", doc] for doc in NEURONS],
    ],
}


def answers(server, transcript: list) -> list:
    return [server.run(command) for command in transcript]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_couchpy_and_viewserver_agree(start_server, couchpy_command, name):
    transcript = TRANSCRIPTS[name]
    expected = answers(start_server(command=couchpy_command), transcript)
    assert answers(start_server(), transcript) == expected


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_couchpy_and_viewserver_agree_on_any_documents(
    shared_server, shared_couchpy, json_documents, data
):
    docs = data.draw(st.lists(json_documents, min_size=1, max_size=5))
    transcript = [["reset"], ["add_fun", EMIT_ALL], *[["map_doc", doc] for doc in docs]]
    expected = answers(shared_couchpy, transcript)
    assert answers(shared_server, transcript) == expected
