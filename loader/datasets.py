"""Training data mapped onto a network's input and output neurons by name.

`xor` and `digits` give feature i to `input_i` and target j to `output_j`, the
names `couchnet create` uses; a CSV file names its columns after the neurons.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from loader.evaluate import parse_number
from loader.model import ModelError
from loader.network import Network

DIGITS_TEST_SIZE = 0.25
DIGITS_SPLIT_SEED = 0
# Outputs that cannot go below 0 learn "not this class" as 0 rather than -1.
NON_NEGATIVE = {"logistic", "relu"}


class DataError(ModelError):
    """The data cannot be read, or does not fit the network."""


@dataclass
class Dataset:
    """Training rows, and held-out rows when the dataset has a fixed split.

    Columns follow `input_names` and `output_names`.
    """

    name: str
    input_names: list[str]
    output_names: list[str]
    inputs: np.ndarray
    targets: np.ndarray
    test_inputs: np.ndarray | None = None
    test_targets: np.ndarray | None = None

    def fingerprint(self) -> str:
        """A digest of the rows, so that a resumed run trains on the same data."""
        digest = hashlib.sha1()
        for array in (self.inputs, self.targets, self.test_inputs, self.test_targets):
            if array is not None:
                digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        return digest.hexdigest()

    def shard(self, index: int, count: int) -> Dataset:
        """Training rows index, index + count, ... (index from 1); tests kept."""
        if not 1 <= index <= count:
            raise DataError(f"shard {index}/{count}: the index must be 1 to {count}")
        rows = slice(index - 1, None, count)
        if not len(self.inputs[rows]):
            raise DataError(f"shard {index}/{count} of {self.name} holds no rows")
        return replace(self, inputs=self.inputs[rows], targets=self.targets[rows])

    def evaluation_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Where accuracy is measured: the held-out rows if any, else training."""
        if self.test_inputs is not None:
            return self.test_inputs, self.test_targets
        return self.inputs, self.targets


def accuracy(outputs: np.ndarray, targets: np.ndarray) -> float | None:
    """Share of rows classified right, where the targets say what right means.

    Several outputs with one highest target per row: the highest output must
    be that one. One output whose targets take two values: the output must be
    nearer the right one. Anything else is not a classification: None.
    """
    if targets.shape[1] > 1:
        top = targets.max(axis=1, keepdims=True)
        if np.all((targets == top).sum(axis=1) == 1):
            return float(np.mean(outputs.argmax(axis=1) == targets.argmax(axis=1)))
        return None
    values = np.unique(targets)
    if len(values) != 2:
        return None
    middle = values.mean()
    return float(np.mean((outputs[:, 0] > middle) == (targets[:, 0] > middle)))


def load_dataset(spec: str, network: Network) -> Dataset:
    """`xor`, `digits` or a CSV file, with columns in the network's order."""
    if spec == "xor":
        dataset = xor()
    elif spec == "digits":
        dataset = digits(low=low_target(network))
    elif spec.lower().endswith(".csv") or Path(spec).is_file():
        return read_csv(Path(spec), network)
    else:
        raise DataError(f"unknown dataset {spec!r}: use xor, digits or a CSV file")
    check_fits(dataset, network)
    return in_network_order(dataset, network)


def xor() -> Dataset:
    inputs = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    targets = np.array([[-1.0], [1.0], [1.0], [-1.0]])
    return Dataset("xor", ["input_0", "input_1"], ["output_0"], inputs, targets)


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scikit-learn's 8x8 digits: train and held-out pixels, standardised with
    the training rows' mean and spread, and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    train, test, train_labels, test_labels = train_test_split(
        bunch.data,
        bunch.target,
        test_size=DIGITS_TEST_SIZE,
        random_state=DIGITS_SPLIT_SEED,
        stratify=bunch.target,
    )
    mean, spread = train.mean(axis=0), train.std(axis=0)
    spread[spread == 0] = 1.0
    return (train - mean) / spread, (test - mean) / spread, train_labels, test_labels


def digits(low: float = -1.0) -> Dataset:
    """One output per class: 1 for the digit shown, `low` for the others."""
    train, test, train_labels, test_labels = digits_split()
    classes = 10
    return Dataset(
        "digits",
        [f"input_{i}" for i in range(train.shape[1])],
        [f"output_{j}" for j in range(classes)],
        train,
        one_hot(train_labels, classes, low),
        test,
        one_hot(test_labels, classes, low),
    )


