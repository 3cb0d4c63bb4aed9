"""The pipeline notebook runs headless on the sandbox and shows a decision per message."""

from __future__ import annotations

import re
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
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for c in code for o in c.outputs)
    for kind in ("matter", "alias", "user", "failed"):
        assert re.search(rf"<td style='[^']*'>{kind}</td>", html), kind
    assert re.search(r"<li>[^<]*ignored X-Original-To", html)  # the forged, sender-written header, in the trace
    assert "<details>" in html  # each trace folded, every step inside
    assert "wildcard" in html


@pytest.mark.notebook
@pytest.mark.timeout(180)
def test_pipeline_notebook_takes_the_customers_eml_files(tmp_path) -> None:
    """Changing only the parameters cell (eml_files) runs the customer's own messages through the pipeline."""
    import nbformat
    from nbclient import NotebookClient

    from mailsupport.audit.notebook import inject_parameters

    eml = tmp_path / "never-arrived.eml"
    eml.write_bytes(
        b"From: Client <client@example.net>\r\nTo: Matter 1042 <1042@smithlaw.example>\r\n"
        b"Subject: Signed contract <for 1042>\r\nMessage-ID: <cust-1@example.net>\r\n\r\nSee attached.\r\n"
    )
    nb = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(nb, eml_files=[str(eml)])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for c in code for o in c.outputs)
    plain = "".join(o.get("data", {}).get("text/plain", "") for c in code for o in c.outputs)
    assert "never-arrived.eml: Signed contract <for 1042>" in plain  # what was sent, to whom
    assert "1042@smithlaw.example" in plain
    assert re.search(r"<td style='[^']*'>matter</td><td style='[^']*'>1042</td>", html)
    assert "Demo 1" not in plain  # only the customer's message was sent
