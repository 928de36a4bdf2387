"""validate_doc_update: the seed neurons pass, broken ones are refused."""

import pytest

GOOD_RUNS = [
    {"_id": "r1", "type": "training_run", "state": "running", "epochs": []},
    {"_id": "r2", "type": "training_run", "state": "failed", "epochs": [{"loss": 1}]},
]


def neuron(**fields):
    return {"_id": "h1", "inputs": [{"node": "x", "weight": 0.5}], **fields}


@pytest.fixture
def validate(functions):
    return functions.load("validate_doc_update")


@pytest.fixture
def forbidden(functions):
    return functions.Forbidden


def test_accepts_the_seed_neurons(validate, seeds):
    for doc in seeds:
        validate(doc, None, {"name": None, "roles": []}, {})


@pytest.mark.parametrize(
    "doc",
    GOOD_RUNS
    + [
        neuron(activation="logistic"),
        neuron(activation=None),
        neuron(inputs=[]),
        neuron(inputs=[{"node": "static", "weight": "-1.5e3"}]),
        neuron(inputs=[{"node": "x", "weight": "0.25"}, {"node": "y", "weight": -3}]),
        {"_id": "notes", "text": "not a neuron"},
        {"_id": "h1", "_deleted": True},
        {"_id": "_design/other", "inputs": "anything"},
    ],
)
def test_accepts(validate, doc):
    validate(doc, None, {"name": None, "roles": []}, {})


@pytest.mark.parametrize(
    "doc, reason",
    [
        (neuron(inputs={"node": "x"}), 'neuron "h1": inputs must be a list'),
        (neuron(inputs=[7]), "input 1 7: must be an object"),
        (neuron(inputs=[{"weight": 1}]), "node must be a non-empty string"),
        (neuron(inputs=[{"node": "", "weight": 1}]), "node must be a non-empty"),
        (neuron(inputs=[{"node": 3, "weight": 1}]), "node must be a non-empty"),
        (neuron(inputs=[{"node": "x"}]), 'input 1 {"node": "x"}: weight is missing'),
        (neuron(inputs=[{"node": "x", "weight": "abc"}]), "finite number"),
        (neuron(inputs=[{"node": "x", "weight": True}]), "finite number"),
        (neuron(inputs=[{"node": "x", "weight": "inf"}]), "finite number"),
        (neuron(inputs=[{"node": "x", "weight": [1]}]), "finite number"),
        (
            neuron(inputs=[{"node": "x", "weight": 1}, {"node": "y", "weight": None}]),
            'neuron "h1": input 2 {"node": "y", "weight": null}',
        ),
        (neuron(activation="softmax"), 'activation "softmax" is not'),
        (neuron(activation=["tanh"]), 'activation ["tanh"] is not'),
        (neuron(activation={"name": "tanh"}), 'activation {"name": "tanh"} is not'),
        (neuron(increment="7"), "increment must be a number"),
        (
            {"_id": "r", "type": "training_run", "state": "done", "epochs": []},
            'training run "r": state "done" is not one of',
        ),
        (
            {"_id": "r", "type": "training_run", "state": "running"},
            "epochs must be a list",
        ),
    ],
)
def test_refuses_with_a_reason(validate, forbidden, doc, reason):
    with pytest.raises(forbidden) as refused:
        validate(doc, None, {"name": None, "roles": []}, {})
    assert reason in str(refused.value)
