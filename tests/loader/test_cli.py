"""Every couchnet command of the loader through its CLI, against a server."""

import csv
import io
import json
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from loader.client import Couch
from loader.evaluate import evaluate_sample
from loader.network import load_network

EXAMPLE_DOCS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "article_neurons.json").read_text()
)

# What the example documents leave out (the neurons they read), so that they evaluate.
EXAMPLE_COMPLETION = [
    {"_id": "input_y", "inputs": [{"node": "static", "weight": "2"}], "increment": 0},
    {"_id": "2", "inputs": [{"node": "input_y", "weight": 0.5}], "increment": 0},
    {"_id": "3", "inputs": [{"node": "input_x", "weight": -0.25}], "increment": 0},
]


def expected_outputs(docs, inputs=None, steps=None):
    """Output neurons' values by a plain recursive (or stepped) evaluation."""
    inputs = inputs or {}
    by_id = {doc["_id"]: doc for doc in docs}
    read = {e["node"] for doc in docs for e in doc["inputs"]}

    def total(doc, output):
        if doc["_id"] in inputs:
            return inputs[doc["_id"]]
        value = 0.0
        for e in doc["inputs"]:
            if e["node"] == "static":
                value += float(e["weight"])
            else:
                value += output(e["node"]) * math.tanh(float(e["weight"]))
        act = doc.get("activation", "identity")
        return math.tanh(value) if act == "tanh" else value

    if steps is None:
        memory = {}

        def output(name):
            if name not in memory:
                memory[name] = total(by_id[name], output)
            return memory[name]
    else:
        values = dict.fromkeys(by_id, 0.0)
        for _ in range(steps):
            values = {
                name: total(doc, values.__getitem__) for name, doc in by_id.items()
            }
        output = values.__getitem__
    return {name: output(name) for name in by_id if name not in read}


def exported_docs(runner):
    return orjson.loads(runner.ok("export").stdout)["docs"]


def error_of(result, status=1):
    assert result.exit_code == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ") or "\nError: " in result.stderr
    return result.stderr


def test_create_then_eval_matches_a_reference(couchnet):
    couchnet.ok("create", "--layers", "2,3,2", "--activation", "tanh", "--seed", "3")
    docs = {doc["_id"]: doc for doc in exported_docs(couchnet)}
    inputs = ["input_0", "input_1"]
    computing = ["hidden1_0", "hidden1_1", "hidden1_2", "output_0", "output_1"]
    assert sorted(docs) == sorted(inputs + computing)
    assert all(docs[name]["inputs"][-1]["node"] == "static" for name in computing)
    assert all(docs[name]["activation"] == "tanh" for name in computing)
    assert all("activation" not in docs[name] for name in inputs)
    assert [e["node"] for e in docs["output_1"]["inputs"][:-1]] == computing[:3]

    result = couchnet.ok("eval", "-i", "input_0=0.5", "--input", "input_1=-1", "--json")

    outputs = orjson.loads(result.stdout)["outputs"]
    expected = expected_outputs(docs.values(), {"input_0": 0.5, "input_1": -1.0})
    assert outputs == pytest.approx(expected, rel=1e-12)


def test_text_output_names_every_output(couchnet):
    couchnet.ok("create", "--layers", "1,2", "--seed", "1")
    lines = couchnet.ok("eval").stdout.splitlines()
    expected = expected_outputs(exported_docs(couchnet))
    assert lines == [f"{name} = {value!r}" for name, value in expected.items()]


def test_the_same_seed_gives_the_same_network(couchnet, bare):
    couchnet.ok("create", "--layers", "3,2,1", "--seed", "9")
    bare.ok("create", "--layers", "3,2,1", "--seed", "9")
    assert exported_docs(couchnet) == exported_docs(bare)


def test_create_refuses_to_overwrite_unless_forced(couchnet):
    couchnet.ok("create", "--layers", "2,4,1")
    stderr = error_of(couchnet("create", "--layers", "2,2,1"))
    assert "already holds a network of 7 neurons" in stderr
    assert "--force" in stderr

    couchnet.ok("create", "--layers", "3,1", "--force", "--seed", "2")
    names = sorted(doc["_id"] for doc in exported_docs(couchnet))
    assert names == ["input_0", "input_1", "input_2", "output_0"]


@pytest.mark.parametrize(
    "layers", ["2", "2,0,1", "a,b", "2,-1"], ids=["one", "zero", "words", "negative"]
)
def test_create_rejects_bad_layers_as_usage_errors(bare, layers):
    error_of(bare("create", "--layers", layers), status=2)


