"""Property tests (Hypothesis) of every CSV writer: no cell runs as a formula, and every value reads back.

The writers: the findings table (``report.write_csv``: ``findings.csv`` of the demo and the
audit) and ``mailsupport scan --format csv`` (its own fast line maker). The number of examples
comes from the active Hypothesis profile; no test here sets it.
"""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsupport import report
from mailsupport.audit.result import TenantResult
from mailsupport.cli.scan import FORMATS, write_rows
from mailsupport.csvcells import FORMULA_STARTS, original_cell, read_csv, safe_cell
from mailsupport.model import Finding, Severity
from mailsupport.samples import batched, summarize

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text that likes to start with what spreadsheets run: formula characters, quotes, separators, line ends
risky = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda head, rest: head + rest,
        st.sampled_from([*FORMULA_STARTS, "'", "''", "'=", '"', ","]),
        st.text(alphabet="=+-@'\"\t\r\n,;abc ", max_size=12),
    ),
)


def _starts_as_formula(cell: str) -> bool:
    return cell[:1] in FORMULA_STARTS


@SETTINGS
@given(text=risky)
def test_safe_cell_never_starts_a_formula_and_is_undone_exactly(text):
    """safe_cell's result never begins with a formula character, and original_cell gives the text back."""
    cell = safe_cell(text)
    assert not _starts_as_formula(cell)
    assert original_cell(cell) == text
    assert cell == text or cell == "'" + text


@SETTINGS
@given(cells=st.lists(st.tuples(risky, risky, risky), min_size=1, max_size=4), tenant=risky)
def test_findings_csv_is_safe_and_reads_back(cells, tenant):
    """The findings table: no cell of the CSV starts a formula; read_csv gives back every original value."""
    findings = tuple(
        Finding(check="x.check", severity=Severity.WARNING, subject=a, summary=b, remedy=c, evidence=((a, c),))
        for a, b, c in cells
    )
    results = [TenantResult(tenant=tenant, provider="p", source="s", findings=findings)]
    text = report.format_csv(results)
    raw_rows = list(csv.reader(io.StringIO(text, newline="")))
    assert raw_rows[0] == list(report.REPORT_COLUMNS)
    assert not any(_starts_as_formula(cell) for row in raw_rows for cell in row)
    assert list(read_csv(io.StringIO(text, newline=""))) == list(report.finding_rows(results))


def _message(subject: str, sender: str, message_id: str) -> bytes:
    return (f"From: {sender}\nTo: a@b.example\nSubject: {subject}\nMessage-ID: {message_id}\n\nbody\n").encode(
        "utf-8", "surrogatepass"
    )


header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=25)
risky_header = st.one_of(
    header_text, st.builds(lambda h, r: h + r, st.sampled_from([*"=+-@'", "'=", " ="]), header_text)
)


@SETTINGS
@given(
    fields=st.lists(st.tuples(risky_header, risky_header, risky_header), min_size=1, max_size=5),
    position=st.sampled_from(["1", "=cmd|' /C calc'!A0.eml", "-x.eml", "@sum.eml"]),
)
def test_scan_csv_is_safe_and_reads_back(fields, position):
    """`scan --format csv` rows (subjects, senders, Message-IDs and zip member names that begin like
    formulas): no cell starts a formula, and read_csv gives back exactly each summary's cells."""
    summaries = [summarize(_message(*f), source="/tmp/s.zip", position=position) for f in fields]
    out = io.StringIO()
    out.write(FORMATS["csv"].head)
    write_rows(batched(summaries, FORMATS["csv"].tail, size=2), FORMATS["csv"], out)
    text = out.getvalue()
    raw_rows = list(csv.reader(io.StringIO(text, newline="")))
    assert not any(_starts_as_formula(cell) for row in raw_rows for cell in row)
    got = list(read_csv(io.StringIO(text, newline="")))
    assert [list(row.values()) for row in got] == [[str(c) for c in s.row()] for s in summaries]
