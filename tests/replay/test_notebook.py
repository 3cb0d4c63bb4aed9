"""Notebook 09 runs headless on the bundled samples: the plan, the before/after table and chart, the evidence."""

from __future__ import annotations

import html

import pytest

from mailsupport.replay import replay
from mailsupport.sandbox import Sandbox

from .conftest import REPO, SAMPLES, sample_tenant

pytest.importorskip("nbclient")
pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]

RUNS = [
    ("smithlaw-sample-catchall", "catchall-postfix.mbox", None),
    (
        "smithlaw-sample-gmail",
        "gmail-takeout-consolidated.mbox",
        'tenant_file = "../data/samples/tenants/smithlaw-sample-gmail.toml"\n'
        'sample = ["../data/samples/gmail-takeout-consolidated.mbox"]\nprofile = "auto"\nchanges = []\n',
    ),
]


@pytest.mark.parametrize("tenant, sample, parameters", RUNS, ids=["defaults", "gmail-sample"])
def test_replay_notebook_shows_before_and_after(tenant, sample, parameters):
    """Every cell runs with only the parameters cell changed; the output has the counts table, every copy's
    row, a PNG chart and the library's own evidence sentence for the same sample, and no secret."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / "09-replay.ipynb", as_version=4)
    if parameters is not None:
        (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        cell.source = parameters
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = " ".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    expected = replay(sample_tenant(tenant), [str(SAMPLES / sample)], sandbox_factory=Sandbox)
    assert html.escape(expected.evidence(), quote=True) in text or expected.evidence() in text
    assert "as diagnosed" in text and "Where each message went, before and after" in text
    for m in expected.messages:
        assert html.escape(m.ref.label(), quote=True) in text
    assert "canary-4b1d" not in text
