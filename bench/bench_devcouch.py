"""devcouch against Apache CouchDB 3.5's figures on a 2-core machine.

Bulk-loads neuron documents (8 inputs each), builds the view that emits each
input, reads it whole, and GETs documents one by one. Prints docs/s, rows/s
and single-GET latency beside CouchDB's yardsticks.

    BENCH_DEVCOUCH_DOCS=20000 .venv/bin/python bench/bench_devcouch.py

COUCHDB_URL (with credentials) measures another server instead.
"""

import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import requests

from loader.devserver import server

DOCS = int(os.environ.get("BENCH_DEVCOUCH_DOCS", 100_000))
INPUTS = 8
BATCH = 1000
GETS = 2000
ROWS_YARDSTICK = 160_000

# Apache CouchDB 3.5.0 on 2 cores, as measured for this project.
COUCH_INDEX_DOCS_S = 4000
COUCH_ROWS_S = ROWS_YARDSTICK / 4.0
COUCH_GET_MS = 3.0

MAP = """
def inputs(doc):
    for entry in doc.get("inputs", []):
        yield doc["_id"], {"node": entry["node"], "weight": entry["weight"]}
"""


def neuron(index: int, rng: random.Random) -> dict:
    sources = [f"n{rng.randrange(max(index, 1)):06d}" for _ in range(INPUTS)]
    inputs = [{"node": s, "weight": rng.uniform(-3, 3)} for s in sources]
    return {"_id": f"n{index:06d}", "inputs": inputs, "increment": 0}


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bulk_load(session: requests.Session, db: str) -> float:
    rng = random.Random(1)
    docs = [neuron(i, rng) for i in range(DOCS)]

    def load():
        for start in range(0, DOCS, BATCH):
            body = {"docs": docs[start : start + BATCH]}
            response = session.post(f"{db}/_bulk_docs", json=body, timeout=600)
            response.raise_for_status()

    return DOCS / timed(load)


def build_view(session: requests.Session, db: str) -> float:
    ddoc = {"language": "python", "views": {"inputs": {"map": MAP}}}
    session.put(f"{db}/_design/bench", json=ddoc, timeout=60).raise_for_status()
    view = f"{db}/_design/bench/_view/inputs"

    def build():
        session.get(view, params={"limit": 1}, timeout=3600).raise_for_status()

    return DOCS / timed(build)


def read_rows(
    session: requests.Session, db: str, limit: int | None
) -> tuple[int, float]:
    """Rows read line by line, as the loader streams them, and rows/s."""
    params = {"limit": limit} if limit else {}
    view = f"{db}/_design/bench/_view/inputs"
    count = 0

    def read():
        nonlocal count
        with session.get(view, params=params, stream=True, timeout=3600) as response:
            response.raise_for_status()
            for line in response.iter_lines(chunk_size=1 << 16):
                if line.startswith(b'{"id"'):
                    count += 1

    seconds = timed(read)
    return count, count / seconds


def get_latency_ms(session: requests.Session, db: str) -> float:
    rng = random.Random(2)
    ids = [f"n{rng.randrange(DOCS):06d}" for _ in range(GETS)]
    times = []
    for doc_id in ids:
        started = time.perf_counter()
        session.get(f"{db}/{doc_id}", timeout=30).raise_for_status()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def report(
    name: str, measured: float, unit: str, yardstick: float, higher_is_better=True
):
    ratio = measured / yardstick if higher_is_better else yardstick / measured
    verdict = "ok" if ratio >= 1 else "SLOWER"
    print(
        f"{name:<34} {measured:>10.1f} {unit:<7} CouchDB {yardstick:>8.1f} {unit:<7}"
        f" x{ratio:.2f} {verdict}",
        flush=True,
    )


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-devcouch-") as data_dir,
        # Request logging off, as a production server would run.
        server(Path(data_dir), None, "--quiet") as url,
    ):
        db = f"{url.rstrip('/')}/bench_{uuid.uuid4().hex[:8]}"
        session = requests.Session()
        try:
            session.put(db, timeout=60).raise_for_status()
            print(f"{DOCS} neuron documents, {INPUTS} inputs each", flush=True)
            print(
                f"{'bulk load':<34} {bulk_load(session, db):>10.1f} docs/s", flush=True
            )
            report(
                "index the inputs view",
                build_view(session, db),
                "docs/s",
                COUCH_INDEX_DOCS_S,
            )
            rows, rate = read_rows(session, db, min(ROWS_YARDSTICK, DOCS * INPUTS))
            report(f"read {rows} rows", rate, "rows/s", COUCH_ROWS_S)
            rows, rate = read_rows(session, db, None)
            report(f"read the whole view ({rows} rows)", rate, "rows/s", COUCH_ROWS_S)
            latency = get_latency_ms(session, db)
            report(
                "single GET (median)",
                latency,
                "ms",
                COUCH_GET_MS,
                higher_is_better=False,
            )
        finally:
            session.delete(db, timeout=600)


if __name__ == "__main__":
    main()
