"""Evaluating the stored network: one sample through the model, many with numpy.

Either way the structure is read with a single query of the `inputs` view, so
the number of requests does not grow with the network.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from typing import IO

import numpy as np

from loader.client import Couch
from loader.model import ModelError, neuron
from loader.network import Network, collector_paused, load_neurons


def evaluate_sample(
    couch: Couch, inputs: dict[str, float] | None = None, steps: int | None = None
) -> dict[str, float]:
    """{output neuron: value} for one sample, as the design document's list gives."""
    with collector_paused():
        neurons = load_neurons(couch)
        return neuron.evaluate_outputs(neurons, inputs, steps)


def parse_number(text: str) -> float:
    """A finite float from text, or ValueError saying what is wrong."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def read_samples(lines: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """The header and the numbers of a CSV file of samples."""
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader, [])]
    if not header or not any(header):
        raise ModelError("the CSV file has no header naming input neurons")
    if len(set(header)) < len(header):
        raise ModelError("the CSV header names a column twice")
    rows = [row_values(reader.line_num, header, row) for row in reader if row]
    if not rows:
        raise ModelError("the CSV file has no samples")
    return header, np.array(rows, dtype=float)


def row_values(line: int, header: list[str], row: list[str]) -> list[float]:
    if len(row) != len(header):
        raise ModelError(
            f"CSV line {line} has {len(row)} cells, expected {len(header)}"
        )
    values = []
    for name, cell in zip(header, row, strict=True):
        try:
            values.append(parse_number(cell))
        except ValueError:
            raise ModelError(
                f"CSV line {line}, column {name!r}: {cell!r} is not a number"
            ) from None
    return values


def evaluate_batch(
    net: Network, header: list[str], samples: np.ndarray, steps: int | None = None
) -> np.ndarray:
    """Outputs (samples, len(net.output_names)) for CSV columns named `header`."""
    for name in header:
        if name not in net.input_names:
            raise ModelError(f"CSV column {name!r} is not an input neuron")
    columns = {name: samples[:, i] for i, name in enumerate(header)}
    return net.predict(columns, steps)


def write_outputs(
    out: IO[str], net: Network, header: list[str], samples: np.ndarray, outputs
) -> None:
    """The samples' input columns, then one column per output neuron."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header + net.output_names)
    for sample, result in zip(samples.tolist(), outputs.tolist(), strict=True):
        writer.writerow([repr(value) for value in sample + result])
