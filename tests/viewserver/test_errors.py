"""Every error path, in-process: what is answered, what is logged, who survives."""

import pytest

from viewserver.state import Config
from viewserver.testing import call, replies, run, source, teach

# add_fun and reduce sources


def test_add_fun_with_a_syntax_error_is_a_compilation_error_with_its_line():
    answer = replies(["add_fun", "def fun(doc):\n    yield doc[\n"])
    assert answer == [
        ["error", "compilation_error", "map function: '[' was never closed at line 2"]
    ]


def test_add_fun_without_a_function_is_a_compilation_error():
    answer = replies(["add_fun", "x = 1\n"], ["reset"])
    assert answer[0][:2] == ["error", "compilation_error"]
    assert "no function defined at top level" in answer[0][2]
    assert answer[1] is True


def test_a_failed_add_fun_adds_nothing():
    good = "def fun(doc):\n    yield 1, 2\n"
    answer = replies(["add_fun", "def (\n"], ["add_fun", good], ["map_doc", {}])
    assert answer[-1] == [[[1, 2]]]


def test_reduce_with_a_bad_source_is_a_compilation_error():
    answer = replies(["reduce", ["def fun(keys, values:\n"], [[["k", "d"], 1]]])
    assert answer[0][:2] == ["error", "compilation_error"]


# map_doc


def test_a_raising_map_function_is_logged_with_the_doc_id_and_gives_nothing():
    raises = "def fun(doc):\n    emit('a', 1)\n    return 1 / 0\n"
    fine = "def fun(doc):\n    yield doc['_id'], 2\n"
    session = run(["add_fun", raises], ["add_fun", fine], ["map_doc", {"_id": "n7"}])
    assert session.replies[-1] == [[], [["n7", 2]]]
    assert session.logs == [
        "map function 0 raised ZeroDivisionError: division by zero (line 3)"
        " with doc._id n7"
    ]


def test_a_map_function_giving_no_pairs_is_logged():
    session = run(["add_fun", "def fun(doc):\n    return [1, 2]\n"], ["map_doc", {}])
    assert session.replies[-1] == [[]]
    assert "(key, value) pairs" in session.logs[0]


@pytest.mark.parametrize(
    "value", ["float('nan')", "float('inf')", "{1, 2}", "object()", "[-float('inf')]"]
)
def test_values_json_cannot_hold_are_logged_with_function_and_doc(value):
    fun = f"def fun(doc):\n    yield doc['_id'], {value}\n"
    fine = "def fun(doc):\n    yield 'ok', None\n"
    session = run(
        ["add_fun", fine],
        ["add_fun", fun],
        ["map_doc", {"_id": "n1"}],
        ["map_doc", {"_id": "n2"}],
    )
    assert session.replies[-2:] == [[[["ok", None]], []], [[["ok", None]], []]]
    assert len(session.logs) == 2
    assert session.logs[0].startswith("map function 1 emitted a value JSON cannot hold")
    assert "doc._id n1" in session.logs[0]


def test_integers_beyond_64_bits_are_still_json():
    fun = "def fun(doc):\n    yield 'big', 2 ** 70\n"
    assert replies(["add_fun", fun], ["map_doc", {}])[-1] == [[["big", 2**70]]]


def test_a_map_function_cannot_change_what_the_next_one_sees():
    mutate = source(
        """
        def fun(doc):
            doc["inputs"].append("injected")
            doc["bias"] = None
            yield doc["_id"], len(doc["inputs"])
        """
    )
    read = "def fun(doc):\n    yield doc['bias'], doc['inputs']\n"
    doc = {"_id": "n1", "bias": 1.5, "inputs": ["a"]}
    answer = replies(["add_fun", mutate], ["add_fun", read], ["map_doc", doc])
    assert answer[-1] == [[["n1", 2]], [[1.5, ["a"]]]]


def test_raising_query_error_in_a_map_function_fails_the_whole_map_doc():
    fun = "def fun(doc):\n    raise QueryError('bad_neuron', doc['_id'])\n"
    answer = replies(["add_fun", fun], ["map_doc", {"_id": "n1"}], ["reset"])
    assert answer[1:] == [["error", "bad_neuron", "n1"], True]


