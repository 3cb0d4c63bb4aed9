"""The lost-settings notebook runs headless and tells each customer story's cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.testing.notebooks import errors, execute_notebook, has_mime, html_text, outputs_text

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "06-lost-settings.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(180)]


def test_lost_settings_notebook_runs_and_names_each_cause():
    """Every cell runs; the three stories' causes appear; no password reaches an output."""
    nb = execute_notebook(NOTEBOOK, timeout=120)
    assert errors(nb) == []
    html = html_text(nb)
    for check in ("settings.o365-basic-auth-retired", "settings.tls-mode-mismatch",
                  "settings.gmail-app-password-required"):
        assert check in html
    assert html.count("<b style='color:#070'>PASS</b>") == 3  # each story's fix passes
    assert "canary-4b1d" not in outputs_text(nb)
    assert has_mime(nb, "application/vnd.jupyter.widget-view+json")
