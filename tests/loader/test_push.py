"""Building design documents from folders, and `couchnet push`."""

import json
import tomllib
import uuid
from pathlib import Path

import pytest
import requests
import setuptools
from click.testing import CliRunner

from loader import push as push_module
from loader.cli import cli
from loader.client import Conflict, Couch
from loader.designdoc import DesignDocError, build, check


def write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


MAP = "def by_id(doc):\n    yield doc['_id'], 1\n"
FILES = {
    "views/ids/map.py": MAP,
    "views/ids/reduce.json": '"_count"',
    "views/lib/util.py": "FACTOR = 2\n",
    "lib/model.py": "def double(x):\n    return 2 * x\n",
    "shows/page.py": "def page(doc, req):\n    return 'hi'\n",
    "options.json": '{"local_seq": true}',
}


@pytest.fixture
def folder(tmp_path):
    return write(tmp_path / "demo", FILES)


def test_build_maps_files_to_keys(folder):
    (folder / "lib" / "__pycache__").mkdir()
    (folder / "lib" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (folder / ".editorconfig").write_text("x")
    design = build(folder)
    assert design.doc == {
        "_id": "_design/demo",
        "language": "python",
        "views": {
            "ids": {"map": MAP, "reduce": "_count"},
            "lib": {"util": "FACTOR = 2\n"},
        },
        "lib": {"model": FILES["lib/model.py"]},
        "shows": {"page": FILES["shows/page.py"]},
        "options": {"local_seq": True},
    }
    check(design)


@pytest.mark.parametrize(
    "files, message",
    [
        ({"shows/page.json": '"x"'}, "page.json and .*page.py both map to shows.page$"),
        ({"shows/page/x.py": MAP}, "both map to shows.page"),
        ({"_attachments/index.html": "<p>"}, "attachments are not supported"),
        ({"views/ids/map.js": "function(doc) {}"}, "unsupported file type"),
        ({"language.json": '"javascript"'}, "set by push"),
        ({"options.json": "{"}, "options.json: invalid JSON at line 1"),
    ],
)
def test_build_refuses(folder, files, message):
    write(folder, files)
    with pytest.raises(DesignDocError, match=message):
        build(folder)


def test_build_refuses_a_file_that_is_not_utf8(folder):
    (folder / "shows" / "page.py").write_bytes(b"# caf\xe9\ndef page(d, r): pass\n")
    with pytest.raises(DesignDocError, match=r"page.py: not UTF-8 text \(byte 5\)"):
        build(folder)


@pytest.mark.parametrize(
    "files, message",
    [
        (
            {"shows/page.py": "def page(doc, req):\n    return (\n"},
            "page.py: .* line 2",
        ),
        ({"shows/page.py": "x = 1\n"}, "page.py: no function .* line 1"),
        ({"lib/model.py": "def double(x)\n"}, "model.py: .* line 1"),
        ({"shows/page.py": "import no_such_module\ndef f(d, r): pass\n"}, "line 1"),
        (
            {
                "lib/model.py": "FACTOR = 2\nBROKEN = 1 / 0\n",
                "shows/page.py": "model = require('lib/model')\ndef f(d, r): pass\n",
            },
            "page.py: require.*lib/model.*ZeroDivisionError.* line 2",
        ),
    ],
)
def test_check_names_file_and_line(folder, files, message):
    write(folder, files)
    with pytest.raises(DesignDocError, match=message):
        check(build(folder))


def test_check_reports_every_broken_file(folder):
    write(folder, {"shows/page.py": "x = 1\n", "views/ids/map.py": "def f(doc:\n"})
    with pytest.raises(DesignDocError) as broken:
        check(build(folder))
    page, view = str(broken.value).splitlines()
    assert page.startswith(f"{folder / 'shows' / 'page.py'}: no function")
    assert view.startswith(f"{folder / 'views' / 'ids' / 'map.py'}: ")
    assert view.endswith("at line 1")


def test_check_accepts_a_relative_require_as_the_server_does(folder):
    page = "model = require('./lib/model')\ndef page(doc, req):\n    return 'hi'\n"
    write(folder, {"shows/page.py": page})
    check(build(folder))


def test_an_installed_couchnet_carries_the_design_documents():
    # The loader reads designdocs/ beside its own package, installed or not.
    project = Path(__file__).resolve().parents[2]
    config = tomllib.loads((project / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = setuptools.find_namespace_packages(str(project), include=include)
    for folder in push_module.default_folders():
        for path in folder.rglob("*.py"):
            package = path.parent.relative_to(project).as_posix().replace("/", ".")
            assert package in packages, path


def test_the_network_compiles():
    for folder in push_module.default_folders():
        check(build(folder))
    assert "network" in [f.name for f in push_module.default_folders()]


# the command, against a server


def run(*args):
    return CliRunner().invoke(cli, ["push", *args])


@pytest.fixture
def target(couch_url):
    """--url/--db of a database that does not exist yet, dropped afterwards."""
    db = f"test_push_{uuid.uuid4().hex[:12]}"
    yield ["--url", couch_url, "--db", db]
    requests.delete(f"{couch_url}/{db}", timeout=30)


def couch_for(target):
    return Couch(target[1], target[3])


def test_push_creates_then_leaves_then_updates(folder, target):
    result = run(str(folder), *target)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created   _design/demo")
    couch = couch_for(target)
    stored = couch.get("_design/demo")
    assert stored["views"]["ids"]["map"] == MAP and stored["language"] == "python"

    result = run(str(folder), *target, "--json")
    assert json.loads(result.output) == [
        {"id": "_design/demo", "status": "unchanged", "rev": stored["_rev"]}
    ]
    assert couch.get("_design/demo")["_rev"] == stored["_rev"]

    write(folder, {"shows/page.py": "def page(doc, req):\n    return 'bye'\n"})
    result = run(str(folder), *target)
    assert result.output.startswith("updated   _design/demo  2-")


def test_push_takes_server_and_database_from_the_environment(folder, target):
    env = {"COUCHDB_URL": target[1], "COUCHNET_DB": target[3]}
    result = CliRunner(env=env).invoke(cli, ["push", str(folder)])
    assert result.exit_code == 0, result.output
    assert couch_for(target).get("_design/demo")["language"] == "python"


def test_push_retries_after_a_concurrent_edit(folder, target, monkeypatch):
    assert run(str(folder), *target).exit_code == 0
    write(folder, {"shows/page.py": "def page(doc, req):\n    return 'new'\n"})
    other = couch_for(target)
    real_put = Couch.put
    puts = []

    def put_after_someone_else(self, doc):
        if not puts:
            edited = other.get(doc["_id"])
            real_put(other, dict(edited, options={"edited": "elsewhere"}))
        puts.append(doc["_rev"])
        return real_put(self, doc)

    monkeypatch.setattr(Couch, "put", put_after_someone_else)
    result = run(str(folder), *target)
    assert result.exit_code == 0, result.output
    assert [rev[:2] for rev in puts] == ["1-", "2-"]
    stored = other.get("_design/demo")
    assert stored["_rev"].startswith("3-")
    assert stored["options"] == {"local_seq": True}
    assert "new" in stored["shows"]["page"]


def test_push_gives_up_on_endless_conflicts(folder, target, monkeypatch):
    puts = []

    def always_in_conflict(self, doc):
        puts.append(doc["_id"])
        raise Conflict(409, "conflict", "Document update conflict.")

    monkeypatch.setattr(Couch, "put", always_in_conflict)
    result = run(str(folder), *target)
    assert result.exit_code == 1
    assert "_design/demo: still in conflict after 5 attempts" in result.output
    assert puts == ["_design/demo"] * push_module.SAVE_ATTEMPTS


def test_dry_run_prints_json_and_sends_nothing(folder, target):
    result = run(str(folder), *target, "--dry-run")
    assert result.exit_code == 0
    assert json.loads(result.output) == [build(folder).doc]
    assert not couch_for(target).db_exists()


def test_a_broken_function_stops_everything(folder, target):
    write(folder, {"views/ids/map.py": "def by_id(doc):\n    yield doc[\n"})
    result = run(str(folder), *target)
    assert result.exit_code == 1
    assert "map.py" in result.output and "line 2" in result.output
    assert not couch_for(target).db_exists()


@pytest.mark.parametrize(
    "files, message",
    [
        ({"views/ids/map.json": '"x"'}, "both map to views.ids.map"),
        ({"_attachments/logo.png": "x"}, "attachments are not supported"),
    ],
)
def test_a_folder_that_cannot_be_built_sends_nothing(folder, target, files, message):
    write(folder, files)
    result = run(str(folder), *target)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output
    assert not couch_for(target).db_exists()


def test_help_has_an_example():
    result = run("--help")
    assert "Example:" in result.output and "couchnet push" in result.output