# reduce


def test_a_raising_reduce_function_is_logged_and_gives_null():
    fails = "def fun(keys, values):\n    return values[99]\n"
    counts = "def fun(keys, values):\n    return len(values)\n"
    session = run(["reduce", [fails, counts], [[["k", "d"], 1]]])
    assert session.replies == [[True, [None, 1]]]
    assert session.logs == [
        "reduce function 0 raised IndexError: list index out of range (line 2)"
    ]


def test_a_reduce_result_json_cannot_hold_is_an_error_naming_the_function():
    fun = "def fun(keys, values):\n    return set(values)\n"
    answer = replies(["reduce", [fun], [[["k", "d"], 1]]], ["reset"])
    assert answer[0][:2] == ["error", "invalid_value"]
    assert answer[0][2].startswith("reduce function 0 returned")
    assert answer[1] is True


COLLECT = "def fun(keys, values, rereduce):\n    return values\n"


def overflowing_rereduce() -> list:
    values = [f"value {i:04d}" for i in range(600)]
    return ["rereduce", [COLLECT], values]


def test_reduce_limit_true_refuses_output_that_does_not_shrink():
    answer = replies(["reset", {"reduce_limit": True}], overflowing_rereduce())
    code, reason = answer[1][1:]
    assert code == "reduce_overflow_error"
    assert reason.startswith("Reduce output must shrink more rapidly: input size: ")


def test_reduce_limit_log_logs_and_answers():
    session = run(["reset", {"reduce_limit": "log"}], overflowing_rereduce())
    assert session.replies[1][0] is True
    assert session.logs[0].startswith("reduce_overflow_error: Reduce output must")


@pytest.mark.parametrize(
    "config",
    [
        {"reduce_limit": False},
        {},
        {"reduce_limit": True, "reduce_limit_threshold": 100000},
        {"reduce_limit": True, "reduce_limit_ratio": 0.5},
    ],
)
def test_reduce_limit_off_or_generous_lets_output_through(config):
    session = run(["reset", config], overflowing_rereduce())
    assert session.replies[1][0] is True
    assert session.logs == []


def test_small_output_is_never_limited():
    answer = replies(["reset", {"reduce_limit": True}], ["rereduce", [COLLECT], [1, 2]])
    assert answer[1] == [True, [[1, 2]]]


def test_reset_turns_the_reduce_limit_off_again():
    answer = replies(
        ["reset", {"reduce_limit": True}], ["reset"], overflowing_rereduce()
    )
    assert answer[2][0] is True


# ddoc


def test_an_uncached_design_doc_is_fatal():
    session = run(call(["shows", "x"], [{}, {}]), ["reset"])
    assert session.replies == [
        ["fatal", "query_protocol_error", "uncached design doc: _design/net"]
    ]
    assert session.status == 1


def test_a_missing_function_is_not_found_and_the_server_goes_on():
    answer = replies(teach(shows={}), call(["shows", "nope"], [{}, {}]), ["reset"])
    assert answer[1:] == [
        ["error", "not_found", "missing shows function nope on design doc _design/net"],
        True,
    ]


def test_an_unknown_design_function_kind_is_fatal():
    session = run(teach(), call(["nonsense", "x"], []), ["reset"])
    assert session.replies[1][:2] == ["fatal", "unknown_command"]
    assert session.status == 1


def test_ddoc_new_replaces_the_older_copy():
    first = teach(shows={"s": "def fun(doc, req):\n    return 'one'\n"})
    second = teach(shows={"s": "def fun(doc, req):\n    return 'two'\n"})
    answer = replies(
        first, call(["shows", "s"], [{}, {}]), second, call(["shows", "s"], [{}, {}])
    )
    assert [answer[1], answer[3]] == [
        ["resp", {"body": "one"}],
        ["resp", {"body": "two"}],
    ]


def test_a_design_function_that_does_not_compile_is_a_compilation_error():
    answer = replies(
        teach(shows={"s": "def fun(doc, req)\n"}), call(["shows", "s"], [{}, {}])
    )
    assert answer[1][:2] == ["error", "compilation_error"]
    assert "_design/net/shows/s" in answer[1][2]


