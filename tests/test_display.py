"""The shared display helper: whole values, escaped HTML, severity colours, expandable evidence and traces."""

from __future__ import annotations

import re

import pytest

from mailsupport.display import (
    SEVERITY_COLOURS,
    Table,
    findings_html,
    findings_table,
    ladder_html,
    ladder_rows,
    severity_badge,
    table_html,
)
from mailsupport.doctor.report import ProbeResult, Rung, SettingsReport
from mailsupport.model import Finding, Severity

HOSTILE = "<img src=x onerror=alert(1)>&\"'"
LONG = "Share large files as links, or split them across messages; " * 6  # far over pandas' 50 characters


def _finding(**kw) -> Finding:
    base = dict(
        check="size.over-recommended",
        severity=Severity.WARNING,
        subject="mbox#3",
        summary="12 MB encoded: over the 10 MB the product recommends.",
        remedy=LONG.strip(),
        detail="the body is base64",
        reference="docs/provider-facts.md §3",
        evidence=(("encoded", "12000000"), ("attachments", "scan.pdf application/pdf 11.9 MB")),
    )
    base.update(kw)
    return Finding(**base)


def _text_of(html_text: str) -> str:
    """The text a browser shows (tags dropped, entities kept) to search for escaped values."""
    return re.sub(r"<[^>]+>", "", html_text)


@pytest.mark.parametrize("field", ["check", "subject", "summary", "remedy", "detail", "reference"])
def test_every_finding_field_is_escaped(field):
    """A hostile value in any field of a finding reaches the HTML only escaped."""
    html_text = findings_html([_finding(**{field: HOSTILE})])
    assert "<img" not in html_text
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;" in html_text


def test_evidence_labels_and_values_are_escaped():
    """Evidence pairs (the server's words, customer headers) are escaped, label and value."""
    html_text = findings_html([_finding(evidence=((HOSTILE, HOSTILE),))])
    assert "<img" not in html_text and html_text.count("&lt;img") == 2


def test_tenant_labels_and_titles_are_escaped():
    """The tenant label of a labelled finding, the title and the note are escaped too."""
    html_text = findings_table([(HOSTILE, _finding())], title=HOSTILE, note=HOSTILE)._repr_html_()
    assert "<img" not in html_text and html_text.count("&lt;img") == 3


def test_findings_show_full_text_left_aligned_with_evidence_expandable():
    """The whole remedy is there (no 50-character cut), cells are left-aligned, evidence sits in a closed <details>."""
    html_text = findings_html([_finding()])
    assert LONG.strip() in html_text
    assert "…" not in html_text
    cells = re.findall(r"<t[dh] style='([^']*)'", html_text)
    assert cells and all("text-align:left" in style for style in cells)
    details = re.search(r"<details><summary[^>]*>4 items</summary>(.*?)</details>", html_text)
    assert details, "evidence, detail and reference are one expandable section"
    assert "12000000" in details.group(1) and "the body is base64" in details.group(1)
    assert "docs/provider-facts.md §3" in details.group(1)


@pytest.mark.parametrize("severity", list(Severity), ids=lambda s: str(s))
def test_each_severity_has_its_colour(severity):
    """A row's badge and left edge carry its severity's colour."""
    html_text = findings_html([_finding(severity=severity)])
    colour = SEVERITY_COLOURS[str(severity)][0]
    assert f"border-left:4px solid {colour}" in html_text
    assert f"background:{colour}" in severity_badge(severity)
    assert f">{severity}</span>" in html_text


def test_labelled_findings_and_results_get_a_tenant_column():
    """(label, finding) pairs and per-tenant results add a first column; results list worst first."""

    class Result:  # the audit's TenantResult, duck-typed
        tenant = "smithlaw"
        findings = (_finding(severity=Severity.INFO, check="a.info"), _finding(severity=Severity.ERROR, check="z.err"))

    table = findings_table([Result(), ("baxterlaw", _finding())])
    assert table.columns[0] == "tenant"
    assert table.column("tenant") == ("smithlaw", "smithlaw", "baxterlaw")
    assert table.column("check") == ("z.err", "a.info", "size.over-recommended")


def test_unknown_items_are_refused_with_what_was_given():
    """Something that is not a finding is a TypeError naming its type, not a broken table."""
    with pytest.raises(TypeError, match="got dict"):
        findings_table([{"check": "x"}])


