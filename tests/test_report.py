"""The shared findings report: tables, summary, charts, and escaping of every value."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from mailsupport import report
from mailsupport.audit.result import TenantResult
from mailsupport.model import MESSAGE_COLUMNS, Finding, MessageRef, Severity

EVIL = "<script>alert('x')</script> \"q\" & <b>"


def _results():
    return [
        TenantResult(
            tenant="smithlaw",
            provider="gmail",
            spf_lookups=(("smithlaw.example", 4),),
            findings=(
                Finding(
                    check="spf.vendor-include-missing",
                    severity=Severity.ERROR,
                    subject="smithlaw.example",
                    summary="no vendor include",
                    remedy="add include:_spf.actionstep.com",
                    evidence=(("record", "v=spf1 -all"),),
                ),
                Finding(check="config.ok", severity=Severity.INFO, subject="smithlaw", summary="fine"),
            ),
        ),
        TenantResult(tenant="jonesco", provider="office365", spf_lookups=(("jones.example", 12),), findings=()),
    ]


def _evil_results():
    ref = MessageRef(message_id=EVIL, subject=EVIL, date=EVIL, from_=EVIL, source=EVIL, position=EVIL)
    f = Finding(
        check=EVIL,
        severity=Severity.CRITICAL,
        subject=EVIL,
        summary=EVIL,
        remedy=EVIL,
        detail=EVIL,
        reference=EVIL,
        evidence=((EVIL, EVIL),),
        messages=(ref,),
    )
    return [TenantResult(tenant=EVIL, provider=EVIL, source=EVIL, findings=(f,), spf_lookups=((EVIL, 3),))]


def test_finding_rows_put_the_tenant_first_and_the_worst_finding_first():
    """Rows carry the tenant column and sort a tenant's findings worst first."""
    rows = list(report.finding_rows(_results()))
    assert [r["check"] for r in rows] == ["spf.vendor-include-missing", "config.ok"]
    assert tuple(rows[0]) == report.REPORT_COLUMNS
    assert rows[0]["tenant"] == "smithlaw" and rows[0]["evidence"] == "record=v=spf1 -all"


def test_csv_round_trips_through_the_csv_module():
    """The CSV has the header and one row per finding, readable by ``csv``."""
    rows = list(csv.DictReader(io.StringIO(report.format_csv(_results()))))
    assert len(rows) == 2
    assert rows[0]["severity"] == "error" and rows[0]["remedy"].startswith("add include")


def test_jsonl_is_one_finding_per_line():
    """JSON lines: one object per finding with the report columns."""
    lines = report.format_jsonl(_results()).splitlines()
    assert [json.loads(x)["tenant"] for x in lines] == ["smithlaw", "smithlaw"]


def test_summary_counts_severities_and_marks_clean_tenants_ok():
    """The per-tenant summary counts each severity; a tenant with no findings is ``ok``."""
    s = list(report.summary_rows(_results()))
    assert s[0]["error"] == 1 and s[0]["info"] == 1 and s[0]["worst"] == "error"
    assert s[0]["checks"] == "spf.vendor-include-missing"
    assert s[1]["worst"] == "ok" and s[1]["findings"] == 0


def test_tally_buckets_spf_lookups_over_the_limit():
    """SPF lookup counts above 10 land in the "11+" bucket."""
    t = report.tally(_results())
    bars = dict(t.spf_bars())
    assert bars["4"] == 1 and bars["11+"] == 1 and t.by_provider["gmail"] == 1


def test_text_report_lists_findings_and_totals():
    """The text report names each finding and ends with the totals line."""
    text = report.format_text(_results())
    assert "spf.vendor-include-missing" in text and "-> add include" in text
    assert text.rstrip().endswith("2 tenants, 2 findings (0 critical, 1 error, 0 warning, 1 info)")


def test_html_is_self_contained_with_charts_and_sections():
    """The page has four inline SVG charts, the caller's sections, and nothing fetched from outside."""
    page = report.render_html(_results(), title="Weekly audit", sections=[("Sandbox run", "<p>3 messages</p>")])
    assert page.count("<svg") == 4
    assert "<h2>Sandbox run</h2>\n<div><p>3 messages</p></div>" in page
    assert not re.search(r"(src|href)=|<script|<link|@import|url\(", page)
    assert "spf.vendor-include-missing" in page and "jonesco" in page


