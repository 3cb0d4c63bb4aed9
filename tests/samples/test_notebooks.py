"""The three sample notebooks run headless (nbclient) on the bundled samples, draw their chart and show findings whole."""

from __future__ import annotations

import html

import pytest

from .conftest import REPO

NOTEBOOKS = ["03-catch-all-header.ipynb", "04-gmail-consolidation.ipynb", "05-size-limits.ipynb"]
#: What each notebook's receiving-chain cells show of their real example.
CHAIN_SHOWN = {
    "03-catch-all-header.ipynb": ("below the entry hop", "mx.google.com", "recipient@example.com"),
    "04-gmail-consolidation.ipynb": ("no from clause", "mx.google.com", "203.12.160.161"),
    "05-size-limits.ipynb": ("entry_by", "mx.google.com", "mail.protection.outlook.com"),
}

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]


def _expected_findings(name):
    """The findings the notebook's default parameters lead to, computed here with the library."""
    from mailsupport.diagnose.catchall import diagnose_catch_all
    from mailsupport.diagnose.consolidation import diagnose_consolidation
    from mailsupport.diagnose.size import diagnose_size
    from mailsupport.diagnose.tenant import build_tenant
    from mailsupport.samples import scan, summarize
    from mailsupport.samples.generate import padded_message

    samples, tenant_file = (
        REPO / "data" / "samples",
        str(REPO / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"),
    )
    if name.startswith("03"):
        tenant = build_tenant(tenant_file=tenant_file, header="Delivered-To")
        return diagnose_catch_all(list(scan(samples / "catchall-postfix.mbox")), tenant).findings
    if name.startswith("04"):
        tenant = build_tenant(tenant_file=tenant_file, provider="gmail")
        return diagnose_consolidation(list(scan(samples / "gmail-takeout-consolidated.mbox")), tenant).findings
    summaries = list(scan(samples / "sizes-mixed.mbox")) + [
        summarize(padded_message(12_000_000), source="synthetic", position="12MB")
    ]
    return diagnose_size(summaries).findings


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_draws_a_chart(name):
    """Every cell runs, one output is a PNG chart, every finding's summary and remedy are shown whole, and
    the receiving chain of a real message is shown."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = " ".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "canary-4b1d" not in text
    findings = _expected_findings(name)
    assert findings
    for f in findings:
        assert html.escape(f.summary, quote=True) in text, f.check
        assert html.escape(f.remedy, quote=True) in text, f.check
    assert "<details>" in text  # evidence folded, not cut
    assert all(part in text for part in CHAIN_SHOWN[name]), CHAIN_SHOWN[name]
