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
4. neurons I did not write are read again, so my copy is as fresh as the
   database everywhere; the written ones are fresh by the rules above.

A neuron document is written whole or not at all, and its weights and its
`trained` marker travel in the same write. A sync that finds `trained[run]`
already at its number skips that neuron, which makes a sync idempotent: it
can be repeated after a crash, a lost reply or a restart without ever adding
the same delta twice (see loader.session for how a run resumes).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np

from loader.client import Couch
from loader.model import ModelError, neuron

TRAINED = "trained"
MAX_ATTEMPTS = 30


class SyncError(ModelError):
    """A neuron could not take a delta: refused, deleted or rebuilt meanwhile."""


@dataclass
class Slot:
    """Where one parameter lives: its neuron, input index and source node."""

    neuron: str
    index: int
    node: str


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

    def weights(self, slots: list[Slot]) -> np.ndarray:
        """The stored value of every parameter, in `slots` order."""
        return np.array([self.weight(slot) for slot in slots], dtype=float)

    def weight(self, slot: Slot) -> float:
        doc = self.docs.get(slot.neuron)
        inputs = doc.get("inputs") if doc else None
        if not isinstance(inputs, list) or len(inputs) <= slot.index:
            raise SyncError(f"neuron {slot.neuron!r} lost inputs while training")
        entry = inputs[slot.index]
        if entry.get("node") != slot.node:
            raise SyncError(
                f"neuron {slot.neuron!r}: input {slot.index} reads "
                f"{entry.get('node')!r} where training expected {slot.node!r}; "
                "the network was rebuilt, start a new run"
            )
        return neuron.static_value(entry["weight"])

    def read(self, ids: list[str]) -> None:
        """Read these neurons again; a deleted one is an error."""
        if not ids:
            return
        started = time.perf_counter()
        rows = self.couch.all_docs(keys=ids, include_docs=True)
        self.stats.read_seconds += time.perf_counter() - started
        for row in rows:
            if not is_neuron(row.get("doc")):
                raise SyncError(f"neuron {row['key']!r} was deleted while training")
            self.docs[row["id"]] = row["doc"]
        self.stats.pulled += len(ids)

    def write(self, run: str, sync: int, slots: list[Slot], deltas: np.ndarray) -> None:
        """Add `deltas` (one per slot) to the stored weights, exactly once.

        Neurons whose deltas are all zero are not written but read again.
        """
        changes = changes_by_neuron(slots, deltas)
        idle = {slot.neuron for slot in slots} - set(changes)
        for attempt in range(MAX_ATTEMPTS):
            conflicted = self.write_once(run, sync, changes)
            changes = {name: changes[name] for name in conflicted}
            if not changes:
                break
            self.stats.conflicts += len(changes)
            # Trainers that collide again and again drift apart with a jitter.
            time.sleep(random.uniform(0, 0.005) * attempt)
            self.read(list(changes))
        else:
            raise SyncError(
                f"{len(changes)} neurons kept changing under sync {sync} "
                f"after {MAX_ATTEMPTS} attempts; resume the run to finish it"
            )
        self.read(sorted(idle))

    def write_once(
        self, run: str, sync: int, changes: dict[str, list[tuple[Slot, float]]]
    ) -> list[str]:
        """One _bulk_docs request; returns the neurons that answered 409."""
        docs = [
            with_delta(self.docs[name], entries, run, sync)
            for name, entries in changes.items()
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


def is_neuron(doc: dict | None) -> bool:
    return (
        isinstance(doc, dict)
        and not doc["_id"].startswith("_design/")
        and isinstance(doc.get("inputs"), list)
    )


def changes_by_neuron(
    slots: list[Slot], deltas: np.ndarray
) -> dict[str, list[tuple[Slot, float]]]:
    changes: dict[str, list[tuple[Slot, float]]] = {}
    for k in np.flatnonzero(deltas):
        slot = slots[k]
        changes.setdefault(slot.neuron, []).append((slot, float(deltas[k])))
    return changes


def with_delta(
    doc: dict, entries: list[tuple[Slot, float]], run: str, sync: int
) -> dict:
    """A new version of `doc`: the deltas added, increment and marker set."""
    inputs = [dict(entry) for entry in doc["inputs"]]
    for slot, delta in entries:
        entry = inputs[slot.index] if slot.index < len(inputs) else {}
        if entry.get("node") != slot.node:
            raise SyncError(
                f"neuron {slot.neuron!r} changed its inputs while training; "
                "start a new run"
            )
        entry["weight"] = neuron.static_value(entry["weight"]) + delta
    increment = doc.get("increment")
    if not isinstance(increment, int) or isinstance(increment, bool):
        increment = 0
    trained = dict(doc.get(TRAINED) or {})
    trained[run] = sync
    return {**doc, "inputs": inputs, "increment": increment + 1, TRAINED: trained}
