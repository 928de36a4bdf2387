"""A network compiled for fast batch evaluation with numpy.

The neuron model (loader.model) evaluates one sample neuron by neuron. Here the
same network is laid out as arrays: neurons get positions in `names`, and the
non-input neurons are grouped into levels whose sources all lie in earlier
levels, so that one level of a batch is one matrix product. For a layered
network built by `couchnet create`, each level is one layer.

Numbers follow the model: a static input adds its value, any other input adds
`output(node) * tanh(weight)`, duplicate edges add up, and a neuron's
activation is applied to its sum (input neurons included).
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter

import numpy as np

from loader.client import Couch, CouchError, NotFound
from loader.model import ModelError, neuron

STATIC = neuron.STATIC
DESIGN = "network"
INPUTS_VIEW = "inputs"

# A level whose dense trust matrix would be this much larger than its edge
# count is evaluated edge by edge instead, so sparse networks stay small.
DENSE_OVERHEAD = 8
DENSE_MIN_CELLS = 1 << 16
CHUNK_CELLS = 1 << 22

QUERY_SERVER_HINT = "register the query server with COUCHDB_QUERY_SERVER_PYTHON"

ACTIVATIONS = {
    "identity": lambda total: total,
    "tanh": np.tanh,
    "logistic": lambda total: 0.5 * (1.0 + np.tanh(0.5 * total)),
    "relu": lambda total: np.maximum(total, 0.0),
}


def logistic_in_place(total: np.ndarray) -> None:
    total *= 0.5
    np.tanh(total, out=total)
    total += 1.0
    total *= 0.5


IN_PLACE = {
    "identity": lambda total: None,
    "tanh": lambda total: np.tanh(total, out=total),
    "logistic": logistic_in_place,
    "relu": lambda total: np.maximum(total, 0.0, out=total),
}

SLOPES = {
    "identity": lambda total, output: np.ones_like(total),
    "tanh": lambda total, output: 1.0 - output * output,
    "logistic": lambda total, output: output * (1.0 - output),
    "relu": lambda total, output: (total > 0.0).astype(float),
}

Ref = tuple[str, int]
FIRST = itemgetter(0)


def natural_key(name: str) -> tuple:
    """Sort "hidden1_10" after "hidden1_9": digit runs compare as numbers."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def check_activation(neuron_id: str, name: str) -> str:
    if name not in ACTIVATIONS:
        raise ModelError(f"neuron {neuron_id!r} has an unknown activation {name!r}")
    return name


def weight_value(neuron_id: str, node: str, weight) -> float:
    """A trusted input's weight as a float; the model's error when it is not."""
    if type(weight) in (float, int):
        return float(weight)
    try:
        neuron.trust(weight)
    except ModelError as exc:
        raise ModelError(f"neuron {neuron_id!r}, input {node!r}: {exc}") from None
    return float(weight)


def activate(groups: dict[str, np.ndarray], totals: np.ndarray) -> np.ndarray:
    """Apply activations to the rows of (neurons, samples) `totals`.

    `groups` maps an activation to the rows it applies to.
    """
    if len(groups) == 1:
        (name,) = groups
        return ACTIVATIONS[name](totals)
    outputs = np.empty_like(totals)
    for name, rows in groups.items():
        outputs[rows] = ACTIVATIONS[name](totals[rows])
    return outputs


def group_by_activation(activations: list[str]) -> dict[str, np.ndarray]:
    groups = defaultdict(list)
    for row, name in enumerate(activations):
        groups[name].append(row)
    return {name: np.array(rows, dtype=np.intp) for name, rows in groups.items()}


def rows_of(positions: np.ndarray) -> slice | np.ndarray:
    """A slice when positions run consecutively, so numpy gives a view, not a copy."""
    if len(positions) and positions[-1] - positions[0] == len(positions) - 1:
        if np.all(np.diff(positions) == 1):
            return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions


