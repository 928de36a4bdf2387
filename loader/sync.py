"""Writing a trainer's weight changes back to the neuron documents.

The documents are the source of truth; a trainer keeps a copy of each neuron
document it trains (with its `_rev`) and, every few steps, a *sync*:

1. delta = my weights - the weights I last read or wrote;
2. one `_bulk_docs` request holds every neuron with a nonzero delta: its
   weights plus the delta, `increment` bumped, and `trained[run] = sync`,
   all sent with the revision I hold;
3. a neuron someone else changed meanwhile answers 409: it is read again and
   the same delta is added to its fresh weights (their change stays), then
   written again, until every neuron has taken the delta;
4. neurons I did not write are read again. The written ones are as fresh
   as my write (a 409 would have said otherwise); a change another trainer
   makes later reaches my copy at my next sync, through its 409.

A neuron document is written whole or not at all, and its weights and its
`trained` marker travel in the same write. A sync that finds `trained[run]`
already at its number skips that neuron, which makes a sync idempotent: it
can be repeated after a crash, a lost reply or a restart without ever adding
the same delta twice (see loader.session for how a run resumes).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field

import numpy as np

from loader.client import Couch
from loader.documents import is_neuron
from loader.model import ModelError, neuron

TRAINED = "trained"
MAX_ATTEMPTS = 30


class SyncError(ModelError):
    """A neuron could not take a delta: refused, deleted or rebuilt meanwhile."""


@dataclass
class Place:
    """Where a neuron's parameters live: positions in the flat parameter
    vector, and the index and source node of each in the `inputs` list."""

    positions: np.ndarray
    indexes: list[int]
    nodes: list[str]


class Layout:
    """The trainable parameters grouped by the neuron document holding them."""

    def __init__(self, refs: list[tuple[str, int]], nodes: list[str]):
        self.refs = refs
        grouped: dict[str, tuple[list, list, list]] = {}
        for position, ((name, index), node) in enumerate(zip(refs, nodes, strict=True)):
            positions, indexes, sources = grouped.setdefault(name, ([], [], []))
            positions.append(position)
            indexes.append(index)
            sources.append(node)
        self.places = {
            name: Place(np.array(positions, dtype=np.intp), indexes, sources)
            for name, (positions, indexes, sources) in grouped.items()
        }

    def __len__(self) -> int:
        return len(self.refs)

    def digest(self) -> str:
        """A fingerprint, to check that a resumed run sees the same network."""
        digest = hashlib.sha1()
        for name, place in self.places.items():
            for index, node in zip(place.indexes, place.nodes, strict=True):
                digest.update(f"{name}\t{index}\t{node}\n".encode())
        return digest.hexdigest()


@dataclass
class SyncStats:
    written: int = 0
    conflicts: int = 0
    pulled: int = 0
    write_seconds: float = 0.0
    read_seconds: float = 0.0


@dataclass
class NeuronStore:
    """The neuron documents as this trainer last read or wrote them."""

    couch: Couch
    docs: dict[str, dict]
    stats: SyncStats = field(default_factory=SyncStats)

    @classmethod
    def load(cls, couch: Couch) -> NeuronStore:
        """Every neuron document of the database, in one request."""
        if not couch.db_exists():
            raise ModelError(f"database {couch.db!r} does not exist")
        started = time.perf_counter()
        rows = couch.all_docs(include_docs=True)
        store = cls(couch, {})
        store.stats.read_seconds += time.perf_counter() - started
        store.docs = {
            row["id"]: row["doc"] for row in rows if is_neuron(row.get("doc"))
        }
        if not store.docs:
            raise ModelError(
                f"database {couch.db!r} holds no neurons; make some with "
                "`couchnet create` or `couchnet import`"
            )
        return store

    def neurons(self) -> dict[str, dict]:
        """The model's structure of the stored documents."""
        return neuron.neurons_from_docs(self.docs.values())

    def weights(self, layout: Layout) -> np.ndarray:
        """The stored value of every parameter, in the layout's order."""
        values = np.empty(len(layout))
        for name, place in layout.places.items():
            inputs = self.docs[name]["inputs"]
            try:
                values[place.positions] = [
                    float(inputs[index]["weight"]) for index in place.indexes
                ]
            except (TypeError, ValueError):
                raise SyncError(
                    f"neuron {name!r} holds a weight that is not a number"
                ) from None
        return values

    def read(self, ids: list[str], layout: Layout) -> None:
        """Read these neurons again; deleted or rebuilt ones are errors."""
        if not ids:
            return
        started = time.perf_counter()
        rows = self.couch.all_docs_by_keys(ids, include_docs=True)
        self.stats.read_seconds += time.perf_counter() - started
        for row in rows:
            if not is_neuron(row.get("doc")):
                raise SyncError(f"neuron {row['key']!r} was deleted while training")
            check_structure(row["doc"], layout.places[row["id"]])
            self.docs[row["id"]] = row["doc"]
        self.stats.pulled += len(ids)

    def write(self, run: str, sync: int, layout: Layout, deltas: np.ndarray) -> None:
        """Add `deltas` (one per parameter) to the stored weights, exactly once.

        Neurons whose deltas are all zero are not written but read again.
        """
        changes = changes_by_neuron(layout, deltas)
        idle = [name for name in layout.places if name not in changes]
        for attempt in range(MAX_ATTEMPTS):
            conflicted = self.write_once(run, sync, layout, changes)
            changes = {name: changes[name] for name in conflicted}
            if not changes:
                break
            self.stats.conflicts += len(changes)
            # Trainers that collide again and again drift apart with a jitter.
            time.sleep(random.uniform(0, 0.005) * attempt)
            self.read(list(changes), layout)
        else:
            raise SyncError(
                f"{len(changes)} neurons kept changing under sync {sync} "
                f"after {MAX_ATTEMPTS} attempts; resume the run to finish it"
            )
        self.read(idle, layout)

    def write_once(
        self, run: str, sync: int, layout: Layout, changes: dict[str, np.ndarray]
    ) -> list[str]:
        """One _bulk_docs request; returns the neurons that answered 409."""
        docs = [
            with_delta(self.docs[name], layout.places[name], delta, run, sync)
            for name, delta in changes.items()
            if self.docs[name].get(TRAINED, {}).get(run, 0) < sync
        ]
        if not docs:
            return []
        started = time.perf_counter()
        results = self.couch.bulk_docs(docs)
        self.stats.write_seconds += time.perf_counter() - started

        conflicted = []
        for doc, result in zip(docs, results, strict=True):
            if result.get("error") == "conflict":
                conflicted.append(doc["_id"])
            elif result.get("error"):
                raise SyncError(
                    f"CouchDB refused neuron {doc['_id']!r}: "
                    f"{result['error']}: {result.get('reason', '')}"
                )
            else:
                doc["_rev"] = result["rev"]
                self.docs[doc["_id"]] = doc
                self.stats.written += 1
        return conflicted


