"""Failures every command shares: help, bad URLs, servers that cannot serve."""

import http.server
import os
import socket
import stat
import threading
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from loader.cli import cli
from loader.client import Couch
from loader.devserver import devcouch

SECRET = "pw-never-shown"
COMMANDS = sorted(cli.commands)
# What each command needs besides the connection options to get to the server.
ARGS = {
    "create": ["--layers", "2,1"],
    "plot": ["run-1"],
    "train": ["--dataset", "xor"],
}


def args_for(command, tmp_path):
    if command == "import":
        path = tmp_path / "neurons.json"
        path.write_bytes(orjson.dumps([{"_id": "a", "inputs": []}]))
        return [str(path)]
    return ARGS.get(command, [])


def assert_failed(result, status):
    output = result.stdout + result.stderr
    assert result.exit_code == status, output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("Error: ") or "\nError: " in result.stderr
    return result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    env = {
        "COUCHDB_URL": f"http://admin:{SECRET}@127.0.0.1:5984",
        "COUCHDB_USER": "admin",
        "COUCHDB_PASSWORD": SECRET,
    }
    result = CliRunner(env=env).invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"couchnet {command}" in result.output.split("Example", 1)[1]
    assert SECRET not in result.output
    for option in ("--url", "--db", "--json"):
        assert option in result.output


@pytest.mark.parametrize(
    "url",
    [
        f"admin:{SECRET}@127.0.0.1:5984",
        f"http://admin:{SECRET}@127.0.0.1:port",
        f"http://admin:{SECRET}@127.0.0.1:99999",
        f"http://admin:{SECRET}/x@127.0.0.1:5984",
        f"http://admin:{SECRET}?x@127.0.0.1:5984",
        f"http://:{SECRET}@127.0.0.1:5984",
        f"http://admin:{SECRET}@[::1",
        f"ftp://admin:{SECRET}@127.0.0.1:5984",
    ],
    ids=[
        "no-scheme",
        "port-not-a-number",
        "port-too-large",
        "slash-in-password",
        "question-mark-in-password",
        "no-user",
        "broken-ipv6",
        "not-http",
    ],
)
@pytest.mark.parametrize("given", ["option", "environment"])
def test_a_malformed_url_is_a_usage_error_that_hides_the_password(url, given):
    args, env = ["eval"], {"COUCHDB_USER": None, "COUCHDB_URL": None}
    if given == "option":
        args += ["--url", url]
    else:
        env["COUCHDB_URL"] = url
    result = CliRunner(env=env).invoke(cli, args)
    stderr = assert_failed(result, 2)
    assert "--url" in stderr
    assert SECRET not in result.stdout + stderr


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://admin:{SECRET}@127.0.0.1:{port}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_reports_an_unreachable_server(command, tmp_path):
    args = [command, *args_for(command, tmp_path), "--url", closed_port_url()]
    result = CliRunner().invoke(cli, args)
    stderr = assert_failed(result, 1)
    assert "cannot reach CouchDB" in stderr
    # The cause in a few words, not urllib3's layers of wrapping.
    assert "Connection refused" in stderr
    assert "HTTPConnectionPool" not in stderr
    assert SECRET not in result.stdout + stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_reports_wrong_credentials(couchnet, command, tmp_path):
    server = couchnet.server.split("@")[-1]
    url = f"http://admin:{SECRET}@{server}"
    env = {"COUCHDB_USER": None, "COUCHDB_PASSWORD": None}
    result = couchnet(command, *args_for(command, tmp_path), "--url", url, env=env)
    stderr = assert_failed(result, 1)
    assert "refused the credentials" in stderr
    assert SECRET not in result.stdout + stderr


def test_credentials_in_the_environment_are_never_printed(couchnet):
    server = couchnet.server.split("@")[-1]
    env = {"COUCHDB_USER": "admin", "COUCHDB_PASSWORD": SECRET}
    result = couchnet("check", "--url", f"http://{server}", env=env)
    assert_failed(result, 1)
    assert SECRET not in result.stdout + result.stderr


def test_credentials_in_the_url_come_before_the_environment(couchnet):
    couchnet.ok("create", "--layers", "2,1")
    env = {"COUCHDB_USER": "admin", "COUCHDB_PASSWORD": SECRET}
    result = couchnet("eval", "--json", "--url", couchnet.server, env=env)
    assert result.exit_code == 0, result.stderr
    assert "output_0" in orjson.loads(result.stdout)["outputs"]


def test_a_csv_that_is_not_utf8_is_an_error(couchnet, tmp_path):
    couchnet.ok("create", "--layers", "1,1")
    data = tmp_path / "latin1.csv"
    data.write_bytes("input_0\n1\n\xe9\n".encode("latin-1"))
    assert "is not UTF-8 text" in assert_failed(
        couchnet("eval", "--data", str(data)), 1
    )


def test_an_unwritable_output_file_is_an_error(couchnet, tmp_path):
    couchnet.ok("create", "--layers", "1,1")
    data = tmp_path / "samples.csv"
    data.write_text("input_0\n1\n")
    out = tmp_path / "missing" / "outputs.csv"
    result = couchnet("eval", "--data", str(data), "--out", str(out))
    assert str(out) in assert_failed(result, 1)


@pytest.fixture
def without_python_views(tmp_path, monkeypatch):
    """A network stored by one devcouch, served by another whose query server
    cannot start: what a CouchDB without COUCHDB_QUERY_SERVER_PYTHON gives."""
    data = tmp_path / "devcouch"
    with devcouch(data) as url:
        runner_env = {"COUCHDB_USER": None, "COUCHDB_PASSWORD": None}
        for args in (["push"], ["create", "--layers", "2,1"]):
            result = CliRunner(env=runner_env).invoke(
                cli, [*args, "--url", url, "--db", "net"]
            )
            assert result.exit_code == 0, result.output
    broken = tmp_path / "no-query-server"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("DEVCOUCH_QUERY_SERVER", str(broken))
    with devcouch(data) as url:
        yield url


