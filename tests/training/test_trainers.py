"""Two trainers on one network: every delta of both ends up in the weights."""

import json
import os
import subprocess
import threading

import numpy as np
import pytest

from loader.devserver import COUCHNET
from loader.runs import Run
from loader.session import Session, Settings
from loader.sync import NeuronStore

SHARED = {"dataset": "xor", "epochs": 15, "batch_size": 1, "sync_every": 1}


def test_concurrent_trainers_lose_no_delta(
    couch, layered_network, read_weights, monkeypatch
):
    layered_network(couch, [2, 8, 1])
    before = read_weights(couch)
    sent, lock = [], threading.Lock()
    # Both trainers write each sync at the same moment, so one always collides.
    barrier = threading.Barrier(2, timeout=60)
    original = NeuronStore.write

    def recorded(store, run, sync, layout, deltas):
        with lock:
            sent.extend(zip(layout.refs, deltas, strict=True))
        barrier.wait()
        return original(store, run, sync, layout, deltas)

    monkeypatch.setattr(NeuronStore, "write", recorded)
    sessions = [
        Session.start(couch, Settings(**SHARED, shard=(i, 2), seed=i)) for i in (1, 2)
    ]
    errors = []

    def train(session):
        try:
            session.train()
        except Exception as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=train, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    expected = dict(before)
    for ref, delta in sent:
        expected[ref] += delta
    assert read_weights(couch) == pytest.approx(expected, abs=1e-12)
    assert sum(s.store.stats.conflicts for s in sessions) >= 15
    syncs = sum(s.sync for s in sessions)
    assert couch.get("output_0")["increment"] == syncs


def test_two_couchnet_train_processes_share_one_network(
    couch, couch_url, layered_network, read_weights
):
    layered_network(couch, [64, 8, 10], seed=3)
    before = read_weights(couch)
    command = [*COUCHNET, "train"]
    command += ["--url", couch_url, "--db", couch.db, "--json"]
    command += ["--dataset", "digits", "--epochs", "2", "--sync-every", "5"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    trainers = [
        subprocess.Popen(
            command + ["--shard", f"{i}/2"], stdout=subprocess.PIPE, env=env, text=True
        )
        for i in (1, 2)
    ]
    try:
        outputs = [trainer.communicate(timeout=300)[0] for trainer in trainers]
    finally:
        for trainer in trainers:
            if trainer.poll() is None:
                trainer.kill()
    assert [trainer.returncode for trainer in trainers] == [0, 0], outputs

    runs = [Run.load(couch, json.loads(output)["run"]) for output in outputs]
    assert all(run.doc["state"] == "finished" for run in runs)
    syncs = {run.id: run.doc["progress"]["sync"] for run in runs}
    for name in ["hidden1_0", "output_9"]:
        doc = couch.get(name)
        assert doc["trained"] == syncs
        assert doc["increment"] == sum(syncs.values())
    after = read_weights(couch)
    assert not np.allclose(list(after.values()), list(before.values()))
