"""CouchDB's query-server specification (test/view_server/query_server_spec.rb),
case by case, with Python fixture functions, against the installed server.

The first group shares one process, as the specification's "normal case" does;
the second starts one process per case and checks that it exits. Where the
JavaScript server answers a fatal failure with ``["error", ...]`` before it
dies, this server says ``["fatal", ...]``, which CouchDB reads as the same
failure and acts on at once; the error ids are the specification's.
"""

import pytest

from viewserver.testing import source

FUNCTIONS = {
    "emit-twice": source(
        """
        def fun(doc):
            emit("foo", doc.get("a"))
            emit("bar", doc.get("a"))
        """
    ),
    "emit-once": 'def fun(doc):\n    emit("baz", doc.get("a"))\n',
    "reduce-values-length": (
        "def fun(keys, values, rereduce):\n    return len(values)\n"
    ),
    "reduce-values-sum": "def fun(keys, values, rereduce):\n    return sum(values)\n",
    "validate-forbidden": source(
        """
        def fun(new_doc, old_doc, user_ctx):
            if new_doc.get("bad"):
                raise Forbidden("bad doc")
            "foo bar"
        """
    ),
    "show-simple": source(
        """
        def fun(doc, req):
            log("ok")
            return " - ".join([doc["title"], doc["body"]])
        """
    ),
    "show-headers": source(
        """
        def fun(doc, req):
            resp = {"code": 200, "headers": {"X-Plankton": "Rusty"}}
            resp["body"] = " - ".join([doc["title"], doc["body"]])
            return resp
        """
    ),
    "show-sends": source(
        """
        def fun(head, req):
            start({"headers": {"Content-Type": "text/plain"}})
            send("first chunk")
            send('second "chunk"')
            return "tail"
        """
    ),
    "show-while-get-rows": source(
        """
        def fun(head, req):
            send("first chunk")
            send(req["q"])
            log("about to get_row " + type(get_row).__name__)
            while row := get_row():
                send(row["key"])
            return "tail"
        """
    ),
    "show-while-get-rows-multi-send": source(
        """
        def fun(head, req):
            send("bacon")
            log("about to get_row " + type(get_row).__name__)
            while row := get_row():
                send(row["key"])
                send("eggs")
            return "tail"
        """
    ),
    "list-simple": source(
        """
        def fun(head, req):
            send("first chunk")
            send(req["q"])
            while row := get_row():
                send(row["key"])
            return "early"
        """
    ),
    "list-chunky": source(
        """
        def fun(head, req):
            send("first chunk")
            send(req["q"])
            count = 0
            while row := get_row():
                send(row["key"])
                count += 1
                if count > 2:
                    return "early tail"
        """
    ),
    "list-capped": source(
        """
        def fun(head, req):
            send("bacon")
            count = 0
            while row := get_row():
                send(row["key"])
                count += 1
                if count > 2:
                    return "early"
        """
    ),
    "list-raw": source(
        """
        def fun(head, req):
            send("first chunk")
            send(req["q"])
            while row := get_row():
                send(row["key"])
            return "tail"
        """
    ),
    "filter-basic": source(
        """
        def fun(doc, req):
            if doc.get("good"):
                return True
        """
    ),
    "update-basic": source(
        """
        def fun(doc, req):
            doc["world"] = "hello"
            return [doc, "hello doc"]
        """
    ),
    "error": "def fun(doc, req):\n    raise QueryError('error_key', 'testing')\n",
    "fatal": "def fun(doc, req):\n    raise FatalError('error_key', 'testing')\n",
    "rewrite-basic": source(
        """
        def fun(req):
            if req["path"][-1] == "foo":
                return {"path": "_show/simple/" + req["path"][-1], "method": "GET"}
        """
    ),
}


def make_ddoc(fun_path: list[str], fun: str) -> dict:
    """A design doc ``foo`` holding ``fun`` at ``fun_path``."""
    doc = {"_id": "foo"}
    node = doc
    for part in fun_path[:-1]:
        node = node.setdefault(part, {})
    node[fun_path[-1]] = fun
    return doc


def teach_ddoc(server, ddoc: dict) -> object:
    return server.run(["ddoc", "new", ddoc["_id"], ddoc])


def ddoc_run(server, ddoc: dict, fun_path: list[str], args: list) -> object:
    return server.run(["ddoc", ddoc["_id"], fun_path, args])


BEST_EVER = {"title": "Best ever", "body": "Doc body"}
OK = [{"foo": "bar"}, {"q": "ok"}]

# query server normal case


def test_should_reset(shared_server):
    assert shared_server.run(["reset"]) is True


def test_should_not_erase_ddocs_on_reset(shared_server):
    ddoc = make_ddoc(["shows", "simple"], FUNCTIONS["show-simple"])
    teach_ddoc(shared_server, ddoc)
    assert shared_server.run(["reset"]) is True
    assert ddoc_run(shared_server, ddoc, ["shows", "simple"], [BEST_EVER, {}]) == [
        "resp",
        {"body": "Best ever - Doc body"},
    ]


