"""couchnet train, runs and plot through the command line."""

import json
import os
import pty
import select
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loader.cli import cli
from loader.devserver import COUCHNET
from loader.model import neuron

PROJECT = Path(__file__).resolve().parents[2]
XOR_ROWS = [((-1, -1), -1), ((-1, 1), 1), ((1, -1), 1), ((1, 1), -1)]


@pytest.fixture
def couchnet(db_url):
    """Run a couchnet command on the test database: (exit code, stdout, stderr)."""
    url, _, db = db_url.rpartition("/")

    def run(*args):
        result = CliRunner().invoke(cli, [*args, "--url", url, "--db", db])
        return result.exit_code, result.stdout, result.stderr

    return run


def everything(couch) -> dict:
    return {row["id"]: row["value"]["rev"] for row in couch.all_docs()}


@pytest.mark.parametrize("seed", [1, 2])
def test_xor_converges_with_the_defaults(couch, couchnet, seed):
    # With the design document, so that validate_doc_update checks every write.
    code, _, err = couchnet("push")
    assert code == 0, err
    code, _, err = couchnet(
        "create", "--layers", "2,8,1", "--activation", "tanh", "--seed", str(seed)
    )
    assert code == 0, err

    code, out, err = couchnet("train", "--dataset", "xor", "--json")

    assert code == 0 and err == "", err
    result = json.loads(out)
    assert set(result) == {"run", "epochs", "loss", "accuracy"}
    assert result["epochs"] == 150 and result["accuracy"] == 1.0
    docs = [row["doc"] for row in couch.all_docs(include_docs=True)]
    neurons = neuron.neurons_from_docs(docs)
    errors = []
    for (x, y), target in XOR_ROWS:
        output = neuron.evaluate_outputs(neurons, {"input_0": x, "input_1": y})
        assert np.sign(output["output_0"]) == target
        errors.append((output["output_0"] - target) ** 2)
    assert np.mean(errors) < 0.05
    assert np.mean(errors) == pytest.approx(result["loss"], rel=1e-9)


def test_digits_learns_and_runs_lists_it_and_plot_draws_it(couch, couchnet, tmp_path):
    couchnet("create", "--layers", "64,16,10", "--activation", "tanh")

    code, out, err = couchnet("train", "--dataset", "digits", "--epochs", "3")
    assert code == 0, err
    assert "3 epochs" in out and "accuracy" in out

    code, out, _ = couchnet("runs", "--json")
    (run,) = json.loads(out)
    assert run["state"] == "finished" and run["epochs"] == 3
    assert run["accuracy"] > 0.85
    code, out, _ = couchnet("runs")
    assert run["run"] in out and "finished" in out

    picture = tmp_path / "loss.png"
    code, out, err = couchnet("plot", run["run"], "--out", str(picture))
    assert code == 0, err
    assert picture.read_bytes().startswith(b"\x89PNG")


def cyclic(couch):
    couch.bulk_docs(
        [
            {"_id": "input_0", "inputs": [{"node": "static", "weight": 0}]},
            {"_id": "input_1", "inputs": [{"node": "static", "weight": 0}]},
            {
                "_id": "a",
                "inputs": [
                    {"node": "input_0", "weight": 1},
                    {"node": "b", "weight": 1},
                ],
            },
            {
                "_id": "b",
                "inputs": [
                    {"node": "a", "weight": 1},
                    {"node": "input_1", "weight": 1},
                ],
            },
            {"_id": "output_0", "inputs": [{"node": "b", "weight": 1}]},
        ]
    )


