"""The compiled network against an independent pure-Python evaluation."""

import math
import random

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader import network as network_module
from loader.client import CouchError, batches_of_rows, rows_in
from loader.model import ModelError, neuron
from loader.network import Network, neurons_from_rows

ACTIVATION_NAMES = ["identity", "tanh", "logistic", "relu"]


def reference_activation(name, total):
    if name == "tanh":
        return math.tanh(total)
    if name == "logistic":
        return 1.0 / (1.0 + math.exp(-total))
    if name == "relu":
        return max(total, 0.0)
    return total


def reference_total(doc, outputs, override):
    total = 0.0
    for entry in doc["inputs"]:
        if entry["node"] == "static":
            total += 0.0 if override is not None else float(entry["weight"])
        else:
            total += outputs(entry["node"]) * math.tanh(float(entry["weight"]))
    return total if override is None else override


def reference_direct(docs, inputs):
    """get_output with memory, recursing from each neuron to its sources."""
    by_id = {doc["_id"]: doc for doc in docs}
    memory = {}

    def output(name):
        if name not in memory:
            doc = by_id[name]
            total = reference_total(doc, output, inputs.get(name))
            memory[name] = reference_activation(doc.get("activation"), total)
        return memory[name]

    return {name: output(name) for name in by_id}


def reference_steps(docs, inputs, steps):
    outputs = {doc["_id"]: 0.0 for doc in docs}
    for _ in range(steps):
        outputs = {
            doc["_id"]: reference_activation(
                doc.get("activation"),
                reference_total(doc, outputs.__getitem__, inputs.get(doc["_id"])),
            )
            for doc in docs
        }
    return outputs


def random_docs(seed, cyclic=False, inputs=3, hidden=8):
    """Neuron documents with duplicate edges, string statics and mixed activations."""
    rng = random.Random(seed)
    docs = []
    for i in range(inputs):
        value = round(rng.uniform(-2, 2), 3)
        weight = str(value) if rng.random() < 0.5 else value
        docs.append(
            {"_id": f"in_{i}", "inputs": [{"node": "static", "weight": weight}]}
        )
    names = [doc["_id"] for doc in docs]
    hidden_names = [f"n_{i}" for i in range(hidden)]
    for i, name in enumerate(hidden_names):
        pool = names + (hidden_names if cyclic else hidden_names[:i])
        sources = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
        entries = [{"node": s, "weight": rng.uniform(-1.5, 1.5)} for s in sources]
        if rng.random() < 0.5:
            entries.append({"node": "static", "weight": str(rng.uniform(-1, 1))})
        if rng.random() < 0.3:
            entries.append({"node": sources[0], "weight": rng.uniform(-1, 1)})
        rng.shuffle(entries)
        doc = {"_id": name, "inputs": entries}
        activation = rng.choice(ACTIVATION_NAMES + [None])
        if activation:
            doc["activation"] = activation
        docs.append(doc)
    return docs


def as_rows(docs):
    return [
        {"key": doc["_id"], "value": {**entry, "activation": doc.get("activation")}}
        for doc in docs
        for entry in doc["inputs"]
    ]


def outputs_by_name(net, matrix):
    return {name: matrix[position] for name, position in net.index.items()}


def assert_close(actual, expected):
    assert actual.keys() == expected.keys()
    for name in expected:
        assert actual[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


@pytest.fixture(params=["dense", "sparse"])
def layout(request, monkeypatch):
    """Run a test with every level dense, then with every level edge by edge."""
    if request.param == "sparse":
        monkeypatch.setattr(network_module, "DENSE_MIN_CELLS", 0)
        monkeypatch.setattr(network_module, "DENSE_OVERHEAD", 0)
        monkeypatch.setattr(network_module, "CHUNK_CELLS", 7)
    else:
        monkeypatch.setattr(network_module, "DENSE_MIN_CELLS", 1 << 40)
    return request.param


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_acyclic_matches_the_reference_and_the_model(seed):
    docs = random_docs(seed)
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    rng = np.random.default_rng(seed)
    batch = rng.uniform(-2, 2, size=(5, len(net.input_names)))

    outputs = net.forward(batch)

    for sample, row in zip(batch, outputs, strict=True):
        inputs = dict(zip(net.input_names, sample.tolist(), strict=True))
        expected = reference_direct(docs, inputs)
        assert_close(outputs_by_name(net, row), expected)
        assert_close(outputs_by_name(net, row), neuron.evaluate(net.neurons, inputs))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 7))