def test_plain_text_keeps_every_value_whole():
    """str() of a table prints each row's values in full (for terminals and copying)."""
    text = str(findings_table([_finding()]))
    assert LONG.strip() in text and "encoded: 12000000" in text and "detail: the body is base64" in text


def test_decision_table_trace_is_expandable_and_escaped():
    """A routing trace (a list of steps) is a numbered list inside <details>, each step escaped."""
    rows = [{"message": "m1", "kind": "failed", "reason": LONG, "trace": ["ignored X-Original-To", HOSTILE]}]
    table = Table.from_rows(rows, columns=("message", "kind", "reason", "trace"), expand=(("trace", "steps"),))
    html_text = table._repr_html_()
    assert "<details><summary style='cursor:pointer'>2 steps</summary><ol" in html_text
    assert "<li>ignored X-Original-To</li>" in html_text and "<img" not in html_text
    assert LONG in _text_of(html_text)


def test_empty_tables_say_none():
    """An empty table shows '(none)' rather than a bare header."""
    assert "(none)" in table_html(("a", "b"), [])
    assert "(none)" in str(findings_table([]))


def test_to_frame_keeps_full_values():
    """to_frame gives pandas the whole text (joined sequences), for filtering."""
    pytest.importorskip("pandas")
    frame = findings_table([_finding()]).to_frame()
    assert list(frame.columns) == ["severity", "check", "subject", "summary", "remedy", "evidence"]
    assert frame.loc[0, "remedy"] == LONG.strip()
    assert "encoded: 12000000" in frame.loc[0, "evidence"]


def _report() -> SettingsReport:
    pop = ProbeResult(
        direction="pop3",
        endpoint="127.0.0.1:995",
        tls="implicit",
        rungs=(
            Rung(step="dns", ok=True, ms=1.2, detail="127.0.0.1"),
            Rung(step="connect", ok=True, ms=0.4, detail="connected"),
            Rung(step="tls", ok=True, ms=3.0, detail="TLSv1.3"),
            Rung(step="greeting", ok=True, ms=0.8, detail="greeting", reply="+OK ready"),
            Rung(step="capabilities", ok=True, ms=0.5, detail="USER SASL"),
            Rung(step="auth", ok=False, ms=2.0, detail="login refused", reply=HOSTILE, code="auth-rejected"),
        ),
    )
    smtp = ProbeResult(
        direction="smtp",
        endpoint="vendor relay",
        tls="-",
        skipped="not used: outbound mail goes through the vendor's relay",
    )
    return SettingsReport(org_key="smithlaw", provider="other", inbound=pop, outbound=smtp)


def test_ladder_rows_mark_each_rung_and_what_was_not_reached():
    """Passed rungs are ok, the failed one fail, the steps after it 'not reached', a skipped direction 'skipped'."""
    rows = ladder_rows(_report())
    assert [(r[1], r[2]) for r in rows] == [
        ("dns", "ok"),
        ("connect", "ok"),
        ("tls", "ok"),
        ("greeting", "ok"),
        ("capabilities", "ok"),
        ("auth", "fail"),
        ("final", "not reached"),
        ("-", "skipped"),
    ]
    assert rows[-1][4].startswith("not used")


def test_ladder_html_colours_each_status_and_escapes_the_server():
    """Green ok rows, a red FAIL row, grey rows; the server's words escaped."""
    html_text = ladder_html(_report())
    assert html_text.count("data-status='ok'") == 5 and html_text.count("data-status='fail'") == 1
    assert "background:#dff0d8" in html_text and "background:#f2dede" in html_text
    assert "<img" not in html_text and "&lt;img src=x" in html_text
    assert ">FAIL</td>" in html_text


def test_ladder_from_live_pairs():
    """The widget's live (direction, rung) pairs draw the same rows as they arrive."""
    rung = Rung(step="greeting", ok=True, ms=4.0, detail="ok", reply="+OK Dovecot ready.")
    assert ladder_rows([("pop3", rung)]) == [("POP3", "greeting", "ok", "4", "ok", "+OK Dovecot ready.")]


def test_a_settings_report_shows_itself_as_the_step_table_with_its_text_folded():
    """SettingsReport in a notebook: FAIL, the coloured steps, the findings table, the text report in <details>."""
    report = _report()
    html_text = report._repr_html_()
    assert html_text.startswith("<div><b style='color:#b00'>FAIL</b> Settings check for smithlaw (other)")
    assert ladder_html(report) in html_text
    assert "<details><summary style='cursor:pointer'>plain text (to copy)</summary><pre>" in html_text
    assert "<img" not in html_text
