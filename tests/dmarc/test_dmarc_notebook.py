"""The DMARC walkthrough notebook runs headless against the sandbox."""

from __future__ import annotations

import pytest
from dmarc_suite import REPO

from mailsupport.testing.notebooks import errors, execute_notebook, html_text, outputs_text

NOTEBOOK = REPO / "notebooks" / "08-dmarc.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(240)]


def test_dmarc_notebook_runs_and_shows_paths_fixes_and_evidence():
    """Every cell runs; the healthy domain passes, the broken one fails with its records, the relay's mail passes."""
    nb = execute_notebook(NOTEBOOK, timeout=180)
    assert errors(nb) == []
    html = html_text(nb)
    assert "DMARC for smithlaw.example" in html and "dmarc.would-fail" in html
    assert "dkim.actionstep.com" in html  # the CNAME to publish, in the fix table
    assert "the sandbox relay" in html and "mx.sandbox.test" in html
    assert "canary-4b1d-" not in outputs_text(nb) + html