def test_steps_match_the_reference_on_cyclic_networks(seed, steps):
    docs = random_docs(seed, cyclic=True)
    net = Network.from_rows(as_rows(docs))
    batch = np.random.default_rng(seed).uniform(-1, 1, (3, len(net.input_names)))

    outputs = net.forward(batch, steps=steps)

    for sample, row in zip(batch, outputs, strict=True):
        inputs = dict(zip(net.input_names, sample.tolist(), strict=True))
        expected = reference_steps(docs, inputs, steps)
        assert_close(outputs_by_name(net, row), expected)
        assert_close(
            outputs_by_name(net, row), neuron.evaluate(net.neurons, inputs, steps)
        )


@pytest.mark.parametrize("seed", range(6))
def test_both_layouts_give_the_reference(layout, seed):
    docs = random_docs(seed, hidden=20)
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    assert {level.dense for level in net.levels} == {layout == "dense"}

    row = net.forward()[0]

    assert_close(outputs_by_name(net, row), reference_direct(docs, {}))
    steps = reference_steps(docs, {}, 25)
    assert_close(outputs_by_name(net, net.forward(steps=25)[0]), steps)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("activation", ACTIVATION_NAMES + ["mixed"])
def test_predict_in_place_gives_the_reference(layout, seed, activation):
    docs = random_docs(seed, hidden=20)
    for doc in docs[3:]:
        if activation != "mixed":
            doc["activation"] = activation
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    batch = np.random.default_rng(seed).uniform(-2, 2, (4, len(net.input_names)))

    predicted = net.predict(batch)
    net.predict(batch + 1.0)  # the buffer is reused: earlier answers must not move

    for sample, row in zip(batch, predicted, strict=True):
        inputs = dict(zip(net.input_names, sample.tolist(), strict=True))
        expected = reference_direct(docs, inputs)
        actual = dict(zip(net.output_names, row.tolist(), strict=True))
        assert_close(actual, {name: expected[name] for name in net.output_names})


def test_enough_steps_on_an_acyclic_network_give_the_direct_result():
    net = Network.from_neurons(neuron.neurons_from_docs(random_docs(7, hidden=12)))
    direct = net.forward()
    assert np.allclose(net.forward(steps=len(net.levels) + 1), direct, atol=1e-12)


def test_trust_matrix_adds_duplicate_edges():
    docs = [
        {"_id": "a", "inputs": [{"node": "static", "weight": 1}]},
        {"_id": "b", "inputs": [{"node": "static", "weight": 2}]},
        {
            "_id": "c",
            "inputs": [
                {"node": "a", "weight": 0.5},
                {"node": "b", "weight": -0.25},
                {"node": "a", "weight": "0.75"},
                {"node": "static", "weight": "3"},
            ],
        },
    ]
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    (level,) = net.levels

    expected = [[math.tanh(0.5) + math.tanh(0.75)], [math.tanh(-0.25)]]
    assert np.allclose(level.trust_matrix(), expected)
    assert level.bias.tolist() == [3.0]
    assert level.bias_refs == [[("c", 3)]]
    assert net.sample_outputs() == {
        "c": pytest.approx(1 * expected[0][0] + 2 * expected[1][0] + 3)
    }


def test_refs_point_at_the_document_entries():
    docs = random_docs(3, hidden=10)
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    by_id = {doc["_id"]: doc for doc in docs}
    for level in net.levels:
        for k, (name, i) in enumerate(level.edge_ref):
            entry = by_id[name]["inputs"][i]
            assert float(entry["weight"]) == level.edge_weight[k]
            assert entry["node"] == net.names[level.sources[level.edge_source[k]]]
            assert name == net.names[level.targets[level.edge_target[k]]]
        for j, refs in enumerate(level.bias_refs):
            entries = [by_id[name]["inputs"][i] for name, i in refs]
            assert all(entry["node"] == "static" for entry in entries)
            total = sum(float(entry["weight"]) for entry in entries)
            assert level.bias[j] == pytest.approx(total)


def layered_docs(sizes):
    rng = random.Random(1)
    layers = [[f"input_{i}" for i in range(sizes[0])]]
    docs = [{"_id": n, "inputs": [{"node": "static", "weight": 0}]} for n in layers[0]]
    for depth, size in enumerate(sizes[1:], start=1):
        prefix = "output" if depth == len(sizes) - 1 else f"hidden{depth}"
        layer = [f"{prefix}_{i}" for i in range(size)]
        for name in layer:
            entries = [{"node": s, "weight": rng.gauss(0, 1)} for s in layers[-1]]
            entries.append({"node": "static", "weight": rng.gauss(0, 1)})
            docs.append({"_id": name, "inputs": entries, "activation": "tanh"})
        layers.append(layer)
    return docs, layers


