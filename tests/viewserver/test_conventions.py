"""What user functions get: log, print, require, provides, caching, raw UTF-8."""

import io

import orjson
import pytest

from viewserver import mime
from viewserver.protocol import serve
from viewserver.streams import LineReader, Output, stream_writer
from viewserver.testing import call, replies, run, source, teach


def test_print_and_log_become_log_lines_before_the_reply():
    fun = source(
        """
        def fun(doc):
            print("mapping", doc["_id"])
            log({"seen": doc["_id"]})
            yield doc["_id"], 1
        """
    )
    session = run(["add_fun", fun], ["map_doc", {"_id": "n1"}])
    assert session.lines == [
        True,
        ["log", "mapping n1"],
        ["log", '{"seen":"n1"}'],
        [[["n1", 1]]],
    ]


def test_print_to_a_named_file_is_left_alone(capsys):
    fun = "import sys\ndef fun(doc):\n    print('to stderr', file=sys.stderr)\n"
    session = run(["add_fun", fun], ["map_doc", {}])
    assert session.lines == [True, [[]]]
    assert capsys.readouterr().err == "to stderr\n"


def test_map_functions_require_views_lib_modules_which_require_each_other():
    lib = {
        "math": "def double(x):\n    return 2 * x\n",
        "neuron": "double = require('./math').double\n"
        "def weight(doc):\n    return double(doc['w'])\n",
    }
    fun = (
        "neuron = require('views/lib/neuron')\n"
        "def fun(doc):\n    yield 1, neuron.weight(doc)\n"
    )
    answer = replies(["add_lib", lib], ["add_fun", fun], ["map_doc", {"w": 2}])
    assert answer[-1] == [[[1, 4]]]


def test_a_module_runs_once_per_library_set():
    lib = {"counter": "log('module ran')\n"}
    fun = "def fun(doc):\n    require('views/lib/counter')\n    yield 1, 1\n"
    session = run(
        ["add_lib", lib],
        ["add_fun", fun],
        ["map_doc", {}],
        ["map_doc", {}],
        ["reset"],
        ["add_lib", lib],
        ["add_fun", fun],
        ["map_doc", {}],
    )
    assert session.logs == ["module ran"]


def test_design_functions_require_paths_inside_the_design_doc():
    neuron = "from math import tanh\ndef trust(w):\n    return tanh(w)\n"
    show = (
        "neuron = require('lib/neuron')\n"
        "def fun(doc, req):\n    return {'json': neuron.trust(0)}\n"
    )
    answer = replies(
        teach(lib={"neuron": neuron}, shows={"t": show}),
        call(["shows", "t"], [{}, {}]),
    )
    assert answer[-1] == ["resp", {"json": 0.0}]


def test_a_required_module_gets_log_and_require():
    lib = {"a": "log('a loaded')\nb = require('lib/b')\n", "b": "VALUE = 7\n"}
    show = "def fun(doc, req):\n    return str(require('lib/a').b.VALUE)\n"
    session = run(teach(lib=lib, shows={"s": show}), call(["shows", "s"], [{}, {}]))
    assert session.lines[1:] == [["log", "a loaded"], ["resp", {"body": "7"}]]


def test_require_of_a_missing_path_is_an_invalid_require_path():
    show = "def fun(doc, req):\n    return require('lib/nothing').x\n"
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [{}, {}]))
    assert answer[1] == [
        "error",
        "invalid_require_path",
        "require('lib/nothing'): no 'lib/nothing' found",
    ]


def test_require_of_a_broken_module_is_a_compilation_error():
    show = "def fun(doc, req):\n    return require('lib/bad').x\n"
    answer = replies(
        teach(lib={"bad": "def broken(:\n"}, shows={"s": show}),
        call(["shows", "s"], [{}, {}]),
    )
    assert answer[1][:2] == ["error", "compilation_error"]
    assert "require('lib/bad')" in answer[1][2]


def test_require_climbing_above_the_root_is_refused():
    show = "def fun(doc, req):\n    return require('../../x')\n"
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [{}, {}]))
    assert answer[1][:2] == ["error", "invalid_require_path"]


