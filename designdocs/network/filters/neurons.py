"""A `_changes` filter passing neuron documents only.

    GET /neural_net/_changes?filter=network/neurons

Deletions carry no body, so they cannot be told apart and are left out.
"""


def neurons(doc, req):
    return isinstance(doc.get("inputs"), list) and not doc["_id"].startswith("_design/")
