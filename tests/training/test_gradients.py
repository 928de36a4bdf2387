"""Gradients of the squared error against finite differences of the model."""

import numpy as np
import pytest

from loader.model import neuron
from loader.network import Network
from loader.training import Trainer, loss_and_gradient, parameters_of


def model_loss(neurons: dict, network: Network, inputs, targets) -> float:
    """The loss computed sample by sample with the model's own evaluate."""
    total = 0.0
    for row, target in zip(inputs, targets, strict=True):
        given = dict(zip(network.input_names, row.tolist(), strict=True))
        outputs = neuron.evaluate_outputs(neurons, given)
        for name, value in zip(network.output_names, target, strict=True):
            total += (outputs[name] - value) ** 2
    return total / targets.size


def with_weight(neurons: dict, ref, weight: float) -> dict:
    name, index = ref
    changed = {key: dict(value) for key, value in neurons.items()}
    inputs = list(changed[name]["inputs"])
    inputs[index] = (inputs[index][0], weight)
    changed[name]["inputs"] = inputs
    return changed


def finite_differences(neurons, network, params, inputs, targets, eps=1e-6):
    gradient = np.zeros(len(params.refs))
    for k, ref in enumerate(params.refs):
        value = params.values[k]
        up = model_loss(
            with_weight(neurons, ref, value + eps), network, inputs, targets
        )
        down = model_loss(
            with_weight(neurons, ref, value - eps), network, inputs, targets
        )
        gradient[k] = (up - down) / (2 * eps)
    return gradient


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dense", [True, False])
def test_gradient_matches_finite_differences(make_neurons, seed, dense):
    rng = np.random.default_rng(seed)
    neurons = make_neurons(rng)
    trained = [n for n in neurons.values() if not neuron.is_input(n)]
    assert {n["activation"] for n in trained} == set(neuron.ACTIVATIONS)
    assert any(node == "static" for n in trained for node, _ in n["inputs"])
    network = Network.from_neurons(neurons)
    for level in network.levels:
        level.dense = dense
    params = parameters_of(network)
    inputs = rng.normal(0, 1, (5, len(network.input_names)))
    targets = rng.normal(0, 1, (5, len(network.output_names)))

    loss, gradient = loss_and_gradient(network, params, inputs, targets)

    assert loss == pytest.approx(model_loss(neurons, network, inputs, targets))
    expected = finite_differences(neurons, network, params, inputs, targets)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-8)


def test_parameters_are_weights_and_biases_of_non_input_neurons(make_neurons):
    neurons = make_neurons(np.random.default_rng(7))
    params = parameters_of(Network.from_neurons(neurons))

    expected = {
        (name, index)
        for name, entry in neurons.items()
        if not neuron.is_input(entry)
        for index in range(len(entry["inputs"]))
    }
    assert set(params.refs) == expected
    assert len(params.refs) == len(expected)


def test_one_step_matches_a_hand_computed_one():
    # x -> h (tanh, bias b) -> y (identity); one sample, learning rate 0.5.
    neurons = {
        "x": {"inputs": [("static", 0.0)], "activation": "identity"},
        "h": {"inputs": [("x", 0.3), ("static", 0.1)], "activation": "tanh"},
        "y": {"inputs": [("h", -0.4)], "activation": "identity"},
    }
    x, target, rate = 0.8, 0.5, 0.5
    network = Network.from_neurons(neurons)
    trainer = Trainer(network, learning_rate=rate, momentum=0.9)

    h = np.tanh(x * np.tanh(0.3) + 0.1)
    y = h * np.tanh(-0.4)
    d_y = 2 * (y - target)
    d_h_total = d_y * np.tanh(-0.4) * (1 - h * h)
    expected = {
        ("h", 0): 0.3 - rate * d_h_total * x * (1 - np.tanh(0.3) ** 2),
        ("h", 1): 0.1 - rate * d_h_total,
        ("y", 0): -0.4 - rate * d_y * h * (1 - np.tanh(-0.4) ** 2),
    }
    loss = trainer.step(np.array([[x]]), np.array([[target]]))

    assert loss == pytest.approx((y - target) ** 2)
    got = dict(zip(trainer.params.refs, trainer.params.values.tolist(), strict=True))
    assert got == pytest.approx(expected, rel=1e-12)
    new_h = np.tanh(x * np.tanh(expected[("h", 0)]) + expected[("h", 1)])
    new_y = new_h * np.tanh(expected[("y", 0)])
    assert trainer.predict(np.array([[x]]))[0, 0] == pytest.approx(new_y, rel=1e-12)


def test_momentum_carries_the_previous_step():
    neurons = {
        "x": {"inputs": [("static", 0.0)]},
        "y": {"inputs": [("x", 0.2)]},
    }
    trainer = Trainer(Network.from_neurons(neurons), learning_rate=0.1, momentum=0.5)
    inputs, targets = np.array([[1.0]]), np.array([[1.0]])

    first = 2 * (np.tanh(0.2) - 1) * (1 - np.tanh(0.2) ** 2)
    trainer.step(inputs, targets)
    w1 = 0.2 - 0.1 * first
    second = 2 * (np.tanh(w1) - 1) * (1 - np.tanh(w1) ** 2)
    trainer.step(inputs, targets)

    expected = w1 + 0.5 * (-0.1 * first) - 0.1 * second
    assert trainer.params.values[0] == pytest.approx(expected, rel=1e-12)
