"""Helpers for the training tests: random networks in the model's structure."""

import uuid

import numpy as np
import pytest

from loader.client import Couch
from loader.documents import layered_docs

ACTIVATIONS = ["identity", "tanh", "logistic", "relu"]


def random_neurons(
    rng: np.random.Generator, inputs: int = 3, hidden: int = 6, outputs: int = 2
) -> dict:
    """An acyclic network with skip connections, duplicate edges, several
    biases on some neurons (some stored as strings) and every activation."""
    neurons = {}
    names = [f"input_{i}" for i in range(inputs)]
    for name in names:
        activation = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
        neurons[name] = {"inputs": [("static", "0")], "activation": activation}
    later = [f"hidden_{i}" for i in range(hidden)]
    later += [f"output_{j}" for j in range(outputs)]
    for position, name in enumerate(later):
        readable = names + later[: min(position, hidden)]
        count = int(rng.integers(1, len(readable) + 1))
        sources = rng.choice(readable, size=count, replace=True).tolist()
        entries = [(str(s), float(rng.normal(0, 0.8))) for s in sources]
        for _ in range(int(rng.integers(0, 3))):
            bias = float(rng.normal(0, 0.5))
            # Stored values may be numeric strings, as in "474".
            value = repr(bias) if rng.random() < 0.5 else bias
            entries.insert(int(rng.integers(len(entries) + 1)), ("static", value))
        activation = ACTIVATIONS[position % len(ACTIVATIONS)]
        neurons[name] = {"inputs": entries, "activation": activation}
    return neurons


@pytest.fixture
def make_neurons():
    return random_neurons


@pytest.fixture
def couch(db_url):
    """A client for a fresh database."""
    base, _, name = db_url.rpartition("/")
    return Couch(base, name)


def put_layered(
    couch: Couch, sizes: list[int], activation: str = "tanh", seed: int = 1
) -> None:
    """Store the network `couchnet create --layers ...` would make."""
    results = couch.bulk_docs(layered_docs(sizes, activation, seed))
    assert all("rev" in result for result in results), results


def stored_weights(couch: Couch) -> dict:
    """{(neuron, input index): weight} of every input, static ones included."""
    weights = {}
    for row in couch.all_docs(include_docs=True):
        doc = row["doc"]
        for index, entry in enumerate(doc.get("inputs") or []):
            weights[(doc["_id"], index)] = float(entry["weight"])
    return weights


@pytest.fixture
def layered_network():
    return put_layered


@pytest.fixture
def read_weights():
    return stored_weights


@pytest.fixture
def new_couch(couch_url):
    """Make clients for more fresh databases; all are deleted afterwards."""
    made = []

    def make() -> Couch:
        client = Couch(couch_url, f"test_{uuid.uuid4().hex[:12]}")
        client.create_db(exist_ok=False)
        made.append(client)
        return client

    yield make
    for client in made:
        client.delete_db()
