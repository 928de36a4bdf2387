"""couchnet-viewserver against couchpy, a `cat` floor and plain orjson.

One transcript: 20,000 neuron documents with 8 inputs each through a map that
emits each input, with a reduce and a rereduce after every 100 documents. It
goes through each server twice: streamed (all lines at once, as fast as the
server answers) and ping-pong (one line, then wait for its reply, as CouchDB
talks; timed from the first reply on, so interpreter start-up is left out).
Each mode runs a few times and each server's best figures count, as the
machine may be shared. Ping-pong is also given in CPU seconds of the server
process (start-up included), steadier than wall time on a busy machine.

    python bench/bench_viewserver.py          # 20,000 documents
    python bench/bench_viewserver.py 2000     # or BENCH_DOCS=2000 make bench
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
INPUTS_PER_NEURON = 8
BATCH = 100  # documents between two reduce calls
REPEATS = 5  # streamed runs per server; the fastest counts (the machine is shared)
PING_PONG_REPEATS = 3  # the same for ping-pong, which takes longer

MAP = """\
def fun(doc):
    for entry in doc["inputs"]:
        yield entry["node"], [doc["_id"], entry["weight"]]
"""
REDUCE = """\
def fun(keys, values, rereduce):
    if rereduce:
        return sum(values)
    return len(values)
"""

# Reads each line, decodes and re-encodes it with orjson, writes it back: the
# least any Python server using orjson does with the same lines.
ORJSON_ECHO = """\
import os, orjson
loads, dumps = orjson.loads, orjson.dumps
rest = b""
while chunk := os.read(0, 1 << 16):
    lines = (rest + chunk).split(b"\\n")
    rest = lines.pop()
    data = b"".join([dumps(loads(line)) + b"\\n" for line in lines if line])
    while data:
        data = data[os.write(1, data):]