BAD_CASES = {
    "missing column": (
        "2,3,1",
        "input_0,output_0\n1,1\n",
        "no column for input neuron(s) input_1",
    ),
    "non-numeric cell": (
        "2,3,1",
        "input_0,input_1,output_0\n1,one,1\n",
        "'one' is not a finite number",
    ),
    "unknown dataset": ("2,3,1", None, "unknown dataset 'mnist'"),
    "too many inputs for xor": ("3,3,1", None, "xor needs 2 input neurons"),
    "too few outputs for digits": ("64,3,9", None, "digits needs 10 output neurons"),
    "cycle": (None, None, "training needs an acyclic network"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_a_clear_error_and_writes_nothing(couch, couchnet, tmp_path, case):
    layers, text, message = BAD_CASES[case]
    if layers:
        couchnet("create", "--layers", layers, "--activation", "tanh")
    else:
        cyclic(couch)
    dataset = {"unknown dataset": "mnist", "too few outputs for digits": "digits"}
    dataset = dataset.get(case, "xor")
    if text is not None:
        dataset = tmp_path / "data.csv"
        dataset.write_text(text)
    before = everything(couch)

    code, out, err = couchnet("train", "--dataset", str(dataset))

    assert code == 1 and out == ""
    assert err.startswith("Error: ") and message in err, err
    assert "Traceback" not in err
    assert everything(couch) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "3"], "give --dataset"),
        (["--resume", "run-x", "--dataset", "xor"], "--dataset: a resumed run"),
        (["--dataset", "xor", "--shard", "3/2"], "'3/2' is not I/N"),
        (["--dataset", "xor", "--momentum", "1.5"], "momentum must be"),
    ],
)
def test_bad_options(couch, couchnet, args, message):
    couchnet("create", "--layers", "2,3,1")
    before = everything(couch)
    code, _, err = couchnet("train", *args)
    assert code in (1, 2) and message in err, err
    assert everything(couch) == before


def test_unknown_run_is_an_error(couchnet):
    code, _, err = couchnet("plot", "run-nope")
    assert code == 1 and "no training run 'run-nope'" in err
    code, _, err = couchnet("train", "--resume", "run-nope")
    assert code == 1 and "no training run 'run-nope'" in err


def test_a_csv_run_trains_and_resumes_from_another_folder(
    couchnet, tmp_path, monkeypatch
):
    couchnet("create", "--layers", "2,4,1", "--activation", "tanh", "--seed", "3")
    rows = ["input_1,input_0,output_0"]
    rows += [f"{b},{a},{-a * b}" for a, b in [(-1, -1), (-1, 1), (1, -1), (1, 1)]]
    (tmp_path / "xor.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)

    code, out, err = couchnet(
        "train", "--dataset", "xor.csv", "--epochs", "3", "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    monkeypatch.chdir("/")
    code, out, err = couchnet(
        "train", "--resume", first["run"], "--epochs", "5", "--json"
    )

    assert code == 0, err
    assert json.loads(out)["epochs"] == 5
    code, out, _ = couchnet("runs", "--json")
    (run,) = json.loads(out)
    assert run["dataset"] == "xor.csv" and run["state"] == "finished"


def on_terminal(db_url: str, *args: str, stdout_too: bool = True) -> tuple[str, str]:
    """Run couchnet with stderr (and stdout) on a pseudo-terminal: (what the
    terminal showed, what went to a piped stdout)."""
    url, _, db = db_url.rpartition("/")
    command = [*COUCHNET, *args]
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TERM="xterm", COLUMNS="120")
    env.pop("TTY_INTERACTIVE", None)  # rich would believe it over isatty()
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*command, "--url", url, "--db", db],
        stdin=subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    shown = b""
    try:
        while select.select([leader], [], [], 300)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        piped = b"" if stdout_too else process.stdout.read()
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    assert process.wait() == 0, shown
    return shown.decode(), piped.decode()


def test_a_progress_bar_only_on_a_terminal(couchnet, db_url):
    couchnet("create", "--layers", "2,8,1", "--activation", "tanh")
    train = ["train", "--dataset", "xor", "--epochs", "5"]

    shown, _ = on_terminal(db_url, *train)
    assert "epoch" in shown and "5/5" in shown and "samples/s" in shown
    assert ": 5 epochs, loss" in shown

    shown, piped = on_terminal(db_url, *train, stdout_too=False)
    assert shown == "" and ": 5 epochs, loss" in piped

    shown, _ = on_terminal(db_url, *train, "--json")
    assert set(json.loads(shown)) == {"run", "epochs", "loss", "accuracy"}


@pytest.mark.parametrize("command", ["train", "runs", "plot"])
def test_help_has_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"couchnet {command} " in result.output
