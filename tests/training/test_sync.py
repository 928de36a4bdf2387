"""Writing deltas back: concurrent edits kept, replays harmless, clear errors."""

import copy

import numpy as np
import pytest

from loader.session import Settings, compile_network
from loader.sync import NeuronStore, SyncError


def loaded(couch):
    store = NeuronStore.load(couch)
    _, trainer, layout = compile_network(store, Settings("xor"))
    return store, trainer, layout


def deltas_for(layout, seed=0):
    return np.random.default_rng(seed).normal(0, 0.1, len(layout))


def test_deltas_land_with_increment_and_marker(couch, layered_network, read_weights):
    layered_network(couch, [2, 3, 1])
    before = read_weights(couch)
    store, _, layout = loaded(couch)
    deltas = deltas_for(layout)

    store.write("run-a", 1, layout, deltas)

    after = read_weights(couch)
    changed = dict(zip(layout.refs, deltas, strict=True))
    for ref, weight in before.items():
        assert after[ref] == pytest.approx(weight + changed.get(ref, 0.0), abs=1e-15)
    for name in layout.places:
        doc = couch.get(name)
        assert doc["increment"] == 1
        assert doc["trained"] == {"run-a": 1}
    assert couch.get("input_0")["increment"] == 0


def test_a_concurrent_edit_is_kept_and_the_delta_added(
    couch, layered_network, read_weights
):
    layered_network(couch, [2, 3, 1])
    store, _, layout = loaded(couch)
    deltas = deltas_for(layout)
    other = couch.get("hidden1_0")
    other["inputs"][0]["weight"] += 0.5
    other["increment"] += 1
    other["note"] = "kept"
    couch.put(other)
    edited = read_weights(couch)

    store.write("run-a", 1, layout, deltas)

    doc = couch.get("hidden1_0")
    assert doc["note"] == "kept"
    assert doc["increment"] == 2
    position = layout.refs.index(("hidden1_0", 0))
    expected = edited[("hidden1_0", 0)] + deltas[position]
    assert doc["inputs"][0]["weight"] == pytest.approx(expected, abs=1e-15)
    assert store.stats.conflicts == 1


def test_replaying_a_sync_adds_nothing(couch, layered_network, read_weights):
    layered_network(couch, [2, 3, 1])
    store, _, layout = loaded(couch)
    stale = copy.deepcopy(store.docs)
    deltas = deltas_for(layout)
    store.write("run-a", 1, layout, deltas)
    once = read_weights(couch)
    revs = {name: couch.get(name)["_rev"] for name in store.docs}

    # From stale revisions (a lost reply) and from fresh ones (a restart).
    store.docs = stale
    store.write("run-a", 1, layout, deltas)
    NeuronStore.load(couch).write("run-a", 1, layout, deltas)

    assert read_weights(couch) == once
    assert {name: couch.get(name)["_rev"] for name in store.docs} == revs
    store.write("run-a", 2, layout, deltas)
    assert read_weights(couch) != once


def test_a_deleted_neuron_is_an_error(couch, layered_network):
    layered_network(couch, [2, 3, 1])
    store, _, layout = loaded(couch)
    couch.delete("output_0", couch.get("output_0")["_rev"])
    with pytest.raises(SyncError, match="'output_0' was deleted"):
        store.write("run-a", 1, layout, deltas_for(layout))


def test_a_rebuilt_neuron_is_an_error(couch, layered_network):
    layered_network(couch, [2, 3, 1])
    store, _, layout = loaded(couch)
    other = couch.get("output_0")
    other["inputs"][0]["node"] = "input_0"
    couch.put(other)
    with pytest.raises(SyncError, match="'output_0' changed its inputs"):
        store.write("run-a", 1, layout, deltas_for(layout))