def test_eval_batch_from_csv(couchnet, tmp_path):
    couchnet.ok("create", "--layers", "2,3,1", "--activation", "tanh", "--seed", "5")
    docs = exported_docs(couchnet)
    samples = [(0.0, 1.0), (-1.5, 2.0), (0.25, -0.75)]
    data = tmp_path / "samples.csv"
    data.write_text("input_0,input_1\n" + "".join(f"{a},{b}\n" for a, b in samples))

    result = couchnet.ok("eval", "--data", str(data))

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["input_0", "input_1", "output_0"]
    for (a, b), row in zip(samples, rows, strict=True):
        expected = expected_outputs(docs, {"input_0": a, "input_1": b})
        assert float(row["output_0"]) == pytest.approx(expected["output_0"], rel=1e-12)

    out = tmp_path / "outputs.csv"
    couchnet.ok("eval", "--data", str(data), "--out", str(out))
    assert out.read_text() == result.stdout


def test_eval_batch_with_json_and_a_partial_csv(couchnet, tmp_path):
    couchnet.ok("create", "--layers", "2,1", "--seed", "8")
    docs = exported_docs(couchnet)
    data = tmp_path / "samples.csv"
    data.write_text("input_1\n3\n-3\n")

    result = couchnet.ok("eval", "--data", str(data), "--json")

    rows = orjson.loads(result.stdout)["outputs"]
    for value, row in zip([3.0, -3.0], rows, strict=True):
        assert row == pytest.approx(expected_outputs(docs, {"input_1": value}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("input_0,bogus\n1,2\n", "'bogus' is not an input neuron"),
        ("input_0\nabc\n", "line 2, column 'input_0': 'abc' is not a number"),
        ("input_0\n1\n2,3\n", "line 3 has 2 cells"),
        ("input_0\n", "no samples"),
        ("", "no header"),
    ],
)
def test_eval_batch_errors(couchnet, tmp_path, content, message):
    couchnet.ok("create", "--layers", "1,1")
    data = tmp_path / "samples.csv"
    data.write_text(content)
    assert message in error_of(couchnet("eval", "--data", str(data)))


def test_the_example_documents_import_and_evaluate(couchnet, tmp_path):
    example = tmp_path / "example.json"
    example.write_bytes(orjson.dumps(EXAMPLE_DOCS))
    assert "3 created" in couchnet.ok("import", str(example)).stdout

    stderr = error_of(couchnet("eval"))
    assert "neuron '1' reads 'input_y', which does not exist" in stderr

    completion = tmp_path / "completion.json"
    completion.write_bytes(orjson.dumps({"docs": EXAMPLE_COMPLETION}))
    couchnet.ok("import", str(completion))
    result = couchnet.ok("eval", "--json")

    # 1 = 474 tanh(1) - 2 tanh(1); 2 = 2 tanh(0.5); 3 = 474 tanh(-0.25); the
    # output trusts 1 by tanh(1) and 2, 3 fully (tanh of a huge weight is +-1).
    t1 = math.tanh(1)
    hand = 472 * t1 * t1 + 2 * math.tanh(0.5) - 474 * math.tanh(-0.25)
    assert orjson.loads(result.stdout) == {"outputs": {"output_x": pytest.approx(hand)}}

    result = couchnet.ok("eval", "--input", "input_x=0.5", "--json")
    hand = (0.5 - 2) * t1 * t1 + 2 * math.tanh(0.5) - 0.5 * math.tanh(-0.25)
    assert orjson.loads(result.stdout)["outputs"]["output_x"] == pytest.approx(hand)
    assert couchnet.couch.get("input_x")["inputs"][0]["weight"] == "474"


