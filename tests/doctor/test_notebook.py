"""The lost-settings notebook runs headless and tells each customer story's cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.testing.notebooks import errors, execute_notebook, has_mime, html_text, outputs_text

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "06-lost-settings.ipynb"
TENANTS = REPO / "data" / "samples" / "tenants"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(180)]


@pytest.fixture(autouse=True)
def drafts_home(tmp_path, monkeypatch):
    """The kernel inherits a private XDG_STATE_HOME: the form's default drafts folder is the test's own."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def test_lost_settings_notebook_runs_and_names_each_cause():
    """Every cell runs; the three stories' causes appear; the customer's file passes; no password reaches an output."""
    nb = execute_notebook(NOTEBOOK, timeout=120)
    assert errors(nb) == []
    html = html_text(nb)
    for check in (
        "settings.o365-basic-auth-retired",
        "settings.tls-mode-mismatch",
        "settings.gmail-app-password-required",
    ):
        assert check in html
    assert html.count("<b style='color:#070'>PASS</b>") == 4  # each story's fix, and the customer's file
    assert "Settings check for quaylaw (office365): PASS" in html
    assert "canary-4b1d" not in outputs_text(nb)
    assert has_mime(nb, "application/vnd.jupyter.widget-view+json")


def test_the_tenant_files_provider_picks_the_stand_in(tmp_path):
    """Changing only tenant_file to a Gmail tenant: the stand-in answers like Gmail, and its check passes."""
    import nbformat
    from nbclient import NotebookClient

    from mailsupport.audit.notebook import inject_parameters

    nb = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(nb, tenant_file=str(TENANTS / "baxterlaw-gmail.toml"))
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    assert errors(nb) == []
    customer = next(c for c in nb.cells if c.cell_type == "code" and "stand_in = Sandbox" in c.source)
    shown = customer.outputs[0]["data"]["text/html"]
    assert "Settings check for baxterlaw (gmail): PASS" in shown
    assert "Gpop ready" in shown  # Gmail's POP3 greeting: the gmail profile answered
    assert "canary-4b1d" not in outputs_text(nb)
