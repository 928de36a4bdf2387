"""Backpropagation of the squared error through the neuron model.

A trusted input adds `output(source) * tanh(weight)` to its neuron's total,
so the loss moves with its weight through the trust:

    dL/dw = dL/dtrust * slope_sigmoid(tanh(w)),  dL/dtrust = output(source) * dL/dtotal

Static inputs of non-input neurons add their value unchanged: they are biases,
trained with dL/dbias = dL/dtotal. Static inputs of input neurons are data.
The loss is the mean over samples and output neurons of (output - target)^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loader.model import neuron
from loader.network import CHUNK_CELLS, Level, Network, Ref


@dataclass
class Parameters:
    """A network's trainable numbers, flat, and where each one is stored.

    `refs[k]` is (neuron id, index in its `inputs` list) of parameter k. Each
    level's edge weights come first, as one slice, then its biases; the
    levels' `edge_weight` arrays are views into `values`, so a change made
    here is what the next forward pass uses (biases need `refresh`).
    """

    values: np.ndarray
    refs: list[Ref]
    edge_slices: list[slice]
    bias_params: list[np.ndarray]
    bias_targets: list[np.ndarray]

    def refresh(self, levels: list[Level]) -> None:
        """Tie the levels to `values` again after it was replaced or changed."""
        for level, edges, params, targets in zip(
            levels, self.edge_slices, self.bias_params, self.bias_targets, strict=True
        ):
            level.edge_weight = self.values[edges]
            bias = np.bincount(
                targets, weights=self.values[params], minlength=len(level.targets)
            )
            level.bias = bias.astype(float, copy=False)


def parameters_of(network: Network) -> Parameters:
    """Collect every weight and bias of an acyclic network; ties its levels."""
    values, refs, edge_slices, bias_params, bias_targets = [], [], [], [], []
    for level in network.levels:
        start = len(refs)
        values.extend(level.edge_weight.tolist())
        refs.extend(level.edge_ref)
        edge_slices.append(slice(start, len(refs)))

        positions, targets = [], []
        for column, statics in enumerate(level.bias_refs):
            for ref in statics:
                positions.append(len(refs))
                targets.append(column)
                refs.append(ref)
                values.append(static_weight(network, ref))
        bias_params.append(np.array(positions, dtype=np.intp))
        bias_targets.append(np.array(targets, dtype=np.intp))

    params = Parameters(
        np.array(values, dtype=float), refs, edge_slices, bias_params, bias_targets
    )
    params.refresh(network.levels)
    return params


def static_weight(network: Network, ref: Ref) -> float:
    name, index = ref
    _, weight = network.neurons[name]["inputs"][index]
    return neuron.static_value(weight)


def loss_and_gradient(
    network: Network, params: Parameters, inputs: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray]:
    """The mean squared error on a batch and its gradient for `params.values`."""
    levels = network.levels
    trace = network.forward_levels(inputs)
    error = trace.outputs[:, network.output_positions] - targets
    loss = float(np.mean(error * error))

    d_outputs = np.zeros_like(trace.outputs)
    d_outputs[:, network.output_positions] = 2.0 * error / error.size
    gradient = np.zeros_like(params.values)
    for i in reversed(range(len(levels))):
        level = levels[i]
        slopes = level.slopes(trace.totals[i], trace.level_outputs[i])
        d_totals = d_outputs[:, level.targets] * slopes
        d_trust, d_sources = backward(level, trace.outputs[:, level.sources], d_totals)
        gradient[params.edge_slices[i]] = d_trust * neuron.slope_sigmoid(level.trust())
        gradient[params.bias_params[i]] = d_totals.sum(axis=0)[params.bias_targets[i]]
        d_outputs[:, level.sources] += d_sources
    return loss, gradient


def backward(
    level: Level, source_outputs: np.ndarray, d_totals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """dL/dtrust per edge and dL/doutput per source, given dL/dtotal."""
    if level.dense:
        d_matrix = source_outputs.T @ d_totals
        cells = level.edge_source * len(level.targets) + level.edge_target
        d_trust = np.take(d_matrix, cells)
        return d_trust, d_totals @ level.trust_rows()
    return sparse_backward(level, source_outputs, d_totals)


def sparse_backward(
    level: Level, source_outputs: np.ndarray, d_totals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edge by edge, in chunks of samples, for levels too sparse for a matrix."""
    samples = len(source_outputs)
    d_trust = np.zeros(len(level.edge_weight))
    d_sources = np.zeros((samples, len(level.sources)))
    if not len(d_trust):
        return d_trust, d_sources

    order = np.argsort(level.edge_source, kind="stable")
    edge_source = level.edge_source[order]
    starts = np.flatnonzero(np.diff(edge_source, prepend=-1))
    columns = edge_source[starts]
    trust = level.trust()
    rows = max(1, CHUNK_CELLS // len(trust))
    for first in range(0, samples, rows):
        chunk = slice(first, first + rows)
        d_edges = d_totals[chunk][:, level.edge_target]
        d_trust += np.einsum(
            "ne,ne->e", source_outputs[chunk][:, level.edge_source], d_edges
        )
        per_edge = (d_edges * trust)[:, order]
        d_sources[chunk, columns] = np.add.reduceat(per_edge, starts, axis=1)
    return d_trust, d_sources


class Trainer:
    """Mini-batch gradient descent with momentum on a compiled network."""

    def __init__(self, network: Network, learning_rate: float, momentum: float):
        self.network = network
        self.params = parameters_of(network)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocity = np.zeros_like(self.params.values)

    def step(self, inputs: np.ndarray, targets: np.ndarray) -> float:
        """One update from one batch; returns the batch's loss before it."""
        loss, gradient = loss_and_gradient(self.network, self.params, inputs, targets)
        self.velocity *= self.momentum
        self.velocity -= self.learning_rate * gradient
        self.params.values += self.velocity
        self.params.refresh(self.network.levels)
        return loss

    def set_values(self, values: np.ndarray) -> None:
        """Take weights from elsewhere (the database), keeping the momentum."""
        self.params.values[:] = values
        self.params.refresh(self.network.levels)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.network.predict(inputs)
