"""notebooks/00-start-here.ipynb runs headless and shows what each provider profile writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.testing.notebooks import errors, execute_notebook, outputs_text

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "00-start-here.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(240)]


def test_start_here_runs_and_shows_each_profile():
    """Every cell runs; the POP3 read finds the message; the profile comparison shows each header; no secret shown."""
    nb = execute_notebook(NOTEBOOK)
    assert errors(nb) == []
    text = outputs_text(nb)
    assert "X-Original-To" in text and "Envelope-To" in text
    assert "no envelope header: the recipient is lost" in text
    assert "matters@smithlaw.example" in text
    assert "canary-4b1d-" not in text
    count_cell = next(c for c in nb.cells if c.cell_type == "code" and "len(messages)" in c.source)
    assert count_cell.outputs[0]["data"]["text/plain"] == "1"
