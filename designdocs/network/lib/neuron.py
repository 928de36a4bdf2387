"""The neuron model, in one place for the design document and the loader.

A neuron is a document whose `inputs` list holds `{"node": id, "weight": w}`.
An input whose node is "static" contributes its weight as a plain value (the
weight may be a numeric string such as "474"); any other input contributes
`output(node) * tanh(weight)`, tanh of the weight being the neuron's trust in
that input. A neuron's output is its optional `activation` applied to the sum.

This module is plain Python with no imports beyond the standard library, so
that a query server can load it with `require("lib/neuron")`.
"""

import math

STATIC = "static"


class ModelError(ValueError):
    """The network, or what was asked of it, does not fit the model."""


ACTIVATIONS = {
    "identity": lambda total: total,
    "tanh": math.tanh,
    "logistic": lambda total: 0.5 * (1.0 + math.tanh(0.5 * total)),
    "relu": lambda total: total if total > 0.0 else 0.0,
}


def activate(name, total):
    """Apply the activation called `name` to a neuron's summed input."""
    try:
        return ACTIVATIONS[name](total)
    except KeyError:
        raise ModelError(f"unknown activation {name!r}") from None


def trust(weight):
    """How much a neuron trusts an input of this weight: tanh(weight)."""
    try:
        return math.tanh(float(weight))
    except (TypeError, ValueError):
        raise ModelError(f"weight {weight!r} is not a number") from None


def slope_sigmoid(y):
    """d tanh(w) / dw expressed through y = tanh(w)."""
    return 1.0 - y * y


def static_value(weight):
    """The value of a static input: a finite number or a numeric string."""
    if isinstance(weight, bool):
        raise ModelError(f"static value {weight!r} is not a number")
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ModelError(f"static value {weight!r} is not a number") from None
    if not math.isfinite(value):
        raise ModelError(f"static value {weight!r} is not finite")
    return value


def add_input(neurons, neuron_id, node, weight, activation=None):
    """Record one input edge of `neuron_id` in a {id: neuron} structure."""
    neuron = neurons.setdefault(neuron_id, {"inputs": [], "activation": "identity"})
    neuron["inputs"].append((node, weight))
    if activation:
        neuron["activation"] = activation


def neurons_from_rows(rows):
    """Build the structure from rows of the `inputs` view (reduce=false)."""
    neurons = {}
    for row in rows:
        value = row["value"]
        add_input(
            neurons, row["key"], value["node"], value["weight"], value.get("activation")
        )
    return neurons


def neurons_from_docs(docs):
    """Build the structure from neuron documents; other documents are skipped."""
    neurons = {}
    for doc in docs:
        if not isinstance(doc.get("inputs"), list):
            continue
        neuron = {"inputs": [], "activation": doc.get("activation") or "identity"}
        neurons[doc["_id"]] = neuron
        for entry in doc["inputs"]:
            neuron["inputs"].append((entry["node"], entry["weight"]))
    return neurons


def is_input(neuron):
    inputs = neuron["inputs"]
    return bool(inputs) and all(node == STATIC for node, _ in inputs)


def input_neurons(neurons):
    """Neurons whose inputs are all static, sorted by id."""
    return sorted(name for name, neuron in neurons.items() if is_input(neuron))


def output_neurons(neurons):
    """Neurons that no other neuron reads, sorted by id."""
    read = {node for n in neurons.values() for node, _ in n["inputs"]}
    return sorted(name for name in neurons if name not in read)


def check_sources(neurons):
    for name, neuron in neurons.items():
        for node, _ in neuron["inputs"]:
            if node != STATIC and node not in neurons:
                raise ModelError(
                    f"neuron {name!r} reads {node!r}, which does not exist"
                )


def topological_order(neurons):
    """Neuron ids with every neuron after the ones it reads.

    Raises ModelError naming the neurons of a cycle when there is one.
    """
    # Each edge links its reader once and counts once (duplicates included).
    readers = {name: [] for name in neurons}
    waiting = {}
    try:
        for name, neuron in neurons.items():
            count = 0
            for node, _ in neuron["inputs"]:
                if node != STATIC:
                    readers[node].append(name)
                    count += 1
            waiting[name] = count
    except KeyError:
        check_sources(neurons)  # raises: a neuron reads one that does not exist
    order = [name for name, count in waiting.items() if count == 0]
    # The list grows while it is read: a neuron joins once its sources have.
    for name in order:
        for reader in readers[name]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                order.append(reader)
    if len(order) < len(neurons):
        cycle = find_cycle(neurons, {n for n, count in waiting.items() if count})
        raise ModelError(
            "the network has a cycle through "
            + " -> ".join(cycle)
            + "; evaluate it in discrete steps"
        )
    return order


def find_cycle(neurons, candidates):
    """One cycle among `candidates` (neurons left over by a topological sort)."""
    start = min(candidates)
    seen = []
    position = {}
    name = start
    while name not in position:
        position[name] = len(seen)
        seen.append(name)
        name = min(node for node, _ in neurons[name]["inputs"] if node in candidates)
    cycle = seen[position[name] :]
    return list(reversed(cycle)) + [cycle[-1]]


def overridden_statics(neurons, inputs):
    """Check `inputs` ({input neuron: value}) and return them as floats."""
    values = {}
    for name, value in (inputs or {}).items():
        if name not in neurons:
            raise ModelError(f"unknown input neuron {name!r}")
        if not is_input(neurons[name]):
            raise ModelError(f"{name!r} is not an input neuron")
        values[name] = static_value(value)
    return values


def neuron_total(neuron, outputs, override=None):
    """The summed input of one neuron, given the outputs of its sources."""
    total = 0.0
    for node, weight in neuron["inputs"]:
        if node != STATIC:
            # trust(weight), inlined: this line runs once per edge.
            try:
                total += outputs[node] * math.tanh(float(weight))
            except (TypeError, ValueError):
                raise ModelError(f"weight {weight!r} is not a number") from None
        elif override is None:
            total += static_value(weight)
    return total if override is None else total + override


def evaluate(neurons, inputs=None, steps=None):
    """Every neuron's output, directly or after `steps` discrete steps.

    Direct evaluation needs an acyclic network. In steps, each neuron's
    output at step t comes from its inputs' outputs at step t-1, all
    starting at 0; enough steps on an acyclic network give the direct result.
    """
    override = overridden_statics(neurons, inputs)
    if steps is None:
        outputs = {}
        for name in topological_order(neurons):
            neuron = neurons[name]
            total = neuron_total(neuron, outputs, override.get(name))
            outputs[name] = activate(neuron["activation"], total)
        return outputs

    check_sources(neurons)
    if int(steps) != steps or steps < 1:
        raise ModelError(f"steps must be a positive whole number, not {steps!r}")
    outputs = dict.fromkeys(neurons, 0.0)
    for _ in range(int(steps)):
        outputs = {
            name: activate(
                neuron["activation"],
                neuron_total(neuron, outputs, override.get(name)),
            )
            for name, neuron in neurons.items()
        }
    return outputs


def evaluate_outputs(neurons, inputs=None, steps=None):
    """The outputs of the output neurons only: {name: value}."""
    outputs = evaluate(neurons, inputs, steps)
    return {name: outputs[name] for name in output_neurons(neurons)}
