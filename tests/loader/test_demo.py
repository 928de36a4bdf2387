"""`make demo` end to end, against the test server instead of its own devcouch."""

import os
import re
import subprocess
import sys
import uuid

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