def one_hot(labels: np.ndarray, classes: int, low: float) -> np.ndarray:
    targets = np.full((len(labels), classes), low)
    targets[np.arange(len(labels)), labels] = 1.0
    return targets


def low_target(network: Network) -> float:
    activations = {
        network.neurons[name].get("activation") or "identity"
        for name in network.output_names
    }
    return 0.0 if activations and activations <= NON_NEGATIVE else -1.0


def check_fits(dataset: Dataset, network: Network) -> None:
    for role, wanted, have in (
        ("input", dataset.input_names, network.input_names),
        ("output", dataset.output_names, network.output_names),
    ):
        if sorted(wanted) != sorted(have):
            raise DataError(
                f"{dataset.name} needs {len(wanted)} {role} neurons "
                f"({names_text(wanted)}); the network has {len(have)} "
                f"({names_text(have)})"
            )


def in_network_order(dataset: Dataset, network: Network) -> Dataset:
    """The same rows, their columns in the order of the network's neurons."""
    inputs = [dataset.input_names.index(name) for name in network.input_names]
    outputs = [dataset.output_names.index(name) for name in network.output_names]

    def columns(array: np.ndarray | None, chosen: list[int]) -> np.ndarray | None:
        return None if array is None else array[:, chosen]

    return replace(
        dataset,
        input_names=list(network.input_names),
        output_names=list(network.output_names),
        inputs=columns(dataset.inputs, inputs),
        targets=columns(dataset.targets, outputs),
        test_inputs=columns(dataset.test_inputs, inputs),
        test_targets=columns(dataset.test_targets, outputs),
    )


def names_text(names: list[str], shown: int = 4) -> str:
    if len(names) <= shown:
        return ", ".join(names) or "none"
    return ", ".join(names[: shown - 1]) + f", ..., {names[-1]}"


def read_csv(path: Path, network: Network) -> Dataset:
    """Rows of numbers under a header naming input and output neurons."""
    lines = numbered_rows(path)
    if not lines:
        raise DataError(f"{path} is empty")
    header = [name.strip() for name in lines[0][1]]
    check_header(path, header, network)
    if len(lines) < 2:
        raise DataError(f"{path} has a header but no rows")

    table = parse_rows(path, header, lines[1:])
    columns = {name: table[:, i] for i, name in enumerate(header)}
    return Dataset(
        path.name,
        list(network.input_names),
        list(network.output_names),
        np.column_stack([columns[name] for name in network.input_names]),
        np.column_stack([columns[name] for name in network.output_names]),
    )


def numbered_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number in the file, cells) of every row that is not blank."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            return [
                (reader.line_num, row)
                for row in reader
                if any(cell.strip() for cell in row)
            ]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not a CSV file: {exc}") from None


def check_header(path: Path, header: list[str], network: Network) -> None:
    known = set(network.input_names) | set(network.output_names)
    for name in header:
        if header.count(name) > 1:
            raise DataError(f"{path}: column {name!r} appears twice")
        if name not in known:
            raise DataError(
                f"{path}: column {name!r} names no input or output neuron "
                f"(inputs: {names_text(network.input_names)}; "
                f"outputs: {names_text(network.output_names)})"
            )
    for role, names in (
        ("input", network.input_names),
        ("output", network.output_names),
    ):
        missing = [name for name in names if name not in header]
        if missing:
            raise DataError(
                f"{path} has no column for {role} neuron(s) {names_text(missing)}"
            )


def parse_rows(
    path: Path, header: list[str], lines: list[tuple[int, list[str]]]
) -> np.ndarray:
    table = np.empty((len(lines), len(header)))
    for row_index, (number, row) in enumerate(lines):
        if len(row) != len(header):
            raise DataError(
                f"{path} line {number}: {len(row)} cells, the header has {len(header)}"
            )
        for column, cell in enumerate(row):
            table[row_index, column] = number_in(path, number, header[column], cell)
    return table


def number_in(path: Path, line: int, column: str, cell: str) -> float:
    try:
        return parse_number(cell)
    except ValueError:
        raise DataError(
            f"{path} line {line}, column {column!r}: {cell!r} is not a finite number"
        ) from None
