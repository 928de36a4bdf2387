"""The installed ``couchnet-viewserver`` as a child process, read as CouchDB does."""

import subprocess
import sys

import orjson

from viewserver.testing import source

MAP = source(
    """
    def fun(doc):
        for entry in doc["inputs"]:
            yield entry["node"], [doc["_id"], entry["weight"]]
    """
)
COUNT = source(
    """
    def fun(keys, values, rereduce):
        return sum(values) if rereduce else len(values)
    """
)
NEURON = {
    "_id": "n1",
    "inputs": [{"node": "x", "weight": 0.5}, {"node": "y", "weight": -1.0}],
}


def test_a_view_session_as_couchdb_runs_it(start_server):
    server = start_server()
    assert server.run(["reset", {"reduce_limit": True, "timeout": 5000}]) is True
    assert server.run(["add_fun", MAP]) is True
    assert server.run(["map_doc", NEURON]) == [
        [["x", ["n1", 0.5]], ["y", ["n1", -1.0]]]
    ]
    kvs = [[["x", "n1"], ["n1", 0.5]], [["y", "n1"], ["n1", -1.0]]]
    assert server.run(["reduce", [COUNT], kvs]) == [True, [2]]
    assert server.run(["rereduce", [COUNT], [2, 3]]) == [True, [5]]
    assert server.close() == 0


def test_a_design_doc_before_any_reset(start_server):
    server = start_server()
    ddoc = {
        "_id": "_design/net",
        "shows": {"s": "def fun(doc, req):\n    return 'x'\n"},
    }
    assert server.run(["ddoc", "new", "_design/net", ddoc]) is True
    show = server.run(["ddoc", "_design/net", ["shows", "s"], [None, {}]])
    assert show == ["resp", {"body": "x"}]


def test_python_dash_m_viewserver_is_the_same_server(start_server):
    server = start_server(command=[sys.executable, "-m", "viewserver"])
    assert server.run(["reset"]) is True
    assert server.close() == 0


def test_stdout_carries_protocol_lines_only(start_server):
    noisy = source(
        """
        import sys

        def fun(doc):
            print("from print")
            sys.stdout.write("half a line, ")
            sys.stdout.write("then the rest\\n")
            yield doc["_id"], 1
        """
    )
    server = start_server("--debug")
    server.run(["add_fun", noisy])
    assert server.run(["map_doc", NEURON]) == [[["n1", 1]]]
    assert server.logs == ["from print", "half a line, then the rest"]
    server.process.stdin.close()
    rest = server.process.stdout.read()
    assert rest == b""
    assert b"command:" in server.process.stderr.read()  # --debug goes to stderr


def test_quiet_without_debug(start_server):
    server = start_server()
    server.run(["add_fun", "def fun(doc):\n    return 1 / 0\n"])
    server.run(["map_doc", NEURON])
    assert server.close() == 0
    assert server.process.stderr.read() == b""


def test_log_file_gets_diagnostics(start_server, tmp_path):
    log_file = tmp_path / "viewserver.log"
    server = start_server("--log-file", str(log_file))
    server.run(["add_fun", "def (\n"])
    server.close()
    assert "compilation_error" in log_file.read_text()


def test_a_fatal_error_ends_the_process_with_status_1(start_server):
    server = start_server()
    assert server.run(["no_such_command"])[:2] == ["fatal", "unknown_command"]
    assert server.close() == 1


def test_lines_much_longer_than_a_pipe_buffer(start_server):
    server = start_server()
    inputs = [{"node": f"n{i:06d}", "weight": i / 7} for i in range(20000)]
    doc = {"_id": "big", "inputs": inputs}
    server.run(["add_fun", MAP])
    rows = server.run(["map_doc", doc])[0]
    assert len(rows) == 20000
    assert rows[-1] == ["n019999", ["big", 19999 / 7]]


def test_many_commands_in_one_write_get_every_reply_in_order():
    lines = [["reset"], ["add_fun", MAP]]
    lines += [["map_doc", {**NEURON, "_id": f"n{i}"}] for i in range(3000)]
    data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    result = subprocess.run(
        [sys.executable, "-m", "viewserver"],
        input=data,
        capture_output=True,
        check=True,
    )
    replies = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(replies) == len(lines)
    assert replies[-1] == [[["x", ["n2999", 0.5]], ["y", ["n2999", -1.0]]]]


def test_help_describes_the_server():
    result = subprocess.run(
        [sys.executable, "-m", "viewserver", "--help"], capture_output=True, check=True
    )
    assert b"COUCHDB_QUERY_SERVER_PYTHON" in result.stdout


def test_version():
    result = subprocess.run(
        [sys.executable, "-m", "viewserver", "--version"],
        capture_output=True,
        check=True,
    )
    assert result.stdout.startswith(b"couchnet-viewserver 0.")


def test_a_bad_option_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "viewserver", "--nope"], capture_output=True
    )
    assert result.returncode == 2


def test_an_unwritable_log_file_is_a_clear_error(tmp_path):
    command = [sys.executable, "-m", "viewserver", "--log-file", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, input=b"")
    assert result.returncode == 1
    assert result.stderr.startswith(b"Error: cannot log to ")
    assert b"Traceback" not in result.stderr


def test_raw_utf8_outside_the_bmp_in_and_out(start_server):
    server = start_server()
    server.run(["add_fun", "def fun(doc):\n    yield doc['_id'], doc['label']\n"])
    line = '["map_doc",{"_id":"neuron-🧠-𝔵","label":"Gewicht ≈ ½"}]\n'.encode()
    server.process.stdin.write(line)
    server.process.stdin.flush()
    reply = server.process.stdout.readline()
    assert reply == '[[["neuron-🧠-𝔵","Gewicht ≈ ½"]]]\n'.encode()


def test_writes_to_descriptor_1_and_child_processes_go_to_stderr(start_server):
    noisy = source(
        """
        import os
        import subprocess
        import sys

        def fun(doc):
            os.write(1, b"raw write\\n")
            subprocess.run([sys.executable, "-c", "print('from a child')"])
            yield doc["_id"], 1
        """
    )
    server = start_server()
    assert server.run(["add_fun", noisy]) is True
    assert server.run(["map_doc", NEURON]) == [[["n1", 1]]]
    assert server.close() == 0
    assert server.process.stdout.read() == b""
    assert server.process.stderr.read() == b"raw write\nfrom a child\n"
