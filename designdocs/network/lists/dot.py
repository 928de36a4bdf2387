"""The `inputs` view as a Graphviz DOT graph, one edge per non-static input.

    curl '.../_design/network/_list/dot/inputs?reduce=false' | dot -Tsvg > net.svg

    digraph network {
      "input_x" -> "1" [label="1"];
      "input_x" [shape=box, label="input_x\\nstatic 474"];
      "1" [shape=ellipse];
    }

Edge labels are the weights as stored. Neurons with static inputs list their
values (input neurons are boxes), output neurons are double circles.
"""

# ruff: noqa: F821 - `start`, `send` and `get_row` are the query server's.


def quoted(text):
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def weight_text(weight):
    return weight if isinstance(weight, str) else repr(weight)


def declaration(name, statics, reads, sources):
    shape = "ellipse"
    if name in statics and not reads.get(name):
        shape = "box"
    elif name not in sources:
        shape = "doublecircle"
    attributes = [f"shape={shape}"]
    if name in statics:
        values = " ".join(weight_text(w) for w in statics[name])
        # \n inside a DOT label is a line break; the backslash must stay literal.
        label = quoted(name)[:-1] + "\\nstatic " + quoted(values)[1:]
        attributes.append(f"label={label}")
    return f"  {quoted(name)} [{', '.join(attributes)}];\n"


def refuse_reduced(req):
    if (req.get("query") or {}).get("reduce") == "false":
        return False
    start({"code": 400, "headers": {"Content-Type": "application/json"}})
    send('{"error":"bad_request","reason":"query the inputs view with reduce=false"}')
    return True


def dot(head, req):
    if refuse_reduced(req):
        return
    start({"headers": {"Content-Type": "text/vnd.graphviz; charset=utf-8"}})
    send("digraph network {\n  rankdir=LR;\n")
    statics, reads, sources = {}, {}, set()
    while (row := get_row()) is not None:
        neuron, value = row["key"], row["value"]
        node = value["node"]
        if node == "static":
            statics.setdefault(neuron, []).append(value["weight"])
            continue
        reads[neuron] = True
        sources.add(node)
        label = quoted(weight_text(value["weight"]))
        send(f"  {quoted(node)} -> {quoted(neuron)} [label={label}];\n")
    for name in sorted(set(statics) | set(reads) | sources):
        send(declaration(name, statics, reads, sources))
    send("}\n")
