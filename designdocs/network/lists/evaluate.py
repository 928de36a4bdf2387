"""Evaluate the whole network inside CouchDB, over the `inputs` view.

    GET .../_design/network/_list/evaluate/inputs?reduce=false&input_x=0.5&input_y=-1
    -> {"outputs": {"output_x": 0.123}}

Every query parameter that is not a view parameter names an input neuron and
replaces its static values for this evaluation; `steps=T` evaluates a network
with a cycle in T discrete steps. The model is lib/neuron.py, the same file
`couchnet eval` uses.

CouchDB sends a list's status before its first row, so only what the query
alone shows (a value that is not a number, a bad `steps`, reduce not false) is
a 400. What needs the rows (an unknown input name, a cycle without `steps`, a
source that does not exist) comes back as {"error": "bad_request", "reason"}
in the body of a 200 response.
"""

import json

# ruff: noqa: F821 - `require`, `start`, `send`, `get_row` are the query server's.

VIEW_PARAMETERS = {
    "att_encoding_info",
    "attachments",
    "conflicts",
    "descending",
    "end_key",
    "end_key_doc_id",
    "endkey",
    "endkey_docid",
    "group",
    "group_level",
    "include_docs",
    "inclusive_end",
    "key",
    "keys",
    "limit",
    "reduce",
    "skip",
    "sorted",
    "stable",
    "stale",
    "start_key",
    "start_key_doc_id",
    "startkey",
    "startkey_docid",
    "update",
    "update_seq",
}
JSON_HEADERS = {"Content-Type": "application/json"}


class BadQuery(Exception):
    pass


def error_body(reason):
    return json.dumps({"error": "bad_request", "reason": reason})


def positive_whole(text):
    # isdigit() alone would pass "²", which int() refuses; a repeated
    # parameter may arrive as a list.
    number = int(text) if isinstance(text, str) and text.isdecimal() else 0
    if number < 1:
        raise BadQuery(f"steps must be a positive whole number, not {text!r}")
    return number


def read_query(query, model):
    """(inputs as floats, steps or None) from the query string."""
    if query.get("reduce") != "false":
        raise BadQuery("query the inputs view with reduce=false")
    steps = query.get("steps")
    if steps is not None:
        steps = positive_whole(steps)
    inputs = {}
    for name, value in query.items():
        if name in VIEW_PARAMETERS or name == "steps":
            continue
        try:
            inputs[name] = model.static_value(value)
        except model.ModelError:
            raise BadQuery(f"input {name!r}: {value!r} is not a number") from None
    return inputs, steps


def rows():
    while (row := get_row()) is not None:
        yield row


def outputs_text(neurons, inputs, steps, model):
    try:
        outputs = model.evaluate_outputs(neurons, inputs, steps)
        return json.dumps({"outputs": outputs}, allow_nan=False)
    except model.ModelError as exc:
        return error_body(str(exc))
    except ValueError:
        return error_body("an output is not a finite number")


def evaluate(head, req):
    model = require("lib/neuron")
    try:
        inputs, steps = read_query(req.get("query") or {}, model)
    except BadQuery as exc:
        start({"code": 400, "headers": JSON_HEADERS})
        send(error_body(str(exc)))
        return
    start({"headers": JSON_HEADERS})
    try:
        neurons = model.neurons_from_rows(rows())
    except (KeyError, TypeError):
        send(error_body("rows are not inputs: use the inputs view"))
        return
    send(outputs_text(neurons, inputs, steps, model))