def test_design_functions_see_their_design_doc():
    show = "def fun(doc, req):\n    return ddoc['title']\n"
    answer = replies(
        teach(title="Net", shows={"s": show}), call(["shows", "s"], [{}, {}])
    )
    assert answer[1] == ["resp", {"body": "Net"}]


def test_a_reduce_source_is_compiled_once():
    fun = "log('compiled')\ndef fun(keys, values):\n    return len(values)\n"
    session = run(
        ["reduce", [fun], [[["k", "d"], 1]]],
        ["rereduce", [fun], [1, 2]],
        ["reset"],
        ["reduce", [fun], [[["k", "d"], 1]]],
    )
    assert session.logs == ["compiled"]
    assert session.replies == [[True, [1]], [True, [2]], True, [True, [1]]]


def test_a_design_function_is_compiled_once_per_design_doc_version():
    show = "log('compiled')\ndef fun(doc, req):\n    return 'x'\n"
    session = run(
        teach(shows={"s": show}),
        call(["shows", "s"], [{}, {}]),
        call(["shows", "s"], [{}, {}]),
        teach(shows={"s": show}),
        call(["shows", "s"], [{}, {}]),
    )
    assert session.logs == ["compiled", "compiled"]


def test_utf8_outside_the_bmp_goes_through_raw():
    doc = {"_id": "neuron-🧠-𝔵", "label": "Gewicht ≈ ½"}
    fun = "def fun(doc):\n    yield doc['_id'], doc['label']\n"
    session = run(["add_fun", fun], ["map_doc", doc])
    assert session.replies[-1] == [[["neuron-🧠-𝔵", "Gewicht ≈ ½"]]]


def test_replies_are_raw_utf8_not_escaped():
    sink = io.BytesIO()
    output = Output(stream_writer(sink))
    line = orjson.dumps(["add_fun", "def fun(doc):\n    yield '🧠', 1\n"])
    data = line + b"\n" + orjson.dumps(["map_doc", {}]) + b"\n"
    serve(LineReader(io.BytesIO(data).read, output.flush), output)
    assert "🧠".encode() in sink.getvalue()


def test_show_with_send_joins_chunks_before_the_body():
    show = source(
        """
        def fun(doc, req):
            start({"headers": {"X-Net": "yes"}})
            send("a")
            send(1)
            return "b"
        """
    )
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [{}, {}]))
    assert answer[1] == ["resp", {"body": "a1b", "headers": {"X-Net": "yes"}}]


PROVIDES = source(
    """
    def fun(doc, req):
        provides("html", lambda: "<p>" + doc["_id"] + "</p>")
        provides("json", lambda: {"body": '{"id": "%s"}' % doc["_id"]})
    """
)


def show_with(req: dict) -> list:
    answer = replies(
        teach(shows={"p": PROVIDES}), call(["shows", "p"], [{"_id": "n1"}, req])
    )
    return answer[1]


def test_provides_follows_the_format_query_parameter():
    resp = show_with({"query": {"format": "json"}, "headers": {}})
    assert resp == [
        "resp",
        {"body": '{"id": "n1"}', "headers": {"Content-Type": "application/json"}},
    ]


