"""The design functions shown in viewserver/README.md compile, and one runs."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from viewserver.compiler import compile_function
from viewserver.testing import run

README = Path(__file__).resolve().parents[2] / "viewserver" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
FUNCTIONS = [block for block in BLOCKS if "def fun(" in block]


def test_the_readme_shows_each_kind_of_function():
    assert len(FUNCTIONS) >= 10


@pytest.mark.parametrize("text", FUNCTIONS)
def test_each_function_in_the_readme_compiles(text):
    globals_ = {"require": lambda path: SimpleNamespace(), "log": print}
    assert callable(compile_function(text, "README", globals_))


def test_the_source_convention_example_maps_and_logs():
    session = run(
        ["add_fun", FUNCTIONS[0]],
        ["map_doc", {"_id": "n1", "inputs": [{"node": "x", "weight": 0.0}]}],
    )
    assert session.replies == [True, [[["x", 0.0]]]]
    assert session.logs == ["mapping n1", "print() goes there too"]
