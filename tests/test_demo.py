"""`mailsupport demo`: the main job runs every check on the sandbox and bundled samples and writes its report."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.demo import default_samples_dir, run_demo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(samples_dir=default_samples_dir(), out_dir=out)


def test_demo_reports_every_family_of_check(demo):
    """The findings CSV holds SPF, settings, catch-all, Gmail consolidation and size findings, and no step failed."""
    with demo.csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    families = {r["check"].split(".")[0] for r in rows}
    assert {"spf", "settings", "catchall", "gmail", "size"} <= families
    assert not [r for r in rows if r["check"] == "demo.step-failed"]


def test_demo_runs_the_pipeline_for_real(demo):
    """Mail delivered to the sandbox is fetched, deleted only after storing, routed to every kind, and a reply routes back."""
    p = demo.pipeline
    assert p is not None
    first = p["first_poll"]
    assert first["fetched"] >= 5 and first["deleted"] == first["fetched"] and not first["errors"]
    assert {"matter", "alias", "user", "failed"} <= set(first["routed"])
    assert p["send"]["sent"] >= 1 and p["send"]["failed"] == 0 and p["outbox"] >= 1  # the answer left the firm
    second = p["second_poll"]
    assert second["routed"].get("reply") == 1  # the client's answer to our mail went back to its matter
    assert second["routed"].get("matter", 0) + len(p["refused_at_delivery"]) >= 6  # every real sample accounted for


def test_demo_report_is_self_contained_and_secret_free(demo):
    """report.html has the pipeline and doctor sections, no script or external resource, and no password."""
    page = demo.html_path.read_text()
    assert "Pipeline: fetch, route, store, send" in page and "Connection doctor" in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "loads an external resource"
    for path in demo.out_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json", ".jsonl", ".txt"):
            assert "canary-4b1d-" not in path.read_text(errors="replace"), path


def test_demo_command_prints_where_it_wrote(tmp_path):
    """The CLI prints the report and findings paths and exits 0."""
    out = subprocess.run([sys.executable, "-m", "mailsupport", "demo", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert f"report:   {tmp_path / 'o' / 'report.html'}" in out.stdout
    assert (tmp_path / "o" / "findings.csv").is_file()
