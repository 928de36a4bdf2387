"""Datasets mapped onto networks, and the errors for data that does not fit."""

import numpy as np
import pytest

from loader.datasets import DataError, accuracy, load_dataset
from loader.network import Network


def layered(sizes: list[int], activation: str = "tanh") -> Network:
    """A small layered network named the way `couchnet create` names it."""
    prefixes = ["input"] + [f"hidden{i}" for i in range(1, len(sizes) - 1)]
    layers = [
        [f"{prefix}_{i}" for i in range(size)]
        for prefix, size in zip(prefixes + ["output"], sizes, strict=True)
    ]
    neurons = {name: {"inputs": [("static", 0.0)]} for name in layers[0]}
    for previous, layer in zip(layers, layers[1:], strict=False):
        for name in layer:
            inputs = [(source, 0.1) for source in previous] + [("static", 0.0)]
            neurons[name] = {"inputs": inputs, "activation": activation}
    return Network.from_neurons(neurons)


def test_xor_is_four_rows_of_signs():
    data = load_dataset("xor", layered([2, 3, 1]))
    assert data.inputs.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]]
    assert data.targets[:, 0].tolist() == [-1, 1, 1, -1]
    assert data.test_inputs is None


def test_features_reach_the_neurons_they_are_named_after():
    # A network may list its neurons in any order; names decide, not positions.
    network = layered([2, 2, 1])
    network.input_names = ["input_1", "input_0"]
    data = load_dataset("xor", network)
    assert data.input_names == ["input_1", "input_0"]
    assert data.inputs.tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    assert data.targets.tolist() == [[-1], [1], [1], [-1]]


def test_digits_holds_out_a_quarter_with_one_output_per_class():
    data = load_dataset("digits", layered([64, 4, 10]))
    total = len(data.inputs) + len(data.test_inputs)
    assert total == 1797
    assert len(data.test_inputs) == pytest.approx(0.25 * total, abs=1)
    assert np.allclose(data.inputs.mean(axis=0), 0, atol=1e-9)
    assert set(np.unique(data.targets)) == {-1.0, 1.0}
    assert np.all((data.targets == 1).sum(axis=1) == 1)
    again = load_dataset("digits", layered([64, 4, 10]))
    assert data.fingerprint() == again.fingerprint()


def test_digits_targets_start_at_zero_for_logistic_outputs():
    data = load_dataset("digits", layered([64, 4, 10], activation="logistic"))
    assert set(np.unique(data.targets)) == {0.0, 1.0}


def test_shards_split_the_rows_without_overlap():
    data = load_dataset("digits", layered([64, 4, 10]))
    first, second = data.shard(1, 2), data.shard(2, 2)
    assert len(first.inputs) + len(second.inputs) == len(data.inputs)
    np.testing.assert_array_equal(first.inputs, data.inputs[0::2])
    np.testing.assert_array_equal(second.targets, data.targets[1::2])


def test_csv_columns_map_to_neurons_by_name(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("output_0,input_1,input_0\n1,2,3\n-1,0.5,4e-1\n")
    data = load_dataset(str(path), layered([2, 2, 1]))
    assert data.inputs.tolist() == [[3, 2], [0.4, 0.5]]
    assert data.targets.tolist() == [[1], [-1]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("input_0,output_0\n1,2\n", "no column for input neuron(s) input_1"),
        ("input_0,input_1\n1,2\n", "no column for output neuron(s) output_0"),
        ("input_0,input_1,output_0\n1,x,2\n", "line 2, column 'input_1': 'x'"),
        # Blank lines are skipped but still counted, as an editor counts them.
        ("input_0,input_1,output_0\n\n1,2,3\n\n1,x,2\n", "line 5, column 'input_1'"),
        ("input_0,input_1,output_0\n1,nan,2\n", "'nan' is not a finite number"),
        ("input_0,input_1,output_0,extra\n1,2,3,4\n", "'extra' names no input"),
        ("input_0,input_1,output_0\n1,2\n", "line 2: 2 cells"),
        ("input_0,input_1,output_0\n", "no rows"),
        ("", "is empty"),
    ],
)
def test_bad_csv_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(
        DataError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        load_dataset(str(path), layered([2, 2, 1]))


def test_a_csv_saved_with_a_byte_order_mark_reads_as_any_other(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("input_0,input_1,output_0\n1,2,3\n".encode("utf-8-sig"))
    assert load_dataset(str(path), layered([2, 2, 1])).inputs.tolist() == [[1, 2]]


def test_a_csv_that_is_not_text_is_a_clear_error(tmp_path):
    path = tmp_path / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DataError, match="picture.csv is not a UTF-8 text file"):
        load_dataset(str(path), layered([2, 2, 1]))


def test_unknown_dataset_and_misfit_network_are_errors():
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        load_dataset("mnist", layered([2, 2, 1]))
    with pytest.raises(DataError, match="xor needs 2 input neurons.*has 3"):
        load_dataset("xor", layered([3, 2, 1]))
    with pytest.raises(DataError, match="digits needs 10 output neurons.*has 9"):
        load_dataset("digits", layered([64, 2, 9]))


def test_accuracy_by_class_and_by_sign():
    one_hot = np.array([[1, -1, -1], [-1, 1, -1]])
    assert accuracy(np.array([[0.9, 0.1, 0], [0.5, 0.4, 0]]), one_hot) == 0.5
    signs = np.array([[-1], [1], [1], [-1]])
    assert accuracy(np.array([[-0.2], [0.1], [-0.1], [-3]]), signs) == 0.75
    assert accuracy(np.array([[0.0], [1.0], [2.0]]), np.array([[0], [1], [2]])) is None
