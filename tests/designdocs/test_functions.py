"""The update, show, list and filter functions, called with plain documents."""

import json
import math
import random
import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).with_name("reference.py")
reference = {}
exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), reference)
reference_outputs = reference["reference_outputs"]


def request(body=None, **fields):
    req = {"query": {}, "headers": {}, "id": fields.pop("id", None)}
    if body is not None:
        req["body"] = json.dumps(body)
    return req | fields


# updates/apply_deltas


@pytest.fixture
def apply_deltas(functions):
    return functions.load("updates", "apply_deltas")


def test_apply_deltas_adds_to_weights_and_bumps_increment(apply_deltas, seeds):
    doc, response = apply_deltas(
        seeds[1], request({"deltas": {"input_x": 0.25, "input_y": -2}})
    )
    assert [e["weight"] for e in doc["inputs"]] == [1.25, -3]
    assert doc["increment"] == 1
    assert response["json"]["weights"] == {"input_x": 1.25, "input_y": -3}


def test_apply_deltas_reads_a_static_string_value(apply_deltas, seeds):
    doc, _ = apply_deltas(seeds[0], request({"deltas": {"static": 1}}))
    assert doc["inputs"] == [{"node": "static", "weight": 475.0}]


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"deltas": {"nope": 1}}, "has no input from nope"),
        ({"deltas": {"input_x": 1, "nope": 1}}, "has no input from nope"),
        ({"deltas": {"input_x": "1"}}, "not a number"),
        ({"deltas": {"input_x": True}}, "not a number"),
        ({"deltas": [1]}, "must be"),
        ({"weights": {}}, "must be"),
    ],
)
def test_apply_deltas_refuses_and_changes_nothing(apply_deltas, seeds, body, reason):
    doc, response = apply_deltas(seeds[1], request(body))
    assert doc is None
    assert response["code"] == 400
    assert reason in response["json"]["reason"]
    assert seeds[1]["inputs"][0]["weight"] == 1


def test_apply_deltas_refuses_a_source_read_twice(apply_deltas):
    twice = {"_id": "h", "inputs": [{"node": "x", "weight": 1}] * 2}
    doc, response = apply_deltas(twice, request({"deltas": {"x": 1}}))
    assert (doc, response["code"]) == (None, 400)
    assert "more than once" in response["json"]["reason"]


def test_apply_deltas_skips_an_entry_stored_before_validation(apply_deltas):
    inputs = [{"node": ["x"], "weight": 1}, {"node": "y", "weight": 2}]
    neuron = {"_id": "h", "inputs": inputs}
    doc, response = apply_deltas(neuron, request({"deltas": {"y": 0.5}}))
    assert doc["inputs"][1]["weight"] == 2.5 and response["json"]["ok"]


def test_apply_deltas_refuses_a_body_that_is_not_json(apply_deltas, seeds):
    doc, response = apply_deltas(seeds[1], request(id="1") | {"body": "{"})
    assert (doc, response["code"]) == (None, 400)


def test_apply_deltas_on_a_missing_neuron_is_404(apply_deltas):
    doc, response = apply_deltas(None, request({"deltas": {}}, id="ghost"))
    assert (doc, response["code"]) == (None, 404)
    assert "ghost" in response["json"]["reason"]


# shows/neuron


@pytest.fixture
def show(functions):
    return functions.load("shows", "neuron")


def test_show_answers_json_when_asked(show, seeds):
    for req in (
        request(query={"format": "json"}),
        request(headers={"Accept": "application/json"}),
    ):
        described = show(seeds[1], req)["json"]
        assert described["neuron"] == "1"
        assert described["inputs"][0]["trust"] == pytest.approx(math.tanh(1))
        assert described["inputs"][1]["trust"] == pytest.approx(math.tanh(-1))
    static = show(seeds[0], request(query={"format": "json"}))["json"]["inputs"]
    assert static == [{"node": "static", "weight": "474", "value": 474.0}]


def test_show_answers_html_to_a_browser(show, seeds):
    browser = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
    response = show(seeds[1], request(headers={"accept": browser}))
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = response["body"]
    assert '<a href="input_x">input_x</a>' in page
    assert f"{math.tanh(-1):.6g}" in page


def test_show_escapes_names(show):
    doc = {"_id": "<b>&", "inputs": [{"node": "<i>", "weight": 1}]}
    page = show(doc, request())["body"]
    assert "<b>&" not in page and "&lt;b&gt;&amp;" in page
    assert "&lt;i&gt;" in page and "<i>" not in page


def test_show_of_a_missing_neuron_is_404(show):
    assert show(None, request(id="ghost"))["code"] == 404
    assert show(None, request(id="ghost", query={"format": "json"}))["code"] == 404


# lists/dot

EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[label="(.*)"\];$')


def view_rows(docs):
    """Rows of the inputs view with reduce=false, for plain neuron documents."""
    return [
        {"id": d["_id"], "key": d["_id"], "value": dict(e) | activation(d)}
        for d in sorted(docs, key=lambda d: d["_id"])
        for e in d["inputs"]
    ]


