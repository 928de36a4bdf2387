"""Reject malformed neurons and training runs before CouchDB stores them.

A neuron (a document with `inputs`) holds a list of {"node": id, "weight": w}
where w is a finite number or a numeric string (static values are often
stored as "474"); `activation`, when set, is one the model knows, and
`increment` is a number. A training run ("type": "training_run") has a
`state` among running/finished/interrupted/failed and a list of `epochs`.
Any other document is left alone.
"""

import json

# ruff: noqa: F821 - `require` and `Forbidden` are globals the query server gives.

RUN_STATES = ("running", "finished", "interrupted", "failed")


def shown(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def input_problem(entry, model):
    """What is wrong with one input entry, or None."""
    if not isinstance(entry, dict):
        return "must be an object {node, weight}"
    node = entry.get("node")
    if not isinstance(node, str) or not node:
        return "node must be a non-empty string"
    if "weight" not in entry:
        return "weight is missing"
    try:
        model.static_value(entry["weight"])
    except model.ModelError:
        return "weight must be a finite number or a numeric string"
    return None


def check_neuron(doc, model):
    name = json.dumps(doc["_id"], ensure_ascii=False)
    if not isinstance(doc["inputs"], list):
        raise Forbidden(f"neuron {name}: inputs must be a list")
    for position, entry in enumerate(doc["inputs"], 1):
        problem = input_problem(entry, model)
        if problem:
            raise Forbidden(
                f"neuron {name}: input {position} {shown(entry)}: {problem}"
            )
    activation = doc.get("activation")
    known_name = isinstance(activation, str) and activation in model.ACTIVATIONS
    if activation is not None and not known_name:
        known = ", ".join(sorted(model.ACTIVATIONS))
        raise Forbidden(f"neuron {name}: activation {shown(activation)} is not {known}")
    if "increment" in doc and not is_number(doc["increment"]):
        raise Forbidden(f"neuron {name}: increment must be a number")


def check_training_run(doc):
    name = json.dumps(doc["_id"], ensure_ascii=False)
    if doc.get("state") not in RUN_STATES:
        states = ", ".join(RUN_STATES)
        found = shown(doc.get("state"))
        raise Forbidden(f"training run {name}: state {found} is not one of {states}")
    if not isinstance(doc.get("epochs"), list):
        raise Forbidden(f"training run {name}: epochs must be a list")


def validate_doc_update(new_doc, old_doc, user_ctx, sec_obj):
    if new_doc.get("_deleted") or new_doc["_id"].startswith("_design/"):
        return
    if new_doc.get("type") == "training_run":
        check_training_run(new_doc)
    elif "inputs" in new_doc:
        check_neuron(new_doc, require("lib/neuron"))
