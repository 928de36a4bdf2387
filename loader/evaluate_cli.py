"""`couchnet eval`: evaluate the stored network for one sample or a CSV of them."""

from __future__ import annotations

import sys

import click

from loader.client import Couch
from loader.evaluate import (
    evaluate_batch,
    evaluate_sample,
    parse_number,
    read_samples,
    write_outputs,
)
from loader.model import ModelError
from loader.network import load_network
from loader.options import connection_options, echo_json


def parse_inputs(ctx, param, pairs: tuple[str, ...]) -> dict[str, float]:
    """NAME=VALUE options as {input neuron: value}."""
    inputs = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", ctx, param)
        if name in inputs:
            raise click.BadParameter(f"{name} is given twice", ctx, param)
        try:
            inputs[name] = parse_number(text)
        except ValueError:
            raise click.BadParameter(
                f"{text!r} (for {name}) is not a number", ctx, param
            ) from None
    return inputs


@click.command("eval")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="NAME=VALUE",
    callback=parse_inputs,
    help="Value of an input neuron for this evaluation (repeatable); the "
    "documents are not changed. Inputs not given keep their static values.",
)
@click.option(
    "--data",
    type=click.File("r", encoding="utf-8-sig"),
    metavar="FILE.csv",
    help="CSV file of samples, one column per input neuron; outputs go out as CSV.",
)
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8", lazy=True),
    metavar="FILE.csv",
    help="Write the CSV of --data here instead of stdout.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    metavar="T",
    help="Evaluate in T discrete steps (needed when the network has a cycle).",
)
@connection_options
def eval_command(couch: Couch, as_json: bool, inputs, data, out, steps) -> None:
    """Evaluate the network stored in the database.

    Reads the whole structure with one query of the inputs view and evaluates
    it locally. With --data, every row of the CSV file is a sample: its
    columns must be input neurons, and the result has the inputs followed by
    one column per output neuron.

    \b
    Examples:
      couchnet eval --input input_0=0.5 --input input_1=-1
      couchnet eval --input input_x=1 --steps 10 --json
      couchnet eval --data samples.csv --out outputs.csv
    """
    if data and inputs:
        raise click.UsageError("give either --input or --data, not both")
    if out and not data:
        raise click.UsageError("--out goes with --data")
    if data:
        evaluate_file(couch, as_json, data, out, steps)
        return
    outputs = evaluate_sample(couch, inputs, steps)
    if as_json:
        echo_json({"outputs": outputs})
        return
    for name, value in outputs.items():
        click.echo(f"{name} = {value!r}")


def evaluate_file(couch: Couch, as_json: bool, data, out, steps) -> None:
    try:
        header, samples = read_samples(data)
    except UnicodeDecodeError:
        raise ModelError(f"{data.name} is not UTF-8 text") from None
    net = load_network(couch)
    outputs = evaluate_batch(net, header, samples, steps)
    if as_json:
        rows = [
            dict(zip(net.output_names, row, strict=True)) for row in outputs.tolist()
        ]
        echo_json({"outputs": rows})
        return
    write_outputs(out or sys.stdout, net, header, samples, outputs)
