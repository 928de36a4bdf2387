"""Each command of the protocol, in-process: transcript in, replies out."""

from viewserver.testing import replies, run, source, teach

EMIT_INPUTS = source(
    """
    def fun(doc):
        for name, weight in doc["inputs"].items():
            emit([doc["_id"], name], weight)
    """
)
YIELD_BIAS = source(
    """
    def fun(doc):
        yield doc["_id"], doc["bias"]
    """
)
SUM = source(
    """
    def fun(keys, values, rereduce):
        return sum(values)
    """
)
COUNT = source(
    """
    def fun(keys, values, rereduce):
        return sum(values) if rereduce else len(values)
    """
)
NEURON = {"_id": "n1", "bias": 0.5, "inputs": {"x": 0.25, "y": -1.5}}


def test_reset_answers_true_with_or_without_config():
    config = {"reduce_limit": True, "timeout": 5000}
    assert replies(["reset"], ["reset", config]) == [True, True]


def test_map_doc_runs_every_function_in_order():
    assert replies(
        ["reset"],
        ["add_fun", EMIT_INPUTS],
        ["add_fun", YIELD_BIAS],
        ["map_doc", NEURON],
    ) == [True, True, True, [[[["n1", "x"], 0.25], [["n1", "y"], -1.5]], [["n1", 0.5]]]]


def test_reset_forgets_map_functions():
    answer = replies(
        ["add_fun", YIELD_BIAS],
        ["reset"],
        ["add_fun", EMIT_INPUTS],
        ["map_doc", NEURON],
    )
    assert answer[-1] == [[[["n1", "x"], 0.25], [["n1", "y"], -1.5]]]


def test_map_doc_with_no_functions_is_an_empty_list():
    assert replies(["reset"], ["map_doc", NEURON]) == [True, []]


def test_a_map_function_may_return_a_list_of_pairs():
    fun = "def fun(doc):\n    return [(doc['_id'], None), ('all', 1)]\n"
    answer = replies(["add_fun", fun], ["map_doc", NEURON])
    assert answer[-1] == [[["n1", None], ["all", 1]]]


def test_emit_without_a_value_emits_null():
    fun = "def fun(doc):\n    emit(doc['_id'])\n"
    assert replies(["add_fun", fun], ["map_doc", NEURON])[-1] == [[["n1", None]]]


def test_reduce_answers_one_result_per_source():
    kvs = [[["a", "d1"], 1], [["b", "d2"], 2], [["c", "d3"], 4]]
    assert replies(["reduce", [SUM, COUNT], kvs]) == [[True, [7, 3]]]


def test_reduce_gets_keys_with_their_doc_ids():
    fun = "def fun(keys, values):\n    return keys\n"
    kvs = [[["a", "d1"], 1], [["b", "d2"], 2]]
    assert replies(["reduce", [fun], kvs]) == [[True, [[["a", "d1"], ["b", "d2"]]]]]


def test_rereduce_passes_null_keys_and_true():
    fun = "def fun(keys, values, rereduce):\n    return [keys, rereduce, sum(values)]\n"
    assert replies(["rereduce", [fun], [1, 2, 3]]) == [[True, [[None, True, 6]]]]


def test_reduce_and_rereduce_accept_a_context_argument():
    context = {"ddoc": "_design/net", "view": "inputs"}
    answer = replies(
        ["reduce", [COUNT], [[["a", "d1"], 5]], context],
        ["rereduce", [COUNT], [2, 3], context],
    )
    assert answer == [[True, [1]], [True, [5]]]


def test_add_lib_modules_are_required_by_map_functions():
    lib = {"neuron": "SCALE = 10\n\ndef scaled(x):\n    return x * SCALE\n"}
    fun = source(
        """
        neuron = require("views/lib/neuron")

        def fun(doc):
            yield doc["_id"], neuron.scaled(doc["bias"])
        """
    )
    answer = replies(["add_lib", lib], ["add_fun", fun], ["map_doc", NEURON])
    assert answer == [True, True, [[["n1", 5.0]]]]


def test_ddoc_new_answers_true_and_survives_reset():
    show = "def fun(doc, req):\n    return doc['title']\n"
    answer = replies(
        teach(shows={"title": show}),
        ["reset"],
        ["ddoc", "_design/net", ["shows", "title"], [{"title": "Net"}, {}]],
    )
    assert answer == [True, True, ["resp", {"body": "Net"}]]


def test_show_may_return_a_response_dict():
    show = source(
        """
        def fun(doc, req):
            return {"code": 201, "json": {"id": doc["_id"], "q": req["query"]}}
        """
    )
    answer = replies(
        teach(shows={"j": show}),
        ["ddoc", "_design/net", ["shows", "j"], [NEURON, {"query": {"a": "1"}}]],
    )
    assert answer[-1] == ["resp", {"code": 201, "json": {"id": "n1", "q": {"a": "1"}}}]


def test_list_streams_rows_between_start_and_end():
    list_fun = source(
        """
        def fun(head, req):
            start({"headers": {"Content-Type": "text/plain"}})
            send("total %d;" % head["total_rows"])
            while (row := get_row()) is not None:
                send(row["key"])
            return ";end"
        """
    )
    answer = replies(
        teach(lists={"keys": list_fun}),
        ["ddoc", "_design/net", ["lists", "keys"], [{"total_rows": 2}, {}]],
        ["list_row", {"key": "a"}],
        ["list_row", {"key": "b"}],
        ["list_end"],
    )
    assert answer[1:] == [
        ["start", ["total 2;"], {"headers": {"Content-Type": "text/plain"}}],
        ["chunks", ["a"]],
        ["chunks", ["b"]],
        ["end", [";end"]],
    ]


