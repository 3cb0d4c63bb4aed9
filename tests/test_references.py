"""References resolve inside the repository: what findings, docstrings, notebooks and docs cite ships with it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "mailsupport"
DOC_PATH = re.compile(r"docs/[\w.-]+\.md")


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
            assert not any(p.search(text) for p in OUTSIDE.values()), f"{path.relative_to(REPO)}: {text!r}"
            cited |= set(DOC_PATH.findall(text))
    assert "docs/provider-facts.md" in cited
    assert [c for c in sorted(cited) if not (REPO / c).is_file()] == []


def test_provider_facts_cite_real_samples_that_ship():
    """Every sample docs/provider-facts.md names is in data/samples/real/."""
    text = (REPO / "docs" / "provider-facts.md").read_text()
    named = re.findall(r"`(data/samples/real/[^`]+)`", text)
    assert named and [n for n in named if not (REPO / n).exists()] == []
    assert all(f"## {n}." in text for n in range(1, 8))  # the sections findings cite by number


# --------------------------------------------------------------------------- every text of the repository

#: What a clone cannot follow: the shared folder the kit was first written from, its design notes, and
#: the numbered issues of the tracker it was planned in. Self-contained text or a repository path instead.
OUTSIDE = {
    "a path outside the repository (the shared folder)": re.compile(r"/work/|(?<![\w-])shared/"),
    "the shared folder's design notes (docs/architecture.md holds what is still true)": re.compile(r"\bDESIGN\b"),
}
#: "issue #5", "(issue #7)": a tracker's issue. Another project's issue is cited with its name
#: first ("sendgrid/sendgrid-python issue #540", "Internet.nl issue #1336") and is allowed.
ISSUE = re.compile(r"\b[Ii]ssues?\s+#?\d+")
PROJECT = re.compile(r"[A-Za-z].*[./-]|[./-].*[A-Za-z]")
#: Paths into the repository that a text may cite; each must exist.
REPO_PATH = re.compile(
    r"(?<![\w/.-])(?:docs|benchmarks|notebooks|tests|tools|mailsupport|data)/[\w./-]*\w"
    r"\.(?:md|py|ipynb|csv|toml|mbox|eml|zone)\b|\bCONTRIBUTING\.md\b"
)
#: The tests that state these rules name the patterns they forbid.
RULE_FILES = {"tests/test_references.py", "tests/notebooks/test_notebook_style.py"}


def _texts():
    """Every text file of the repository a reader follows: code with its docstrings and comments,
    tests, benchmarks, notebooks (markdown and code cells), docs and the project's own files."""
    patterns = (
        "mailsupport/**/*.py",
        "tests/**/*.py",
        "benchmarks/*.py",
        "notebooks/*.ipynb",
        "docs/*.md",
        "tools/*",
        "*.md",
        "pyproject.toml",
        "environment.yml",
        "dev",
        ".ci/*",
        ".pre-commit-config.yaml",
    )
    seen = set()
    for pattern in patterns:
        for path in sorted(REPO.glob(pattern)):
            rel = path.relative_to(REPO).as_posix()
            if path.is_file() and rel not in seen and not rel.startswith("tests/data/"):
                seen.add(rel)
                yield rel, path.read_text(encoding="utf-8")


TEXTS = dict(_texts())


def test_the_scan_covers_every_kind_of_text():
    """The reference checks below read the package, tests, benchmarks, notebooks, docs and README."""
    assert {
        "README.md",
        "docs/provider-facts.md",
        "mailsupport/routing.py",
        "benchmarks/bench_spf.py",
        "notebooks/02-spf.ipynb",
        "tests/test_layers.py",
        "CONTRIBUTING.md",
        "docs/architecture.md",
    } <= set(TEXTS)


@pytest.mark.parametrize("rel", sorted(set(TEXTS) - RULE_FILES))
def test_text_cites_nothing_outside_the_repository(rel):
    """No docstring, comment, notebook cell or doc points at the shared folder, its DESIGN notes or a numbered issue."""
    text = TEXTS[rel]
    found = [f"{what}: {m.group(0)!r}" for what, pattern in OUTSIDE.items() for m in pattern.finditer(text)]
    for m in ISSUE.finditer(text):
        before = text[: m.start()].split()
        if not (before and PROJECT.search(before[-1])):
            found.append(f"a numbered issue with no project named: {m.group(0)!r}")
    assert found == []


@pytest.mark.parametrize("rel", sorted(TEXTS))
def test_repository_paths_cited_exist(rel):
    """Every repository path a text cites (docs/..., tests/..., data/..., CONTRIBUTING.md) exists."""
    missing = sorted({p for p in REPO_PATH.findall(TEXTS[rel]) if not (REPO / p).exists()})
    assert missing == []


def test_the_reference_rules_catch_what_they_forbid():
    """The patterns find a shared-folder path, a DESIGN section and an issue number; a named project's issue passes."""
    bad = "see shared/facts/x.md and DESIGN §10; targets from issue #5 (issue #7)"
    assert all(p.search(bad) for p in OUTSIDE.values())
    flagged = [m.group(0) for m in ISSUE.finditer(bad) if not PROJECT.search(bad[: m.start()].split()[-1])]
    assert flagged == ["issue #5", "issue #7"]
    cited = "sendgrid/sendgrid-python issue #540; (thunderbird-android issue #7358)"
    assert [m for m in ISSUE.finditer(cited) if not PROJECT.search(cited[: m.start()].split()[-1])] == []
