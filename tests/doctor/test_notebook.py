"""The lost-settings notebook runs headless and tells each customer story's cause."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "06-lost-settings.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(180)]


def test_lost_settings_notebook_runs_and_names_each_cause():
    """Every cell runs; the three stories' causes appear; no password reaches an output."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    for check in ("settings.o365-basic-auth-retired", "settings.tls-mode-mismatch",
                  "settings.gmail-app-password-required"):
        assert check in html
    assert html.count("<b style='color:#070'>PASS</b>") == 3  # each story's fix passes
    text = html + " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "canary-4b1d" not in text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
