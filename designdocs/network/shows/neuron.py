"""One neuron as a web page: its inputs, their weights and the trust in them.

    GET /neural_net/_design/network/_show/neuron/1              HTML
    GET /neural_net/_design/network/_show/neuron/1?format=json  JSON
    (or an Accept header that asks for application/json and not text/html)

    {"neuron": "1", "activation": "identity", "increment": 0,
     "inputs": [{"node": "input_x", "weight": 1, "trust": 0.7615941559557649}]}

Trust is tanh(weight); a static input shows its value instead.
"""

import html
from urllib.parse import quote

# ruff: noqa: F821 - `require` is a global the query server gives the function.

STYLE = (
    "body{font-family:sans-serif;margin:2em}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .8em;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
)


def wants_json(req):
    chosen = (req.get("query") or {}).get("format")
    if chosen:
        return chosen == "json"
    headers = {k.lower(): v for k, v in (req.get("headers") or {}).items()}
    accept = headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def describe_input(entry, model):
    node, weight = entry.get("node"), entry.get("weight")
    described = {"node": node, "weight": weight}
    try:
        if node == model.STATIC:
            described["value"] = model.static_value(weight)
        else:
            described["trust"] = model.trust(weight)
    except (model.ModelError, TypeError, ValueError):
        described["problem"] = "weight is not a number"
    return described


def describe(doc, model):
    return {
        "neuron": doc["_id"],
        "activation": doc.get("activation") or "identity",
        "increment": doc.get("increment", 0),
        "inputs": [
            describe_input(e, model) for e in doc["inputs"] if isinstance(e, dict)
        ],
    }


def effect(described):
    if "value" in described:
        return f"value {described['value']:g}"
    if "trust" in described:
        return f"{described['trust']:.6g}"
    return "not a number"


def link(node):
    href = html.escape(quote(str(node), safe=""))
    return f'<a href="{href}">{html.escape(str(node))}</a>'


def input_row(described):
    node = described["node"]
    name = "static" if node == "static" else link(node)
    weight = html.escape(str(described["weight"]))
    return f"<tr><td>{name}</td><td>{weight}</td><td>{effect(described)}</td></tr>"


def page(described):
    title = html.escape(str(described["neuron"]))
    rows = "\n".join(input_row(d) for d in described["inputs"])
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>neuron {title}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>neuron {title}</h1>\n"
        f"<p>activation: {html.escape(str(described['activation']))}, "
        f"increment: {html.escape(str(described['increment']))}</p>\n"
        "<table><tr><th>input</th><th>weight</th><th>trust tanh(weight)</th></tr>\n"
        f"{rows}\n</table>\n</body></html>\n"
    )


def not_found(req, as_json):
    reason = f"no neuron named {req.get('id')!r}"
    if as_json:
        return {"code": 404, "json": {"error": "not_found", "reason": reason}}
    body = f"<!DOCTYPE html>\n<html><body><p>{html.escape(reason)}</p></body></html>\n"
    return {"code": 404, "body": body, "headers": {"Content-Type": "text/html"}}


def neuron(doc, req):
    as_json = wants_json(req)
    if doc is None or not isinstance(doc.get("inputs"), list):
        return not_found(req, as_json)
    described = describe(doc, require("lib/neuron"))
    if as_json:
        return {"json": described}
    headers = {"Content-Type": "text/html; charset=utf-8"}
    return {"body": page(described), "headers": headers}
