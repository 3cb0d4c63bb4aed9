"""The audit notebook runs headless with injected parameters and shows the same findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailsupport.audit.runner import AuditOptions, audit_paths

pytest.importorskip("nbclient")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples" / "tenants"
PICK = [str(SAMPLES / n) for n in ("kellyco.toml", "brownco.toml", "reidlaw.toml")]


@pytest.mark.notebook
@pytest.mark.timeout(240)
def test_audit_notebook_shows_the_same_findings_as_the_library(tmp_path):
    """`--notebook` output has every cell run, the findings table and the chart, for the given tenants."""
    from mailsupport.audit.notebook import run_audit_notebook

    out = run_audit_notebook(tmp_path / "audit.ipynb", paths=PICK, checks="config,mx")
    nb = json.loads(out.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "injected-parameters" in code[2]["metadata"]["tags"]
    assert all(c["execution_count"] for c in code)
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for c in code for o in c["outputs"])
    expected = {f.check for r in audit_paths(PICK, AuditOptions(checks=("config", "mx"))) for f in r.findings}
    assert expected and all(check in html for check in expected)
    assert any("image/png" in o.get("data", {}) for c in code for o in c["outputs"])


@pytest.mark.notebook
@pytest.mark.timeout(240)
def test_cli_notebook_option_writes_the_executed_notebook(tmp_path, capsys):
    """``mailsupport audit PATH --notebook OUT`` executes the notebook (no settings kind: it never connects)."""
    from mailsupport.cli import main

    out = tmp_path / "nb" / "audit.ipynb"
    assert main(["audit", PICK[0], "--notebook", str(out)]) == 0
    nb = json.loads(out.read_text())
    injected = "".join(nb["cells"][3]["source"])
    assert "checks = 'config,spf,dmarc,mx,samples'" in injected and "kellyco.toml" in injected
    assert f"notebook: {out}" in capsys.readouterr().out
