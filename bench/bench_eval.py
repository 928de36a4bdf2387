"""Evaluating a stored network: per-neuron requests against one view read.

For layered networks of growing size this measures one evaluation by
  (a) recursion without memory, one GET of a neuron document per visit, as
      the original code did (capped; the rest is extrapolated from the exact
      number of visits the full recursion would make),
  (b) the same recursion with memory: one GET per neuron,
  (c) couchnet: one streamed read of the inputs view, then a local evaluation,
and the samples/s of a 1,000-sample batch through the compiled network against
a plain-numpy forward pass over the same weights.

Uses COUCHDB_URL when set, else starts devcouch. BENCH_EVAL_MAX_EDGES (default
100000) leaves out the larger networks; BENCH_EVAL_CAP_SECONDS (default 3)
bounds each capped run of (a).
"""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loader.client import Couch
from loader.devserver import public_url, push_designs, server
from loader.documents import layered_docs, layered_edge_count, replace_network
from loader.evaluate import evaluate_sample
from loader.model import neuron
from loader.network import load_network

PROJECT = Path(__file__).resolve().parent.parent
NETWORKS = [
    ("4-8-8-1", [4, 8, 8, 1]),
    ("16-64-64-4", [16, 64, 64, 4]),
    ("100x3-10", [100, 100, 100, 100, 10]),
    ("4 wide, 2500 deep", [4] * 2500),
    ("200-200-200-100", [200, 200, 200, 100]),
    ("10 wide, 1000 deep", [10] * 1000),
]
BATCH = 1000
MAX_EDGES = int(os.environ.get("BENCH_EVAL_MAX_EDGES", "100000"))
CAP_SECONDS = float(os.environ.get("BENCH_EVAL_CAP_SECONDS", "3"))


class Capped(Exception):
    """The recursion without memory ran out of its time budget."""


@dataclass
class Run:
    requests: int
    seconds: float
    visits: int = 0
    capped: bool = False
    full_visits: int = 0

    @property
    def log10_estimate(self) -> float:
        """log10 of the seconds the whole run takes, extrapolated per visit.

        In logarithms because the count of visits can exceed any float.
        """
        per_visit = self.seconds / max(self.visits, 1)
        return math.log10(per_visit) + math.log10(self.full_visits)


def fresh_client(couch: Couch) -> Couch:
    """A client of its own, so that only its requests are counted."""
    user, password = couch.session.auth or (None, None)
    return Couch(couch.url, couch.db, user, password)


def counting(couch: Couch) -> list:
    sent = []
    couch.session.hooks["response"].append(lambda r, *args, **kwargs: sent.append(1))
    return sent


def recursive_output(couch, name, memory, deadline, visits):
    """get_output as in the original code; `memory` None recomputes every visit."""
    if memory is not None and name in memory:
        return memory[name]
    if deadline and time.perf_counter() > deadline:
        raise Capped
    visits[0] += 1
    doc = couch.get(name)
    total = 0.0
    for entry in doc["inputs"]:
        if entry["node"] == neuron.STATIC:
            total += neuron.static_value(entry["weight"])
        else:
            source = recursive_output(couch, entry["node"], memory, deadline, visits)
            total += source * neuron.trust(entry["weight"])
    output = neuron.activate(doc.get("activation") or "identity", total)
    if memory is not None:
        memory[name] = output
    return output


def per_neuron_run(couch: Couch, outputs: list[str], memory: bool) -> Run:
    fresh = fresh_client(couch)
    sent = counting(fresh)
    deadline = None if memory else time.perf_counter() + CAP_SECONDS
    remembered = {} if memory else None
    visits = [0]
    start = time.perf_counter()
    try:
        for name in outputs:
            recursive_output(fresh, name, remembered, deadline, visits)
    except Capped:
        return Run(len(sent), time.perf_counter() - start, visits[0], capped=True)
    return Run(len(sent), time.perf_counter() - start, visits[0])


def full_visits(neurons: dict, outputs: list[str]) -> int:
    """How many visits the recursion without memory makes: one per path."""
    order = neuron.topological_order(neurons)
    visits = {}
    for name in order:
        sources = [n for n, _ in neurons[name]["inputs"] if n != neuron.STATIC]
        visits[name] = 1 + sum(visits[s] for s in sources)
    return sum(visits[name] for name in outputs)


def couchnet_run(couch: Couch, repeats: int = 3) -> Run:
    """The best of a few evaluations; each one reads the view again."""
    runs = []
    for _ in range(repeats):
        fresh = fresh_client(couch)
        sent = counting(fresh)
        start = time.perf_counter()
        evaluate_sample(fresh)
        runs.append(Run(len(sent), time.perf_counter() - start))
    return min(runs, key=lambda run: run.seconds)