def test_csv_cells_with_line_breaks_read_back_exactly():
    """A finding whose text holds a lone CR, an LF or a CRLF (a server's reply, a decoded subject)
    reads back from the CSV cell for cell."""
    odd = 'line one\rstill one\nline two\r\nthree, "quoted"'
    f = Finding(check="x.y", severity=Severity.WARNING, subject=odd, summary=odd, remedy="r")
    text = report.format_csv([TenantResult(tenant="t\r1", provider="p", source="s", findings=(f,))])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 1 and rows[0]["subject"] == odd and rows[0]["summary"] == odd and rows[0]["tenant"] == "t\r1"


@pytest.mark.parametrize("fmt", ["html", "text", "csv", "jsonl"])
def test_hostile_values_are_escaped_or_quoted_in_every_format(fmt):
    """``<script>``, quotes and ``&`` in every field (tenant name included) never come out raw in HTML."""
    results = _evil_results()
    if fmt == "html":
        page = report.render_html(results, title=EVIL, sections=[(EVIL, "<p>ok</p>")])
        assert "<script" not in page and "<b>" not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;q&quot; &amp; &lt;b&gt;" in page
        # tenant, provider, check, subject, summary, remedy, title x2, heading, chart labels
        assert page.count("&lt;script&gt;") >= 10
    elif fmt == "text":
        assert "<script>" in report.format_text(results)  # plain text is not HTML: kept verbatim
    elif fmt == "csv":
        row = next(csv.DictReader(io.StringIO(report.format_csv(results))))
        assert all(row[c] == EVIL for c in ("tenant", "check", "subject", "summary", "remedy", *MESSAGE_COLUMNS))
    else:
        row = json.loads(report.format_jsonl(results))
        assert row["tenant"] == EVIL and row["evidence"] == f"{EVIL}={EVIL}"


def _message_results():
    refs = (
        MessageRef(
            message_id="<a1@x.example>",
            subject="Invoice 1043",
            date="Mon, 3 Nov 2025 09:00:01 +0000",
            from_="Client <c@x.example>",
            source="/samples/box.mbox",
            position="7",
        ),
        MessageRef(message_id="<a2@x.example>", subject="Second", source="/samples/box.mbox", position="9"),
    )
    one = Finding(
        check="size.over-recommended",
        severity=Severity.WARNING,
        subject=refs[0].label(),
        summary="big",
        messages=refs[:1],
    )
    two = Finding(
        check="catchall.header-forgeable",
        severity=Severity.INFO,
        subject="catch-all mailbox",
        summary="copies",
        messages=refs,
    )
    return [TenantResult.of("smithlaw", [one, two])]


def test_findings_name_their_messages_in_every_format():
    """Message-ID, Subject, Date, From, file and position of a finding's messages reach the CSV and JSON
    columns (several messages joined with | in the same order), the text report and the HTML table."""
    results = _message_results()
    rows = list(csv.DictReader(io.StringIO(report.format_csv(results))))
    size = next(r for r in rows if r["check"] == "size.over-recommended")
    assert (
        size["message_id"],
        size["message_subject"],
        size["message_date"],
        size["message_from"],
        size["message_file"],
        size["message_position"],
    ) == (
        "<a1@x.example>",
        "Invoice 1043",
        "Mon, 3 Nov 2025 09:00:01 +0000",
        "Client <c@x.example>",
        "/samples/box.mbox",
        "7",
    )
    both = next(r for r in rows if r["check"] == "catchall.header-forgeable")
    assert both["message_id"] == "<a1@x.example> | <a2@x.example>" and both["message_position"] == "7 | 9"
    assert json.loads(report.format_jsonl(results).splitlines()[0])["message_position"] == "7"
    text = report.format_text(results)
    assert 'message: box.mbox #7 <a1@x.example> "Invoice 1043"' in text and "box.mbox #9 <a2@x.example>" in text
    page = report.render_html(results, title="t")
    assert "box.mbox #9 &lt;a2@x.example&gt; &quot;Second&quot;" in page
    for r in results:
        assert TenantResult.from_json(r.to_json()) == r


