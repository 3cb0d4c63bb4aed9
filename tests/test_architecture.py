"""docs/architecture.md stays the map of the code: its layer table is the enforced one, every module has its tests."""

from __future__ import annotations

import re
from pathlib import Path

from test_layers import LAYERS, MODULES  # tests/ is on sys.path (rootdir conftest, no package)

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "architecture.md").read_text()
LAYER_ROW = re.compile(r"^\| `(mailsupport[\w.]*)` \| (\d) \| ", re.M)
MODULE_ROW = re.compile(r"^\| `(mailsupport/[\w/]+\.py)` \| (.+) \|$", re.M)


def _section(start: str, end: str) -> str:
    """The text between two HTML comments of the document (the tables the checks below read)."""
    head = DOC.index(start)
    return DOC[head : DOC.index(end, head)]


def test_layer_table_is_the_enforced_map():
    """Each LAYERS key of tests/test_layers.py is a row of the doc's layer table with its layer; nothing else is."""
    rows = LAYER_ROW.findall(_section("<!-- layer map", "<!-- end layer map"))
    documented = {name: int(layer) for name, layer in rows}
    assert len(rows) == len(documented), "a module or package is listed twice"
    assert documented == LAYERS


def test_every_module_is_mapped_to_tests_that_exist():
    """Every module of the package has one row in the module → tests table, naming test files that exist."""
    rows = MODULE_ROW.findall(_section("<!-- module map", "<!-- end module map"))
    mapped = [module for module, _tests in rows]
    modules = sorted(p.relative_to(REPO).as_posix() for p in MODULES)
    assert sorted(set(mapped)) == sorted(mapped), "a module is listed twice"
    assert sorted(mapped) == modules
    named = [t for _module, tests in rows for t in re.findall(r"`([^`]+)`", tests)]
    assert named and all(t.startswith("tests/") for t in named)
    assert [t for t in named if not (REPO / t).is_file()] == []


def test_the_table_checks_can_fail():
    """The row patterns read the doc's own rows, so a missing or wrong row is seen (not a table the regex skips)."""
    assert LAYER_ROW.search("| `mailsupport.routing` | 2 | the router |\n")
    assert MODULE_ROW.search("| `mailsupport/routing.py` | `tests/pipeline/test_routing.py` |\n")
    assert not MODULE_ROW.search("| mailsupport/routing.py | tests/pipeline/test_routing.py |\n")
