"""The examples in viewserver's docstrings run and give what they show."""

import doctest

import pytest

from viewserver import compiler, testing


@pytest.mark.parametrize("module", [compiler, testing])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