def test_update_returns_doc_and_response():
    update = source(
        """
        def fun(doc, req):
            doc = doc or {"_id": req["id"]}
            doc["bias"] = float(req["body"])
            return doc, "bias set"
        """
    )
    answer = replies(
        teach(updates={"bias": update}),
        ["ddoc", "_design/net", ["updates", "bias"], [None, {"id": "n9", "body": "2"}]],
    )
    assert answer[-1] == ["up", {"_id": "n9", "bias": 2.0}, {"body": "bias set"}]


def test_filter_answers_a_bool_per_doc():
    filter_fun = "def fun(doc, req):\n    return doc.get('bias', 0) > 0\n"
    docs = [NEURON, {"_id": "n2", "bias": -1}, {"_id": "n3"}]
    answer = replies(
        teach(filters={"positive": filter_fun}),
        ["ddoc", "_design/net", ["filters", "positive"], [docs, {}]],
    )
    assert answer[-1] == [True, [True, False, False]]


def test_view_as_filter_passes_docs_its_map_emits_for():
    map_fun = "def fun(doc):\n    if 'inputs' in doc:\n        emit(doc['_id'], 1)\n"
    docs = [NEURON, {"_id": "n2"}]
    answer = replies(
        teach(views={"wired": {"map": map_fun}}),
        ["ddoc", "_design/net", ["views", "wired", "map"], [docs]],
    )
    assert answer[-1] == [True, [True, False]]


def test_validate_doc_update_allows_and_rejects():
    validate = source(
        """
        def fun(new_doc, old_doc, user_ctx, sec_obj):
            if "bias" not in new_doc:
                raise Forbidden("a neuron needs a bias")
            if "admin" not in user_ctx["roles"]:
                raise Unauthorized("admins only")
        """
    )
    path = ["validate_doc_update"]
    admin, guest = {"roles": ["admin"]}, {"roles": []}
    answer = replies(
        teach(validate_doc_update=validate),
        ["ddoc", "_design/net", path, [NEURON, None, admin, {}]],
        ["ddoc", "_design/net", path, [{"_id": "n2"}, None, admin, {}]],
        ["ddoc", "_design/net", path, [NEURON, None, guest, {}]],
    )
    assert answer[1:] == [
        1,
        {"forbidden": "a neuron needs a bias"},
        {"unauthorized": "admins only"},
    ]


def test_rewrites_dispatch_or_not():
    rewrite = source(
        """
        def fun(req):
            if req["path"][-1] == "home":
                return {"path": "_show/home"}
            return None
        """
    )
    answer = replies(
        teach(rewrites=rewrite),
        ["ddoc", "_design/net", ["rewrites"], [{"path": ["db", "home"]}]],
        ["ddoc", "_design/net", ["rewrites"], [{"path": ["db", "away"]}]],
    )
    assert answer[1:] == [["ok", {"path": "_show/home"}], ["no_dispatch_rule"]]


def test_unknown_command_is_answered_then_the_server_exits():
    session = run(["reset"], ["bogus"], ["reset"])
    assert session.replies == [
        True,
        ["fatal", "unknown_command", "unknown command 'bogus'"],
    ]
    assert session.status == 1


def test_add_lib_of_null_means_no_libraries():
    fun = "def fun(doc):\n    yield 1, 1\n"
    assert replies(["add_lib", None], ["add_fun", fun], ["map_doc", {}])[-1] == [
        [[1, 1]]
    ]


def test_update_may_save_nothing():
    update = "def fun(doc, req):\n    return None, {'code': 204}\n"
    answer = replies(
        teach(updates={"noop": update}),
        ["ddoc", "_design/net", ["updates", "noop"], [None, {"method": "POST"}]],
    )
    assert answer[-1] == ["up", None, {"code": 204}]


def test_view_as_filter_works_with_yielding_map_functions():
    map_fun = "def fun(doc):\n    if doc.get('bias'):\n        yield doc['_id'], 1\n"
    docs = [NEURON, {"_id": "n2", "bias": 0}]
    answer = replies(
        teach(views={"biased": {"map": map_fun}}),
        ["ddoc", "_design/net", ["views", "biased", "map"], [docs]],
    )
    assert answer[-1] == [True, [True, False]]


def test_rewrites_may_answer_a_path_or_reject():
    rewrite = source(
        """
        def fun(req):
            if req.get("userCtx", {}).get("name") is None:
                raise Unauthorized("log in first")
            return "_show/home"
        """
    )
    answer = replies(
        teach(rewrites=rewrite),
        ["ddoc", "_design/net", ["rewrites"], [{"userCtx": {"name": "ada"}}]],
        ["ddoc", "_design/net", ["rewrites"], [{"userCtx": {}}]],
    )
    assert answer[1:] == [
        ["ok", {"path": "_show/home"}],
        {"unauthorized": "log in first"},
    ]


def test_several_reduce_sources_with_and_without_the_context_argument():
    kvs = [[["a", "d1"], 1], [["b", "d2"], 2], [["c", "d3"], 4]]
    context = {"ddoc": "_design/net", "view": "inputs"}
    answer = replies(
        ["reduce", [SUM, COUNT, SUM], kvs],
        ["reduce", [SUM, COUNT, SUM], kvs, context],
        ["rereduce", [SUM, COUNT], [7, 3]],
        ["rereduce", [SUM, COUNT], [7, 3], context],
    )
    assert answer == [[True, [7, 3, 7]]] * 2 + [[True, [10, 10]]] * 2


def test_map_functions_may_mix_emit_and_yield():
    fun = source(
        """
        def fun(doc):
            emit("a", 1)
            yield "b", 2
            emit("c", 3)
        """
    )
    assert replies(["add_fun", fun], ["map_doc", NEURON])[-1] == [
        [["a", 1], ["b", 2], ["c", 3]]
    ]