def test_should_run_map_funs(shared_server):
    shared_server.run(["reset"])
    assert shared_server.run(["add_fun", FUNCTIONS["emit-twice"]]) is True
    assert shared_server.run(["add_fun", FUNCTIONS["emit-once"]]) is True
    rows = shared_server.run(["map_doc", {"a": "b"}])
    assert rows[0][0] == ["foo", "b"]
    assert rows[0][1] == ["bar", "b"]
    assert rows[1][0] == ["baz", "b"]


def test_should_reduce(shared_server):
    shared_server.run(["reset"])
    kvs = [[i, i * 2] for i in range(10)]
    fun = FUNCTIONS["reduce-values-length"]
    assert shared_server.run(["reduce", [fun], kvs]) == [True, [10]]


def test_should_rereduce(shared_server):
    shared_server.run(["reset"])
    fun = FUNCTIONS["reduce-values-sum"]
    assert shared_server.run(["rereduce", [fun], list(range(10))]) == [True, [45]]


def test_should_learn_design_docs(shared_server):
    shared_server.run(["reset"])
    assert teach_ddoc(shared_server, {"_id": "foo"}) is True


@pytest.fixture
def validating(shared_server):
    ddoc = make_ddoc(["validate_doc_update"], FUNCTIONS["validate-forbidden"])
    teach_ddoc(shared_server, ddoc)
    return ddoc


def test_validation_should_allow_good_updates(shared_server, validating):
    args = [{"good": True}, {}, {}]
    assert ddoc_run(shared_server, validating, ["validate_doc_update"], args) == 1


def test_validation_should_reject_invalid_updates(shared_server, validating):
    args = [{"bad": True}, {}, {}]
    assert ddoc_run(shared_server, validating, ["validate_doc_update"], args) == {
        "forbidden": "bad doc"
    }


def test_should_show(shared_server):
    ddoc = make_ddoc(["shows", "simple"], FUNCTIONS["show-simple"])
    teach_ddoc(shared_server, ddoc)
    assert ddoc_run(shared_server, ddoc, ["shows", "simple"], [BEST_EVER, {}]) == [
        "resp",
        {"body": "Best ever - Doc body"},
    ]


def test_should_show_headers(shared_server):
    ddoc = make_ddoc(["shows", "headers"], FUNCTIONS["show-headers"])
    teach_ddoc(shared_server, ddoc)
    assert ddoc_run(shared_server, ddoc, ["shows", "headers"], [BEST_EVER, {}]) == [
        "resp",
        {
            "code": 200,
            "headers": {"X-Plankton": "Rusty"},
            "body": "Best ever - Doc body",
        },
    ]


def test_recoverable_error_should_not_exit(shared_server):
    ddoc = make_ddoc(["shows", "error"], FUNCTIONS["error"])
    teach_ddoc(shared_server, ddoc)
    assert ddoc_run(shared_server, ddoc, ["shows", "error"], OK) == [
        "error",
        "error_key",
        "testing",
    ]
    assert shared_server.run(["reset"]) is True


def test_changes_filter_should_only_return_true_for_good_docs(shared_server):
    ddoc = make_ddoc(["filters", "basic"], FUNCTIONS["filter-basic"])
    teach_ddoc(shared_server, ddoc)
    docs = [{"key": "bam", "good": True}, {"foo": "bar"}, {"good": True}]
    args = [docs, {"req": "foo"}]
    assert ddoc_run(shared_server, ddoc, ["filters", "basic"], args) == [
        True,
        [True, False, True],
    ]


def test_update_should_return_a_doc_and_a_resp_body(shared_server):
    ddoc = make_ddoc(["updates", "basic"], FUNCTIONS["update-basic"])
    teach_ddoc(shared_server, ddoc)
    args = [{"foo": "gnarly"}, {"method": "POST"}]
    up, doc, resp = ddoc_run(shared_server, ddoc, ["updates", "basic"], args)
    assert up == "up"
    assert doc == {"foo": "gnarly", "world": "hello"}
    assert resp["body"] == "hello doc"


def test_rewrite_should_dispatch_or_say_there_is_no_rule(shared_server):
    # Not in the Ruby specification, which predates rewrite functions; the
    # same shape, since CouchDB 3 sends them to the query server too.
    ddoc = make_ddoc(["rewrites"], FUNCTIONS["rewrite-basic"])
    teach_ddoc(shared_server, ddoc)
    hit = ddoc_run(shared_server, ddoc, ["rewrites"], [{"path": ["db", "foo"]}])
    assert hit == ["ok", {"path": "_show/simple/foo", "method": "GET"}]
    miss = ddoc_run(shared_server, ddoc, ["rewrites"], [{"path": ["db", "bar"]}])
    assert miss == ["no_dispatch_rule"]


