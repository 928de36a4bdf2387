"""The reduce of the inputs view, run the way CouchDB runs it.

CouchDB reduces the rows of each b-tree leaf, rereduces the reductions of
each inner node, and for a query combines leaf rows and stored reductions in
whatever order its traversal gives. The simulation below builds trees of
random shapes, feeds values in random order, and checks every single call
against the query server's reduce_limit rule.
"""

import json
import random

import pytest

LIMIT_BYTES = 4096
LIMIT_RATIO = 2


class Reducer:
    def __init__(self, functions, rng):
        self.function = functions.load("views", "inputs", "reduce")
        self.source = functions.ddoc["views"]["inputs"]["reduce"]
        self.rng = rng
        self.calls = 0

    def checked(self, command, arguments, result):
        """Fail as a query server would when the output does not shrink."""
        line = json.dumps([command, [self.source], arguments], separators=(",", ":"))
        input_size = len(line) - len(self.source)
        output_size = len(json.dumps([result], separators=(",", ":")))
        overflow = output_size > LIMIT_BYTES and output_size * LIMIT_RATIO > input_size
        assert not overflow, f"reduce_overflow_error: {output_size} from {input_size}"
        self.calls += 1
        return result

    def reduce(self, rows):
        rows = rows[::-1] if self.rng.random() < 0.5 else rows
        keys = [key for key, _ in rows]
        values = [value for _, value in rows]
        result = self.function(keys, values, False)
        return self.checked("reduce", [[k, v] for k, v in rows], result)

    def rereduce(self, reductions):
        reductions = self.rng.sample(reductions, len(reductions))
        return self.checked(
            "rereduce", reductions, self.function(None, reductions, True)
        )

    def tree(self, entries):
        """Reduce `entries` (each a list of rows) as a random b-tree would."""
        level = [self.reduce(rows) for rows in self.chunks(entries, flatten=True)]
        while len(level) > 1:
            level = [self.rereduce(group) for group in self.chunks(level)]
        return level[0] if level else self.reduce([])

    def cluster(self, entries, shards=2):
        """A sharded database: one tree per shard, then the coordinator's
        rereduce, which CouchDB runs even over a single value."""
        by_shard = [[] for _ in range(shards)]
        for rows in entries:
            by_shard[self.rng.randrange(shards)].append(rows)
        return self.rereduce([self.tree(rows) for rows in by_shard if rows])

    def chunks(self, items, flatten=False):
        start = 0
        while start < len(items):
            size = self.rng.randint(1, 6)
            chunk = items[start : start + size]
            yield [row for entry in chunk for row in entry] if flatten else chunk
            start += size


def neuron_rows(name, inputs, activation=None):
    rows = []
    for node, weight in inputs:
        value = {"node": node, "weight": weight}
        if activation:
            value["activation"] = activation
        rows.append([[name, name], value])
    return rows


def random_inputs(rng, count, prefix="hidden1_"):
    inputs = [[f"{prefix}{i}", rng.uniform(-3, 3)] for i in range(count)]
    return inputs + [["static", rng.choice([rng.uniform(-1, 1), "474"])]]


def random_network(rng, neurons=150):
    return {f"n{i:04d}": random_inputs(rng, rng.randint(0, 40)) for i in range(neurons)}


def canonical(pairs):
    return sorted(json.dumps(pair) for pair in pairs)


@pytest.fixture
def rng():
    return random.Random(20260)


def test_group_gives_each_neuron_exactly_its_inputs(functions, rng):
    reducer = Reducer(functions, rng)
    for name, inputs in random_network(rng).items():
        rows = neuron_rows(name, inputs)
        # CouchDB keeps a document's rows for one key in one b-tree entry.
        grouped = reducer.cluster([rows])
        assert grouped["neuron"] == name
        assert canonical(grouped["inputs"]) == canonical(inputs)
        # A server that splits them anyhow gives the very same answer.
        assert reducer.cluster([[row] for row in rows]) == grouped


def test_a_neuron_with_too_many_inputs_to_list_is_counted(functions, rng):
    reducer = Reducer(functions, rng)
    inputs = random_inputs(rng, 400)
    rows = neuron_rows("output_0", inputs)
    assert reducer.cluster([rows]) == {"neuron": "output_0", "count": 401}
    assert reducer.cluster([[row] for row in rows]) == {
        "neuron": "output_0",
        "count": 401,
    }


def test_a_neuron_with_dozens_of_inputs_is_listed(functions, rng):
    reducer = Reducer(functions, rng)
    inputs = random_inputs(rng, 60)
    grouped = reducer.cluster([neuron_rows("output_0", inputs)])
    assert canonical(grouped["inputs"]) == canonical(inputs)


def test_activation_is_kept(functions, rng):
    reducer = Reducer(functions, rng)
    rows = neuron_rows("h", random_inputs(rng, 5), activation="tanh")
    assert reducer.cluster([rows])["activation"] == "tanh"
    assert reducer.cluster([[row] for row in rows])["activation"] == "tanh"


def test_whole_network_is_a_summary_whatever_the_tree(functions, rng):
    reducer = Reducer(functions, rng)
    network = random_network(rng)
    entries = [neuron_rows(name, inputs) for name, inputs in network.items()]
    entries = [rows for rows in entries if rows]
    expected = {"neurons": len(entries), "count": sum(map(len, entries))}
    for _ in range(5):
        assert reducer.cluster(entries) == expected


def test_ranges_count_the_neurons_in_them(functions, rng):
    reducer = Reducer(functions, rng)
    network = random_network(rng)
    entries = [rows for rows in map(neuron_rows, network, network.values()) if rows]
    for _ in range(30):
        first = rng.randrange(len(entries) - 2)
        last = rng.randrange(first + 2, len(entries) + 1)
        chosen = entries[first:last]
        expected = {"neurons": len(chosen), "count": sum(map(len, chosen))}
        assert reducer.cluster(chosen) == expected


def test_an_empty_range(functions, rng):
    assert Reducer(functions, rng).reduce([]) == {"neurons": 0, "count": 0}
