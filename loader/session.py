"""A training session: batches stepped locally, synced to the neuron documents,
and recorded in the run document.

How a run survives Ctrl-C, a killed process or a lost connection, and why a
resumed run never applies a step twice:

- Sync number s of run R writes the run document *first*, as a checkpoint:
  `progress = {"step": t, "sync": s}`, the momentum after step t, and
  `pending = {"sync": s, "deltas": ...}`, the whole delta this sync is about
  to add. Only then are the neurons written (loader.sync), each carrying
  `trained[R] = s` in the same document write as its new weights.
- `_bulk_docs` is not atomic across documents, so a crash can leave some
  neurons at s and others at s - 1. Resuming reads the run document, then
  replays `pending` through the same sync: neurons already marked s are
  skipped, the others take the delta. Replaying is idempotent, so a crash
  during the replay is handled the same way.
- If the crash came before the checkpoint was written, no neuron holds sync s
  (neurons are written only after it), and the run resumes from sync s - 1,
  whose steps are all in the database: the steps after it are computed again,
  not applied again.
- The resumed run then goes on from step t: the batch order of an epoch is a
  function of (seed, epoch), and the momentum comes from the checkpoint, so
  it continues as if it had not stopped, except that the weights are the
  database's, including what other trainers added meanwhile.

A killed process leaves its run "running"; `--resume` takes it over. If that
process is in fact still alive, one of the two meets a 409 on the run
document and stops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from loader.client import Couch, CouchError
from loader.datasets import DataError, Dataset, accuracy, load_dataset
from loader.model import ModelError
from loader.network import Network
from loader.runs import Run, RunError, decode_array, encode_array
from loader.sync import Layout, NeuronStore
from loader.training import Trainer

LEARNING_RATE = 0.1
MOMENTUM = 0.9
BATCH_SIZE = 32
# Four XOR rows make one step per epoch; digits has 43 steps per epoch.
EPOCHS = {"xor": 150, "digits": 20}
CSV_EPOCHS = 100


def default_epochs(dataset: str) -> int:
    return EPOCHS.get(dataset, CSV_EPOCHS)


@dataclass
class Settings:
    """How a run trains; `sync_every` None means once per epoch."""

    dataset: str
    epochs: int | None = None
    learning_rate: float = LEARNING_RATE
    momentum: float = MOMENTUM
    batch_size: int = BATCH_SIZE
    seed: int = 0
    sync_every: int | None = None
    shard: tuple[int, int] | None = None

    def check(self) -> None:
        if self.epochs is None:
            self.epochs = default_epochs(self.dataset)
        if self.epochs < 1 or self.batch_size < 1:
            raise ModelError("epochs and batch size must be at least 1")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ModelError("the learning rate must be a positive number")
        if not 0 <= self.momentum < 1:
            raise ModelError("the momentum must be at least 0 and below 1")
        if self.sync_every is not None and self.sync_every < 1:
            raise ModelError("--sync-every must be at least 1 step")


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    loss: float
    accuracy: float | None
    samples_per_second: float


@dataclass
class Result:
    run: str
    epochs: int
    loss: float | None
    accuracy: float | None


class Session:
    """One trainer's run: its data, its trainer and its copy of the neurons."""

    def __init__(
        self,
        run: Run,
        store: NeuronStore,
        trainer: Trainer,
        layout: Layout,
        dataset: Dataset,
        settings: Settings,
    ):
        self.run = run
        self.store = store
        self.trainer = trainer
        self.layout = layout
        self.dataset = dataset
        self.settings = settings
        self.batch_size = min(settings.batch_size, len(dataset.inputs))
        self.steps_per_epoch = math.ceil(len(dataset.inputs) / self.batch_size)
        self.sync_every = settings.sync_every or self.steps_per_epoch
        self.total_steps = settings.epochs * self.steps_per_epoch
        progress = run.doc.get("progress") or {}
        self.step = progress.get("step", 0)
        self.sync = progress.get("sync", 0)
        self.base = trainer.params.values.copy()
        self.order, self.order_epoch = np.arange(0), -1
        self.timings = {"compute": 0.0, "writes": 0.0, "reads": 0.0, "conflicts": 0}
        self.timings |= run.doc.get("timings") or {}

    @classmethod
    def start(cls, couch: Couch, settings: Settings) -> Session:
        """Check everything, then record a new run; nothing is written on error."""
        settings.check()
        store = NeuronStore.load(couch)
        network, trainer, layout = compile_network(store, settings)
        dataset = dataset_for(settings, network)
        if settings.dataset not in EPOCHS:
            # A resume may start elsewhere: record where the file is.
            settings.dataset = str(Path(settings.dataset).resolve())
        run = Run.create(couch, run_doc(settings, network, trainer, layout, dataset))
        return cls(run, store, trainer, layout, dataset, settings)

    @classmethod
    def resume(cls, couch: Couch, run_id: str, epochs: int | None = None) -> Session:
        """Take a stopped (or killed) run up again from what the database holds."""
        run = Run.load(couch, run_id)
        settings = settings_of(run.doc, epochs)
        store = NeuronStore.load(couch)
        network, trainer, layout = compile_network(store, settings)
        dataset = dataset_for(settings, network)
        check_same(run, layout, dataset)

        pending = run.doc.get("pending")
        if pending:
            deltas = decode_array(pending["deltas"])
            store.write(run.id, pending["sync"], layout, deltas)
        trainer.set_values(store.weights(layout))
        if run.doc.get("momentum"):
            trainer.velocity = decode_array(run.doc["momentum"])

        session = cls(run, store, trainer, layout, dataset, settings)
        session.trim_epochs()
        run.doc.pop("error", None)
        resumed = run.doc.get("resumed", 0) + 1
        run.save(state="running", resumed=resumed, settings=asdict_settings(settings))
        return session

    def train(self, on_epoch: Callable[[EpochReport], None] | None = None) -> Result:
        """Step through the remaining batches, syncing every `sync_every` steps.

        Ctrl-C and expected failures are recorded in the run before they go on.
        """
        try:
            # Batches make small matrices, which BLAS threads slow down, not up.
            with threadpool_limits(1, user_api="blas"):
                self.train_steps(on_epoch)
        except KeyboardInterrupt:
            self.record_stop("interrupted")
            raise
        except (CouchError, ModelError, OSError) as exc:
            self.record_stop("failed", str(exc))
            raise
        self.stop("finished")
        return self.result()

    def train_steps(self, on_epoch: Callable[[EpochReport], None] | None) -> None:
        inputs, targets = self.dataset.inputs, self.dataset.targets
        epoch_started = time.perf_counter()
        while self.step < self.total_steps:
            epoch, batch = divmod(self.step, self.steps_per_epoch)
            started = time.perf_counter()
            rows = self.batch_rows(epoch, batch)
            self.trainer.step(inputs[rows], targets[rows])
            self.step += 1
            if self.step % self.steps_per_epoch == 0:
                report = self.end_epoch(epoch + 1, epoch_started)
                epoch_started = time.perf_counter()
                if on_epoch:
                    on_epoch(report)
            self.timings["compute"] += time.perf_counter() - started
            if self.step % self.sync_every == 0 or self.step == self.total_steps:
                self.write_sync()

    def batch_rows(self, epoch: int, batch: int) -> np.ndarray:
        """The rows of one batch; an epoch's order depends on (seed, epoch) only."""
        if self.order_epoch != epoch:
            rng = np.random.default_rng([self.settings.seed, epoch])
            self.order = rng.permutation(len(self.dataset.inputs))
            self.order_epoch = epoch
        first = batch * self.batch_size
        return self.order[first : first + self.batch_size]

    def end_epoch(self, epoch: int, started: float) -> EpochReport:
        loss, score = self.measure()
        seconds = time.perf_counter() - started
        entry = {"epoch": epoch, "loss": loss, "accuracy": score, "seconds": seconds}
        self.run.doc.setdefault("epochs", []).append(entry)
        speed = len(self.dataset.inputs) / seconds if seconds > 0 else math.inf
        return EpochReport(epoch, self.settings.epochs, loss, score, speed)

    def measure(self) -> tuple[float, float | None]:
        """Training loss, and accuracy on the held-out rows (or training rows)."""
        predicted = self.trainer.predict(self.dataset.inputs)
        loss = float(np.mean((predicted - self.dataset.targets) ** 2))
        rows, targets = self.dataset.evaluation_rows()
        if rows is not self.dataset.inputs:
            predicted = self.trainer.predict(rows)
        return loss, accuracy(predicted, targets)

    def write_sync(self) -> None:
        """Checkpoint the run, then add this sync's delta to the neurons.

        Its time counts as writes, except for reading neurons back (reads).
        """
        started = time.perf_counter()
        stats = self.store.stats
        reads, conflicts = stats.read_seconds, stats.conflicts
        self.sync += 1
        deltas = self.trainer.params.values - self.base
        self.run.save(
            progress={"step": self.step, "sync": self.sync},
            momentum=encode_array(self.trainer.velocity),
            pending={"sync": self.sync, "deltas": encode_array(deltas)},
            timings=self.timings,
        )
        self.store.write(self.run.id, self.sync, self.layout, deltas)
        values = self.store.weights(self.layout)
        self.trainer.set_values(values)
        self.base = values.copy()

        reads = stats.read_seconds - reads
        self.timings["reads"] += reads
        self.timings["writes"] += time.perf_counter() - started - reads
        self.timings["conflicts"] += stats.conflicts - conflicts

    def trim_epochs(self) -> None:
        """Keep only the epochs whose steps the database holds."""
        done = self.run.doc["progress"]["step"] // self.steps_per_epoch
        self.run.doc["epochs"] = (self.run.doc.get("epochs") or [])[:done]

    def stop(self, state: str, error: str | None = None) -> None:
        """Record how the run ended; unsynced steps are dropped from the record."""
        self.trim_epochs()
        changes = {"state": state, "timings": self.timings}
        if error:
            changes["error"] = error
        self.run.save(**changes)

    def record_stop(self, state: str, error: str | None = None) -> None:
        """Best effort: with the server gone the run stays "running" and resumes."""
        try:
            self.stop(state, error)
        except (CouchError, ModelError, OSError, KeyboardInterrupt):
            pass

    def result(self) -> Result:
        epochs = self.run.doc.get("epochs") or []
        last = epochs[-1] if epochs else {}
        return Result(self.run.id, len(epochs), last.get("loss"), last.get("accuracy"))


