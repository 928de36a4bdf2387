"""`make demo` end to end, against the test server instead of its own devcouch."""

import os
import re
import subprocess
import sys
import uuid

import pytest
import requests


def test_the_demo_evaluates_the_same_both_ways(couch_url):
    db = f"test_demo_{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, COUCHDB_URL=couch_url, COUCHNET_DB=db, COLUMNS="200")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "loader.demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        requests.delete(f"{couch_url}/{db}", timeout=30)

    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(r"│ +(-?1) │ +(-?1) │ +(-?[\d.]+) │ +(-?[\d.]+) │", done.stdout)
    assert len(rows) == 4
    assert all(ours == theirs for _, _, ours, theirs in rows)
    assert len({ours for _, _, ours, _ in rows}) == 4
    assert f"/{db}/_design/network/_show/neuron/output_0" in done.stdout
    password = couch_url.split("@")[0].rsplit(":", 1)[-1]
    assert password not in done.stdout


def test_the_demo_starts_and_stops_its_own_devcouch(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCH")}
    data = tmp_path / "demo"
    script = (
        "import pathlib, loader.demo as demo; "
        f"demo.DATA = pathlib.Path({str(data)!r}); demo.main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(env, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"server: http://127\.0\.0\.1:\d+ \(devcouch\)", done.stdout)
    assert "/couchnet_demo/_design/network/_view/inputs" in done.stdout
    assert "devcouch stops now" in done.stdout
    assert "all four signs right" in done.stdout
    assert (data / "devcouch.log").exists()
    port = re.search(r"--port (\d+)", done.stdout).group(1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