def test_a_layered_network_is_one_level_per_layer_and_a_plain_matmul():
    docs, layers = layered_docs([12, 5, 3])
    net = Network.from_neurons(neuron.neurons_from_docs(docs))

    assert net.input_names == layers[0]
    assert net.output_names == layers[-1]
    assert [[net.names[p] for p in level.targets] for level in net.levels] == layers[1:]

    x = np.random.default_rng(0).normal(size=(4, 12))
    by_id = {doc["_id"]: doc for doc in docs}
    activations = x
    for layer in layers[1:]:
        trust = np.array(
            [[math.tanh(e["weight"]) for e in by_id[n]["inputs"][:-1]] for n in layer]
        ).T
        bias = np.array([by_id[n]["inputs"][-1]["weight"] for n in layer])
        activations = np.tanh(activations @ trust + bias)
    assert np.allclose(net.predict(x), activations, rtol=1e-12)


def test_forward_levels_keeps_totals_for_a_backward_pass():
    docs, _ = layered_docs([3, 4, 2])
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    trace = net.forward_levels(np.ones((2, 3)))
    for level, totals, outputs in zip(
        net.levels, trace.totals, trace.level_outputs, strict=True
    ):
        assert np.allclose(outputs, np.tanh(totals))
        assert np.array_equal(trace.outputs[:, level.targets], outputs)
        assert np.allclose(level.slopes(totals, outputs), 1 - np.tanh(totals) ** 2)
    assert np.array_equal(trace.input_totals, np.ones((2, 3)))


def test_inputs_as_columns_keep_the_other_static_values():
    docs = random_docs(11, inputs=3)
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    values = {"in_1": [0.5, -0.5]}
    outputs = net.forward(values)
    assert outputs.shape == (2, len(net.names))
    for sample, row in enumerate(outputs):
        expected = reference_direct(docs, {"in_1": values["in_1"][sample]})
        assert_close(outputs_by_name(net, row), expected)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"nope": 1}, "unknown input neuron 'nope'"),
        ({"n_0": 1}, "'n_0' is not an input neuron"),
        ({"in_0": "abc"}, "is not a number"),
        (np.ones((1, 7)), "expected 3 input columns"),
    ],
)
def test_bad_inputs_are_model_errors(inputs, message):
    net = Network.from_neurons(neuron.neurons_from_docs(random_docs(2)))
    with pytest.raises(ModelError, match=message):
        net.forward(inputs)


def test_a_cycle_needs_steps_and_is_named():
    docs = [
        {"_id": "x", "inputs": [{"node": "static", "weight": 1}]},
        {
            "_id": "a",
            "inputs": [{"node": "x", "weight": 1}, {"node": "b", "weight": 1}],
        },
        {"_id": "b", "inputs": [{"node": "a", "weight": 0.5}]},
        {"_id": "out", "inputs": [{"node": "b", "weight": 1}]},
    ]
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    assert not net.acyclic
    with pytest.raises(ModelError, match="cycle through (a -> b -> a|b -> a -> b)"):
        net.forward()
    assert_close(
        outputs_by_name(net, net.forward(steps=4)[0]), reference_steps(docs, {}, 4)
    )
    with pytest.raises(ModelError, match="positive whole number"):
        net.forward(steps=0)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"_id": "b", "inputs": [{"node": "ghost", "weight": 1}]}, "'ghost'"),
        ({"_id": "b", "inputs": [{"node": "a", "weight": "x"}]}, "'x' is not a number"),
        ({"_id": "b", "inputs": [{"node": "static", "weight": "x"}]}, "'x'"),
        (
            {"_id": "b", "inputs": [{"node": "a", "weight": 1}], "activation": "elu"},
            "unknown activation 'elu'",
        ),
    ],
)
def test_broken_networks_are_model_errors(doc, message):
    docs = [{"_id": "a", "inputs": [{"node": "static", "weight": 1}]}, doc]
    with pytest.raises(ModelError, match=message):
        Network.from_neurons(neuron.neurons_from_docs(docs))


