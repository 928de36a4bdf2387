"""The reverse edges: key = source neuron, value = the neuron that reads it.

    {"_id": "1", "inputs": [{"node": "input_x", "weight": 1}]}
    -> ("input_x", {"node": "1", "weight": 1})

Static inputs have no source neuron and are left out (see the statics view).
"""


def consumers(doc):
    entries = doc.get("inputs")
    if not isinstance(entries, list) or doc["_id"].startswith("_design/"):
        return
    for entry in entries:
        if not isinstance(entry, dict) or "node" not in entry or "weight" not in entry:
            continue
        if entry["node"] != "static":
            yield entry["node"], {"node": doc["_id"], "weight": entry["weight"]}
