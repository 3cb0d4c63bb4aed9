"""The pipeline notebook runs headless on the sandbox and shows a decision per message."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("pandas")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-pipeline.ipynb"


@pytest.mark.notebook
@pytest.mark.timeout(180)
def test_pipeline_notebook_runs_and_shows_decisions() -> None:
    """Every cell runs without error and the decisions table names each routing kind and reason."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for c in code for o in c.outputs)
    for kind in ("matter", "alias", "user", "failed"):
        assert f"<td>{kind}</td>" in html
    assert "ignored X-Original-To" in html  # the forged, sender-written header
    assert "wildcard" in html
