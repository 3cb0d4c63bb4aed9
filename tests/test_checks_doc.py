"""docs/checks.md lists every check id the package can emit, with its meaning."""

from __future__ import annotations

import re
from pathlib import Path

from mailsupport.checks import all_checks, format_markdown

REPO = Path(__file__).resolve().parents[1]
ID_RE = re.compile(
    r"""["']((?:spf|dmarc|dkim|catchall|gmail|size|settings|audit|demo)\.[a-z0-9]+(?:-[a-z0-9]+)*)["']"""
)


def test_every_check_id_in_the_code_is_documented():
    """Each check-id literal written in the package is in the aggregated table with a meaning."""
    known = all_checks()
    found = set()
    for path in (REPO / "mailsupport").rglob("*.py"):
        found |= set(ID_RE.findall(path.read_text()))
    # literals that look like ids but are not (an example domain, a DNS label in a docstring)
    found -= {"catchall.example", "spf.protection"}
    assert sorted(found - set(known)) == []
    assert all(meaning.strip() for _family, meaning in known.values())


def test_docs_checks_md_is_current():
    """docs/checks.md is exactly what `python -m mailsupport.checks` prints."""
    assert (REPO / "docs" / "checks.md").read_text() == format_markdown()
