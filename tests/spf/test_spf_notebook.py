"""The SPF walkthrough notebook runs headless against the sandbox DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "02-spf.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(180)]


def test_spf_notebook_runs_and_shows_verdicts_tree_and_fix():
    """Every cell runs; the healthy domain passes, the broken one is explained, the edit passes."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "SPF for smithlaw.example" in html and "spf.too-many-lookups" in html
    assert "<details" in html  # the collapsible trace
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the lookup tree picture
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    texts = [str(o.get("data", {}).get("text/plain", "")) for o in outputs]
    assert "'pass'" in texts  # the suggested record, typed into the editor, passes
