"""The three sample notebooks run headless (nbclient) on the bundled samples and draw their chart."""

from __future__ import annotations

import pytest

from .conftest import REPO

NOTEBOOKS = ["03-catch-all-header.ipynb", "04-gmail-consolidation.ipynb", "05-size-limits.ipynb"]
#: What each notebook's receiving-chain cells show of their real example.
CHAIN_SHOWN = {"03-catch-all-header.ipynb": ("below the entry hop", "mx.google.com", "recipient@example.com"),
               "04-gmail-consolidation.ipynb": ("no from clause", "mx.google.com", "203.12.160.161"),
               "05-size-limits.ipynb": ("entry_by", "mx.google.com", "mail.protection.outlook.com")}

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_draws_a_chart(name):
    """Every cell runs without error, one output is a PNG chart, and the receiving chain of a real message is shown."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = " ".join(str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", ""))
                    for o in outputs)
    assert "canary-4b1d" not in text
    assert all(part in text for part in CHAIN_SHOWN[name]), CHAIN_SHOWN[name]