def test_a_raising_show_is_a_render_error():
    show = "def fun(doc, req):\n    return doc['title']\n"
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [{"_id": "a"}, {}]))
    assert answer[1][:2] == ["error", "render_error"]
    assert "KeyError: 'title' (line 2)" in answer[1][2]


def test_a_show_of_a_missing_document_is_not_found():
    show = "def fun(doc, req):\n    return doc['title']\n"
    req = {"path": ["db", "_design", "net", "_show", "s", "missing"]}
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [None, req]))
    assert answer[1] == ["error", "not_found", "document not found"]


def test_query_error_from_a_show_is_answered_as_is():
    show = "def fun(doc, req):\n    raise QueryError('teapot', 'short and stout')\n"
    answer = replies(
        teach(shows={"s": show}), call(["shows", "s"], [{}, {}]), ["reset"]
    )
    assert answer[1:] == [["error", "teapot", "short and stout"], True]


def test_fatal_error_from_a_show_ends_the_server():
    show = "def fun(doc, req):\n    raise FatalError('error_key', 'testing')\n"
    session = run(teach(shows={"s": show}), call(["shows", "s"], [{}, {}]), ["reset"])
    assert session.replies[1:] == [["fatal", "error_key", "testing"]]
    assert session.status == 1


def test_a_show_response_json_cannot_hold_is_an_invalid_value():
    show = "def fun(doc, req):\n    return {'json': {1, 2}}\n"
    answer = replies(teach(shows={"s": show}), call(["shows", "s"], [{}, {}]))
    assert answer[1][:2] == ["error", "invalid_value"]


def test_updates_refuse_get():
    update = "def fun(doc, req):\n    return doc, 'ok'\n"
    answer = replies(
        teach(updates={"u": update}), call(["updates", "u"], [{}, {"method": "GET"}])
    )
    assert answer[1] == [
        "error",
        "method_not_allowed",
        "Update functions do not allow GET",
    ]


def test_an_update_without_a_response_is_a_render_error():
    update = "def fun(doc, req):\n    return doc, None\n"
    answer = replies(teach(updates={"u": update}), call(["updates", "u"], [{}, {}]))
    assert answer[1] == [
        "error",
        "render_error",
        "undefined response from update function",
    ]


def test_a_raising_filter_names_the_exception_and_the_doc():
    filter_fun = "def fun(doc, req):\n    return doc['bias'] > 0\n"
    docs = [{"_id": "n1", "bias": 1}, {"_id": "n2"}]
    answer = replies(
        teach(filters={"f": filter_fun}), call(["filters", "f"], [docs, {}])
    )
    code, reason = answer[1][1:]
    assert code == "KeyError"
    assert "with doc._id n2" in reason


def test_a_validation_that_raises_something_else_is_an_error():
    validate = "def fun(new_doc, old_doc, user_ctx, sec_obj):\n    new_doc['x'] += 1\n"
    answer = replies(
        teach(validate_doc_update=validate),
        call(["validate_doc_update"], [{"_id": "a"}, None, {}, {}]),
    )
    assert answer[1][:2] == ["error", "KeyError"]


def test_validation_with_three_arguments_works_as_in_couchpy_days():
    validate = "def fun(new_doc, old_doc, user_ctx):\n    raise Forbidden('no')\n"
    answer = replies(
        teach(validate_doc_update=validate),
        call(["validate_doc_update"], [{}, None, {}, {}]),
    )
    assert answer[1] == {"forbidden": "no"}


# lists


LIST = source(
    """
    def fun(head, req):
        send("head")
        while (row := get_row()) is not None:
            send(row["key"])
        return "tail"
    """
)


def test_a_list_that_gets_something_else_than_a_row_is_fatal():
    session = run(teach(lists={"l": LIST}), call(["lists", "l"], [{}, {}]), ["reset"])
    assert session.replies[1] == ["start", ["head"], {"headers": {}}]
    assert session.replies[2] == ["fatal", "list_error", "not a row 'reset'"]
    assert session.status == 1