def test_svg_chart_escapes_labels_and_handles_no_data():
    """Chart labels are escaped and an empty chart says so."""
    svg = report.svg_bar_chart("a & b", [("<x>", 2)])
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "a &amp; b" in svg
    assert "(no data)" in report.svg_bar_chart("empty", [])


def test_write_html_consumes_a_generator_once():
    """``write_html`` takes a one-shot iterator (streaming use) and renders every tenant."""
    buf = io.StringIO()
    report.write_html((r for r in _results() * 50), buf, title="t")
    assert buf.getvalue().count("<td>jonesco</td>") == 50


def test_frames_and_figure():
    """DataFrames carry the columns; the figure has four axes."""
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    assert list(report.findings_frame(_results()).columns) == list(report.REPORT_COLUMNS)
    assert len(report.summary_frame(_results())) == 2
    assert len(report.plot_report(_results()).axes) == 4


def test_tenant_result_json_round_trip():
    """A TenantResult survives its JSON line unchanged (the resume state)."""
    for r in _results() + _evil_results():
        assert TenantResult.from_json(r.to_json()) == r


def _fixed_results():
    from mailsupport.fixes import FixStep

    spf = Finding(
        check="spf.vendor-include-missing",
        severity=Severity.ERROR,
        subject="a.example",
        summary="no include",
        evidence=(("record", "v=spf1 -all"),),
    )
    other = Finding(
        check="spf.vendor-include-missing", severity=Severity.ERROR, subject="b.example", summary="no include"
    )
    step = FixStep(
        host="a.example",
        rtype="TXT",
        current="v=spf1 -all",
        new="v=spf1 include:_spf.actionstep.com -all",
        resolves=(("spf.vendor-include-missing", "a.example"),),
        severity=Severity.ERROR,
        evidence=(("change", "insert the include"),),
        detail="trace",
        messages=(MessageRef(subject=EVIL),),
    )
    return [TenantResult(tenant="t", findings=(spf, other), fixes=(step,), traces=(("T", EVIL),), dns_source="zones")]


def test_each_finding_row_carries_the_fix_that_resolves_it():
    """fix_where/fix_current/fix_new come from the step naming the finding's check and subject; another
    subject with the same check has none; the text and HTML reports show the fix too."""
    rows = {r["subject"]: r for r in csv.DictReader(io.StringIO(report.format_csv(_fixed_results())))}
    assert (rows["a.example"]["fix_where"], rows["a.example"]["fix_current"], rows["a.example"]["fix_new"]) == (
        "DNS: TXT record at a.example",
        "v=spf1 -all",
        "v=spf1 include:_spf.actionstep.com -all",
    )
    assert rows["b.example"]["fix_new"] == "" and rows["a.example"]["evidence"] == "record=v=spf1 -all"
    assert (
        "fix: DNS: TXT record at a.example: v=spf1 -all => v=spf1 include:_spf.actionstep.com -all"
        in report.format_text(_fixed_results())
    )
    page = report.render_html(_fixed_results())
    assert "<details><summary>4 items</summary>" in page and "fix: change to" in page


def test_one_tenant_has_no_charts_and_links_are_escaped():
    """A single tenant's report draws no fleet charts; a tenant link is escaped like every value."""
    page = report.render_html(_fixed_results(), link_for=lambda r: f"tenants/{EVIL}.html")
    assert "<svg" not in page and "<h2>Charts</h2>" not in page
    assert '<a href="tenants/&lt;script&gt;' in page and "<script" not in page
    assert report.render_html(_results()).count("<svg") == 4 and "<a href" not in report.render_html(_results())


def test_tenant_result_with_fixes_and_traces_round_trips():
    """Fix steps (compact in the state line), traces and the DNS source survive the JSON line."""
    (r,) = _fixed_results()
    line = r.to_json()
    assert TenantResult.from_json(line) == r
    assert '"where"' not in line and '"detail":"trace"' in line
