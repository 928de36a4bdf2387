"""`couchnet show`: the network's levels, sizes and edges, or a picture of it."""

from __future__ import annotations

from pathlib import Path

import click

from loader import show
from loader.client import Couch
from loader.network import Network, load_network
from loader.options import connection_options, echo_json


@click.command("show")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "dot", *show.PICTURE_FORMATS]),
    default="text",
    show_default=True,
    help="text: levels and edges; dot: a Graphviz graph; png/svg: a picture.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (png and svg default to <db>.<format>).",
)
@connection_options
def show_command(couch: Couch, as_json: bool, fmt: str, out: Path | None) -> None:
    """Show the stored network: its levels, sizes and edges, or draw it.

    Pictures come from Graphviz when its `dot` program is installed, from
    matplotlib otherwise.

    \b
    Examples:
      couchnet show
      couchnet show --format dot | dot -Tsvg > network.svg
      couchnet show --format png --out network.png
    """
    net = load_network(couch)
    if as_json and fmt == "text":
        echo_json(show.summary(net))
        return
    if fmt in show.PICTURE_FORMATS:
        out = out or Path(f"{couch.db}.{fmt}")
        write(out, show.picture(net, couch.db, fmt))
        report(as_json, out, fmt)
        return
    rendered = render_text(net, couch.db, fmt)
    if out is None:
        click.echo(rendered)
        return
    write(out, (rendered + "\n").encode())
    report(as_json, out, fmt)


def render_text(net: Network, db: str, fmt: str) -> str:
    return show.dot(net, db) if fmt == "dot" else show.text(net, db)


def write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None


def report(as_json: bool, path: Path, fmt: str) -> None:
    if as_json:
        echo_json({"file": str(path), "format": fmt})
    else:
        click.echo(f"wrote {path}")
