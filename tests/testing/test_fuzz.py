"""./dev fuzz's runner: rounds of property tests in a child pytest, findings reported with how to replay them."""

from __future__ import annotations

from pathlib import Path

from mailsupport.testing.fuzz import main

CONFTEST = """
import pytest
from hypothesis import is_hypothesis_test, settings

settings.register_profile("fuzz", max_examples=300, deadline=None, database=None)


def pytest_configure(config):
    config.addinivalue_line("markers", "property: a Hypothesis test")


def pytest_collection_modifyitems(items):
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)
"""


def _checkout(root: Path, tests: str) -> Path:
    """A tiny checkout: a conftest like the suite's and one test file."""
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_props.py").write_text("from hypothesis import given, strategies as st\n\n" + tests)
    return root


def test_a_failing_property_is_reported_with_its_example_and_the_replay_command(tmp_path, capsys):
    """The falsifying example and the replay command are printed; a test that is not a property never runs."""
    root = _checkout(
        tmp_path,
        "@given(st.integers())\ndef test_small(n):\n    assert n < 1000\n\n\n"
        "def test_plain_not_a_property():\n    assert False\n",
    )
    assert main(["120"], root=root) == 1  # ends before its time: nothing is left to run after round 1
    out = capsys.readouterr().out
    assert "== test_props.py::test_small" in out
    assert "assert 1000 < 1000" in out and "n=1000," in out
    assert "test_small(" in out and ("Falsifying example" in out or "Failing test case" in out)
    assert "reproduce: ./dev test 'test_props.py::test_small' --hypothesis-profile=fuzz" in out
    assert "test_plain_not_a_property" not in out
    assert list((root / ".hypothesis").glob("fuzz-*.log"))


def test_rounds_go_on_until_the_time_is_up_and_nothing_found_is_said(tmp_path, capsys):
    """A passing property runs round after round until the seconds are spent; exit 0, 'nothing found'."""
    root = _checkout(tmp_path, "@given(st.text())\ndef test_text_equals_itself(t):\n    assert t == t\n")
    assert main(["4"], root=root) == 0
    out = capsys.readouterr().out
    assert "round 1: pytest exit" in out and "nothing found in" in out
