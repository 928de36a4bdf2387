"""One row per input of each neuron: key = neuron id, value = the input.

    {"_id": "1", "inputs": [{"node": "input_x", "weight": 1}], "increment": 0}
    -> ("1", {"node": "input_x", "weight": 1, "index": 0})

`index` is the input's position in the document: CouchDB sorts the rows one
document emits under one key by value, so a reader that writes weights back
needs it to find the entry again. A neuron with a non-identity `activation`
repeats it in every value, so the whole network can be read from this one
view with reduce=false.
"""


def inputs(doc):
    entries = doc.get("inputs")
    if not isinstance(entries, list) or doc["_id"].startswith("_design/"):
        return
    activation = doc.get("activation")
    for index, entry in enumerate(entries):
        # A malformed entry (stored before validation) is skipped rather than
        # losing the neuron's other rows.
        node = entry.get("node") if isinstance(entry, dict) else None
        if not isinstance(node, str) or "weight" not in entry:
            continue
        value = {"node": node, "weight": entry["weight"], "index": index}
        if activation and activation != "identity":
            value["activation"] = activation
        yield doc["_id"], value
