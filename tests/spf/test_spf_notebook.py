"""The SPF walkthrough notebook runs headless against the sandbox DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.testing.notebooks import errors, execute_notebook, has_mime, html_text, outputs

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "02-spf.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(180)]


def test_spf_notebook_runs_and_shows_verdicts_tree_and_fix():
    """Every cell runs; the healthy domain passes, the broken one is explained, the edit passes."""
    nb = execute_notebook(NOTEBOOK, timeout=120)
    assert errors(nb) == []
    html = html_text(nb)
    assert "SPF for smithlaw.example" in html and "spf.too-many-lookups" in html
    assert "<details" in html  # the collapsible trace
    assert has_mime(nb, "image/png")  # the lookup tree picture
    assert has_mime(nb, "application/vnd.jupyter.widget-view+json")
    texts = [str(o.get("data", {}).get("text/plain", "")) for o in outputs(nb)]
    assert "'pass'" in texts  # the suggested record, typed into the editor, passes