def test_a_list_whose_input_ends_is_fatal():
    session = run(teach(lists={"l": LIST}), call(["lists", "l"], [{}, {}]))
    assert session.replies[2][:2] == ["fatal", "list_error"]
    assert session.status == 1


def test_a_raising_list_is_a_render_error_after_its_start():
    fun = "def fun(head, req):\n    get_row()\n    return 1 / 0\n"
    session = run(
        teach(lists={"l": fun}),
        call(["lists", "l"], [{}, {}]),
        ["list_row", {"key": 1}],
        ["reset"],
    )
    assert session.replies[1] == ["start", [], {"headers": {}}]
    assert session.replies[2][:2] == ["error", "render_error"]
    assert session.replies[3] is True


# the protocol itself


def test_a_line_that_is_not_json_is_an_error_and_serving_goes_on():
    session = run(b"not json", ["reset"])
    assert session.replies[0][:2] == ["error", "invalid_json"]
    assert session.replies[1] is True
    assert session.status == 0


@pytest.mark.parametrize("command", [{"reset": 1}, [], [["reset"]], "reset", [7]])
def test_something_that_is_no_command_is_fatal(command):
    session = run(command, ["reset"])
    assert session.replies == [["fatal", "unknown_command", session.replies[0][2]]]
    assert session.status == 1


@pytest.mark.parametrize("command", [["add_fun"], ["reset", {}, 1], ["map_doc"]])
def test_a_command_with_the_wrong_number_of_arguments_is_fatal(command):
    session = run(command, ["reset"])
    assert session.replies == [["fatal", "query_protocol_error", session.replies[0][2]]]
    assert session.status == 1


def test_a_malformed_argument_is_an_error_and_serving_goes_on():
    session = run(["reduce", ["def f(k, v):\n    return 0\n"], [1, 2]], ["reset"])
    assert session.replies[0][:2] == ["error", "query_server_error"]
    assert session.replies[1] is True


def test_blank_lines_are_skipped():
    session = run(b"", b"  ", ["reset"])
    assert session.lines == [True]


def test_a_rejection_reason_json_cannot_hold_is_an_invalid_value():
    validate = (
        "def fun(new_doc, old_doc, user_ctx, sec_obj):\n    raise Forbidden({1})\n"
    )
    answer = replies(
        teach(validate_doc_update=validate),
        call(["validate_doc_update"], [{}, None, {}, {}]),
        ["reset"],
    )
    assert answer[1][:2] == ["error", "invalid_value"]
    assert answer[2] is True


def test_a_rewrite_json_cannot_hold_is_an_invalid_value():
    rewrite = "def fun(req):\n    return {'path': object()}\n"
    answer = replies(teach(rewrites=rewrite), call(["rewrites"], [{}]), ["reset"])
    assert answer[1][:2] == ["error", "invalid_value"]
    assert answer[2] is True


def test_a_log_message_with_a_lone_surrogate_is_still_logged():
    fun = "def fun(doc):\n    log('half \\ud800 a pair')\n    yield 1, 1\n"
    session = run(["add_fun", fun], ["map_doc", {}])
    assert session.replies == [True, [[[1, 1]]]]
    assert session.logs == ["half ? a pair"]


def test_reduce_limit_given_as_a_string_is_understood():
    answer = replies(["reset", {"reduce_limit": "true"}], overflowing_rereduce())
    assert answer[1][:2] == ["error", "reduce_overflow_error"]


def test_fatal_error_from_a_map_function_ends_the_server():
    fun = "def fun(doc):\n    raise FatalError('map_runtime_error', 'stop')\n"
    session = run(["add_fun", fun], ["map_doc", {}], ["reset"])
    assert session.replies[1:] == [["fatal", "map_runtime_error", "stop"]]
    assert session.status == 1


def test_query_error_from_a_reduce_function_fails_the_reduce():
    fun = "def fun(keys, values):\n    raise QueryError('too_big', 'sorry')\n"
    answer = replies(["rereduce", [fun], [1]], ["reset"])
    assert answer == [["error", "too_big", "sorry"], True]


