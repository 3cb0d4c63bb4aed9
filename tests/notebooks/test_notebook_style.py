"""Notebooks stay short scripts of calls: stripped outputs, a parameters cell, no logic in cells."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    """No outputs or execution counts are committed (they could carry customer data or secrets)."""
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(_code_cells(nb)) if c.get("outputs") or c.get("execution_count")]
    assert dirty == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_one_parameters_cell_and_a_title(path):
    """A markdown title first, and exactly one code cell tagged `parameters` (papermill/nbclient runs)."""
    nb = json.loads(path.read_text())
    assert nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).lstrip().startswith("#")
    tagged = [c for c in _code_cells(nb) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_cells_hold_no_logic(path):
    """No def, class, loops or try in notebook cells: logic lives in the package, with tests."""
    nb = json.loads(path.read_text())
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try, ast.Lambda)
    for i, cell in enumerate(_code_cells(nb)):
        source = "".join(cell["source"])
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        bad = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, banned)]
        assert bad == [], f"cell {i} has {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_imports_the_library_never_the_cli(path):
    """Notebooks are scripts of library calls: no cell imports mailsupport.cli."""
    nb = json.loads(path.read_text())
    source = "\n".join("".join(c["source"]) for c in _code_cells(nb))
    assert "mailsupport.cli" not in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_references_resolve_inside_the_repository(path):
    """Every repository path a notebook cites exists; none points outside it (no shared/... notes)."""
    text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert "shared/" not in text and "DESIGN.md" not in text
    for cited in re.findall(r"`((?:docs|data|notebooks)/[^`*]+?)`", text):
        assert (REPO / cited.split(" ")[0].rstrip("/")).exists(), cited


def test_there_are_notebooks():
    """The kit ships its training and investigation notebooks."""
    assert len(NOTEBOOKS) >= 1