@dataclass(eq=False)
class Level:
    """Neurons computed together from the outputs of earlier neurons.

    Positions in `targets` and `sources` index `Network.names`; `edge_source`
    and `edge_target` index `sources` and `targets`. `edge_ref[k]` is
    (neuron id, index in that document's `inputs` list) of edge k, and
    `bias_refs[j]` the same for every static input of target j.

    Values are kept neuron by neuron, (neurons, samples), so that reading a
    level's sources and writing its targets move whole rows; only `slopes`
    works on a Trace's (samples, neurons) arrays, which are transposed views.
    """

    targets: np.ndarray
    sources: np.ndarray
    edge_source: np.ndarray
    edge_target: np.ndarray
    edge_weight: np.ndarray
    edge_ref: list[Ref]
    bias: np.ndarray
    bias_refs: list[list[Ref]]
    activation: list[str]
    groups: dict[str, np.ndarray] = field(init=False)
    dense: bool = field(init=False)
    target_rows: slice | np.ndarray = field(init=False)
    source_rows: slice | np.ndarray = field(init=False)
    _cache: tuple | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.groups = group_by_activation(self.activation)
        cells = len(self.sources) * len(self.targets)
        limit = max(DENSE_OVERHEAD * len(self.edge_weight), DENSE_MIN_CELLS)
        self.dense = cells <= limit
        self.target_rows = rows_of(self.targets)
        self.source_rows = rows_of(self.sources)

    def trust(self) -> np.ndarray:
        return np.tanh(self.edge_weight)

    def trust_matrix(self) -> np.ndarray:
        """Dense (sources, targets) matrix of tanh(weight); duplicates add."""
        return self.trust_rows().T.copy()

    def trust_rows(self) -> np.ndarray:
        """The transposed trust matrix, (targets, sources); do not write into it.

        Kept until `edge_weight` changes (checked by value, so a trainer may
        update the weights in place).
        """
        if self._cache is not None and np.array_equal(self._cache[0], self.edge_weight):
            return self._cache[1]
        shape = (len(self.targets), len(self.sources))
        cells = self.edge_target * shape[1] + self.edge_source
        flat = np.bincount(cells, weights=self.trust(), minlength=shape[0] * shape[1])
        self._cache = (self.edge_weight.copy(), flat.reshape(shape))
        return self._cache[1]

    def neuron_totals(self, source_values: np.ndarray) -> np.ndarray:
        """Summed inputs (targets, samples), given (sources, samples) outputs."""
        if self.dense:
            totals = self.trust_rows() @ source_values
            totals += self.bias[:, None]
            return totals
        return self.sparse_totals(source_values)

    def sparse_totals(self, source_values: np.ndarray) -> np.ndarray:
        samples = source_values.shape[1]
        totals = np.repeat(self.bias[:, None], samples, axis=1)
        if not len(self.edge_weight):
            return totals
        order = np.argsort(self.edge_target, kind="stable")
        edge_target = self.edge_target[order]
        edge_source = self.edge_source[order]
        trust = self.trust()[order][:, None]
        starts = np.flatnonzero(np.diff(edge_target, prepend=-1))
        rows = edge_target[starts]
        width = max(1, CHUNK_CELLS // len(trust))
        for first in range(0, samples, width):
            chunk = source_values[edge_source, first : first + width] * trust
            totals[rows, first : first + width] += np.add.reduceat(chunk, starts, 0)
        return totals

    def neuron_forward(
        self, source_values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        totals = self.neuron_totals(source_values)
        return totals, activate(self.groups, totals)

    def fill(self, values: np.ndarray) -> None:
        """Compute the targets' outputs into their rows of (neurons, samples) values.

        Without a trace to keep, a dense level writes its product straight
        into those rows and activates them in place: no temporary arrays.
        """
        if not (self.dense and isinstance(self.target_rows, slice)):
            values[self.target_rows] = self.neuron_forward(values[self.source_rows])[1]
            return
        rows = values[self.target_rows]
        np.matmul(self.trust_rows(), values[self.source_rows], out=rows)
        rows += self.bias[:, None]
        if len(self.groups) == 1:
            (name,) = self.groups
            IN_PLACE[name](rows)
            return
        for name, group in self.groups.items():
            rows[group] = ACTIVATIONS[name](rows[group])

    def slopes(self, totals: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        """d output / d total for every target, shaped like (samples, targets)."""
        slopes = np.empty_like(totals)
        for name, columns in self.groups.items():
            slopes[:, columns] = SLOPES[name](totals[:, columns], outputs[:, columns])
        return slopes


@dataclass
class Trace:
    """What `Network.forward_levels` computed, kept for a backward pass.

    `outputs` is (samples, neurons) in `Network.names` order; `input_totals`
    the input neurons' values before their activation; `totals[i]` and
    `level_outputs[i]` are (samples, len(levels[i].targets)). Some of these
    are transposed views: copy one before writing into it.
    """

    outputs: np.ndarray
    input_totals: np.ndarray
    totals: list[np.ndarray]
    level_outputs: list[np.ndarray]


class Network:
    """A network laid out for numpy; build it with `from_neurons` or `load_network`.

    `names` lists the neurons (by level, then by natural order of their ids:
    a topological order when the network is acyclic) and `index` maps an id
    to its position. `input_names` and `output_names` are the model's input
    and output neurons in natural order (input_2 before input_10); batches
    give inputs in `input_names` order.
    """

    def __init__(self, neurons: dict[str, dict]):
        neuron.check_sources(neurons)
        self.neurons = neurons
        order, self.cycle_error = sort_neurons(neurons)
        depth = depths(neurons, order) if order else distances(neurons)
        self.names = sorted(neurons, key=lambda name: (depth[name], natural_key(name)))
        self.index = {name: position for position, name in enumerate(self.names)}
        self.input_names = sorted(neuron.input_neurons(neurons), key=natural_key)
        self.output_names = sorted(neuron.output_neurons(neurons), key=natural_key)
        self.input_positions = np.array(
            [self.index[name] for name in self.input_names], dtype=np.intp
        )
        self.output_positions = np.array(
            [self.index[name] for name in self.output_names], dtype=np.intp
        )
        self.input_rows = rows_of(self.input_positions)
        self._workspace = None
        self.input_values = np.array(
            [static_sum(name, neurons[name]) for name in self.input_names], dtype=float
        )
        self.input_groups = group_by_activation(
            [activation_of(name, neurons[name]) for name in self.input_names]
        )
        self.edge_count = sum(
            node != STATIC for n in neurons.values() for node, _ in n["inputs"]
        )
        self._levels = self.build_levels(depth)

    @classmethod
    def from_neurons(cls, neurons: dict[str, dict]) -> Network:
        """From the model's {id: {"inputs": [(node, weight)], "activation": name}}."""
        return cls(neurons)

    @classmethod
    def from_rows(cls, rows: Iterable[dict]) -> Network:
        """From rows of the `inputs` view queried with reduce=false."""
        return cls(neurons_from_rows(rows))

    @property
    def acyclic(self) -> bool:
        return self.cycle_error is None

    @property
    def levels(self) -> list[Level]:
        """Levels in evaluation order; a network with a cycle has none."""
        if self.cycle_error:
            raise ModelError(self.cycle_error)
        return self._levels

    @property
    def step_levels(self) -> list[Level]:
        """The levels used by steps; with a cycle, grouped by distance from inputs."""
        return self._levels

    def build_levels(self, depth: dict[str, int]) -> list[Level]:
        """One level per depth; on a network with a cycle these only serve steps."""
        by_depth = defaultdict(list)
        for name in self.names:
            if depth[name] > 0:
                by_depth[depth[name]].append(name)
        return [self.build_level(by_depth[d]) for d in sorted(by_depth)]

    def build_level(self, targets: list[str]) -> Level:
        source_positions, edge_target, weights, refs = [], [], [], []
        bias, bias_refs = np.zeros(len(targets)), []
        for column, name in enumerate(targets):
            statics = []
            for i, (node, weight) in enumerate(self.neurons[name]["inputs"]):
                if node == STATIC:
                    bias[column] += static_value(name, weight)
                    statics.append((name, i))
                    continue
                source_positions.append(self.index[node])
                edge_target.append(column)
                weights.append(weight_value(name, node, weight))
                refs.append((name, i))
            bias_refs.append(statics)
        source_positions = np.array(source_positions, dtype=np.intp)
        sources = np.unique(source_positions)
        return Level(
            targets=np.array([self.index[name] for name in targets], dtype=np.intp),
            sources=sources,
            edge_source=np.searchsorted(sources, source_positions).astype(np.intp),
            edge_target=np.array(edge_target, dtype=np.intp),
            edge_weight=np.array(weights, dtype=float),
            edge_ref=refs,
            bias=bias,
            bias_refs=bias_refs,
            activation=[activation_of(name, self.neurons[name]) for name in targets],
        )

    def input_matrix(self, inputs=None) -> np.ndarray:
        """(samples, len(input_names)) from an array, a dict of columns or None.

        None gives one sample of the stored static values; a dict may name only
        some input neurons (the others keep their static values).
        """
        if inputs is None:
            return self.input_values[None, :].copy()
        if isinstance(inputs, Mapping):
            return self.columns_matrix(inputs)
        matrix = np.asarray(inputs, dtype=float)
        if matrix.ndim == 1:
            matrix = matrix[None, :]
        if matrix.ndim != 2 or matrix.shape[1] != len(self.input_names):
            raise ModelError(
                f"expected {len(self.input_names)} input columns "
                f"({', '.join(self.input_names)}), got shape {matrix.shape}"
            )
        return matrix

    def columns_matrix(self, columns: Mapping) -> np.ndarray:
        for name in columns:
            if name not in self.index:
                raise ModelError(f"unknown input neuron {name!r}")
            if name not in self.input_names:
                raise ModelError(f"{name!r} is not an input neuron")
        arrays = {name: as_column(name, value) for name, value in columns.items()}
        samples = max((len(a) for a in arrays.values()), default=1)
        matrix = np.tile(self.input_values, (samples, 1))
        for column, name in enumerate(self.input_names):
            if name in arrays:
                matrix[:, column] = arrays[name]
        return matrix

    def forward(self, inputs=None, steps: int | None = None) -> np.ndarray:
        """Every neuron's output, (samples, len(names)) in `names` order.

        Without `steps` the network must be acyclic; with `steps`, outputs at
        step t come from the outputs at step t-1, all starting at 0.
        """
        if steps is None:
            return self.forward_levels(inputs).outputs
        return self.forward_steps(inputs, steps)

    def forward_levels(self, inputs=None) -> Trace:
        """The direct evaluation level by level, keeping every level's totals."""
        input_totals = self.input_matrix(inputs)
        values = np.empty((len(self.names), len(input_totals)))
        return self.fill_levels(input_totals, values)

    def fill_levels(self, input_totals: np.ndarray, values: np.ndarray) -> Trace:
        """Evaluate into `values`, (neurons, samples), level by level."""
        levels = self.levels
        values[self.input_rows] = activate(self.input_groups, input_totals.T)
        trace = Trace(values.T, input_totals, [], [])
        for level in levels:
            totals, outputs = level.neuron_forward(values[level.source_rows])
            values[level.target_rows] = outputs
            trace.totals.append(totals.T)
            trace.level_outputs.append(outputs.T)
        return trace

    def workspace(self, samples: int) -> np.ndarray:
        """A (neurons, samples) buffer kept between calls of `predict`.

        Fresh memory of that size costs more in page faults than the
        arithmetic of a small network, and predict hands out only a copy.
        """
        shape = (len(self.names), samples)
        if self._workspace is None or self._workspace.shape != shape:
            self._workspace = np.empty(shape)
        return self._workspace

    def forward_steps(self, inputs, steps: int) -> np.ndarray:
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ModelError(f"steps must be a positive whole number, not {steps!r}")
        input_totals = self.input_matrix(inputs)
        input_values = activate(self.input_groups, input_totals.T)
        values = np.zeros((len(self.names), len(input_totals)))
        for _ in range(int(steps)):
            previous, values = values, np.empty_like(values)
            values[self.input_rows] = input_values
            for level in self._levels:
                _, outputs = level.neuron_forward(previous[level.source_rows])
                values[level.target_rows] = outputs
        return values.T

    def predict(self, inputs=None, steps: int | None = None) -> np.ndarray:
        """The output neurons' outputs, (samples, len(output_names))."""
        if steps is not None:
            return self.forward_steps(inputs, steps)[:, self.output_positions]
        input_totals = self.input_matrix(inputs)
        values = self.workspace(len(input_totals))
        values[self.input_rows] = activate(self.input_groups, input_totals.T)
        for level in self.levels:
            level.fill(values)
        return values[self.output_positions].T

    def sample_outputs(self, inputs=None, steps: int | None = None) -> dict:
        """{output neuron: value} for one sample."""
        row = self.predict(inputs, steps)[0]
        return dict(zip(self.output_names, row.tolist(), strict=True))


def as_column(name: str, value) -> np.ndarray:
    try:
        column = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise ModelError(f"input {name!r}: {value!r} is not a number") from None
    if column.ndim != 1 or not np.all(np.isfinite(column)):
        raise ModelError(f"input {name!r}: {value!r} is not a finite number")
    return column


def static_value(name: str, weight) -> float:
    try:
        return neuron.static_value(weight)
    except ModelError as exc:
        raise ModelError(f"neuron {name!r}: {exc}") from None


def static_sum(name: str, entry: dict) -> float:
    return sum(static_value(name, weight) for _, weight in entry["inputs"])


def activation_of(name: str, entry: dict) -> str:
    return check_activation(name, entry.get("activation") or "identity")


def sort_neurons(neurons: dict[str, dict]) -> tuple[list[str] | None, str | None]:
    """(topological order, None), or (None, the model's cycle error)."""
    try:
        return neuron.topological_order(neurons), None
    except ModelError as exc:
        return None, str(exc)


def sources_of(entry: dict) -> set[str]:
    return {node for node, _ in entry["inputs"] if node != STATIC}


def depths(neurons: dict[str, dict], order: list[str]) -> dict[str, int]:
    """0 for input neurons; otherwise one more than the deepest source."""
    depth = {}
    for name in order:
        entry = neurons[name]
        if neuron.is_input(entry):
            depth[name] = 0
        else:
            depth[name] = 1 + max((depth[s] for s in sources_of(entry)), default=0)
    return depth


def distances(neurons: dict[str, dict]) -> dict[str, int]:
    """Distance from the input neurons: what stands in for depth with a cycle.

    It still groups a layered network with a cycle by its layers.
    """
    readers = defaultdict(list)
    for name, entry in neurons.items():
        for source in sources_of(entry):
            readers[source].append(name)
    distance = {name: 0 for name in neurons if neuron.is_input(neurons[name])}
    queue = deque(distance)
    while queue:
        name = queue.popleft()
        for reader in readers[name]:
            if reader not in distance:
                distance[reader] = distance[name] + 1
                queue.append(reader)
    unreached = 1 + max(distance.values(), default=0)
    return {name: distance.get(name, unreached) for name in neurons}


def neurons_from_rows(rows: Iterable[dict]) -> dict[str, dict]:
    """The model's structure from `inputs` view rows (reduce=false).

    CouchDB sorts the rows one document emits under one key by value, not by
    position; when every row of a neuron carries its position as "index", its
    inputs are put back in document order so that `edge_ref` points at the
    right list entry.
    """
    neurons, places = {}, {}
    for row in rows:
        # The model's add_input, inlined: this loop runs once per edge.
        value = row["value"]
        name = row["key"]
        entry = neurons.get(name)
        if entry is None:
            entry = neurons[name] = {"inputs": [], "activation": "identity"}
            places[name] = []
        entry["inputs"].append((value["node"], value["weight"]))
        places[name].append(value.get("index"))
        if value.get("activation"):
            entry["activation"] = value["activation"]
    for name, indexes in places.items():
        if indexes != list(range(len(indexes))) and None not in indexes:
            entry = neurons[name]
            pairs = zip(indexes, entry["inputs"], strict=True)
            entry["inputs"] = [edge for _, edge in sorted(pairs, key=FIRST)]
    return neurons


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a network is loaded (and evaluated).

    A load makes a few objects per edge and no cycles; left running, the
    collector walks the growing structure again and again, which costs about
    as much as parsing it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_neurons(couch: Couch) -> dict[str, dict]:
    """The network's structure, read with one streamed query of the inputs view."""
    try:
        with collector_paused():
            batches = couch.stream_view(DESIGN, INPUTS_VIEW, reduce=False)
            neurons = neurons_from_rows(chain.from_iterable(batches))
    except NotFound as exc:
        raise ModelError(missing_network_reason(couch, exc)) from None
    except CouchError as exc:
        if not runs_no_python(exc):
            raise
        reason = (
            f"{exc.reason}; the server does not run Python views: {QUERY_SERVER_HINT}"
        )
        raise CouchError(exc.status, exc.error, reason) from None
    if not neurons:
        raise ModelError(
            f"database {couch.db!r} holds no neurons; "
            "create a network with `couchnet create` or `couchnet import`"
        )
    return neurons


def runs_no_python(exc: CouchError) -> bool:
    """Whether an error says the server has no query server for Python."""
    text = f"{exc.error} {exc.reason}".lower()
    return any(word in text for word in ("query_language", "os_process"))


def missing_network_reason(couch: Couch, exc: NotFound) -> str:
    if not couch.db_exists():
        return (
            f"database {couch.db!r} does not exist; "
            "create a network with `couchnet create` or `couchnet import`"
        )
    return (
        f"the design document _design/{DESIGN} or its {INPUTS_VIEW!r} view is "
        f"missing ({exc.reason or exc.error}); deploy it with `couchnet push`"
    )


def load_network(couch: Couch) -> Network:
    """The stored network, compiled; one HTTP request whatever its size."""
    return Network.from_neurons(load_neurons(couch))
