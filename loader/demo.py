"""`make demo`: a network in CouchDB from nothing, trained on XOR, evaluated two ways.

Runs against COUCHDB_URL when it is set, otherwise against a devcouch started
here with its files in data/demo. The demo is a list of steps, each a small
function of the shared `Demo` state, so that steps can be added in place.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson
from rich.console import Console
from rich.table import Table

from loader.client import Couch, CouchError
from loader.devserver import public_url, push_designs, run_couchnet, server
from loader.documents import (
    layered_docs,
    layered_edge_count,
    neuron_docs,
    replace_network,
)
from loader.model import ModelError

PROJECT = Path(__file__).resolve().parent.parent
DATA = PROJECT / "data" / "demo"
DB = os.environ.get("COUCHNET_DB", "couchnet_demo")
LAYERS = [2, 8, 1]
SAMPLES = [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)]
# Fixed, so that devcouch can be started again on data/demo to browse it.
PASSWORD = "couchnet-demo"


@dataclass
class Demo:
    """What the steps share: where the network is, and what they found."""

    url: str
    db: str
    couch: Couch
    console: Console
    results: dict = field(default_factory=dict)

    def couchnet(self, *args: str) -> subprocess.CompletedProcess:
        """Run the couchnet command line on the demo's database."""
        return run_couchnet(self.url, self.db, *args)


def push_design(demo: Demo) -> None:
    """Deploy the design documents (couchnet push)."""
    demo.console.print(push_designs(demo.url, demo.db).strip())


def create_network(demo: Demo) -> None:
    """Create a 2-8-1 tanh network, replacing the demo's previous one."""
    docs = layered_docs(LAYERS, "tanh", seed=7)
    counts = replace_network(demo.couch, docs, neuron_docs(demo.couch))
    edges = layered_edge_count(LAYERS)
    demo.console.print(
        f"{len(docs)} neurons and {edges} edges in {demo.db!r} "
        f"({counts['created']} created, {counts['updated']} updated)"
    )


def train_xor(demo: Demo) -> None:
    """Train it on XOR with `couchnet train` in a separate process."""
    done = demo.couchnet("train", "--dataset", "xor", "--json")
    result = orjson.loads(done.stdout)
    demo.results["run"] = result["run"]
    demo.console.print(
        f"run {result['run']}: {result['epochs']} epochs, squared error "
        f"{result['loss']:.4f}, signs right {result['accuracy']:.0%}",
        highlight=False,
    )


def evaluate_with_cli(demo: Demo) -> None:
    """Evaluate four samples with `couchnet eval --data` in a separate process."""
    with tempfile.TemporaryDirectory() as folder:
        samples = Path(folder) / "samples.csv"
        with open(samples, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["input_0", "input_1"])
            writer.writerows(SAMPLES)
        done = demo.couchnet("eval", "--data", str(samples), "--json")
    outputs = orjson.loads(done.stdout)["outputs"]
    demo.results["couchnet"] = [row["output_0"] for row in outputs]
    demo.console.print("couchnet eval --data samples.csv --json: one view read")


def evaluate_in_couchdb(demo: Demo) -> None:
    """Evaluate the same samples inside the server with the evaluate list."""
    values = []
    for a, b in SAMPLES:
        path = list_path(demo.db, {"input_0": a, "input_1": b})
        reply = demo.couch.json("GET", path)
        if "outputs" not in reply:
            raise ModelError(f"the evaluate list answered {reply}")
        values.append(reply["outputs"]["output_0"])
    demo.results["list"] = values
    demo.console.print(
        "_list/evaluate: one request per sample, evaluated in the server"
    )


def list_path(db: str, params: dict | None = None, name: str = "evaluate") -> str:
    query = urlencode({"reduce": "false", **(params or {})})
    return f"{quote(db, safe='')}/_design/network/_list/{name}/inputs?{query}"


