"""The network design document over HTTP: validation, apply_deltas, the neuron
page, the DOT and evaluate lists, and the neurons filter in _changes."""

import json
import math
import random
import re
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from loader.cli import cli

T = 60
REFERENCE = Path(__file__).parents[1] / "designdocs" / "reference.py"
reference = {}
exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), reference)
reference_outputs = reference["reference_outputs"]

SEEDS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "article_neurons.json").read_text()
)


@pytest.fixture
def net(db_url):
    """The database URL, with the design documents pushed."""
    server, db = db_url.rsplit("/", 1)
    result = CliRunner().invoke(cli, ["push", "--url", server, "--db", db])
    assert result.exit_code == 0, result.output
    return db_url


def save_all(db_url, docs):
    response = requests.post(f"{db_url}/_bulk_docs", json={"docs": docs}, timeout=T)
    assert response.status_code == 201
    results = response.json()
    assert all("ok" in r for r in results), results
    return results


def design(db_url, path, **params):
    return requests.get(f"{db_url}/_design/network/{path}", params=params, timeout=T)


# validate_doc_update


def test_the_seed_neurons_are_accepted(net):
    for doc in SEEDS:
        response = requests.put(f"{net}/{doc['_id']}", json=doc, timeout=T)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "doc, reason",
    [
        (
            {"_id": "h", "inputs": [{"node": "x", "weight": "abc"}]},
            'neuron "h": input 1',
        ),
        ({"_id": "h", "inputs": [{"weight": 1}]}, "node must be a non-empty string"),
        ({"_id": "h", "inputs": 3}, "inputs must be a list"),
        ({"_id": "h", "inputs": [], "activation": ["tanh"]}, 'activation ["tanh"]'),
        ({"_id": "r", "type": "training_run", "state": "?", "epochs": []}, "state"),
    ],
)
def test_broken_documents_are_refused(net, doc, reason):
    response = requests.put(f"{net}/{doc['_id']}", json=doc, timeout=T)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert reason in response.json()["reason"]


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "-Infinity", '"inf"', '"nan"'])
def test_a_weight_that_is_not_finite_is_never_stored(net, weight):
    body = '{"inputs": [{"node": "static", "weight": ' + weight + "}]}"
    response = requests.put(
        f"{net}/h", data=body, headers={"Content-Type": "application/json"}, timeout=T
    )
    # CouchDB's JSON parser refuses the bare words (400); validation the rest.
    assert response.status_code in (400, 403), response.text
    assert requests.get(f"{net}/h", timeout=T).status_code == 404


# updates/apply_deltas


def post_deltas(db_url, neuron, deltas):
    url = f"{db_url}/_design/network/_update/apply_deltas/{neuron}"
    return requests.post(url, json={"deltas": deltas}, timeout=T)


def test_apply_deltas_from_concurrent_callers_loses_none(net):
    inputs = [{"node": f"s{i}", "weight": 0.0} for i in range(4)]
    save_all(net, [{"_id": "h", "inputs": inputs, "increment": 0}])
    callers, updates = 6, 8
    applied = []

    def caller(seed):
        rng = random.Random(seed)
        for _ in range(updates):
            deltas = {f"s{rng.randrange(4)}": rng.choice([0.25, -0.5, 1.0])}
            while (response := post_deltas(net, "h", deltas)).status_code == 409:
                pass
            assert response.status_code < 300, response.text
            applied.append(deltas)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    expected = dict.fromkeys((e["node"] for e in inputs), 0.0)
    for deltas in applied:
        for source, delta in deltas.items():
            expected[source] += delta
    doc = requests.get(f"{net}/h", timeout=T).json()
    assert {e["node"]: e["weight"] for e in doc["inputs"]} == expected
    assert doc["increment"] == callers * updates == len(applied)


def test_apply_deltas_refuses_unknown_sources_and_missing_neurons(net):
    save_all(net, SEEDS)
    response = post_deltas(net, "1", {"input_x": 0.5, "nowhere": 1})
    assert response.status_code == 400
    assert "nowhere" in response.json()["reason"]
    assert requests.get(f"{net}/1", timeout=T).json()["inputs"][0]["weight"] == 1
    assert post_deltas(net, "ghost", {"x": 1}).status_code == 404


# shows/neuron


def test_neuron_page_in_html_and_json(net):
    save_all(net, SEEDS)
    page = design(net, "_show/neuron/1")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<a href="input_x">input_x</a>' in page.text
    as_json = requests.get(
        f"{net}/_design/network/_show/neuron/1",
        headers={"Accept": "application/json"},
        timeout=T,
    ).json()
    assert as_json["inputs"][0]["trust"] == pytest.approx(math.tanh(1))
    assert design(net, "_show/neuron/1", format="json").json() == as_json
    assert design(net, "_show/neuron/ghost").status_code == 404


