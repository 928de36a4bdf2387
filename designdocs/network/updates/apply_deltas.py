"""Add weight deltas to one neuron's inputs in a single atomic write.

    POST /neural_net/_design/network/_update/apply_deltas/hidden1_0
    {"deltas": {"input_0": -0.02, "static": 0.01}}
    -> {"ok": true, "neuron": "hidden1_0", "increment": 8,
        "weights": {"input_0": 0.48, "static": 0.31}}

Each source names the input whose weight gets the delta ("static" for a
static input). `increment` goes up by one. Nothing changes unless every delta
applies: an unknown source, a source read twice, or a delta that is not a
number is a 400; a missing neuron is a 404. Two callers updating the same
neuron at once get a 409 for the later write, which retries; no delta is lost.
"""

import json
import math

# ruff: noqa: F821 - `require` is a global the query server gives the function.


class Refusal(Exception):
    def __init__(self, code, error, reason):
        super().__init__(reason)
        self.response = {"code": code, "json": {"error": error, "reason": reason}}


def requested_deltas(req):
    body = req.get("body")
    try:
        request = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        raise Refusal(400, "bad_request", "the body is not JSON") from None
    deltas = request.get("deltas") if isinstance(request, dict) else None
    if not isinstance(deltas, dict):
        raise Refusal(400, "bad_request", 'the body must be {"deltas": {source: dw}}')
    for source, delta in deltas.items():
        finite = isinstance(delta, int | float) and math.isfinite(delta)
        if isinstance(delta, bool) or not finite:
            reason = f"delta for {source!r} is {json.dumps(delta)}, not a number"
            raise Refusal(400, "bad_request", reason)
    return deltas


def input_positions(doc, deltas):
    """{source: index in doc["inputs"]}, refusing unknown or ambiguous ones."""
    found = {}
    for index, entry in enumerate(doc["inputs"]):
        node = entry.get("node") if isinstance(entry, dict) else None
        if isinstance(node, str) and node in deltas:
            found.setdefault(node, []).append(index)
    unknown = sorted(set(deltas) - set(found))
    if unknown:
        reason = f"neuron {doc['_id']!r} has no input from {', '.join(unknown)}"
        raise Refusal(400, "bad_request", reason)
    twice = sorted(source for source, indexes in found.items() if len(indexes) > 1)
    if twice:
        reason = f"neuron {doc['_id']!r} reads {', '.join(twice)} more than once"
        raise Refusal(400, "bad_request", reason)
    return {source: indexes[0] for source, indexes in found.items()}


def new_weights(doc, deltas, positions, model):
    weights = {}
    for source, index in positions.items():
        weight = doc["inputs"][index]["weight"]
        try:
            weights[source] = model.static_value(weight) + deltas[source]
        except model.ModelError as exc:
            raise Refusal(400, "bad_request", f"input {source!r}: {exc}") from None
    return weights


def apply_deltas(doc, req):
    model = require("lib/neuron")
    try:
        if doc is None or not isinstance(doc.get("inputs"), list):
            reason = f"no neuron named {req.get('id')!r}"
            raise Refusal(404, "not_found", reason)
        deltas = requested_deltas(req)
        positions = input_positions(doc, deltas)
        weights = new_weights(doc, deltas, positions, model)
    except Refusal as refusal:
        return None, refusal.response

    for source, index in positions.items():
        doc["inputs"][index]["weight"] = weights[source]
    increment = doc.get("increment")
    counted = isinstance(increment, int | float) and not isinstance(increment, bool)
    doc["increment"] = (increment if counted else 0) + 1
    reply = {"ok": True, "neuron": doc["_id"], "increment": doc["increment"]}
    return doc, {"json": dict(reply, weights=weights)}
