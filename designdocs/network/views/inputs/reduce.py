"""Collect one neuron's inputs; summarise anything that spans several neurons.

A reduction has one of three shapes:

    {"neuron": "1", "inputs": [["input_x", 1], ["input_y", -1]]}
    {"neuron": "o", "count": 900}          one neuron, too many inputs to list
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

Why a list longer than LISTABLE bytes becomes a count: the query server
rejects (reduce_limit) an output above 4096 bytes that is not less than half
its input, and CouchDB's cluster coordinator rereduces every grouped row,
even a single one, whose output a list then is as long as its input. The
choice depends on the neuron's inputs alone, so every server answers alike;
the inputs of a neuron that is counted stay readable with reduce=false.
"""

import json

# Lists up to this many bytes of JSON never trip reduce_limit, whatever the
# input.
LISTABLE = 4000
# A JSON encoder may spell a float 2 bytes longer than Python does
# ("0.00001" for "1e-05"): counted for every weight.
FLOAT_SLACK = 2


def json_size(value):
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def input_order(pair):
    node, weight = pair
    return (str(node), type(weight).__name__, str(weight))


def one_neuron(neuron, pairs, activation):
    """The list form when it is small enough, else the count form."""
    reduction = {"neuron": neuron, "inputs": sorted(pairs, key=input_order)}
    if activation:
        reduction["activation"] = activation
    # The reply wraps reductions in a list: 2 more bytes.
    size = json_size(reduction) + 2 + FLOAT_SLACK * len(pairs)
    if size <= LISTABLE:
        return reduction
    return {"neuron": neuron, "count": len(pairs)}


def reduce_rows(keys, values):
    neurons = {key for key, _ in keys}
    if len(neurons) != 1:
        return {"neurons": len(neurons), "count": len(values)}
    pairs = [[value["node"], value["weight"]] for value in values]
    activation = next((v["activation"] for v in values if "activation" in v), None)
    return one_neuron(neurons.pop(), pairs, activation)


def count_of(reduction):
    if "inputs" in reduction:
        return len(reduction["inputs"])
    return reduction["count"]


def merge_pieces(pieces):
    """Pieces of one neuron's reduction, from separate reduce calls."""
    neuron = pieces[0]["neuron"]
    if any("inputs" not in piece for piece in pieces):
        return {"neuron": neuron, "count": sum(count_of(p) for p in pieces)}
    pairs = [pair for piece in pieces for pair in piece["inputs"]]
    activation = next((p["activation"] for p in pieces if "activation" in p), None)
    return one_neuron(neuron, pairs, activation)


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
        return merge_pieces(next(iter(by_neuron.values())))
    for pieces in by_neuron.values():
        count += sum(count_of(piece) for piece in pieces)
    return {"neurons": neurons + len(by_neuron), "count": count}


def reduce(keys, values, rereduce):
    if rereduce:
        return rereduce_reductions(values)
    return reduce_rows(keys, values)