def test_get_row_outside_a_list_is_an_error_and_reads_nothing():
    show = "def fun(doc, req):\n    return str(get_row())\n"
    answer = replies(
        teach(shows={"s": show}), call(["shows", "s"], [{}, {}]), ["reset"]
    )
    assert answer[1:] == [
        ["error", "render_error", "get_row() works in list functions only"],
        True,
    ]


@pytest.mark.parametrize(
    "body",
    ["yield 'ab'", "yield {'a': 1, 'b': 2}", "return {'ab': 1}", "yield [1, 2, 3]"],
)
def test_rows_that_are_not_pairs_are_logged_and_dropped(body):
    fun = f"def fun(doc):\n    {body}\n"
    session = run(["add_fun", fun], ["map_doc", {"_id": "n1"}], ["reset"])
    assert session.replies[1:] == [[[]], True]
    assert session.logs == [
        "map function 0 raised TypeError: a map function must give (key, value)"
        " pairs with doc._id n1"
    ]


def test_a_namedtuple_row_is_a_pair():
    fun = source(
        """
        from collections import namedtuple

        Row = namedtuple("Row", "key value")

        def fun(doc):
            yield Row(doc["_id"], 1)
        """
    )
    assert replies(["add_fun", fun], ["map_doc", {"_id": "n1"}])[-1] == [[["n1", 1]]]


def test_reduce_limit_threshold_below_the_default_refuses_smaller_output():
    small = ["rereduce", [COLLECT], [f"value {i:02d}" for i in range(20)]]
    answer = replies(
        ["reset", {"reduce_limit": True}],
        small,
        ["reset", {"reduce_limit": True, "reduce_limit_threshold": 100}],
        small,
    )
    assert answer[1][0] is True
    assert answer[3][:2] == ["error", "reduce_overflow_error"]


def test_reduce_limit_ratio_above_the_default_refuses_output_that_shrinks_little():
    def halving(config: dict) -> list:
        # The output is about half the input: passes at ratio 2, not at 4.
        fun = "def fun(keys, values, rereduce):\n    return values[::2]\n"
        values = [f"value {i:04d}" for i in range(1200)]
        return replies(["reset", config], ["rereduce", [fun], values])[1]

    assert halving({"reduce_limit": True})[0] is True
    assert halving({"reduce_limit": True, "reduce_limit_ratio": 4})[:2] == [
        "error",
        "reduce_overflow_error",
    ]


@pytest.mark.parametrize("value", [None, "lots", True, [1]])
def test_a_reset_setting_that_is_no_number_keeps_its_default(value):
    config = {"reduce_limit": True, "reduce_limit_threshold": value}
    answer = replies(["reset", config], overflowing_rereduce())
    assert answer[0] is True
    assert answer[1][:2] == ["error", "reduce_overflow_error"]


def test_reset_keeps_the_timeout_and_reads_numbers_given_as_strings():
    config = Config.from_reset(
        {"timeout": 7000, "reduce_limit_threshold": "100", "reduce_limit": "false"}
    )
    assert (config.timeout, config.reduce_limit_threshold) == (7000, 100.0)
    assert config.reduce_limit is False


def test_values_json_cannot_hold_name_the_design_function_and_the_doc():
    show = "def fun(doc, req):\n    return {'json': {'bias': float('nan')}}\n"
    update = "def fun(doc, req):\n    return {'_id': 'n2', 'w': {1}}, 'ok'\n"
    answer = replies(
        teach(shows={"s": show}, updates={"u": update}),
        call(["shows", "s"], [{"_id": "n1"}, {}]),
        call(["updates", "u"], [None, {"method": "POST"}]),
        ["reset"],
    )
    assert answer[1] == [
        "error",
        "invalid_value",
        "_design/net/shows/s with doc._id n1: NaN or an infinity is not a JSON number",
    ]
    assert answer[2][:2] == ["error", "invalid_value"]
    assert answer[2][2].startswith("_design/net/updates/u with doc._id n2: ")
    assert answer[3] is True