def plain_numpy_layers(docs: list[dict], sizes: list[int]):
    """(trust, bias) per layer straight from the documents."""
    layers, start = [], sizes[0]
    for before, size in zip(sizes, sizes[1:], strict=False):
        block = docs[start : start + size]
        weights = np.array([[e["weight"] for e in d["inputs"][:-1]] for d in block])
        bias = np.array([d["inputs"][-1]["weight"] for d in block])
        assert weights.shape == (size, before)
        layers.append((np.tanh(weights).T.copy(), bias))
        start += size
    return layers


def plain_numpy_forward(layers, x: np.ndarray) -> np.ndarray:
    for trust, bias in layers:
        x = np.tanh(x @ trust + bias)
    return x


def best_seconds(function, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_network(base_url: str, label: str, sizes: list[int]) -> dict:
    couch = Couch(base_url, f"bench_eval_{uuid.uuid4().hex[:8]}")
    push_designs(base_url, couch.db)
    try:
        return measure(couch, label, sizes)
    finally:
        couch.delete_db()


def measure(couch: Couch, label: str, sizes: list[int]) -> dict:
    docs = layered_docs(sizes, "tanh", seed=0)
    replace_network(couch, docs, [])
    start = time.perf_counter()
    net = load_network(couch)  # builds the view index, not timed below
    index_seconds = time.perf_counter() - start

    outputs = net.output_names
    a = per_neuron_run(couch, outputs, memory=False)
    a.full_visits = full_visits(net.neurons, outputs)
    b = per_neuron_run(couch, outputs, memory=True)
    c = couchnet_run(couch)

    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, sizes[0]))
    layers = plain_numpy_layers(docs, sizes)
    assert np.allclose(net.predict(x), plain_numpy_forward(layers, x))
    ours = best_seconds(lambda: net.predict(x))
    plain = best_seconds(lambda: plain_numpy_forward(layers, x))
    return {
        "label": label,
        "neurons": len(net.names),
        "edges": net.edge_count,
        "index_seconds": index_seconds,
        "a": a,
        "b": b,
        "c": c,
        "batch_ours": BATCH / ours,
        "batch_plain": BATCH / plain,
    }


def log_seconds_text(log10_seconds: float) -> str:
    if log10_seconds < 5:
        return f"{10**log10_seconds:.3g} s"
    log10_years = log10_seconds - math.log10(3.156e7)
    if log10_years < 6:
        return f"{10**log10_years:.2g} years"
    return f"10^{log10_years:.0f} years"


def count_text(count: int) -> str:
    return str(count) if count < 10**7 else f"10^{math.log10(count):.1f}"


def run_a_text(run: Run) -> str:
    if not run.capped:
        return f"{run.requests} req, {run.seconds:.3g} s"
    return (
        f"capped: {run.requests} req in {run.seconds:.1f} s; full run "
        f"{count_text(run.full_visits)} req, ~{log_seconds_text(run.log10_estimate)}"
    )


def print_results(results: list[dict]) -> None:
    print("\nOne evaluation (requests and seconds; view index built beforehand)")
    header = f"{'network':<20}{'neurons':>8}{'edges':>8}  {'(b) memory':>18}  "
    header += f"{'(c) couchnet':>16}  {'(b)/(c)':>8}  (a) no memory"
    print(header)
    for r in results:
        b, c = r["b"], r["c"]
        print(
            f"{r['label']:<20}{r['neurons']:>8}{r['edges']:>8}  "
            f"{b.requests:>7} req {b.seconds:>7.3f} s  "
            f"{c.requests:>5} req {c.seconds:>6.3f} s  "
            f"{b.seconds / c.seconds:>7.1f}x  {run_a_text(r['a'])}"
        )
    print(f"\nBatch of {BATCH} samples once the structure is loaded (samples/s)")
    print(f"{'network':<20}{'couchnet':>12}{'plain numpy':>14}{'numpy/couchnet':>16}")
    for r in results:
        ratio = r["batch_plain"] / r["batch_ours"]
        print(
            f"{r['label']:<20}{r['batch_ours']:>12.0f}{r['batch_plain']:>14.0f}"
            f"{ratio:>15.2f}x"
        )
    print("\nView index build (first query, not part of the figures above)")
    for r in results:
        print(f"{r['label']:<20}{r['index_seconds']:>8.2f} s")


def main() -> None:
    sys.setrecursionlimit(20000)  # the recursion follows every level of the network
    chosen = [
        (label, sizes)
        for label, sizes in NETWORKS
        if layered_edge_count(sizes) <= MAX_EDGES
    ]
    started = time.perf_counter()
    with server(PROJECT / "data" / "bench") as url:
        print(f"server: {public_url(url)}")
        results = []
        for label, sizes in chosen:
            results.append(bench_network(url, label, sizes))
            print(f"measured {label}", flush=True)
    print_results(results)
    print(f"\nbench_eval took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
