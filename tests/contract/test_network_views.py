"""The network design document over HTTP: the inputs, consumers and statics
views of a generated network of several thousand neurons.

Neuron ids are "n" and five digits, so that CouchDB's collation and Python's
string order agree on them and key ranges can be checked in plain Python.
"""

import json
import random
import uuid

import pytest
import requests
from click.testing import CliRunner

from loader.cli import cli

from .conftest import view_rows

T = 120
NEURONS = 3000
INPUT_NEURONS = 100
WIDE = "n02999"  # reads 400 neurons: too many to list in a reduction
BROAD = "n02998"  # reads 80 neurons, which are listed


def name(index):
    return f"n{index:05d}"


def generated_network(rng):
    docs = []
    for index in range(INPUT_NEURONS):
        value = rng.choice([str(rng.randint(-500, 500)), rng.uniform(-1, 1)])
        docs.append(
            {"_id": name(index), "inputs": [{"node": "static", "weight": value}]}
        )
    for index in range(INPUT_NEURONS, NEURONS):
        count = {WIDE: 400, BROAD: 80}.get(name(index)) or rng.randint(1, 6)
        sources = rng.sample(range(index), count)
        inputs = [{"node": name(s), "weight": rng.uniform(-3, 3)} for s in sources]
        inputs.append({"node": "static", "weight": rng.uniform(-1, 1)})
        doc = {"_id": name(index), "inputs": inputs, "increment": 0}
        if index % 3 == 0:
            doc["activation"] = rng.choice(["tanh", "logistic", "relu"])
        docs.append(doc)
    return docs


def push(db_url):
    server, db = db_url.rsplit("/", 1)
    result = CliRunner().invoke(cli, ["push", "--url", server, "--db", db])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def network(couch_url):
    """(database URL, neuron documents) for one generated network."""
    db_url = f"{couch_url}/test_network_{uuid.uuid4().hex[:12]}"
    assert requests.put(db_url, timeout=T).status_code == 201
    push(db_url)
    docs = generated_network(random.Random(4))
    extra = [
        {"_id": "run-1", "type": "training_run", "state": "finished", "epochs": []}
    ]
    response = requests.post(
        f"{db_url}/_bulk_docs", json={"docs": docs + extra}, timeout=T
    )
    assert response.status_code == 201 and all("ok" in r for r in response.json())
    yield db_url, docs
    requests.delete(db_url, timeout=T)


def view(db_url, name, **params):
    params = {
        k: json.dumps(v) if k in ("key", "startkey", "endkey") else v
        for k, v in params.items()
    }
    url = f"{db_url}/_design/network/_view/{name}"
    return view_rows(requests.get(url, params=params, timeout=T))["rows"]


def pairs(doc):
    return sorted(json.dumps([e["node"], e["weight"]]) for e in doc["inputs"])


def summary(docs):
    return {"neurons": len(docs), "count": sum(len(d["inputs"]) for d in docs)}


def test_reduce_false_reads_the_whole_structure(network):
    db_url, docs = network
    rows = view(db_url, "inputs", reduce="false")
    expected = []
    for doc in docs:
        activation = {"activation": doc["activation"]} if "activation" in doc else {}
        expected += [
            [doc["_id"], dict(entry, index=position, **activation)]
            for position, entry in enumerate(doc["inputs"])
        ]
    assert sorted(json.dumps([r["key"], r["value"]]) for r in rows) == sorted(
        json.dumps(pair) for pair in expected
    )
    assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)


def test_group_gives_every_neuron_its_inputs(network):
    db_url, docs = network
    rows = view(db_url, "inputs", group="true")
    assert [r["key"] for r in rows] == [d["_id"] for d in docs]
    for row, doc in zip(rows[:-1], docs[:-1], strict=True):
        value = row["value"]
        assert value["neuron"] == doc["_id"]
        assert sorted(json.dumps(p) for p in value["inputs"]) == pairs(doc)
        assert value.get("activation") == doc.get("activation")
    assert (
        len(view(db_url, "inputs", group="true", key=BROAD)[0]["value"]["inputs"]) == 81
    )
    wide = view(db_url, "inputs", group="true", key=WIDE)
    assert wide == rows[-1:] == [{"key": WIDE, "value": {"neuron": WIDE, "count": 401}}]


def test_whole_and_ranged_reductions_are_summaries(network):
    db_url, docs = network
    assert view(db_url, "inputs") == [{"key": None, "value": summary(docs)}]
    ranged = view(db_url, "inputs", startkey=name(1000), endkey=name(2999))
    assert ranged[0]["value"] == summary(docs[1000:])
    one = view(db_url, "inputs", key=name(2000))
    assert one[0]["value"]["neuron"] == name(2000)


def test_consumers_are_the_reverse_edges(network):
    db_url, docs = network
    rows = view(db_url, "consumers")
    expected = [
        [e["node"], {"node": d["_id"], "weight": e["weight"]}]
        for d in docs
        for e in d["inputs"]
        if e["node"] != "static"
    ]
    found = [[r["key"], r["value"]] for r in rows]
    assert sorted(map(json.dumps, found)) == sorted(map(json.dumps, expected))
    readers = view(db_url, "consumers", key=name(5))
    assert {r["value"]["node"] for r in readers} == {
        d["_id"] for d in docs if any(e["node"] == name(5) for e in d["inputs"])
    }


def test_statics_are_inputs_and_biases(network):
    db_url, docs = network
    rows = view(db_url, "statics")
    assert len(rows) == NEURONS
    kinds = {r["key"]: r["value"]["kind"] for r in rows}
    assert {k for k, v in kinds.items() if v == "input"} == {
        name(i) for i in range(INPUT_NEURONS)
    }
    assert rows[0]["value"]["value"] == docs[0]["inputs"][0]["weight"]