def print_table(demo: Demo) -> None:
    """Print the inputs and the outputs both ways."""
    table = Table(title=f"{'-'.join(map(str, LAYERS))} network in {demo.db!r}")
    for column in (
        "input_0",
        "input_1",
        "output_0 (couchnet eval)",
        "output_0 (_list)",
    ):
        table.add_column(column, justify="right")
    rows = zip(SAMPLES, demo.results["couchnet"], demo.results["list"], strict=True)
    for (a, b), ours, theirs in rows:
        table.add_row(f"{a:g}", f"{b:g}", f"{ours:.6f}", f"{theirs:.6f}")
    demo.console.print(table)


def check_xor(demo: Demo) -> None:
    """Check what the stored weights give: XOR's signs, a small squared error."""
    outputs = demo.results["couchnet"]
    targets = [-a * b for a, b in SAMPLES]
    error = sum((y - t) ** 2 for y, t in zip(outputs, targets, strict=True)) / 4
    signs = all(y * t > 0 for y, t in zip(outputs, targets, strict=True))
    if not signs or error >= 0.05:
        raise ModelError(f"XOR not learnt: outputs {outputs}, squared error {error}")
    demo.console.print(f"all four signs right; squared error {error:.4f} < 0.05")


def plot_loss(demo: Demo) -> None:
    """Draw the run's loss curve with `couchnet plot` under data/."""
    out = PROJECT / "data" / "xor_loss.png"
    # With COUCHDB_URL set no devcouch has made data/ yet.
    out.parent.mkdir(exist_ok=True)
    demo.couchnet("plot", demo.results["run"], "--out", str(out))
    demo.console.print(f"loss curve: {out.relative_to(PROJECT)}", highlight=False)


def print_urls(demo: Demo) -> None:
    """Print where to look at the network in a browser or with curl."""
    base = public_url(demo.url)
    db = quote(demo.db, safe="")
    lines = [
        ("inputs view", f"{base}/{db}/_design/network/_view/inputs?reduce=false"),
        ("a neuron", f"{base}/{db}/_design/network/_show/neuron/output_0"),
        ("a hidden neuron", f"{base}/{db}/_design/network/_show/neuron/hidden1_0"),
        ("evaluate", f"{base}/{list_path(demo.db, {'input_0': 1, 'input_1': -1})}"),
        ("DOT graph", f"{base}/{list_path(demo.db, name='dot')}"),
    ]
    if os.environ.get("COUCHDB_URL"):  # devcouch has no Fauxton
        lines.append(("Fauxton", f"{base}/_utils/#database/{db}/_all_docs"))
    for label, url in lines:
        demo.console.print(f"{label:>16}: {url}", soft_wrap=True, highlight=False)
    if not os.environ.get("COUCHDB_URL"):
        port = base.rsplit(":", 1)[1]
        demo.console.print(
            f"\ndevcouch stops now; to browse these (admin / {PASSWORD}):"
            f"\n  .venv/bin/devcouch --port {port} --data data/demo "
            f"--admin admin:{PASSWORD}",
            highlight=False,
        )


STEPS: list[Callable[[Demo], None]] = [
    push_design,
    create_network,
    train_xor,
    evaluate_with_cli,
    evaluate_in_couchdb,
    print_table,
    check_xor,
    plot_loss,
    print_urls,
]


def run(demo: Demo, steps: list[Callable[[Demo], None]] = STEPS) -> None:
    for number, step in enumerate(steps, start=1):
        demo.console.rule(f"{number}. {step.__doc__.splitlines()[0].rstrip('.')}")
        step(demo)


def main() -> None:
    console = Console()
    try:
        with server(DATA, PASSWORD) as url:
            where = "COUCHDB_URL" if os.environ.get("COUCHDB_URL") else "devcouch"
            console.print(f"server: {public_url(url)} ({where})")
            run(Demo(url, DB, Couch(url, DB), console))
    except (CouchError, ModelError, RuntimeError) as exc:
        console.print(f"Error: {exc}", style="red", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
