"""A `couchnet train` process stopped by Ctrl-C or killed outright resumes to
the weights of a run that was never stopped."""

import json
import os
import signal
import subprocess
import time

import pytest
from click.testing import CliRunner

from loader.cli import cli
from loader.devserver import COUCHNET
from loader.runs import list_runs
from loader.session import Session, Settings

ARGS = ["--dataset", "xor", "--epochs", "200", "--sync-every", "1"]


def start_training(couch_url: str, db: str) -> subprocess.Popen:
    command = [*COUCHNET, "train"]
    command += [*ARGS, "--url", couch_url, "--db", db]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_syncs(couch, process, count: int = 10) -> dict:
    """The run document once it has recorded `count` syncs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = list_runs(couch)
        if runs and runs[0]["progress"]["sync"] >= count:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError("the trainer made no progress")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_process_resumes_exactly(
    stop, couch_url, new_couch, layered_network, read_weights
):
    reference = new_couch()
    layered_network(reference, [2, 8, 1])
    Session.start(reference, Settings("xor", epochs=200, sync_every=1)).train()
    couch = new_couch()
    layered_network(couch, [2, 8, 1])

    process = start_training(couch_url, couch.db)
    try:
        run = wait_for_syncs(couch, process)
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    state = list_runs(couch)[0]["state"]
    if stop == signal.SIGINT:
        assert process.returncode == 130
        assert f"--resume {run['_id']}" in err and state == "interrupted"
    else:
        assert state == "running"
    args = ["train", "--resume", run["_id"], "--json", "--url", couch_url]
    result = CliRunner().invoke(cli, [*args, "--db", couch.db])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["epochs"] == 200
    assert read_weights(couch) == pytest.approx(read_weights(reference), abs=1e-12)