LISTS = {
    "_id": "foo",
    "lists": {
        "simple": FUNCTIONS["list-simple"],
        "headers": FUNCTIONS["show-sends"],
        "rows": FUNCTIONS["show-while-get-rows"],
        "buffer-chunks": FUNCTIONS["show-while-get-rows-multi-send"],
        "chunky": FUNCTIONS["list-chunky"],
    },
}


@pytest.fixture
def lists(shared_server):
    teach_ddoc(shared_server, LISTS)
    return shared_server


def test_example_list_should_run_normal(lists):
    start = ddoc_run(lists, LISTS, ["lists", "simple"], OK)
    assert start == ["start", ["first chunk", "ok"], {"headers": {}}]
    for key in ["baz", "bam", "foom", "fooz", "foox"]:
        assert lists.run(["list_row", {"key": key}]) == ["chunks", [key]]
    assert lists.run(["list_end"]) == ["end", ["early"]]


def test_list_should_do_headers_proper(lists):
    args = [{"total_rows": 1000}, {"q": "ok"}]
    assert ddoc_run(lists, LISTS, ["lists", "headers"], args) == [
        "start",
        ["first chunk", 'second "chunk"'],
        {"headers": {"Content-Type": "text/plain"}},
    ]
    assert lists.run(["list_end"]) == ["end", ["tail"]]


def test_list_with_rows_should_list_em(lists):
    start = ddoc_run(lists, LISTS, ["lists", "rows"], OK)
    assert start == ["start", ["first chunk", "ok"], {"headers": {}}]
    assert lists.run(["list_row", {"key": "baz"}]) == ["chunks", ["baz"]]
    assert lists.run(["list_row", {"key": "bam"}]) == ["chunks", ["bam"]]
    assert lists.run(["list_end"]) == ["end", ["tail"]]


def test_list_with_rows_should_work_with_zero_rows(lists):
    start = ddoc_run(lists, LISTS, ["lists", "rows"], OK)
    assert start == ["start", ["first chunk", "ok"], {"headers": {}}]
    assert lists.run(["list_end"]) == ["end", ["tail"]]


def test_list_should_buffer_multiple_chunks_sent_for_a_single_row(lists):
    start = ddoc_run(lists, LISTS, ["lists", "buffer-chunks"], OK)
    assert start == ["start", ["bacon"], {"headers": {}}]
    assert lists.run(["list_row", {"key": "baz"}]) == ["chunks", ["baz", "eggs"]]
    assert lists.run(["list_row", {"key": "bam"}]) == ["chunks", ["bam", "eggs"]]
    assert lists.run(["list_end"]) == ["end", ["tail"]]


def test_list_should_end_after_2(lists):
    start = ddoc_run(lists, LISTS, ["lists", "chunky"], OK)
    assert start == ["start", ["first chunk", "ok"], {"headers": {}}]
    assert lists.run(["list_row", {"key": "baz"}]) == ["chunks", ["baz"]]
    assert lists.run(["list_row", {"key": "bam"}]) == ["chunks", ["bam"]]
    assert lists.run(["list_row", {"key": "foom"}]) == ["end", ["foom", "early tail"]]
    # the list is over: the server must take the next line as a command again
    assert lists.run(["reset"]) is True


# query server that exits

EXITING = {
    "_id": "foo",
    "lists": {"capped": FUNCTIONS["list-capped"], "raw": FUNCTIONS["list-raw"]},
    "shows": {"fatal": FUNCTIONS["fatal"]},
}


@pytest.fixture
def exiting(start_server):
    server = start_server()
    teach_ddoc(server, EXITING)
    return server


def test_should_exit_if_erlang_sends_too_many_rows(exiting):
    start = ddoc_run(exiting, EXITING, ["lists", "capped"], OK)
    assert start == ["start", ["bacon"], {"headers": {}}]
    assert exiting.run(["list_row", {"key": "baz"}]) == ["chunks", ["baz"]]
    assert exiting.run(["list_row", {"key": "foom"}]) == ["chunks", ["foom"]]
    assert exiting.run(["list_row", {"key": "fooz"}]) == ["end", ["fooz", "early"]]
    error = exiting.run(["list_row", {"key": "foox"}])
    assert error[:2] == ["fatal", "unknown_command"]
    assert exiting.has_exited()


def test_should_exit_if_it_gets_a_non_row_in_the_middle(exiting):
    start = ddoc_run(exiting, EXITING, ["lists", "raw"], OK)
    assert start == ["start", ["first chunk", "ok"], {"headers": {}}]
    error = exiting.run(["reset"])
    assert error[:2] == ["fatal", "list_error"]
    assert exiting.has_exited()


def test_fatal_error_should_exit(exiting):
    assert ddoc_run(exiting, EXITING, ["shows", "fatal"], OK) == [
        "fatal",
        "error_key",
        "testing",
    ]
    assert exiting.has_exited()