def compile_network(
    store: NeuronStore, settings: Settings
) -> tuple[Network, Trainer, Layout]:
    network = Network.from_neurons(store.neurons())
    if not network.acyclic:
        raise ModelError(f"training needs an acyclic network: {network.cycle_error}")
    trainer = Trainer(network, settings.learning_rate, settings.momentum)
    if not len(trainer.params.values):
        raise ModelError("the network has no weights or biases to train")
    refs = trainer.params.refs
    nodes = [network.neurons[name]["inputs"][index][0] for name, index in refs]
    return network, trainer, Layout(refs, nodes)


def dataset_for(settings: Settings, network: Network) -> Dataset:
    dataset = load_dataset(settings.dataset, network)
    if settings.shard:
        dataset = dataset.shard(*settings.shard)
    return dataset


def asdict_settings(settings: Settings) -> dict:
    values = asdict(settings)
    values.pop("dataset")
    values.pop("shard")
    return values


def run_doc(
    settings: Settings,
    network: Network,
    trainer: Trainer,
    layout: Layout,
    dataset: Dataset,
) -> dict:
    return {
        "dataset": settings.dataset,
        "shard": list(settings.shard) if settings.shard else None,
        "settings": asdict_settings(settings),
        "network": {
            "neurons": len(network.names),
            "edges": network.edge_count,
            "parameters": len(trainer.params.values),
            "layout": layout.digest(),
            "data": dataset.fingerprint(),
        },
        "rows": len(dataset.inputs),
        "epochs": [],
        "progress": {"step": 0, "sync": 0},
    }


def settings_of(doc: dict, epochs: int | None) -> Settings:
    settings = Settings(
        dataset=doc["dataset"],
        shard=tuple(doc["shard"]) if doc.get("shard") else None,
        **doc["settings"],
    )
    done = len(doc.get("epochs") or [])
    if epochs is not None and epochs < done:
        raise RunError(f"run {doc['_id']} has done {done} epochs already")
    if epochs is not None:
        settings.epochs = epochs
    if doc.get("state") == "finished" and settings.epochs <= done:
        raise RunError(
            f"run {doc['_id']} finished its {done} epochs; give --epochs "
            "above that to train it further"
        )
    settings.check()
    return settings


def check_same(run: Run, layout: Layout, dataset: Dataset) -> None:
    recorded = run.doc["network"]
    if layout.digest() != recorded["layout"]:
        raise RunError(
            f"the network's structure changed since run {run.id} started; "
            "it cannot resume, start a new run"
        )
    if dataset.fingerprint() != recorded["data"]:
        raise DataError(
            f"the data of run {run.id} ({run.doc['dataset']}) changed since it "
            "started; it cannot resume"
        )
