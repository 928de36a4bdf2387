"""Training against CouchDB: quality and time beside scikit-learn, and where an
epoch's seconds go.

1. digits on a 64-32-10 tanh network made as `couchnet create --layers
   64,32,10 --activation tanh` makes it, trained with `couchnet train`'s
   defaults (every CouchDB write included, each one validated by the pushed
   design document), beside scikit-learn's
   MLPClassifier(hidden_layer_sizes=(32,)) on the same held-out split.
2. Seconds per epoch, split into compute, CouchDB writes and reads, for
   layered networks of growing size on synthetic rows.

Uses COUCHDB_URL when set, else starts devcouch. BENCH_TRAIN_MAX_EDGES
(default 100000) leaves out the larger networks; BENCH_TRAIN_SEEDS (default 3)
is how many network seeds the digits comparison averages over.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from loader.client import Couch
from loader.datasets import digits_split
from loader.devserver import public_url, push_designs, server
from loader.documents import (
    layer_names,
    layered_docs,
    layered_edge_count,
    write_docs,
)
from loader.session import Session, Settings

NETWORKS = [
    ("64-32-10", [64, 32, 10]),
    ("128-128-10", [128, 128, 10]),
    ("256-128-64-10", [256, 128, 64, 10]),
    ("256-256-128-10", [256, 256, 128, 10]),
]
ROWS = 512
EPOCHS = 2
MAX_EDGES = int(os.environ.get("BENCH_TRAIN_MAX_EDGES", "100000"))
SEEDS = int(os.environ.get("BENCH_TRAIN_SEEDS", "3"))


def fresh_database(url: str, sizes: list[int], seed: int) -> Couch:
    """A new database with the design documents, so that validate_doc_update
    checks every write as it does in a deployment, and a layered network."""
    couch = Couch(url, f"bench_train_{uuid.uuid4().hex[:10]}")
    couch.create_db(exist_ok=False)
    push_designs(url, couch.db)
    write_docs(couch, layered_docs(sizes, "tanh", seed))
    return couch


def couchnet_digits(url: str, seed: int) -> tuple[float, float, dict]:
    """Accuracy, seconds and timings of `couchnet train --dataset digits`."""
    couch = fresh_database(url, [64, 32, 10], seed)
    try:
        started = time.perf_counter()
        session = Session.start(couch, Settings("digits"))
        result = session.train()
        seconds = time.perf_counter() - started
    finally:
        couch.delete_db()
    return result.accuracy, seconds, session.timings


def sklearn_digits(seed: int) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train, test, train_labels, test_labels = digits_split()
    model = MLPClassifier(hidden_layer_sizes=(32,), random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train, train_labels)
    seconds = time.perf_counter() - started
    return model.score(test, test_labels), seconds


def compare_digits(url: str) -> None:
    print(
        f"digits, 64-32-10 tanh, default settings, {SEEDS} seeds "
        "(couchnet: network seeds; scikit-learn: random_state)"
    )
    ours, theirs = [], []
    for seed in range(SEEDS):
        accuracy, seconds, timings = couchnet_digits(url, seed)
        ours.append((accuracy, seconds, timings["compute"], timings["writes"]))
        theirs.append(sklearn_digits(seed))
    ours, theirs = np.array(ours), np.array(theirs)
    print(f"{'':26}{'accuracy':>10}{'min':>8}{'seconds':>10}")
    print(
        f"{'couchnet train':26}{ours[:, 0].mean():>10.2%}{ours[:, 0].min():>8.2%}"
        f"{ours[:, 1].mean():>10.2f}   (compute {ours[:, 2].mean():.2f} s, "
        f"CouchDB writes {ours[:, 3].mean():.2f} s)"
    )
    print(
        f"{'MLPClassifier((32,))':26}{theirs[:, 0].mean():>10.2%}"
        f"{theirs[:, 0].min():>8.2%}{theirs[:, 1].mean():>10.2f}"
    )
    points = 100 * (ours[:, 0].mean() - theirs[:, 0].mean())
    ratio = ours[:, 1].mean() / theirs[:, 1].mean()
    print(
        f"accuracy difference {points:+.2f} points (target: at least -1); "
        f"time ratio {ratio:.2f}x (target: at most 3x); "
        f"lowest accuracy {ours[:, 0].min():.2%} (target: at least 95%)"
    )


def synthetic_csv(folder: Path, sizes: list[int]) -> Path:
    """Random rows for a layered network: normal inputs, one class each."""
    rng = np.random.default_rng(0)
    layers = layer_names(sizes)
    inputs = rng.normal(0, 1, (ROWS, sizes[0]))
    targets = -np.ones((ROWS, sizes[-1]))
    targets[np.arange(ROWS), rng.integers(sizes[-1], size=ROWS)] = 1.0
    path = folder / f"rows_{'-'.join(map(str, sizes))}.csv"
    header = ",".join(layers[0] + layers[-1])
    np.savetxt(
        path,
        np.hstack([inputs, targets]),
        delimiter=",",
        header=header,
        comments="",
        fmt="%.6g",
    )
    return path


def epoch_split(url: str, folder: Path) -> None:
    print(
        f"\nseconds per epoch ({ROWS} rows, batch 32, one sync per epoch, "
        f"{EPOCHS} epochs); setup (reading the network and the rows) once"
    )
    print(
        f"{'network':18}{'edges':>9}{'compute':>10}{'writes':>10}{'reads':>9}"
        f"{'epoch':>9}{'setup':>9}"
    )
    for label, sizes in NETWORKS:
        if layered_edge_count(sizes) > MAX_EDGES:
            continue
        data = synthetic_csv(folder, sizes)
        couch = fresh_database(url, sizes, seed=0)
        try:
            started = time.perf_counter()
            session = Session.start(couch, Settings(str(data), epochs=EPOCHS))
            setup = time.perf_counter() - started
            session.train()
            epoch = (time.perf_counter() - started - setup) / EPOCHS
        finally:
            couch.delete_db()
        per = {key: value / EPOCHS for key, value in session.timings.items()}
        print(
            f"{label:18}{layered_edge_count(sizes):>9,}{per['compute']:>10.3f}"
            f"{per['writes']:>10.3f}{per['reads']:>9.3f}{epoch:>9.3f}{setup:>9.3f}"
        )


def main() -> None:
    import sklearn.neural_network  # noqa: F401  (imported before any timing)

    with tempfile.TemporaryDirectory() as folder, server(Path(folder) / "db") as url:
        print(f"server: {public_url(url)}")
        compare_digits(url)
        epoch_split(url, Path(folder))


if __name__ == "__main__":
    main()