"""


def neuron(index: int, rng: random.Random) -> dict:
    inputs = [
        {"node": f"n{rng.randrange(index + 1):06d}", "weight": rng.uniform(-2, 2)}
        for _ in range(INPUTS_PER_NEURON)
    ]
    return {
        "_id": f"n{index:06d}",
        "_rev": f"1-{rng.getrandbits(64):016x}",
        "type": "neuron",
        "activation": "tanh",
        "inputs": inputs,
    }


def transcript(count: int) -> list[bytes]:
    """The command lines: reset, add_fun, then map_doc with reduces between."""
    rng = random.Random(42)
    lines = [["reset", {"reduce_limit": True, "timeout": 5000}], ["add_fun", MAP]]
    kvs = []
    for index in range(count):
        doc = neuron(index, rng)
        lines.append(["map_doc", doc])
        for entry in doc["inputs"]:
            kvs.append([[entry["node"], doc["_id"]], [doc["_id"], entry["weight"]]])
        if (index + 1) % BATCH == 0:
            lines.append(["reduce", [REDUCE], kvs])
            lines.append(["rereduce", [REDUCE], [len(kvs), len(kvs), 3]])
            kvs = []
    return [orjson.dumps(line) + b"\n" for line in lines]


def prepare_environment() -> None:
    """Run every server as an installed one runs: bytecode compiled, buffered.

    An editable install under PYTHONDONTWRITEBYTECODE never caches viewserver's
    bytecode (pip does for couchpy), and PYTHONUNBUFFERED would make couchpy
    write each reply unbuffered; CouchDB starts its query servers with neither.
    """
    import compileall

    import viewserver

    compileall.compile_dir(Path(viewserver.__file__).parent, quiet=1)
    os.environ.pop("PYTHONUNBUFFERED", None)


def servers() -> dict[str, list[str]]:
    return {
        "couchnet-viewserver": [str(VENV_BIN / "couchnet-viewserver")],
        "couchpy": [str(VENV_BIN / "couchpy")],
        "orjson echo": [sys.executable, "-c", ORJSON_ECHO],
        "cat": [shutil.which("cat") or "cat"],
    }


def streamed(commands: dict[str, list[str]], path: Path) -> dict[str, float]:
    """Seconds from start to end of output, the best of a few rounds.

    The servers take turns in each round, so a busy moment of the (shared)
    machine does not fall on one server only.
    """
    best = {name: float("inf") for name in commands}
    for _ in range(REPEATS):
        for name, command in commands.items():
            seconds, replies = streamed_once(command, path)
            check(name, replies, path)
            best[name] = min(best[name], seconds)
    return best


def streamed_once(command: list[str], path: Path) -> tuple[float, int]:
    """Seconds for one streamed run, and the number of reply lines."""
    started = time.perf_counter()
    with open(path, "rb") as stdin:
        result = subprocess.run(command, stdin=stdin, capture_output=True, check=True)
    seconds = time.perf_counter() - started
    replies = [line for line in result.stdout.splitlines() if not is_log(line)]
    return seconds, len(replies)


def ping_pong(commands: dict[str, list[str]], lines: list[bytes]) -> dict:
    """Per server: seconds for every line after the first, each waiting for its
    reply, and the CPU seconds the server process used in all.

    All servers run at once and get each line in turn, for the same reason.
    """
    processes = {
        name: subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for name, command in commands.items()
    }
    seconds = dict.fromkeys(commands, 0.0)
    for number, line in enumerate(lines):
        for name, process in processes.items():
            started = time.perf_counter()
            exchange(process, line)
            if number:  # the first reply also waits for the interpreter to start
                seconds[name] += time.perf_counter() - started
    return {name: (seconds[name], cpu_seconds(p)) for name, p in processes.items()}


def best_ping_pong(commands: dict[str, list[str]], lines: list[bytes]) -> dict:
    """``ping_pong`` a few times; per server the least wall and CPU seconds."""
    rounds = [ping_pong(commands, lines) for _ in range(PING_PONG_REPEATS)]
    best = {}
    for name in commands:
        walls, cpus = zip(*(r[name] for r in rounds), strict=True)
        best[name] = (min(walls), min(cpus))
    return best


def cpu_seconds(process: subprocess.Popen) -> float:
    """End ``process`` and return the CPU time it used (user and system)."""
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return usage.ru_utime + usage.ru_stime


def exchange(process: subprocess.Popen, line: bytes) -> bytes:
    process.stdin.write(line)
    process.stdin.flush()
    while is_log(reply := process.stdout.readline()):
        pass
    if not reply:
        raise RuntimeError(f"{process.args[0]} stopped answering")
    return reply


def is_log(line: bytes) -> bool:
    return line.startswith(b'["log"')


def orjson_in_process(lines: list[bytes]) -> float:
    """Seconds to decode and re-encode every line in this process, no I/O."""
    loads, dumps = orjson.loads, orjson.dumps
    started = time.perf_counter()
    for line in lines:
        dumps(loads(line))
    return time.perf_counter() - started


def document_count() -> int:
    """A number on the command line, else $BENCH_DOCS, else 20,000.

    bench/run.py passes its own arguments (benchmark names) through.
    """
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    return int(numbers[0] if numbers else os.environ.get("BENCH_DOCS", 20000))


def main() -> None:
    count = document_count()
    prepare_environment()
    lines = transcript(count)
    size = sum(map(len, lines))
    print(f"{count} neuron documents, {len(lines)} lines, {size / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transcript.jsonl"
        path.write_bytes(b"".join(lines))
        stream = streamed(servers(), path)
    pong = best_ping_pong(servers(), lines)
    report(stream, pong, orjson_in_process(lines))


def check(name: str, replies: int, path: Path) -> None:
    expected = path.read_bytes().count(b"\n")
    if replies != expected:
        raise SystemExit(f"{name} gave {replies} replies to {expected} lines")


def report(stream: dict, pong: dict, in_process: float) -> None:
    ours, couchpy, floor = "couchnet-viewserver", "couchpy", "cat"
    wall = {name: pong[name][0] for name in pong}
    print(f"\n{'server':<22}{'streamed s':>12}{'ping-pong s':>13}{'(its CPU s)':>13}")
    for name in stream:
        print(
            f"{name:<22}{stream[name]:>12.3f}{wall[name]:>13.3f}{pong[name][1]:>13.3f}"
        )
    print(f"{'orjson in-process':<22}{in_process:>12.3f}")
    print("\nratios (target in brackets)")
    speedup = stream[couchpy] / stream[ours]
    print(f"  streamed, couchpy / ours:            {speedup:6.2f}  (>= 4)")
    cpu = {name: pong[name][1] for name in pong}
    above = above_floor(wall, ours, couchpy, floor)
    print(f"  ping-pong above cat, couchpy / ours: {above}  (>= 2)")
    above = above_floor(cpu, ours, couchpy, floor)
    print(f"  the same in CPU seconds:             {above}")
    echo = stream[ours] / stream["orjson echo"]
    print(f"  streamed, ours / orjson echo:        {echo:6.2f}  (<= 1.5)")
    print(f"  streamed, ours / orjson in-process:  {stream[ours] / in_process:6.2f}")
    print("  (the machine may be shared: CPU seconds are steadier than wall time)")


def above_floor(seconds: dict, ours: str, other: str, floor: str) -> str:
    """``other``'s time above the floor divided by ours, formatted.

    On a busy machine a server can come out at or below ``cat``, which
    makes the ratio meaningless; that is said instead of a number.
    """
    ours_above = seconds[ours] - seconds[floor]
    if ours_above <= 0:
        return "  n/a (ours at or below the floor: rerun on a quieter machine)"
    return f"{(seconds[other] - seconds[floor]) / ours_above:6.2f}"


if __name__ == "__main__":
    main()
