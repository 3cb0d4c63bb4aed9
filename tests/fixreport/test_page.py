"""The fix report's three renderings: one plan, every value escaped, text and JSON saying the same."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mailsupport.audit.result import TenantResult
from mailsupport.fixes import FixStep
from mailsupport.fixpage import page_stem, plan_for, render_fix_html, render_fix_json, render_fix_text, write_fix_report
from mailsupport.fixplan import make_plan
from mailsupport.model import Finding, MessageRef, Severity

REPO = Path(__file__).resolve().parents[2]
TENANTS = REPO / "data" / "samples" / "tenants"
EVIL = "<script>alert('x')</script> \"q\" & <b>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;q&quot; &amp; &lt;b&gt;"
# external loads: an attribute pointing anywhere, a stylesheet or script tag, CSS imports or url()
EXTERNAL = re.compile(r"""\b(src|href|action|data|poster)\s*=|<script|<link|<img|<iframe|<object|@import|url\(""", re.I)


def _evil_plan():
    ref = MessageRef(message_id=f"<{EVIL}@x>", subject=EVIL, date=EVIL, from_=EVIL, source=EVIL, position=EVIL)
    step = FixStep(
        host=EVIL,
        rtype="setting",
        new=EVIL,
        current=EVIL,
        why=EVIL,
        verify=EVIL,
        action=EVIL,
        label=EVIL,
        resolves=((EVIL, EVIL),),
        severity=Severity.ERROR,
        evidence=((EVIL, EVIL),),
        messages=(ref,),
        detail=EVIL,
    )
    dns = FixStep(host=EVIL, rtype="TXT", new=EVIL, current=EVIL, resolves=(("x.y", EVIL),))
    other = Finding(
        check=EVIL,
        severity=Severity.WARNING,
        subject=EVIL,
        summary=EVIL,
        remedy=EVIL,
        detail=EVIL,
        evidence=((EVIL, EVIL),),
        messages=(ref,),
    )
    resolved = Finding(check="x.y", severity=Severity.ERROR, subject=EVIL, summary=EVIL)
    return make_plan(
        [step, dns],
        [other, resolved],
        tenant=EVIL,
        provider=EVIL,
        created=EVIL,
        version=EVIL,
        dns_source=EVIL,
        checked=[EVIL],
        not_checked=[EVIL],
        traces=[(EVIL, EVIL)],
    )


def test_every_value_is_escaped_on_the_page():
    """Hostile text in every field (a <script> Message-ID, subject, tenant, record, trace) never comes out raw."""
    page = render_fix_html(_evil_plan())
    assert "<script" not in page and "<b>" not in page and "alert('x')" not in page
    assert page.count(ESCAPED) >= 20
    assert "&lt;&lt;script&gt;" in page  # the Message-ID inside its angle brackets


def test_the_page_loads_nothing_from_outside_and_needs_no_script():
    """No src/href/link/import at all, and a Content-Security-Policy that forbids loading anything."""
    page = render_fix_html(_evil_plan())
    assert not EXTERNAL.search(page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "@media print" in page and "break-inside:avoid" in page


@pytest.fixture(scope="module")
def chen(tmp_path_factory):
    """The chenpartners sample tenant's fix report (SPF, DMARC/DKIM and a Gmail setting), written."""
    return write_fix_report(TENANTS / "chenpartners.toml", tmp_path_factory.mktemp("chen"), environ={})


def test_text_and_json_say_what_the_page_says(chen):
    """The JSON is the plan; the text carries the verdict, every step's values whole, and the run's facts."""
    plan = chen.plan
    data = json.loads(chen.files.json_path.read_text())
    text = chen.files.text_path.read_text()
    page = chen.files.html_path.read_text()
    assert data["verdict"] == plan.verdict and data["status"] == plan.status
    assert [s["new"] for s in data["steps"]] == [s.new for s in plan.steps]
    assert [s["number"] for s in data["steps"]] == list(range(1, len(plan.steps) + 1))
    assert plan.verdict in text
    for s in data["steps"]:
        for key in ("action", "where", "current", "new"):
            if s[key]:
                assert s[key] in text, (key, s[key])
                assert html.escape(s[key]) in page, (key, s[key])
    for line in data["checked"] + data["not_checked"]:
        assert line in text
    assert data["dns_source"] in text and data["created"] in text and data["version"] in text


def test_the_steps_are_numbered_and_the_spf_record_is_exact(chen):
    """Step 1 is the SPF record (the error), with the record now and the exact record to publish."""
    page = chen.files.html_path.read_text()
    plan = chen.plan
    assert page.count("<li class='step ") == len(plan.steps) >= 3
    assert all(f"Step {i}." in page for i in range(1, len(plan.steps) + 1))
    first = plan.steps[0]
    assert (first.rtype, first.host) == ("TXT", "chenpartners.example")
    assert first.new == "v=spf1 include:_spf.google.com include:_spf.actionstep.com ~all"
    assert f"<code class='value new'>{first.new}</code>" in page
    assert "Action needed" in plan.verdict and "(2 errors, 3 warnings)" in plan.verdict


def test_plan_for_says_what_was_not_checked():
    """Kinds that did not run (no connection test, no sample) and kinds that failed are "not checked"; the MX
    kind, which looks only at Office 365 tenants, is not claimed for a Gmail tenant."""
    failed = Finding(
        check="audit.check-failed",
        severity=Severity.ERROR,
        subject="t",
        summary="the dmarc check could not finish: TimeoutError",
        evidence=(("check kind", "dmarc"),),
    )
    skipped = Finding(
        check="audit.check-skipped", severity=Severity.INFO, subject="t", summary="the settings check was skipped"
    )
    result = TenantResult(
        tenant="t",
        provider="gmail",
        checks=("config", "spf", "dmarc", "mx"),
        findings=(failed, skipped),
        spf_lookups=(("t.example", 2),),
        dns_source="zone files t.zone",
    )
    plan = plan_for(result, created="2026-01-01 00:00 UTC", version="9")
    assert [c.split(":")[0] for c in plan.checked] == ["Email Setup settings as typed", "SPF record of t.example"]
    assert plan.not_checked == (
        "The connection to the mailbox and the SMTP server was not tested in this run.",
        "No mailbox sample was given, so the catch-all header, Gmail consolidation and message sizes were not checked.",
        "The dmarc check could not finish: TimeoutError",
    )
    assert plan.findings == () and plan.status == "ok" and plan.dns_source == "zone files t.zone"
    office = plan_for(replace(result, provider="office365"), created="now", version="9")
    assert office.checked[-1] == "MX records, for the Office 365 catch-all rule"


@pytest.mark.parametrize(
    "name, taken, expected",
    [
        ("smithlaw", set(), "smithlaw"),
        ("../../etc/passwd", set(), "etc-passwd"),
        ("Smith & Co <x>", set(), "Smith-Co-x"),
        ("", set(), "tenant"),
        ("smithlaw", {"smithlaw"}, "smithlaw-2"),
        ("SmithLaw", {"smithlaw", "smithlaw-2"}, "SmithLaw-3"),
    ],
    ids=["plain", "path-traversal", "punctuation", "empty", "taken", "taken-case-insensitive"],
)
def test_page_stem_is_a_safe_unique_file_name(name, taken, expected):
    """A tenant's page name keeps letters, digits, '.', '_', '-', never leaves the folder, never repeats."""
    assert page_stem(name, set(taken)) == expected


def test_a_json_plan_renders_the_same_page_again(chen):
    """The JSON reads back into a plan that renders the identical page (the data is complete)."""
    from mailsupport.fixplan import FixPlan

    again = FixPlan.from_dict(json.loads(render_fix_json(chen.plan)))
    assert render_fix_html(again) == render_fix_html(chen.plan)
    assert render_fix_text(again) == render_fix_text(chen.plan)