def test_import_updates_in_place_and_export_round_trips(couchnet, bare, tmp_path):
    couchnet.ok("create", "--layers", "2,2,1", "--seed", "4")
    exported = tmp_path / "network.json"
    couchnet.ok("export", str(exported))
    docs = orjson.loads(exported.read_bytes())["docs"]
    assert all("_rev" not in doc for doc in docs)

    docs[2]["inputs"][0]["weight"] = 0.125
    exported.write_bytes(orjson.dumps(docs))
    result = couchnet.ok("import", str(exported), "--json")
    assert orjson.loads(result.stdout) == {
        "database": couchnet.db,
        "created": 0,
        "updated": len(docs),
    }
    stored = couchnet.couch.get(docs[2]["_id"])
    assert stored["inputs"][0]["weight"] == 0.125
    assert stored["_rev"].startswith("2-")

    bare.ok("import", str(exported))
    assert exported_docs(bare) == exported_docs(couchnet)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON"),
        (b'{"rows": []}', "expected a list of documents"),
        (b'[{"inputs": []}]', "document 0 is not an object with an _id"),
        (b'[{"_id": "a"}, {"_id": "a"}]', "'a' appears twice"),
        (b'[{"_id": "_design/x"}]', "couchnet push"),
    ],
)
def test_import_errors(bare, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert message in error_of(bare("import", str(path)))


def test_import_reports_documents_the_server_refused(couchnet, tmp_path):
    path = tmp_path / "broken.json"
    broken = {"_id": "n", "inputs": [{"node": "static", "weight": "many"}]}
    path.write_bytes(orjson.dumps([broken]))
    stderr = error_of(couchnet("import", str(path)))
    assert "1 of 1 documents were not written" in stderr
    assert "n: " in stderr


def cycle_docs():
    return [
        {"_id": "x", "inputs": [{"node": "static", "weight": 1}]},
        {
            "_id": "a",
            "inputs": [{"node": "x", "weight": 1}, {"node": "b", "weight": 0.5}],
        },
        {"_id": "b", "inputs": [{"node": "a", "weight": 0.7}]},
        {"_id": "out", "inputs": [{"node": "b", "weight": 1}], "activation": "tanh"},
    ]


def test_a_cycle_needs_steps(couchnet, tmp_path):
    path = tmp_path / "cycle.json"
    path.write_bytes(orjson.dumps(cycle_docs()))
    couchnet.ok("import", str(path))

    stderr = error_of(couchnet("eval"))
    assert re.search("cycle through (a -> b -> a|b -> a -> b)", stderr)
    assert "cycle through" in couchnet.ok("show").stdout

    result = couchnet.ok("eval", "--steps", "6", "--input", "x=2", "--json")
    expected = expected_outputs(cycle_docs(), {"x": 2.0}, steps=6)
    assert orjson.loads(result.stdout)["outputs"] == pytest.approx(expected, rel=1e-12)

    data = tmp_path / "x.csv"
    data.write_text("x\n2\n")
    rows = orjson.loads(
        couchnet.ok("eval", "--data", str(data), "--steps", "6", "--json").stdout
    )
    assert rows["outputs"] == [pytest.approx(expected, rel=1e-12)]


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--input", "nope=1"], 1, "unknown input neuron 'nope'"),
        (["--input", "hidden1_0=1"], 1, "'hidden1_0' is not an input neuron"),
        (["--input", "input_0=abc"], 2, "'abc' (for input_0) is not a number"),
        (["--input", "input_0"], 2, "is not NAME=VALUE"),
        (["-i", "input_0=1", "-i", "input_0=2"], 2, "input_0 is given twice"),
        (["--steps", "0"], 2, "--steps"),
        (["--input", "input_0=1", "--data", "-"], 2, "either --input or --data"),
    ],
)
def test_eval_errors(couchnet, args, status, message):
    couchnet.ok("create", "--layers", "2,2,1")
    assert message in error_of(couchnet("eval", *args), status)


def test_errors_for_a_missing_design_document_or_database(bare, couchnet):
    bare.ok("create", "--layers", "2,1")
    assert "couchnet push" in error_of(bare("eval"))

    stderr = error_of(couchnet("eval", "--db", "no_such_database_here"))
    assert "database 'no_such_database_here' does not exist" in stderr


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("command", ["eval", "show", "export", "check"])
def test_an_unreachable_server_is_an_error(bare, command):
    stderr = error_of(bare(command, "--url", closed_port_url()))
    assert "cannot reach CouchDB" in stderr


@pytest.mark.parametrize("command", ["eval", "show", "export", "check", "create"])
def test_wrong_credentials_are_an_error(couchnet, command):
    server = couchnet.server.split("@")[-1]
    url = f"http://admin:wrong-{os.getpid()}@{server}"
    args = ["--layers", "2,1"] if command == "create" else []
    # No credentials from the environment: only the URL's wrong ones are tried.
    env = {"COUCHDB_USER": None, "COUCHDB_PASSWORD": None}
    stderr = error_of(couchnet(command, *args, "--url", url, env=env))
    assert "refused the credentials" in stderr
    assert "wrong-" not in stderr


def test_check_passes_on_a_ready_database(couchnet):
    lines = couchnet.ok("check").stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok    server",
        "ok    database",
        "ok    design document",
        "ok    python views",
    ]
    report = orjson.loads(couchnet.ok("check", "--json").stdout)
    assert report["ok"] is True and len(report["checks"]) == 4


def test_check_names_what_is_missing(bare):
    stderr = error_of(bare("check"))
    assert "design document: _design/network is missing" in stderr
    assert "couchnet push" in stderr

    result = bare("check", "--db", "no_such_database_here", "--json")
    assert "database 'no_such_database_here' does not exist" in error_of(result)
    report = orjson.loads(result.stdout)
    assert report["ok"] is False
    assert report["checks"][-1]["name"] == "database"


