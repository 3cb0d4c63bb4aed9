"""References resolve inside the repository: what findings and notebooks cite ships in docs/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "mailsupport"
DOC_PATH = re.compile(r"docs/[\w.-]+\.md")
#: Presentation modules whose every text (docstrings too) must cite only repository paths.
OWN_TEXTS = ("widgets", "tour.py", "display.py", "charts.py", "progress.py", "samples/plots.py", "spf/widget.py")


def _strings(path: Path, *, docstrings: bool):
    tree = ast.parse(path.read_text())
    skip = set()
    if not docstrings:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    skip.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.value


def test_finding_texts_cite_repository_docs_that_exist():
    """No string the package emits (references, sources) points at notes outside the repository; every docs/ path exists."""
    cited = set()
    for path in PKG.rglob("*.py"):
        for text in _strings(path, docstrings=False):
            assert "shared/facts" not in text, f"{path.relative_to(REPO)}: {text!r}"
            cited |= set(DOC_PATH.findall(text))
    assert "docs/provider-facts.md" in cited
    assert [c for c in sorted(cited) if not (REPO / c).is_file()] == []


def test_presentation_texts_name_no_outside_notes():
    """The widgets, tour, display and chart modules cite no shared folder or its design notes, even in docstrings."""
    for name in OWN_TEXTS:
        for path in ([p for p in (PKG / name).rglob("*.py")] if (PKG / name).is_dir() else [PKG / name]):
            for text in _strings(path, docstrings=True):
                assert "shared/" not in text and "DESIGN" not in text, f"{path.relative_to(REPO)}: {text[:80]!r}"


def test_provider_facts_cite_real_samples_that_ship():
    """Every sample docs/provider-facts.md names is in data/samples/real/."""
    text = (REPO / "docs" / "provider-facts.md").read_text()
    named = re.findall(r"`(data/samples/real/[^`]+)`", text)
    assert named and [n for n in named if not (REPO / n).exists()] == []
    assert all(f"## {n}." in text for n in range(1, 8))  # the sections findings cite by number