@pytest.mark.parametrize("command", ["check", "eval", "show", "push"])
def test_a_server_without_python_views_says_how_to_register_one(
    without_python_views, command
):
    env = {"COUCHDB_USER": None, "COUCHDB_PASSWORD": None}
    # The stored design document is unchanged: push a new database's instead.
    db = "fresh" if command == "push" else "net"
    args = [command, "--url", without_python_views, "--db", db]
    result = CliRunner(env=env).invoke(cli, args)
    stderr = assert_failed(result, 1)
    assert "register the query server with COUCHDB_QUERY_SERVER_PYTHON" in stderr
    if command == "check":
        assert result.stdout.count("ok ") == 3


def fake_dot(folder: Path) -> Path:
    """A `dot` that keeps the graph it is given and answers fixed bytes."""
    folder.mkdir()
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\ncat > "{folder}/graph.dot"\nprintf "drawn:$*"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_show_draws_through_graphviz_when_dot_is_installed(
    couchnet, tmp_path, monkeypatch, fmt
):
    couchnet.ok("create", "--layers", "2,3,1", "--seed", "1")
    folder = fake_dot(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / f"network.{fmt}"

    couchnet.ok("show", "--format", fmt, "--out", str(out))

    assert out.read_bytes().startswith(b"drawn:")
    assert f"-T{fmt}".encode() in out.read_bytes()
    graph = (folder / "graph.dot").read_text()
    assert graph.startswith("digraph") and graph.count("->") == 9


def count_requests(monkeypatch):
    """Every request any Couch client sends, as (method, path)."""
    sent = []
    request = Couch.request

    def counted(self, method, path, **kwargs):
        sent.append((method, path.split("?")[0]))
        return request(self, method, path, **kwargs)

    monkeypatch.setattr(Couch, "request", counted)
    return sent


@pytest.mark.parametrize(
    "args", [["eval", "--json"], ["eval", "--data", "samples.csv"], ["show"]]
)
def test_a_command_sends_as_many_requests_whatever_the_size(
    couchnet, tmp_path, monkeypatch, args
):
    samples = tmp_path / "samples.csv"
    samples.write_text("input_0,input_1\n1,2\n3,4\n")
    args = [str(samples) if arg == samples.name else arg for arg in args]
    counts = []
    for layers in ("2,1", "2,30,30,5"):
        couchnet.ok("create", "--layers", layers, "--force")
        sent = count_requests(monkeypatch)
        couchnet.ok(*args)
        counts.append(len(sent))
        monkeypatch.undo()
    assert counts == [1, 1]


def test_import_writes_every_neuron_in_one_bulk_request(
    couchnet, tmp_path, monkeypatch
):
    couchnet.ok("create", "--layers", "3,20,2", "--seed", "1")
    exported = tmp_path / "network.json"
    couchnet.ok("export", str(exported))
    sent = count_requests(monkeypatch)

    couchnet.ok("import", str(exported))

    writes = [path for method, path in sent if method != "GET"]
    assert writes == [couchnet.db, f"{couchnet.db}/_bulk_docs"]


def test_a_cycle_without_steps_is_named_for_a_batch_too(couchnet, tmp_path):
    cycle = [
        {"_id": "x", "inputs": [{"node": "static", "weight": 1}]},
        {
            "_id": "a",
            "inputs": [{"node": "x", "weight": 1}, {"node": "b", "weight": 1}],
        },
        {"_id": "b", "inputs": [{"node": "a", "weight": 0.5}]},
    ]
    neurons = tmp_path / "cycle.json"
    neurons.write_bytes(orjson.dumps(cycle))
    couchnet.ok("import", str(neurons))
    data = tmp_path / "x.csv"
    data.write_text("x\n2\n")

    stderr = assert_failed(couchnet("eval", "--data", str(data)), 1)

    assert (
        "cycle through a -> b -> a" in stderr or "cycle through b -> a -> b" in stderr
    )


class Stub(http.server.BaseHTTPRequestHandler):
    """A server that is not CouchDB: `body` for every GET, cut off when `cut`."""

    body = b"<html>a web page</html>"
    cut = False

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        if self.cut:
            self.send_header("Content-Length", str(len(self.body) + 100))
        self.end_headers()
        self.wfile.write(self.body)
        self.close_connection = True

    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    servers = []

    def start(body: bytes, cut: bool = False) -> str:
        handler = type("Handler", (Stub,), {"body": body, "cut": cut})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://admin:{SECRET}@127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["check", "eval", "show", "export"])
def test_a_server_that_is_not_couchdb_is_an_error(stub_server, command):
    url = stub_server(b"<html>a web page</html>")
    result = CliRunner().invoke(cli, [command, "--url", url])
    stderr = assert_failed(result, 1)
    assert "did not answer with JSON" in stderr
    assert SECRET not in result.stdout + stderr


def test_a_view_cut_off_midway_is_an_error(stub_server):
    head = b'{"total_rows":2,"offset":0,"rows":[\r\n'
    row = b'{"id":"a","key":"a","value":{"node":"static","weight":1}},\r\n'
    url = stub_server(head + row, cut=True)
    result = CliRunner().invoke(cli, ["eval", "--url", url])
    stderr = assert_failed(result, 1)
    assert "cannot reach CouchDB" in stderr
    assert SECRET not in result.stdout + stderr
