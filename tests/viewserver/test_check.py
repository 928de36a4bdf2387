"""check_design_doc: every function of a design document compiled before a push."""

from viewserver.design import check_design_doc, function_paths

GOOD = {
    "_id": "_design/net",
    "language": "python",
    "lib": {"neuron": "def trust(w):\n    return w\n"},
    "views": {
        "lib": {"util": "X = 1\n"},
        "inputs": {
            "map": "util = require('views/lib/util')\ndef fun(doc):\n    yield 1, 1\n",
            "reduce": "_count",
        },
        "weights": {
            "map": "def fun(doc):\n    yield 1, 1\n",
            "reduce": "def r(k, v):\n    return 0\n",
        },
    },
    "shows": {
        "neuron": "neuron = require('lib/neuron')\ndef fun(doc, req):\n    return ''\n"
    },
    "lists": {"csv": "def fun(head, req):\n    return ''\n"},
    "updates": {"bias": "def fun(doc, req):\n    return doc, ''\n"},
    "filters": {"neurons": "def fun(doc, req):\n    return True\n"},
    "validate_doc_update": "def fun(new, old, user, sec):\n    pass\n",
}


def test_a_good_design_doc_has_no_problems():
    assert check_design_doc(GOOD) == {}


def test_function_paths_cover_every_kind_and_skip_builtin_reduces():
    assert sorted(map(tuple, function_paths(GOOD))) == [
        ("filters", "neurons"),
        ("lists", "csv"),
        ("shows", "neuron"),
        ("updates", "bias"),
        ("validate_doc_update",),
        ("views", "inputs", "map"),
        ("views", "weights", "map"),
        ("views", "weights", "reduce"),
    ]


def test_each_broken_function_is_one_problem_naming_it():
    broken = {
        **GOOD,
        "shows": {
            "neuron": "neuron = require('lib/none')\ndef fun(doc, req):\n    pass\n"
        },
        "filters": {"neurons": "def fun(doc, req)\n    return True\n"},
        "validate_doc_update": "x = 1\n",
    }
    problems = check_design_doc(broken)
    assert list(problems) == ["shows/neuron", "filters/neurons", "validate_doc_update"]
    assert problems["shows/neuron"] == "require('lib/none'): no 'lib/none' found"
    assert problems["filters/neurons"] == (
        "_design/net/filters/neurons: expected ':' at line 1"
    )
    assert problems["validate_doc_update"].startswith(
        "_design/net/validate_doc_update: no function defined at top level"
    )
