"""compile_function: the API the loader uses to check functions before a push."""

import pytest

from viewserver.compiler import CompilationError, compile_function, positional_arity
from viewserver.testing import source


def test_the_last_top_level_function_is_the_entry_point():
    fun = compile_function(
        source(
            """
            import math

            SCALE = 2

            def helper(x):
                return math.tanh(x) * SCALE

            def fun(doc):
                yield doc["_id"], helper(doc["bias"])
            """
        ),
        "views/trust/map",
    )
    assert list(fun({"_id": "n1", "bias": 0.0})) == [("n1", 0.0)]


def test_namespace_gives_globals():
    fun = compile_function("def fun(doc):\n    emit(doc, 1)\n", "m", {"emit": print})
    assert fun.__globals__["emit"] is print


def test_each_compilation_has_its_own_globals():
    first = compile_function("X = 1\ndef fun():\n    return X\n", "a")
    second = compile_function("X = 2\ndef fun():\n    return X\n", "b")
    assert (first(), second()) == (1, 2)


@pytest.mark.parametrize(
    "text",
    ["    def fun(doc):\n        return doc\n", "\n\tdef fun(doc):\n\t\treturn doc"],
)
def test_a_source_indented_as_a_whole_is_accepted(text):
    assert compile_function(text, "m")(1) == 1


def test_a_lambda_bound_at_top_level_is_accepted_as_couchpy_did():
    fun = compile_function("fun = lambda doc: [(doc['_id'], None)]\n", "m")
    assert fun({"_id": "x"}) == [("x", None)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("def fun(doc:\n    return 1\n", "views/v/map: '(' was never closed at line 1"),
        ("x = 1\n\ny = 2\n", "the last statement, line 3, is an assignment"),
        ("", "source is empty, line 1 defines no function"),
        ("def fun(doc):\n    pass\nfun = 3\n", "'fun' is not a function"),
        ("import no_such_module_here\ndef fun(doc):\n    pass\n", "at line 1"),
        (
            "def fun(doc):\n    pass\n\n1 / 0\n",
            "ZeroDivisionError: division by zero at line 4",
        ),
        ("function(doc) { emit(doc._id, 1); }", "at line 1"),
    ],
)
def test_compilation_errors_name_the_problem_and_the_line(text, expected):
    with pytest.raises(CompilationError) as raised:
        compile_function(text, "views/v/map")
    assert expected in str(raised.value)
    assert str(raised.value).startswith("views/v/map: ")


def test_a_source_that_is_not_a_string_is_refused():
    with pytest.raises(CompilationError, match="must be a string, not dict"):
        compile_function({"map": "x"}, "views/v")


def test_tracebacks_of_compiled_functions_show_the_source_line():
    import traceback

    fun = compile_function("def fun(doc):\n    return doc['missing']\n", "shows/s")
    with pytest.raises(KeyError) as raised:
        fun({})
    text = "".join(traceback.format_exception(raised.value))
    assert "return doc['missing']" in text


@pytest.mark.parametrize(
    "text, arity",
    [
        ("def f(keys, values):\n    pass\n", 2),
        ("def f(keys, values, rereduce):\n    pass\n", 3),
        ("def f(*args):\n    pass\n", None),
        ("def f(doc, req=None):\n    pass\n", 2),
    ],
)
def test_positional_arity(text, arity):
    assert positional_arity(compile_function(text, "f")) == arity
