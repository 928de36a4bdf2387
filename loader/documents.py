"""Neuron documents in bulk: build a layered network, import, export, write."""

from __future__ import annotations

from typing import Any

import numpy as np

from loader.client import Couch, CouchError
from loader.model import ModelError, neuron
from loader.network import natural_key

ACTIVATIONS = tuple(neuron.ACTIVATIONS)
STATUS_BY_ERROR = {"unauthorized": 401, "forbidden": 403, "conflict": 409}


def is_neuron(doc: dict | None) -> bool:
    return (
        isinstance(doc, dict)
        and not doc["_id"].startswith("_design/")
        and isinstance(doc.get("inputs"), list)
    )


def neuron_docs(couch: Couch) -> list[dict]:
    """Every neuron document of the database (none when it does not exist)."""
    if not couch.db_exists():
        return []
    rows = couch.all_docs(include_docs=True)
    docs = [row["doc"] for row in rows if row.get("doc")]
    return sorted(
        (doc for doc in docs if is_neuron(doc)), key=lambda d: natural_key(d["_id"])
    )


def layer_names(sizes: list[int]) -> list[list[str]]:
    """input_0.., hidden1_0.., hidden2_0.., output_0..: one list per layer."""
    prefixes = ["input"] + [f"hidden{i}" for i in range(1, len(sizes) - 1)] + ["output"]
    return [
        [f"{prefix}_{i}" for i in range(size)]
        for prefix, size in zip(prefixes, sizes, strict=True)
    ]


def layered_edge_count(sizes: list[int]) -> int:
    """The edges between the layers of a fully connected network, biases aside."""
    return sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))


def layered_docs(
    sizes: list[int], activation: str = "identity", seed: int | None = None
) -> list[dict]:
    """A fully connected layered network, one document per neuron.

    Every non-input neuron reads the whole layer before it plus a static bias.
    Weights are normal with standard deviation 1/sqrt(inputs), so that a
    neuron's summed input has about the variance of one input and tanh
    neurons start away from saturation.
    """
    if len(sizes) < 2 or min(sizes) < 1:
        raise ModelError("a network needs at least two layers of one neuron or more")
    if activation not in ACTIVATIONS:
        raise ModelError(f"unknown activation {activation!r}")
    rng = np.random.default_rng(seed)
    layers = layer_names(sizes)
    docs = [neuron_doc(name, [static_input(0.0)]) for name in layers[0]]
    for previous, layer in zip(layers, layers[1:], strict=False):
        weights = rng.normal(
            0.0, 1.0 / np.sqrt(len(previous)), (len(layer), len(previous))
        )
        biases = rng.normal(0.0, 0.1, len(layer))
        for name, row, bias in zip(
            layer, weights.tolist(), biases.tolist(), strict=True
        ):
            inputs = [
                {"node": source, "weight": w}
                for source, w in zip(previous, row, strict=True)
            ]
            docs.append(neuron_doc(name, inputs + [static_input(bias)], activation))
    return docs


def static_input(value: float) -> dict:
    return {"node": neuron.STATIC, "weight": value}


def neuron_doc(name: str, inputs: list[dict], activation: str = "identity") -> dict:
    doc = {"_id": name, "inputs": inputs, "increment": 0}
    if activation != "identity":
        doc["activation"] = activation
    return doc


def replace_network(couch: Couch, docs: list[dict], existing: list[dict]) -> dict:
    """Write `docs` over the `existing` neurons in one request; drop the rest."""
    revs = {doc["_id"]: doc["_rev"] for doc in existing}
    batch = [with_rev(doc, revs.get(doc["_id"])) for doc in docs]
    kept = {doc["_id"] for doc in docs}
    batch += [
        {"_id": name, "_rev": rev, "_deleted": True}
        for name, rev in revs.items()
        if name not in kept
    ]
    write_docs(couch, batch)
    replaced = len(kept & revs.keys())
    return {
        "created": len(docs) - replaced,
        "updated": replaced,
        "deleted": len(revs) - replaced,
    }


def check_import(docs: Any) -> list[dict]:
    """The documents of an import file: a list, or {"docs": [...]}."""
    if isinstance(docs, dict) and "docs" in docs:
        docs = docs["docs"]
    if not isinstance(docs, list):
        raise ModelError('expected a list of documents or {"docs": [...]}')
    seen = set()
    for position, doc in enumerate(docs):
        name = doc.get("_id") if isinstance(doc, dict) else None
        if not isinstance(name, str) or not name:
            raise ModelError(f"document {position} is not an object with an _id")
        if name.startswith("_"):
            raise ModelError(
                f"{name!r}: design documents are deployed with couchnet push"
            )
        if name in seen:
            raise ModelError(f"{name!r} appears twice")
        seen.add(name)
    return docs


def import_docs(couch: Couch, docs: list[dict]) -> dict:
    """Save documents, updating the ones already stored in place."""
    couch.create_db()
    revs = {row["id"]: row["value"]["rev"] for row in couch.all_docs()}
    write_docs(couch, [with_rev(doc, revs.get(doc["_id"])) for doc in docs])
    updated = sum(doc["_id"] in revs for doc in docs)
    return {"created": len(docs) - updated, "updated": updated}


def export_docs(couch: Couch) -> dict:
    """The neuron documents without revisions, ready for import or _bulk_docs."""
    if not couch.db_exists():
        raise ModelError(f"database {couch.db!r} does not exist")
    docs = [{k: v for k, v in doc.items() if k != "_rev"} for doc in neuron_docs(couch)]
    return {"docs": docs}


def with_rev(doc: dict, rev: str | None) -> dict:
    doc = {k: v for k, v in doc.items() if k != "_rev"}
    if rev:
        doc["_rev"] = rev
    return doc


def write_docs(couch: Couch, docs: list[dict]) -> None:
    """One _bulk_docs request; any document refused fails the whole command."""
    failed = [row for row in couch.bulk_docs(docs) if row.get("error")]
    if not failed:
        return
    first = failed[0]
    listed = "; ".join(
        f"{row.get('id')}: {row.get('reason') or row['error']}" for row in failed[:5]
    )
    reason = f"{len(failed)} of {len(docs)} documents were not written ({listed})"
    raise CouchError(STATUS_BY_ERROR.get(first["error"], 500), first["error"], reason)
