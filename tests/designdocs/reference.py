"""An independent evaluation of neuron documents, for checking the design
functions and `couchnet eval` against: plain recursion and plain loops over
the documents, sharing no code with lib/neuron.py."""

import math


def squash(name, total):
    if name in (None, "identity"):
        return total
    if name == "tanh":
        return math.tanh(total)
    if name == "logistic":
        return 1.0 / (1.0 + math.exp(-total)) if total > -700 else 0.0
    if name == "relu":
        return max(total, 0.0)
    raise ValueError(name)


def summed(doc, output_of, inputs):
    entries = doc["inputs"]
    if doc["_id"] in inputs and all(e["node"] == "static" for e in entries):
        return float(inputs[doc["_id"]])
    total = 0.0
    for entry in entries:
        if entry["node"] == "static":
            total += float(entry["weight"])
        else:
            total += output_of(entry["node"]) * math.tanh(float(entry["weight"]))
    return total


def output_names(docs):
    read = {e["node"] for doc in docs for e in doc["inputs"]}
    return sorted(doc["_id"] for doc in docs if doc["_id"] not in read)


def reference_outputs(docs, inputs=None, steps=None):
    """{output neuron: value}; in `steps` discrete steps when given."""
    inputs = inputs or {}
    by_id = {doc["_id"]: doc for doc in docs}
    if steps is None:
        memo = {}

        def output_of(name):
            if name not in memo:
                doc = by_id[name]
                memo[name] = squash(
                    doc.get("activation"), summed(doc, output_of, inputs)
                )
            return memo[name]

    else:
        previous = dict.fromkeys(by_id, 0.0)
        for _ in range(steps):
            previous = {
                name: squash(doc.get("activation"), summed(doc, previous.get, inputs))
                for name, doc in by_id.items()
            }

        def output_of(name):
            return previous[name]

    return {name: output_of(name) for name in output_names(docs)}