def check_structure(doc: dict, place: Place) -> None:
    """The inputs a parameter refers to must still read the same sources."""
    inputs = doc["inputs"]
    for index, node in zip(place.indexes, place.nodes, strict=True):
        entry = inputs[index] if index < len(inputs) else None
        if not isinstance(entry, dict) or entry.get("node") != node:
            raise SyncError(
                f"neuron {doc['_id']!r} changed its inputs while training "
                f"(input {index} no longer reads {node!r}); start a new run"
            )


def changes_by_neuron(layout: Layout, deltas: np.ndarray) -> dict[str, np.ndarray]:
    """{neuron: its deltas} for the neurons with a nonzero delta."""
    changes = {}
    for name, place in layout.places.items():
        delta = deltas[place.positions]
        if delta.any():
            changes[name] = delta
    return changes


def with_delta(doc: dict, place: Place, delta: np.ndarray, run: str, sync: int) -> dict:
    """A new version of `doc`: the deltas added, increment and marker set."""
    inputs = list(doc["inputs"])
    try:
        for index, change in zip(place.indexes, delta.tolist(), strict=True):
            entry = inputs[index]
            inputs[index] = {**entry, "weight": float(entry["weight"]) + change}
    except (TypeError, ValueError):
        raise SyncError(
            f"neuron {doc['_id']!r} holds a weight that is not a number"
        ) from None
    increment = doc.get("increment")
    if not isinstance(increment, int | float) or isinstance(increment, bool):
        increment = 0
    trained = dict(doc.get(TRAINED) or {})
    trained[run] = sync
    return {**doc, "inputs": inputs, "increment": increment + 1, TRAINED: trained}
