"""Training runs, each recorded as a document of its own.

A run document, abridged (arrays are little-endian float64 in base64):

    {"_id": "run-20261203T170102Z-3f9a1c", "type": "training_run",
     "state": "running", "dataset": "digits", "shard": null,
     "settings": {"epochs": 30, "learning_rate": 0.1, "momentum": 0.9,
                  "batch_size": 32, "seed": 0, "sync_every": 43},
     "network": {"neurons": 106, "edges": 2368, "parameters": 2410,
                 "layout": "<sha1 of the parameters' places>",
                 "data": "<sha1 of the rows>"},
     "epochs": [{"epoch": 1, "loss": 0.21, "accuracy": 0.93, "seconds": 0.05}],
     "timings": {"compute": 1.2, "writes": 0.8, "reads": 0.1, "conflicts": 0},
     "progress": {"step": 430, "sync": 10},
     "momentum": "<base64>", "pending": {"sync": 10, "deltas": "<base64>"},
     "started": "2026-12-03T17:01:02Z", "updated": "2026-12-03T17:01:09Z"}
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from loader.client import Conflict, Couch, NotFound
from loader.model import ModelError

RUN_TYPE = "training_run"
RUN_PREFIX = "run-"


class RunError(ModelError):
    """A run that does not exist, or cannot go on as asked."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """Sorts by start time; the random end keeps simultaneous runs apart."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{RUN_PREFIX}{stamp}-{secrets.token_hex(3)}"


def encode_array(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()


def decode_array(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").astype(float)


@dataclass
class Run:
    """A run document and the database it lives in.

    Each process that writes the run signs it with its own `writer` token, so
    that a 409 caused by its own write whose reply was lost (Ctrl-C in the
    middle of a request) can be told from a 409 caused by another process.
    """

    couch: Couch
    doc: dict
    writer: str = field(default_factory=lambda: secrets.token_hex(4))

    @classmethod
    def create(cls, couch: Couch, doc: dict) -> Run:
        stamp = now()
        doc = {"_id": new_run_id(), "type": RUN_TYPE, **doc}
        doc |= {"started": stamp, "updated": stamp, "state": "running"}
        run = cls(couch, doc)
        doc["writer"] = run.writer
        couch.put(doc)
        return run

    @classmethod
    def load(cls, couch: Couch, run_id: str) -> Run:
        try:
            doc = couch.get(run_id)
        except NotFound:
            raise RunError(f"no training run {run_id!r} in {couch.db!r}") from None
        if doc.get("type") != RUN_TYPE:
            raise RunError(f"{run_id!r} is not a training run")
        return cls(couch, doc)

    @property
    def id(self) -> str:
        return self.doc["_id"]

    def save(self, **changes) -> None:
        """Write the document with `changes`; a 409 from another writer stops."""
        self.doc |= changes
        self.doc |= {"updated": now(), "writer": self.writer}
        try:
            self.couch.put(self.doc)
        except Conflict:
            stored = self.couch.get(self.id)
            if stored.get("writer") != self.writer:
                raise RunError(
                    f"run {self.id} was taken over by another process; is it "
                    "still training somewhere?"
                ) from None
            self.doc["_rev"] = stored["_rev"]
            self.couch.put(self.doc)


def list_runs(couch: Couch) -> list[dict]:
    """Every run document, oldest first."""
    if not couch.db_exists():
        raise ModelError(f"database {couch.db!r} does not exist")
    rows = couch.all_docs(
        startkey=RUN_PREFIX, endkey=RUN_PREFIX + "\ufff0", include_docs=True
    )
    return [row["doc"] for row in rows if row["doc"].get("type") == RUN_TYPE]


def summary(doc: dict) -> dict:
    """What `couchnet runs` shows of a run."""
    epochs = doc.get("epochs") or []
    last = epochs[-1] if epochs else {}
    return {
        "run": doc["_id"],
        "state": doc.get("state"),
        "dataset": Path(str(doc.get("dataset"))).name,
        "epochs": len(epochs),
        "of": doc.get("settings", {}).get("epochs"),
        "loss": last.get("loss"),
        "accuracy": last.get("accuracy"),
        "started": doc.get("started"),
    }


def plot_run(doc: dict, out: Path) -> None:
    """Draw the loss per epoch, and the accuracy beside it when recorded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = doc.get("epochs") or []
    if not epochs:
        raise RunError(f"run {doc['_id']} has no finished epoch to plot")
    numbers = [entry["epoch"] for entry in epochs]
    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(numbers, [entry["loss"] for entry in epochs], color="tab:blue")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("squared error (training)", color="tab:blue")
    if all(entry["loss"] > 0 for entry in epochs):
        loss_axis.set_yscale("log")
    accuracies = [entry.get("accuracy") for entry in epochs]
    if all(value is not None for value in accuracies):
        accuracy_axis = loss_axis.twinx()
        accuracy_axis.plot(numbers, accuracies, color="tab:orange")
        accuracy_axis.set_ylabel("accuracy", color="tab:orange")
        accuracy_axis.set_ylim(0, 1.02)
    loss_axis.set_title(f"{doc['_id']} ({doc.get('dataset')})")
    figure.tight_layout()
    try:
        figure.savefig(out, dpi=100)
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot write {out}: {exc}") from None
    finally:
        plt.close(figure)