def activation(doc):
    name = doc.get("activation")
    return {"activation": name} if name and name != "identity" else {}


def parsed_edges(text):
    edges = []
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            source, target, label = (g.replace('\\"', '"') for g in match.groups())
            edges.append((source, target, label))
    return sorted(edges)


def test_dot_draws_every_edge(functions, seeds):
    seeds.append({"_id": 'say "hi"', "inputs": [{"node": "1", "weight": 0.5}]})
    run = functions.run_list("dot", view_rows(seeds), {"reduce": "false"})
    assert run.body.startswith("digraph network {") and run.body.endswith("}\n")
    expected = [
        (e["node"], d["_id"], repr(e["weight"]))
        for d in seeds
        for e in d["inputs"]
        if e["node"] != "static"
    ]
    assert parsed_edges(run.body) == sorted(expected)
    assert '"input_x" [shape=box, label="input_x\\nstatic 474"];' in run.body
    assert '"output_x" [shape=doublecircle];' in run.body


def test_dot_refuses_reduced_rows(functions):
    run = functions.run_list("dot", [], {})
    assert run.response["code"] == 400


# lists/evaluate


def random_layers(rng, sizes, activation=None):
    layers = [
        [f"l{depth}_{i}" for i in range(size)] for depth, size in enumerate(sizes)
    ]
    docs = [
        {"_id": n, "inputs": [{"node": "static", "weight": "0"}]} for n in layers[0]
    ]
    for before, layer in zip(layers, layers[1:], strict=False):
        for name in layer:
            inputs = [{"node": s, "weight": rng.uniform(-2, 2)} for s in before]
            inputs.append({"node": "static", "weight": rng.uniform(-1, 1)})
            docs.append({"_id": name, "inputs": inputs, "activation": activation})
    return docs


def evaluated(functions, docs, query):
    run = functions.run_list("evaluate", view_rows(docs), {"reduce": "false"} | query)
    return run.response, json.loads(run.body)


@pytest.mark.parametrize("activation", [None, "tanh", "logistic", "relu"])
def test_evaluate_matches_the_reference(functions, activation):
    rng = random.Random(7)
    docs = random_layers(rng, [3, 5, 4, 2], activation)
    values = {"l0_0": 0.5, "l0_1": -1.0, "l0_2": 2.0}
    query = {name: str(value) for name, value in values.items()}
    response, body = evaluated(functions, docs, query)
    expected = reference_outputs(docs, values)
    assert response.get("code", 200) == 200
    assert body["outputs"] == pytest.approx(expected, rel=1e-12)


def test_evaluate_the_seed_neurons(functions, seeds):
    seeds += [{"_id": n, "inputs": [{"node": "static", "weight": "1"}]} for n in "23"]
    seeds.append({"_id": "input_y", "inputs": [{"node": "static", "weight": "2"}]})
    _, body = evaluated(functions, seeds, {"input_x": "0.5"})
    hand = (0.5 * math.tanh(1) + 2 * math.tanh(-1)) * math.tanh(1)
    hand += math.tanh(9.536375211640632e179) + math.tanh(-194411155905.33661)
    assert body == {"outputs": {"output_x": pytest.approx(hand, rel=1e-12)}}


def cycle():
    return [
        {"_id": "x", "inputs": [{"node": "static", "weight": 1}]},
        {
            "_id": "a",
            "inputs": [{"node": "x", "weight": 1}, {"node": "b", "weight": 0.5}],
        },
        {"_id": "b", "inputs": [{"node": "a", "weight": -0.7}], "activation": "tanh"},
        {"_id": "out", "inputs": [{"node": "b", "weight": 2}]},
    ]


def test_evaluate_a_cycle_in_steps(functions):
    _, body = evaluated(functions, cycle(), {"steps": "6", "x": "0.3"})
    expected = reference_outputs(cycle(), {"x": 0.3}, steps=6)
    assert body["outputs"] == pytest.approx(expected, rel=1e-12)


def test_evaluate_a_cycle_without_steps_names_it(functions):
    response, body = evaluated(functions, cycle(), {})
    assert body["error"] == "bad_request"
    assert "cycle" in body["reason"] and "a" in body["reason"] and "b" in body["reason"]


def test_evaluate_an_unknown_input(functions, seeds):
    _, body = evaluated(functions, seeds, {"input_q": "1"})
    assert body["error"] == "bad_request" and "input_q" in body["reason"]


@pytest.mark.parametrize(
    "query",
    [
        {"input_x": "abc"},
        {"steps": "0"},
        {"steps": "two"},
        {"steps": "\u00b2"},
        {"steps": ["2", "3"]},
        {"reduce": "true"},
    ],
)
def test_evaluate_refuses_a_bad_query_with_400(functions, seeds, query):
    response, body = evaluated(functions, seeds, query)
    assert response["code"] == 400
    assert body["error"] == "bad_request"