# lists/dot

EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[label="(.*)"\];$')


def layered(rng, sizes, activations=(None,)):
    names = [[f"l{d}_{i}" for i in range(size)] for d, size in enumerate(sizes)]
    docs = [
        {"_id": n, "inputs": [{"node": "static", "weight": str(rng.randint(-3, 3))}]}
        for n in names[0]
    ]
    for before, layer in zip(names, names[1:], strict=False):
        for n in layer:
            inputs = [{"node": s, "weight": rng.uniform(-2, 2)} for s in before]
            inputs.append({"node": "static", "weight": rng.uniform(-1, 1)})
            doc = {"_id": n, "inputs": inputs, "increment": 0}
            if (activation := rng.choice(activations)) is not None:
                doc["activation"] = activation
            docs.append(doc)
    return docs


def test_dot_parses_back_into_the_same_edges(net):
    docs = layered(random.Random(3), [4, 6, 3])
    save_all(net, docs)
    response = design(net, "_list/dot/inputs", reduce="false")
    assert response.status_code == 200
    edges = sorted(
        (m[1], m[2], float(m[3]))
        for m in map(EDGE.match, response.text.splitlines())
        if m
    )
    expected = sorted(
        (e["node"], d["_id"], e["weight"])
        for d in docs
        for e in d["inputs"]
        if e["node"] != "static"
    )
    assert edges == expected


# lists/evaluate


def test_evaluate_matches_the_reference(net):
    activations = (None, "tanh", "logistic", "relu")
    docs = layered(random.Random(11), [3, 8, 5, 2], activations)
    save_all(net, docs + [{"_id": "notes", "text": "not a neuron"}])
    values = {"l0_0": 0.5, "l0_2": -1.25}
    response = design(net, "_list/evaluate/inputs", reduce="false", **values)
    assert response.status_code == 200
    outputs = response.json()["outputs"]
    assert outputs == pytest.approx(reference_outputs(docs, values), rel=1e-12)


def test_evaluate_gives_the_numbers_of_couchnet_eval(net):
    docs = layered(random.Random(5), [2, 6, 6, 3], (None, "tanh", "logistic"))
    save_all(net, docs)
    listed = design(net, "_list/evaluate/inputs", reduce="false", l0_1=0.75).json()
    server, db = net.rsplit("/", 1)
    arguments = ["eval", "--url", server, "--db", db, "--json", "-i", "l0_1=0.75"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    expected = json.loads(result.output)["outputs"]
    assert listed["outputs"] == pytest.approx(expected, rel=1e-12)


def test_evaluate_a_cycle(net):
    docs = [
        {"_id": "x", "inputs": [{"node": "static", "weight": 1}]},
        {
            "_id": "a",
            "inputs": [{"node": "x", "weight": 1}, {"node": "b", "weight": 1}],
        },
        {"_id": "b", "inputs": [{"node": "a", "weight": -0.5}], "activation": "tanh"},
        {"_id": "out", "inputs": [{"node": "b", "weight": 2}]},
    ]
    save_all(net, docs)
    stepped = design(net, "_list/evaluate/inputs", reduce="false", steps=5, x=2)
    expected = reference_outputs(docs, {"x": 2.0}, steps=5)
    assert stepped.json()["outputs"] == pytest.approx(expected, rel=1e-12)
    refused = design(net, "_list/evaluate/inputs", reduce="false").json()
    assert refused["error"] == "bad_request" and "cycle" in refused["reason"]


def test_evaluate_refuses_bad_queries(net):
    save_all(net, SEEDS)
    bad_value = design(net, "_list/evaluate/inputs", reduce="false", input_x="abc")
    assert bad_value.status_code == 400
    assert "input_x" in bad_value.json()["reason"]
    unknown = design(net, "_list/evaluate/inputs", reduce="false", input_q="1")
    assert "input_q" in unknown.json()["reason"]
    for steps in ("0", "two", "\u00b2"):
        bad_steps = design(net, "_list/evaluate/inputs", reduce="false", steps=steps)
        assert bad_steps.status_code == 400, bad_steps.text
        assert "steps must be a positive whole number" in bad_steps.json()["reason"]


# filters/neurons


def test_changes_filter_passes_neurons_only(net):
    others = [
        {"_id": "run-1", "type": "training_run", "state": "running", "epochs": []},
        {"_id": "notes", "text": "hello"},
    ]
    save_all(net, SEEDS + others)
    response = requests.get(
        f"{net}/_changes", params={"filter": "network/neurons"}, timeout=T
    )
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {doc["_id"] for doc in SEEDS}