def test_show_text_json_and_dot(couchnet):
    couchnet.ok("create", "--layers", "2,3,1", "--activation", "tanh", "--seed", "1")

    text = couchnet.ok("show").stdout
    assert "6 neurons, 9 edges, 2 levels after the inputs" in text
    assert "level 1 (3, tanh): hidden1_0, hidden1_1, hidden1_2" in text
    edges = [line for line in text.splitlines() if " trust " in line]
    assert len(edges) == 9

    summary = orjson.loads(couchnet.ok("show", "--json").stdout)
    assert summary["levels"] == [["hidden1_0", "hidden1_1", "hidden1_2"], ["output_0"]]
    assert summary["inputs"] == ["input_0", "input_1"] and summary["edges"] == 9

    dot = couchnet.ok("show", "--format", "dot").stdout
    assert dot.startswith("digraph")
    assert dot.count("->") == 9


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_show_draws_a_picture(couchnet, tmp_path, fmt):
    couchnet.ok("create", "--layers", "2,3,1", "--seed", "1")
    out = tmp_path / f"net.{fmt}"
    assert (
        f"wrote {out}" in couchnet.ok("show", "--format", fmt, "--out", str(out)).stdout
    )
    content = out.read_bytes()
    if fmt == "png":
        assert content.startswith(b"\x89PNG")
    else:
        assert b"<svg" in content


def count_requests(couch):
    sent = []
    couch.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.url))
    return sent


def test_one_request_per_evaluation_whatever_the_size(couchnet):
    counts = []
    for layers in ("2,2,1", "8,16,16,4"):
        couchnet.ok("create", "--layers", layers, "--force")
        couch = Couch(couchnet.server, couchnet.db)
        sent = count_requests(couch)
        evaluate_sample(couch, {"input_0": 1.0})
        counts.append(len(sent))
    assert counts == [1, 1]


def test_the_installed_executable(couchnet):
    couchnet.ok("create", "--layers", "2,2,1", "--seed", "6")
    docs = exported_docs(couchnet)
    env = dict(os.environ, COUCHDB_URL=couchnet.server, COUCHNET_DB=couchnet.db)
    executable = Path(sys.executable).with_name("couchnet")
    command = [str(executable), "eval", "--input", "input_1=0.75", "--json"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    expected = expected_outputs(docs, {"input_1": 0.75})
    assert json.loads(done.stdout)["outputs"] == pytest.approx(expected, rel=1e-12)
    failed = subprocess.run(
        [str(executable), "eval", "--input", "bogus=1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("Error: unknown input neuron 'bogus'")


def test_eval_gives_the_numbers_of_the_evaluate_list(couchnet, tmp_path):
    couchnet.ok(
        "create", "--layers", "3,5,2", "--activation", "logistic", "--seed", "11"
    )
    inputs = {"input_0": 0.3, "input_1": -2.0, "input_2": 1.5}
    args = [f"--input={name}={value}" for name, value in inputs.items()]
    ours = orjson.loads(couchnet.ok("eval", *args, "--json").stdout)

    query = "&".join(f"{name}={value}" for name, value in inputs.items())
    path = f"{couchnet.db}/_design/network/_list/evaluate/inputs?reduce=false&{query}"
    assert couchnet.couch.json("GET", path) == ours


def test_loaded_refs_point_at_the_stored_inputs(couchnet):
    couchnet.ok("create", "--layers", "4,3,2", "--seed", "12")
    docs = {doc["_id"]: doc for doc in exported_docs(couchnet)}
    net = load_network(couchnet.couch)
    for level in net.levels:
        for k, (name, i) in enumerate(level.edge_ref):
            entry = docs[name]["inputs"][i]
            assert entry["node"] == net.names[level.sources[level.edge_source[k]]]
            assert entry["weight"] == level.edge_weight[k]
        for j, refs in enumerate(level.bias_refs):
            assert [docs[name]["inputs"][i]["node"] for name, i in refs] == ["static"]
            assert docs[refs[0][0]]["inputs"][refs[0][1]]["weight"] == level.bias[j]


def test_an_empty_database_has_no_network_to_evaluate(couchnet):
    stderr = error_of(couchnet("eval"))
    assert "holds no neurons" in stderr and "couchnet create" in stderr


def test_credentials_from_the_environment(couchnet):
    couchnet.ok("create", "--layers", "2,1", "--seed", "2")
    user_password, server = couchnet.server.split("://", 1)[1].split("@", 1)
    user, password = user_password.split(":", 1)
    env = {"COUCHDB_USER": user, "COUCHDB_PASSWORD": password}
    result = couchnet("eval", "--json", "--url", f"http://{server}", env=env)
    assert result.exit_code == 0, result.stderr
    assert password not in result.stdout + result.stderr


def test_show_writes_dot_and_text_to_a_file(couchnet, tmp_path):
    couchnet.ok("create", "--layers", "2,2", "--seed", "2")
    out = tmp_path / "network.dot"
    couchnet.ok("show", "--format", "dot", "--out", str(out))
    assert out.read_text().startswith("digraph")
    stderr = error_of(couchnet("show", "--out", str(tmp_path / "missing" / "x.txt")))
    assert "cannot write" in stderr