def test_provides_follows_the_accept_header():
    resp = show_with({"headers": {"Accept": "application/json;q=0.5, text/html"}})
    assert resp[1]["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert resp[1]["body"] == "<p>n1</p>"


def test_provides_takes_the_first_format_on_a_tie():
    resp = show_with({"headers": {"Accept": "*/*"}})
    assert resp[1]["body"] == "<p>n1</p>"


def test_provides_takes_the_first_format_without_accept():
    resp = show_with({"headers": {}})
    assert resp[1]["body"] == "<p>n1</p>"


def test_provides_without_an_acceptable_format_is_not_acceptable():
    resp = show_with({"headers": {"Accept": "image/png"}})
    assert resp[:2] == ["error", "not_acceptable"]


def test_a_list_may_use_provides():
    list_fun = source(
        """
        def fun(head, req):
            def csv():
                send("key\\n")
                while (row := get_row()) is not None:
                    send(row["key"] + "\\n")
                return ""
            provides("csv", csv)
        """
    )
    answer = replies(
        teach(lists={"csv": list_fun}),
        call(["lists", "csv"], [{}, {"headers": {"Accept": "text/csv"}}]),
        ["list_row", {"key": "a"}],
        ["list_end"],
    )
    assert answer[1:] == [
        ["start", ["key\n"], {"headers": {"Content-Type": "text/csv"}}],
        ["chunks", ["a\n"]],
        ["end", [""]],
    ]


def test_register_type_adds_a_format():
    show = source(
        """
        def fun(doc, req):
            register_type("neuron", "application/x-neuron")
            provides("neuron", lambda: "n")
        """
    )
    answer = replies(
        teach(shows={"s": show}),
        call(["shows", "s"], [{}, {"headers": {"Accept": "application/x-neuron"}}]),
    )
    assert answer[1][1]["headers"]["Content-Type"] == "application/x-neuron"


def test_compiled_sources_are_kept_up_to_a_limit(monkeypatch):
    from viewserver import state

    monkeypatch.setattr(state, "CACHE_LIMIT", 2)
    funs = [f"log('compiled {n}')\ndef fun(k, v):\n    return {n}\n" for n in range(3)]
    session = run(*[["rereduce", [fun], [1]] for fun in [*funs, funs[2], funs[0]]])
    assert session.replies == [
        [True, [0]],
        [True, [1]],
        [True, [2]],
        [True, [2]],
        [True, [0]],
    ]
    assert session.logs == ["compiled 0", "compiled 1", "compiled 2", "compiled 0"]


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("text/html", "text/html; charset=utf-8"),
        ("application/json, text/html;q=0.9", "application/json"),
        ("text/*;q=0.3, application/json;q=0.2", "text/html; charset=utf-8"),
        ("text/html;q=0, */*;q=0.1", "application/json"),
        ("image/png", None),
        ("", None),
    ],
)
def test_best_match_of_an_accept_header(accept, expected):
    supported = ["text/html; charset=utf-8", "application/json"]
    assert mime.best_match(supported, accept) == expected


def test_a_failed_require_at_top_level_is_reported_as_itself():
    show = "neuron = require('lib/gone')\ndef fun(doc, req):\n    return 'x'\n"
    lib = {"a": "b = require('./gone')\n"}
    answer = replies(
        teach(
            lib=lib, shows={"s": show, "t": "def fun(d, r):\n    require('lib/a')\n"}
        ),
        call(["shows", "s"], [{}, {}]),
        call(["shows", "t"], [{}, {}]),
    )
    assert answer[1] == [
        "error",
        "invalid_require_path",
        "require('lib/gone'): no 'lib/gone' found",
    ]
    assert answer[2][:2] == ["error", "invalid_require_path"]


def test_compiled_design_functions_survive_reset():
    show = "log('compiled')\ndef fun(doc, req):\n    return 'x'\n"
    session = run(
        teach(shows={"s": show}),
        call(["shows", "s"], [{}, {}]),
        ["reset", {"reduce_limit": True}],
        call(["shows", "s"], [{}, {}]),
    )
    assert session.logs == ["compiled"]
    assert session.replies[1:] == [["resp", {"body": "x"}], True, session.replies[1]]


def test_a_map_source_is_compiled_once_across_resets():
    fun = "log('compiled')\ndef fun(doc):\n    yield 1, 1\n"
    session = run(
        ["add_fun", fun],
        ["map_doc", {}],
        ["reset"],
        ["add_fun", fun],
        ["map_doc", {}],
    )
    assert session.logs == ["compiled"]
    assert session.replies == [True, [[[1, 1]]], True, True, [[[1, 1]]]]


def test_print_in_design_functions_and_reduces_becomes_log_lines():
    show = "def fun(doc, req):\n    print('showing', doc['_id'])\n    return 'x'\n"
    count = "def fun(keys, values):\n    print(len(values), 'values')\n    return 0\n"
    session = run(
        teach(shows={"s": show}),
        call(["shows", "s"], [{"_id": "n1"}, {}]),
        ["reduce", [count], [[["k", "d"], 1]]],
    )
    assert session.lines == [
        True,
        ["log", "showing n1"],
        ["resp", {"body": "x"}],
        ["log", "1 values"],
        [True, [0]],
    ]
