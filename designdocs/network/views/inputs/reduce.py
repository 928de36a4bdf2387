"""Collect one neuron's inputs; summarise anything that spans several neurons.

A reduction has one of three shapes:

    {"neuron": "1", "inputs": [["input_x", 1], ["input_y", -1]]}
    {"neuron": "1", "count": 900}          one neuron, too large to list
    {"neurons": 3, "count": 7}             several neurons, count = inputs

With group=true each neuron gets its inputs as one flat list of
[node, weight] pairs (plus "activation" when the neuron has one), sorted so
that the answer does not depend on the order rows reach the reduce. A range
or group_level=0 gets the summary, which stays a few bytes however many
neurons it covers, so the inner nodes of CouchDB's b-tree stay small.

Why the neuron count is exact: CouchDB stores every row one document emits
under one key as a single b-tree entry, so a reduce call sees all rows of a
neuron or none of them; pieces of one neuron that do meet in a rereduce are
merged by id. The result depends on neither the order nor the grouping of
the values, as CouchDB's b-tree, its cluster and devcouch group them.

Why the list form gives way to a count: query servers reject (reduce_limit)
an output above 4096 bytes that is more than half its input, and a list of
inputs is close to the size of its input. Pairs keep a neuron with hundreds
of inputs well within that; past it the count is returned (and logged), and
the inputs remain readable with reduce=false.
"""

import json

# ruff: noqa: F821 - `log` is a global the query server gives the function.

# Below this many bytes of JSON a reduction never trips reduce_limit.
ALWAYS_SAFE = 4000
# reduce_limit's default ratio: output times this must not exceed the input.
LIMIT_RATIO = 2
# Python may spell a float up to 2 characters longer than the query server
# ("1e-05" for "1e-5"): the input is measured short by that much per input.
FLOAT_SLACK = 2


def json_text(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def input_order(pair):
    node, weight = pair
    return (str(node), type(weight).__name__, str(weight))


def listed(neuron, pairs, activation):
    reduction = {"neuron": neuron, "inputs": sorted(pairs, key=input_order)}
    if activation:
        reduction["activation"] = activation
    return reduction


def output_size(reduction):
    # Bytes here and characters for the input: whichever unit a query server
    # counts in, the output is not underestimated, nor the input overestimated.
    # The reply wraps reductions in a list: 2 more bytes.
    return len(json_text(reduction).encode()) + 2


def one_neuron(neuron, pairs, activation, input_of):
    """The list form when it is safe to send, else the count form."""
    reduction = listed(neuron, pairs, activation)
    size = output_size(reduction)
    if size <= ALWAYS_SAFE:
        return reduction
    input_size = len(json_text(input_of())) - FLOAT_SLACK * len(pairs)
    if size * LIMIT_RATIO <= input_size:
        return reduction
    log(f"inputs of {neuron!r}: {len(pairs)} inputs are counted, not listed")
    return {"neuron": neuron, "count": len(pairs)}


def reduce_rows(keys, values):
    neurons = {key for key, _ in keys}
    if len(neurons) != 1:
        return {"neurons": len(neurons), "count": len(values)}
    pairs = [[value["node"], value["weight"]] for value in values]
    activation = next((v["activation"] for v in values if "activation" in v), None)
    return one_neuron(neurons.pop(), pairs, activation, lambda: [keys, values])


def count_of(reduction):
    if "inputs" in reduction:
        return len(reduction["inputs"])
    return reduction["count"]


def merge_pieces(pieces, reductions):
    """Pieces of one neuron's reduction, from separate reduce calls."""
    neuron = pieces[0]["neuron"]
    if any("inputs" not in piece for piece in pieces):
        return {"neuron": neuron, "count": sum(count_of(p) for p in pieces)}
    pairs = [pair for piece in pieces for pair in piece["inputs"]]
    activation = next((p["activation"] for p in pieces if "activation" in p), None)
    return one_neuron(neuron, pairs, activation, lambda: reductions)


def rereduce_reductions(reductions):
    by_neuron = {}
    neurons = count = 0
    for reduction in reductions:
        if "neurons" in reduction:
            neurons += reduction["neurons"]
            count += reduction["count"]
        else:
            by_neuron.setdefault(reduction["neuron"], []).append(reduction)
    if neurons == 0 and len(by_neuron) == 1:
        return merge_pieces(next(iter(by_neuron.values())), reductions)
    for pieces in by_neuron.values():
        count += sum(count_of(piece) for piece in pieces)
    return {"neurons": neurons + len(by_neuron), "count": count}


def reduce(keys, values, rereduce):
    if rereduce:
        return rereduce_reductions(values)
    return reduce_rows(keys, values)