def test_rows_with_an_index_are_put_back_in_document_order():
    rows = [
        {"key": "a", "value": {"node": "static", "weight": 1}},
        {"key": "h", "value": {"node": "a", "weight": -1, "index": 1}},
        {"key": "h", "value": {"node": "a", "weight": 2, "index": 0}},
    ]
    neurons = neurons_from_rows(rows)
    assert neurons["h"]["inputs"] == [("a", 2), ("a", -1)]
    (level,) = Network.from_neurons(neurons).levels
    assert level.edge_ref == [("h", 0), ("h", 1)]
    assert level.edge_weight.tolist() == [2.0, -1.0]


def test_the_example_documents_evaluate_to_hand_computed_values():
    docs = [
        {"_id": "input_x", "inputs": [{"node": "static", "weight": "474"}]},
        {"_id": "input_y", "inputs": [{"node": "static", "weight": "2"}]},
        {
            "_id": "1",
            "inputs": [
                {"node": "input_x", "weight": 1},
                {"node": "input_y", "weight": -1},
            ],
        },
        {"_id": "output_x", "inputs": [{"node": "1", "weight": 1}]},
    ]
    net = Network.from_neurons(neuron.neurons_from_docs(docs))
    # 1 = 474 tanh(1) + 2 tanh(-1) = 472 tanh(1); output_x = tanh(1) * that
    hidden = 472 * 0.7615941559557649
    assert net.sample_outputs() == {
        "output_x": pytest.approx(hidden * 0.7615941559557649)
    }
    assert net.sample_outputs({"input_x": 0.5}) == {
        "output_x": pytest.approx(-1.5 * 0.7615941559557649**2)
    }


VIEW_RESPONSE = (
    b'{"total_rows":3,"offset":0,"rows":[\r\n'
    b'{"id":"h","key":"h","value":{"node":"a","weight":1,"index":0}},\r\n'
    b'{"id":"h","key":"h","value":{"node":"static","weight":"2","index":1}},\r\n'
    b'{"id":"o","key":"o","value":{"node":"h","weight":-1,"index":0}}\r\n'
    b"]}\n"
)


def test_view_lines_are_parsed_as_couchdb_sends_them():
    rows = rows_in(VIEW_RESPONSE)
    assert [row["value"]["weight"] for row in rows] == [1, "2", -1]
    assert rows == orjson.loads(VIEW_RESPONSE)["rows"]


def test_a_view_on_one_line_is_parsed_whole():
    body = b'{"total_rows":1,"offset":0,"rows":[{"id":"h","key":"h","value":{}}]}'
    assert rows_in(body) == [{"id": "h", "key": "h", "value": {}}]


@pytest.mark.parametrize(
    "lines",
    [
        b'{"error":"timeout","reason":"too slow"}',
        VIEW_RESPONSE[:-5] + b',\r\n{"error":"timeout","reason":"too slow"}\n',
    ],
)
def test_an_error_row_in_a_view_is_raised(lines):
    with pytest.raises(CouchError, match="too slow"):
        rows_in(lines)


@pytest.mark.parametrize("size", [1, 2, 7, 40, 64, 100, len(VIEW_RESPONSE)])
def test_a_view_cut_into_chunks_anywhere_gives_the_same_rows(size):
    chunks = [VIEW_RESPONSE[i : i + size] for i in range(0, len(VIEW_RESPONSE), size)]
    rows = [row for batch in batches_of_rows(chunks) for row in batch]
    assert rows == orjson.loads(VIEW_RESPONSE)["rows"]


def reference_neurons(rows):
    """The structure built one row at a time, as the model's add_input does."""
    neurons, places = {}, {}
    for row in rows:
        value = row["value"]
        neuron.add_input(
            neurons, row["key"], value["node"], value["weight"], value.get("activation")
        )
        places.setdefault(row["key"], []).append(value.get("index"))
    for name, indexes in places.items():
        if None not in indexes:
            pairs = zip(indexes, neurons[name]["inputs"], strict=True)
            ordered = sorted(pairs, key=lambda pair: pair[0])
            neurons[name]["inputs"] = [edge for _, edge in ordered]
    return neurons


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_rows_build_the_structure_as_add_input_does(data):
    names = data.draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=12))
    rows = []
    for k, name in enumerate(names):
        value = {"node": data.draw(st.sampled_from(["a", "b", "static"])), "weight": k}
        index = data.draw(st.one_of(st.none(), st.integers(0, 3)))
        if index is not None:
            value["index"] = index
        activation = data.draw(st.sampled_from([None, "", "tanh", "relu"]))
        if activation is not None:
            value["activation"] = activation
        rows.append({"id": name, "key": name, "value": value})
    assert neurons_from_rows(rows) == reference_neurons(rows)
