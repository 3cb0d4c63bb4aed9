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


def test_demo_writes_a_fix_report_per_tenant_and_the_fleet_report_links_them(demo):
    """tenants/ holds a page, text and JSON per tenant; report.html links every tenant to its existing page;
    the pipeline section is a table, not a JSON dump; every ladder is folded."""
    with demo.csv_path.open(newline="") as fh:
        tenants = {r["tenant"] for r in csv.DictReader(fh)}
    assert tenants <= set(demo.tenant_pages)
    for page in demo.tenant_pages.values():
        assert page.is_file() and page.with_suffix(".txt").is_file() and page.with_suffix(".json").is_file()
    report = demo.html_path.read_text()
    links = dict((name, href) for href, name in re.findall(r'<a href="([^"]+)">([^<]+)</a>', report))
    assert set(links) == set(demo.tenant_pages)
    assert all((demo.out_dir / href) == demo.tenant_pages[name] for name, href in links.items())
    assert '"first_poll"' not in report and "<pre" not in report.split("<h2>Tenants</h2>")[0]
    assert "<details><summary>smithlaw: PASS" in report
    chen = demo.tenant_pages["chenpartners"].read_text()
    assert "v=spf1 include:_spf.google.com include:_spf.actionstep.com ~all" in chen and "Step 1." in chen


def test_demo_findings_csv_keeps_evidence_and_gains_the_fix_columns(demo):
    """findings.csv: the evidence column is filled, and SPF findings carry where, now and the record to publish."""
    with demo.csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"evidence", "fix_where", "fix_current", "fix_new"} <= set(rows[0])
    chen = next(r for r in rows if r["tenant"] == "chenpartners" and r["check"] == "spf.vendor-include-missing")
    assert chen["evidence"] == "record=v=spf1 include:_spf.google.com ~all"
    assert (chen["fix_current"], chen["fix_new"]) == (
        "v=spf1 include:_spf.google.com ~all",
        "v=spf1 include:_spf.google.com include:_spf.actionstep.com ~all",
    )
    wright = next(r for r in rows if r["check"] == "settings.exchange-server-missing")
    assert "?" not in wright["subject"] and wright["fix_where"].startswith("Email Setup > Server name")


def test_demo_command_prints_where_it_wrote(tmp_path):
    """The CLI prints the report and findings paths and exits 0."""
    out = subprocess.run(
        [sys.executable, "-m", "mailsupport", "demo", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    assert f"report:   {tmp_path / 'o' / 'report.html'}" in out.stdout
    assert f"fix reports: {tmp_path / 'o' / 'tenants'}" in out.stdout
    assert (tmp_path / "o" / "findings.csv").is_file() and (tmp_path / "o" / "tenants" / "smithlaw.html").is_file()