def test_a_failing_design_function_is_named_by_its_path():
    show = "def fun(doc, req):\n    return doc['title']\n"
    view = "def fun(doc):\n    yield doc['bias'], 1\n"
    answer = replies(
        teach(shows={"s": show}, views={"v": {"map": view}}),
        call(["shows", "s"], [{"_id": "n1"}, {}]),
        call(["views", "v", "map"], [[{"_id": "n1"}]]),
    )
    assert answer[1][2].startswith("_design/net/shows/s raised KeyError: 'title'")
    assert answer[2] == [
        "error",
        "KeyError",
        "_design/net/views/v/map raised KeyError: 'bias' (line 2) with doc._id n1",
    ]


def test_a_list_start_json_cannot_hold_names_the_list():
    fun = "def fun(head, req):\n    start({'headers': {'X': {1}}})\n    get_row()\n"
    answer = replies(teach(lists={"l": fun}), call(["lists", "l"], [{}, {}]), ["reset"])
    assert answer[1] == [
        "error",
        "invalid_value",
        "_design/net/lists/l start: Type is not JSON serializable: set",
    ]
    assert answer[2] is True


@pytest.mark.parametrize(
    "path, args, code",
    [
        (["shows", "f"], [{}, {}], "render_error"),
        (["updates", "f"], [{}, {"method": "POST"}], "render_error"),
        (["lists", "f"], [{}, {}], "render_error"),
        (["filters", "f"], [[{}], {}], "ZeroDivisionError"),
        (["views", "f", "map"], [[{}]], "ZeroDivisionError"),
        (["validate_doc_update"], [{}, None, {}, {}], "ZeroDivisionError"),
        (["rewrites"], [{}], "ZeroDivisionError"),
    ],
)
def test_every_kind_of_design_function_that_raises_is_an_error_naming_it(
    path, args, code
):
    fields = "def fun(*args):\n    1 / 0\n"
    for part in reversed(path):
        fields = {part: fields}
    answer = replies(teach(**fields), call(path, args), ["reset"])
    name = "/".join(["_design/net", *path])
    assert answer[1][:2] == ["error", code]
    assert answer[1][2].startswith(f"{name} raised ZeroDivisionError: division by zero")
    assert answer[2] is True


REQUIRES_LIB = "neuron = require('views/lib/neuron')\ndef fun(doc):\n    yield 1, 1\n"


def test_add_fun_without_add_lib_accepts_a_top_level_views_lib_require():
    # As CouchDB checks a design document being saved: add_fun, no add_lib.
    session = run(["reset"], ["add_fun", REQUIRES_LIB], ["map_doc", {"_id": "n1"}])
    assert session.replies == [True, True, [[]]]
    assert session.logs == [
        "map function 0 raised LookupError: require('views/lib/neuron'):"
        " no 'views/lib/neuron' found with doc._id n1"
    ]


def test_a_views_lib_require_missing_from_the_added_library_is_an_error():
    answer = replies(["add_lib", {"other": "X = 1\n"}], ["add_fun", REQUIRES_LIB])
    assert answer[1] == [
        "error",
        "invalid_require_path",
        "require('views/lib/neuron'): no 'views/lib/neuron' found",
    ]


def test_the_same_source_works_once_its_library_is_added():
    answer = replies(
        ["add_fun", REQUIRES_LIB],
        ["reset"],
        ["add_lib", {"neuron": "X = 1\n"}],
        ["add_fun", REQUIRES_LIB],
        ["map_doc", {"_id": "n1"}],
    )
    assert answer == [True, True, True, True, [[[1, 1]]]]


def test_dates_uuids_enums_and_dataclasses_are_written_as_orjson_writes_them():
    fun = source(
        """
        import dataclasses, datetime, enum, uuid

        @dataclasses.dataclass
        class Weight:
            value: float

        class Kind(enum.Enum):
            NEURON = "neuron"

        def fun(doc):
            yield datetime.date(2026, 1, 2), uuid.UUID(int=5)
            yield Kind.NEURON, Weight(0.5)
        """
    )
    session = run(["add_fun", fun], ["map_doc", {"_id": "n1"}])
    assert session.lines[-1] == [
        [
            ["2026-01-02", "00000000-0000-0000-0000-000000000005"],
            ["neuron", {"value": 0.5}],
        ]
    ]
