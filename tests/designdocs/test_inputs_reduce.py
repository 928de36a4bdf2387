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


def random_network(rng, neurons=150, widest=400):
    network = {
        f"n{i:04d}": random_inputs(rng, rng.randint(0, 12)) for i in range(neurons)
    }
    network["output_0"] = random_inputs(rng, widest)
    return dict(sorted(network.items()))


def canonical(pairs):
    return sorted(json.dumps(pair) for pair in pairs)


@pytest.fixture
def rng():
    return random.Random(20260)


def test_group_gives_each_neuron_exactly_its_inputs(functions, rng):
    reducer = Reducer(functions, rng)
    network = random_network(rng)
    for name, inputs in network.items():
        rows = neuron_rows(name, inputs)
        # CouchDB keeps a document's rows for one key in one b-tree entry.
        whole = reducer.tree([rows])
        assert whole["neuron"] == name
        assert canonical(whole["inputs"]) == canonical(inputs)
        # Split into pieces, a neuron still gets the same list, up to the size
        # where merging lists in a rereduce would trip reduce_limit: beyond it,
        # no rereduce can list them, and the pieces add up to a count.
        pieces = reducer.tree([[row] for row in rows])
        if len(json.dumps(whole)) < 4000:
            assert pieces == whole
        else:
            assert pieces == {"neuron": name, "count": len(inputs)}


def test_a_neuron_with_hundreds_of_inputs_is_listed(functions, rng):
    reducer = Reducer(functions, rng)
    inputs = random_inputs(rng, 600)
    reduction = reducer.tree([neuron_rows("output_0", inputs)])
    assert len(reduction["inputs"]) == 601
    assert functions.logged == []


def test_a_neuron_too_wide_to_list_is_counted(functions, rng):
    reducer = Reducer(functions, rng)
    inputs = random_inputs(rng, 300, prefix="a_source_neuron_with_a_long_name_")
    reduction = reducer.tree([neuron_rows("o", inputs)])
    assert reduction == {"neuron": "o", "count": 301}
    assert "'o'" in functions.logged[0]
    assert reducer.tree([[row] for row in neuron_rows("o", inputs)]) == reduction


def test_activation_is_kept(functions, rng):
    reducer = Reducer(functions, rng)
    rows = neuron_rows("h", random_inputs(rng, 5), activation="tanh")
    assert reducer.tree([rows])["activation"] == "tanh"
    assert reducer.tree([[row] for row in rows])["activation"] == "tanh"


def test_whole_network_is_a_summary_whatever_the_tree(functions, rng):
    reducer = Reducer(functions, rng)
    network = random_network(rng)
    entries = [neuron_rows(name, inputs) for name, inputs in network.items()]
    entries = [rows for rows in entries if rows]
    expected = {"neurons": len(entries), "count": sum(map(len, entries))}
    for _ in range(5):
        assert reducer.tree(entries) == expected


def test_ranges_count_the_neurons_in_them(functions, rng):
    reducer = Reducer(functions, rng)
    network = random_network(rng)
    entries = [rows for rows in map(neuron_rows, network, network.values()) if rows]
    for _ in range(30):
        first = rng.randrange(len(entries) - 2)
        last = rng.randrange(first + 2, len(entries) + 1)
        chosen = entries[first:last]
        expected = {"neurons": len(chosen), "count": sum(map(len, chosen))}
        assert reducer.tree(chosen) == expected


def test_an_empty_range(functions, rng):
    assert Reducer(functions, rng).reduce([]) == {"neurons": 0, "count": 0}
