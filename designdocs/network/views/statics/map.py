"""Neurons with static inputs, and the values of those inputs.

    {"_id": "input_x", "inputs": [{"node": "static", "weight": "474"}]}
    -> ("input_x", {"value": "474", "kind": "input"})

`kind` is "input" for an input neuron (all of its inputs static) and "bias"
for a static input of any other neuron. Values are given as stored, numeric
strings included.
"""


def statics(doc):
    entries = doc.get("inputs")
    if not isinstance(entries, list) or doc["_id"].startswith("_design/"):
        return
    entries = [e for e in entries if isinstance(e, dict) and "node" in e]
    all_static = entries and all(e["node"] == "static" for e in entries)
    kind = "input" if all_static else "bias"
    for entry in entries:
        if entry["node"] == "static" and "weight" in entry:
            yield doc["_id"], {"value": entry["weight"], "kind": kind}
