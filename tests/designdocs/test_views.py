"""The map functions of the network's views, called with plain documents."""

RUN = {"_id": "run-1", "type": "training_run", "state": "running", "epochs": []}


def rows(function, doc):
    return [list(pair) for pair in function(doc) or []]


def test_inputs_emits_one_row_per_input(functions, seeds):
    inputs = functions.load("views", "inputs", "map")
    static = {"node": "static", "weight": "474", "index": 0}
    assert rows(inputs, seeds[0]) == [["input_x", static]]
    assert rows(inputs, seeds[2]) == [
        ["output_x", {"node": "1", "weight": 1, "index": 0}],
        ["output_x", {"node": "2", "weight": 9.536375211640632e179, "index": 1}],
        ["output_x", {"node": "3", "weight": -194411155905.33661, "index": 2}],
    ]


def test_inputs_carries_a_non_identity_activation(functions):
    inputs = functions.load("views", "inputs", "map")
    doc = {"_id": "h", "activation": "tanh", "inputs": [{"node": "x", "weight": 2}]}
    assert rows(inputs, doc) == [
        ["h", {"node": "x", "weight": 2, "index": 0, "activation": "tanh"}]
    ]
    doc["activation"] = "identity"
    assert rows(inputs, doc) == [["h", {"node": "x", "weight": 2, "index": 0}]]


def test_inputs_skips_other_documents(functions):
    inputs = functions.load("views", "inputs", "map")
    assert rows(inputs, RUN) == []
    assert rows(inputs, {"_id": "_design/x", "inputs": []}) == []
    broken = {"_id": "b", "inputs": [5, {"node": "x"}, {"node": "y", "weight": 1}]}
    # The kept row still names its place in the document.
    assert rows(inputs, broken) == [["b", {"node": "y", "weight": 1, "index": 2}]]
    # A node that is not a string would break every reader of the view.
    broken["inputs"][1] = {"node": ["x"], "weight": 1}
    assert rows(inputs, broken) == [["b", {"node": "y", "weight": 1, "index": 2}]]


def test_consumers_reverses_the_edges(functions, seeds):
    consumers = functions.load("views", "consumers", "map")
    assert rows(consumers, seeds[0]) == []
    assert rows(consumers, seeds[1]) == [
        ["input_x", {"node": "1", "weight": 1}],
        ["input_y", {"node": "1", "weight": -1}],
    ]
    assert rows(consumers, RUN) == []


def test_statics_tells_inputs_from_biases(functions, seeds):
    statics = functions.load("views", "statics", "map")
    assert rows(statics, seeds[0]) == [["input_x", {"value": "474", "kind": "input"}]]
    assert rows(statics, seeds[1]) == []
    hidden = {
        "_id": "h",
        "inputs": [{"node": "x", "weight": 1}, {"node": "static", "weight": 0.5}],
    }
    assert rows(statics, hidden) == [["h", {"value": 0.5, "kind": "bias"}]]
    assert rows(statics, RUN) == []


def test_filter_passes_neurons_only(functions, seeds):
    neurons = functions.load("filters", "neurons")
    assert all(neurons(doc, {}) for doc in seeds)
    assert not neurons(RUN, {})
    assert not neurons({"_id": "_design/network", "language": "python"}, {})
    assert not neurons({"_id": "x", "inputs": "none"}, {})
