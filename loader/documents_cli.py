"""`couchnet create`, `couchnet import` and `couchnet export`."""

from __future__ import annotations

import click
import orjson

from loader.client import Couch
from loader.documents import (
    ACTIVATIONS,
    check_import,
    export_docs,
    import_docs,
    layered_docs,
    layered_edge_count,
    neuron_docs,
    replace_network,
)
from loader.model import ModelError
from loader.options import connection_options, echo_json


def parse_layers(ctx, param, text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a list like 2,4,1", ctx, param
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise click.BadParameter(
            "give at least two layers, each of one neuron or more", ctx, param
        )
    return sizes


@click.command("create")
@click.option(
    "--layers",
    required=True,
    callback=parse_layers,
    metavar="N,N,...",
    help="Neurons per layer, inputs first and outputs last.",
)
@click.option(
    "--activation",
    type=click.Choice(ACTIVATIONS),
    default="identity",
    show_default=True,
    help="Activation of the hidden and output neurons.",
)
@click.option("--seed", type=int, help="Seed of the weights, for a repeatable network.")
@click.option(
    "--force", is_flag=True, help="Replace the network already in the database."
)
@connection_options
def create_command(
    couch: Couch, as_json: bool, layers, activation, seed, force
) -> None:
    """Create a fully connected layered network, one document per neuron.

    Neurons are named input_0, input_1, ..., hidden1_0, ..., output_0; every
    non-input neuron has a static bias input. The database is created when
    missing, and the documents are written in one _bulk_docs request.

    \b
    Examples:
      couchnet create --layers 2,4,1
      couchnet create --layers 64,32,10 --activation tanh --seed 1 --force
    """
    docs = layered_docs(layers, activation, seed)
    existing = neuron_docs(couch)
    if existing and not force:
        raise click.ClickException(
            f"database {couch.db!r} already holds a network of {len(existing)} "
            "neurons; add --force to replace it"
        )
    couch.create_db()
    counts = replace_network(couch, docs, existing)
    edges = layered_edge_count(layers)
    summary = {"database": couch.db, "layers": layers, "edges": edges, **counts}
    if as_json:
        echo_json(summary)
    else:
        click.echo(created_text(summary, len(docs)))


def created_text(summary: dict, neurons: int) -> str:
    shape = "-".join(map(str, summary["layers"]))
    text = f"created a {shape} network in {summary['database']!r}: "
    text += f"{neurons} neurons, {summary['edges']} edges"
    replaced = summary["updated"] + summary["deleted"]
    return text + (f" (replaced {replaced} neurons)" if replaced else "")


@click.command("import")
@click.argument("file", type=click.File("rb"))
@connection_options
def import_command(couch: Couch, as_json: bool, file) -> None:
    """Import neuron documents from a JSON file.

    The file holds a list of documents or {"docs": [...]}, as `couchnet
    export` writes it. Neurons already in the database are updated in place
    (their stored revision is used, any _rev in the file is ignored); all are
    written with one _bulk_docs request.

    \b
    Example:
      couchnet import network.json --db neural_net
    """
    try:
        docs = check_import(orjson.loads(file.read()))
    except orjson.JSONDecodeError as exc:
        raise ModelError(f"{file.name} is not JSON: {exc}") from None
    counts = import_docs(couch, docs)
    if as_json:
        echo_json({"database": couch.db, **counts})
        return
    click.echo(
        f"imported {len(docs)} documents into {couch.db!r}: "
        f"{counts['created']} created, {counts['updated']} updated"
    )


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@connection_options
def export_command(couch: Couch, as_json: bool, file) -> None:
    """Export the neuron documents as JSON ({"docs": [...]}, no revisions).

    Without FILE the JSON goes to stdout. The result imports into any
    database with `couchnet import`, or straight into _bulk_docs.

    \b
    Examples:
      couchnet export network.json
      couchnet export --db neural_net | jq '.docs | length'
    """
    exported = export_docs(couch)
    text = orjson.dumps(exported, option=orjson.OPT_INDENT_2) + b"\n"
    if file == "-":
        click.echo(text, nl=False)
        return
    try:
        with open(file, "wb") as out:
            out.write(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
    count = len(exported["docs"])
    if as_json:
        echo_json({"database": couch.db, "exported": count, "file": file})
    else:
        click.echo(f"exported {count} neurons from {couch.db!r} to {file}")
