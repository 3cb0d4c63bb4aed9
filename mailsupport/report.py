"""The shared findings report: one table, a per-tenant summary, charts; CSV, JSON lines, text, HTML.

Used by ``mailsupport audit`` and ``mailsupport demo``. Input is any iterable of
:class:`~mailsupport.audit.result.TenantResult` (``TenantResult.of("smithlaw", findings)``
wraps a plain list of findings). Pure ``format_*`` functions return strings; ``write_*``
functions stream to an open text file and hold only counters, so a 10,000-tenant audit
renders in flat memory. Each finding row carries its evidence and the fix step that resolves
it (where, the value now, the new value: :mod:`mailsupport.fixplan`); the HTML report folds
the evidence, charts only a fleet (more than one tenant), and links each tenant to its own fix
report page when given ``link_for``.

API (everything else is private)::

    REPORT_COLUMNS                                   the findings-table columns, in order
    SUMMARY_COLUMNS                                  the per-tenant summary columns
    finding_rows(results) -> Iterator[dict]          one row per finding (strings)
    summary_rows(results) -> Iterator[dict]          one row per tenant
    tally(results) -> Tally                          counters behind the charts
    format_csv(results) / write_csv(results, fp)     findings table as CSV
    format_jsonl(results) / write_jsonl(results, fp) findings table as JSON lines
    format_text(results) / write_text(results, fp)   plain-text findings, summary, totals
    render_html(results, *, title, sections=()) -> str
    write_html(results, fp, *, title, sections=())   self-contained HTML (inline CSS + SVG)
    svg_bar_chart(title, bars) -> str                one escaped inline SVG bar chart
    findings_frame(results) / summary_frame(results) pandas DataFrames (imports pandas inside)
    plot_report(results) -> matplotlib Figure        the four charts (imports matplotlib inside)

A *section* is ``(heading, html_fragment)``: the heading is plain text (escaped here), the
fragment is HTML the caller has already escaped. Every value that comes from a tenant,
finding or title is passed through :func:`html.escape` before it reaches the page, and the
page has no script, no external stylesheet, font or image: it opens offline.

Layer 5 (presentation): may import :mod:`mailsupport.model`, :mod:`mailsupport.csvcells`,
:mod:`mailsupport.fixplan` and :mod:`mailsupport.audit.result`; must not import clients, the
sandbox or the audit runner.
"""

from __future__ import annotations

import csv
import html
import io
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from .audit.result import TenantResult
from .csvcells import safe_cell
from .fixplan import order_steps, step_for
from .model import MESSAGE_COLUMNS, Severity, message_cells

__all__ = [
    "REPORT_COLUMNS",
    "FIX_COLUMNS",
    "SUMMARY_COLUMNS",
    "Section",
    "Tally",
    "finding_rows",
    "summary_rows",
    "tally",
    "format_csv",
    "write_csv",
    "format_jsonl",
    "write_jsonl",
    "format_text",
    "write_text",
    "render_html",
    "write_html",
    "svg_bar_chart",
    "findings_frame",
    "summary_frame",
    "plot_report",
]

#: Columns of the findings table (the first six are the ones people read); ``fix_where``,
#: ``fix_current`` and ``fix_new`` come from the fix step that resolves the finding (empty when no
#: step does); the last six name the message(s) a finding is about
#: (:data:`~mailsupport.model.MESSAGE_COLUMNS`, several joined by `` | ``).
FIX_COLUMNS = ("fix_where", "fix_current", "fix_new")
REPORT_COLUMNS = (
    "tenant",
    "check",
    "severity",
    "subject",
    "summary",
    "remedy",
    "detail",
    "reference",
    "evidence",
    *FIX_COLUMNS,
    *MESSAGE_COLUMNS,
)
_FINDING_FIELDS = ("check", "severity", "subject", "summary", "remedy", "detail", "reference")
#: Columns of the per-tenant summary.
SUMMARY_COLUMNS = ("tenant", "provider", "worst", "findings", "critical", "error", "warning", "info", "checks")
#: A caller-supplied block of the HTML report: (plain-text heading, already-escaped HTML).
Section = tuple[str, str]

_SEVERITIES = tuple(sorted(Severity, reverse=True))
#: RFC 7208 §4.6.4: at most 10 DNS-querying terms; the lookup chart marks the buckets over it.
_SPF_LIMIT = 10


def _sorted_findings(result: TenantResult):
    return sorted(result.findings, key=lambda f: (-f.severity, f.check, f.subject))


def finding_rows(results: Iterable[TenantResult]) -> Iterator[dict[str, str]]:
    """One dict of strings per finding, keys :data:`REPORT_COLUMNS`, worst first within a tenant."""
    for _f, row in _finding_pairs(results):
        yield row


def _finding_pairs(results: Iterable[TenantResult]) -> Iterator[tuple[Any, dict[str, str]]]:
    """``(finding, row)`` per finding, in :func:`finding_rows` order (text and HTML also show message labels)."""
    for r in results:
        steps = order_steps(r.fixes)
        for f in _sorted_findings(r):
            d = f.to_dict()
            row = {"tenant": r.tenant}
            for col in _FINDING_FIELDS:
                row[col] = d[col]
            row["evidence"] = "; ".join(f"{k}={v}" for k, v in f.evidence)
            step = step_for(steps, f)
            row.update(
                fix_where=step.where if step else "",
                fix_current=step.current if step else "",
                fix_new=step.new if step else "",
            )
            row.update(message_cells(f.messages))
            yield f, row


def _message_lines(f: Any, limit: int = 3) -> list[str]:
    """How the text and HTML reports name a finding's messages: a label each, the rest counted."""
    labels = [m.label() for m in f.messages[:limit]]
    if len(f.messages) > limit:
        labels.append(f"and {len(f.messages) - limit} more message(s)")
    return labels


def _summary_row(r: TenantResult) -> dict[str, Any]:
    counts = Counter(f.severity for f in r.findings)
    worst = r.worst
    return {
        "tenant": r.tenant,
        "provider": r.provider,
        "worst": str(worst) if worst is not None else "ok",
        "findings": len(r.findings),
        **{str(s): counts.get(s, 0) for s in _SEVERITIES},
        "checks": ",".join(sorted({f.check for f in r.findings if f.severity >= Severity.WARNING})),
    }


def summary_rows(results: Iterable[TenantResult]) -> Iterator[dict[str, Any]]:
    """One row per tenant (keys :data:`SUMMARY_COLUMNS`): counts per severity, worst, failing checks."""
    for r in results:
        yield _summary_row(r)


@dataclass(slots=True)
class Tally:
    """Counters behind the charts, filled in one pass (memory grows with distinct check ids only)."""

    tenants: int = 0
    findings: int = 0
    by_check: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    by_provider: Counter = field(default_factory=Counter)
    tenants_by_worst: Counter = field(default_factory=Counter)
    spf_lookups: Counter = field(default_factory=Counter)

    def add(self, r: TenantResult) -> None:
        """Count one tenant."""
        self.tenants += 1
        self.findings += len(r.findings)
        self.by_provider[r.provider or "(unknown)"] += 1
        worst = r.worst
        self.tenants_by_worst[str(worst) if worst is not None else "ok"] += 1
        for f in r.findings:
            self.by_check[f.check] += 1
            self.by_severity[str(f.severity)] += 1
        for _domain, n in r.spf_lookups:
            self.spf_lookups[min(n, _SPF_LIMIT + 1)] += 1

    def spf_bars(self) -> list[tuple[str, int]]:
        """Domains per lookup count, 0 to 10 and "11+" (over the RFC 7208 limit)."""
        return [
            (str(n) if n <= _SPF_LIMIT else f"{_SPF_LIMIT + 1}+", self.spf_lookups.get(n, 0))
            for n in range(_SPF_LIMIT + 2)
        ]


def tally(results: Iterable[TenantResult]) -> Tally:
    """Count findings by check, severity, provider and SPF lookups in one pass."""
    t = Tally()
    for r in results:
        t.add(r)
    return t


# ----------------------------------------------------------------------------- CSV / JSONL / text


def write_csv(results: Iterable[TenantResult], fp: IO[str]) -> int:
    """Write the findings table as CSV (header row first); returns the number of rows.

    Records end in CRLF (RFC 4180 §2, the csv module's default): with it the writer quotes a
    cell holding a lone CR (a server's reply, a decoded subject), which with ``"\\n"`` line ends
    Python 3.11 leaves bare and then cannot read back. Every cell a spreadsheet would run as a
    formula (``=``, ``+``, ``-``, ``@``, TAB, CR first) gets a leading ``'``
    (:func:`~mailsupport.csvcells.safe_cell`; :func:`~mailsupport.csvcells.read_csv` reads the
    original values back). Open ``fp`` with ``newline=""``.
    """
    w = csv.writer(fp)
    w.writerow(REPORT_COLUMNS)
    n = 0
    for row in finding_rows(results):
        w.writerow([safe_cell(row[col]) for col in REPORT_COLUMNS])
        n += 1
    return n


def format_csv(results: Iterable[TenantResult]) -> str:
    """The findings table as CSV text."""
    buf = io.StringIO()
    write_csv(results, buf)
    return buf.getvalue()


def write_jsonl(results: Iterable[TenantResult], fp: IO[str]) -> int:
    """Write one JSON object per finding (keys :data:`REPORT_COLUMNS`); returns the count."""
    n = 0
    for row in finding_rows(results):
        fp.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def format_jsonl(results: Iterable[TenantResult]) -> str:
    """The findings table as JSON lines."""
    buf = io.StringIO()
    write_jsonl(results, buf)
    return buf.getvalue()


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def write_text(results: Iterable[TenantResult], fp: IO[str]) -> None:
    """Write the plain-text report: one line per finding (and its remedy), then the per-tenant
    summary and the totals. Streams: the summary is spooled, so memory stays flat."""
    t = Tally()
    fp.write("Findings\n--------\n")
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as summ:
        for r in results:
            t.add(r)
            s = _summary_row(r)
            summ.write(
                f"{_clip(s['tenant'], 20):20}  {_clip(s['provider'], 14):14}  {s['worst']:8}  "
                f"{s['findings']:3} findings  {s['checks']}\n"
            )
            for f, row in _finding_pairs((r,)):
                fp.write(
                    f"{_clip(row['tenant'], 20):20}  {row['severity']:8}  {_clip(row['check'], 32):32}  "
                    f"{_clip(row['subject'], 28):28}  {_clip(row['summary'], 100)}\n"
                )
                for label in _message_lines(f):
                    fp.write(f"{'':20}  {'':8}  message: {_clip(label, 130)}\n")
                if row["remedy"]:
                    fp.write(f"{'':20}  {'':8}  -> {_clip(row['remedy'], 140)}\n")
                if row["fix_new"]:
                    fp.write(
                        f"{'':20}  {'':8}  fix: {_clip(row['fix_where'], 60)}: "
                        f"{_clip(row['fix_current'] or '(nothing)', 60)} => {_clip(row['fix_new'], 120)}\n"
                    )
        if not t.findings:
            fp.write("(none)\n")
        fp.write("\nTenants\n-------\n")
        summ.seek(0)
        for line in summ:
            fp.write(line)
    sev = ", ".join(f"{t.by_severity.get(str(s), 0)} {s}" for s in _SEVERITIES)
    fp.write(f"\n{t.tenants} tenants, {t.findings} findings ({sev})\n")


def format_text(results: Iterable[TenantResult]) -> str:
    """The plain-text report (see :func:`write_text`) as a string."""
    buf = io.StringIO()
    write_text(results, buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0}
td.n{text-align:right}
.sev{font-weight:600;padding:1px 6px;border-radius:3px;white-space:nowrap}
.critical{background:#7b1010;color:#fff}.error{background:#d9534f;color:#fff}
.warning{background:#f0ad4e}.info{background:#d9edf7}.ok{background:#dff0d8}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}
.totals span{margin-right:1.5em}
details summary{cursor:pointer}details table{width:auto;font-size:1em}
@media print{th{position:static}.sev{border:1px solid #000}a[href]::after{content:" (" attr(href) ")"}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def svg_bar_chart(
    title: str, bars: Sequence[tuple[str, int]], *, width: int = 540, highlight: Sequence[str] = ()
) -> str:
    """One horizontal bar chart as inline SVG; labels and title are escaped; ``highlight`` bars are red."""
    bars = list(bars)
    row_h, label_w, top = 18, 260, 26
    height = top + row_h * max(len(bars), 1) + 8
    peak = max((v for _, v in bars), default=0) or 1
    span = width - label_w - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'font-family="sans-serif" font-size="11"><title>{_e(title)}</title>',
        f'<text x="0" y="14" font-size="13" font-weight="bold">{_e(title)}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{top + 12}">(no data)</text>')
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        w = round(span * value / peak)
        colour = "#d9534f" if label in highlight else "#4a7ab5"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{_e(_clip(label, 42))}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w}" height="{row_h - 5}" fill="{colour}"/>'
            f'<text x="{label_w + w + 4}" y="{y + 12}">{int(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _charts(t: Tally) -> str:
    by_check = sorted(t.by_check.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    by_sev = [(str(s), t.by_severity.get(str(s), 0)) for s in _SEVERITIES]
    spf = t.spf_bars()
    return "".join(
        f"<div>{c}</div>"
        for c in (
            svg_bar_chart("Findings by check", by_check),
            svg_bar_chart("Findings by severity", by_sev, highlight=("critical", "error")),
            svg_bar_chart("SPF DNS lookups per domain (limit 10)", spf, highlight=(spf[-1][0],)),
            svg_bar_chart("Tenants by provider", sorted(t.by_provider.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
    )


def _evidence_cell(f: Any, row: dict[str, str]) -> str:
    """The evidence (and the fix step's values) folded in a ``<details>`` that says how much is inside."""
    pairs = list(f.evidence)
    if row["fix_new"]:
        pairs += [
            ("fix: where", row["fix_where"]),
            ("fix: now", row["fix_current"] or "(nothing)"),
            ("fix: change to", row["fix_new"]),
        ]
    if not pairs:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<details><summary>{len(pairs)} items</summary><table>{rows}</table></details>"


def _finding_tr(f: Any, row: dict[str, str], messages: Sequence[str] = ()) -> str:
    sev = row["severity"]
    where = "<br>".join(_e(label) for label in messages)
    return (
        f"<tr><td>{_e(row['tenant'])}</td><td><code>{_e(row['check'])}</code></td>"
        f'<td><span class="sev {_e(sev)}">{_e(sev)}</span></td><td>{_e(row["subject"])}</td>'
        f"<td>{_e(row['summary'])}</td><td>{_e(row['remedy'])}</td><td>{_evidence_cell(f, row)}</td>"
        f"<td>{where}</td></tr>\n"
    )


def _summary_tr(s: dict[str, Any], link: str | None = None) -> str:
    name = _e(s["tenant"])
    if link:
        name = f'<a href="{_e(link)}">{name}</a>'
    return (
        f"<tr><td>{name}</td><td>{_e(s['provider'])}</td>"
        f'<td><span class="sev {_e(s["worst"])}">{_e(s["worst"])}</span></td>'
        + "".join(f'<td class="n">{int(s[c])}</td>' for c in ("findings", "critical", "error", "warning", "info"))
        + f"<td>{_e(s['checks'])}</td></tr>\n"
    )


def write_html(
    results: Iterable[TenantResult],
    fp: IO[str],
    *,
    title: str = "mailsupport report",
    sections: Sequence[Section] = (),
    link_for: Callable[[TenantResult], str | None] | None = None,
) -> None:
    """Write a self-contained HTML report: totals, four charts (only for more than one tenant),
    ``sections``, summary, findings (evidence folded).

    ``link_for`` gives a tenant's fix report page (a relative path) to link its name to.
    One pass over ``results``: table rows are spooled to temporary files (in memory while
    small) so memory stays flat however many tenants there are.
    """
    t = Tally()
    with (
        tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8") as rows,
        tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as summ,
    ):
        for r in results:
            t.add(r)
            summ.write(_summary_tr(_summary_row(r), link_for(r) if link_for is not None else None))
            for f, row in _finding_pairs((r,)):
                rows.write(_finding_tr(f, row, _message_lines(f, limit=5)))
        fp.write(
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n<h1>{_e(title)}</h1>\n"
        )
        sev = "".join(
            f'<span><span class="sev {s}">{s}</span> {t.by_severity.get(str(s), 0)}</span>' for s in _SEVERITIES
        )
        fp.write(f'<p class="totals"><span>{t.tenants} tenants</span><span>{t.findings} findings</span>{sev}</p>\n')
        if t.tenants > 1:  # charts compare tenants: a single tenant's report has none
            fp.write(f'<h2>Charts</h2><div class="charts">{_charts(t)}</div>\n')
        for heading, fragment in sections:
            fp.write(f"<h2>{_e(heading)}</h2>\n<div>{fragment}</div>\n")
        fp.write(
            "<h2>Tenants</h2>"
            + (
                "<p>Each tenant's name opens its fix report: numbered steps for the customer's IT contact.</p>"
                if link_for is not None
                else ""
            )
            + "<table><thead><tr>"
            + "".join(
                f"<th>{c}</th>"
                for c in (
                    "tenant",
                    "provider",
                    "worst",
                    "findings",
                    "critical",
                    "error",
                    "warning",
                    "info",
                    "failing checks",
                )
            )
            + "</tr></thead><tbody>\n"
        )
        summ.seek(0)
        for line in summ:
            fp.write(line)
        fp.write(
            "</tbody></table>\n<h2>Findings</h2><table><thead><tr>"
            + "".join(f"<th>{c}</th>" for c in (*REPORT_COLUMNS[:6], "evidence", "message"))
            + "</tr></thead><tbody>\n"
        )
        rows.seek(0)
        for line in rows:
            fp.write(line)
        fp.write("</tbody></table>\n</body></html>\n")


def render_html(
    results: Iterable[TenantResult],
    *,
    title: str = "mailsupport report",
    sections: Sequence[Section] = (),
    link_for: Callable[[TenantResult], str | None] | None = None,
) -> str:
    """The HTML report (see :func:`write_html`) as a string."""
    buf = io.StringIO()
    write_html(results, buf, title=title, sections=sections, link_for=link_for)
    return buf.getvalue()


# ----------------------------------------------------------------------------- frames and figures


def findings_frame(results: Iterable[TenantResult]):
    """The findings table as a pandas DataFrame (columns :data:`REPORT_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame(list(finding_rows(results)), columns=list(REPORT_COLUMNS))


def summary_frame(results: Iterable[TenantResult]):
    """The per-tenant summary as a pandas DataFrame (columns :data:`SUMMARY_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame(list(summary_rows(results)), columns=list(SUMMARY_COLUMNS))


def plot_report(results: Iterable[TenantResult]):
    """The report's four charts as one matplotlib ``Figure`` (for notebooks)."""
    from matplotlib.figure import Figure

    from .charts import finish_axes, top_of

    t = tally(results)
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    checks = sorted(t.by_check.items(), key=lambda kv: (-kv[1], kv[0]))
    spf = t.spf_bars()
    data = (  # title, bars, x label, y label, bars drawn red
        (
            f"Findings by check ({top_of(min(20, len(checks)), len(checks), 'checks')})",
            checks[:20],
            "findings",
            "check",
            (),
        ),
        (
            "Findings by severity",
            [(str(s), t.by_severity.get(str(s), 0)) for s in _SEVERITIES],
            "findings",
            "severity",
            ("critical", "error"),
        ),
        ("SPF DNS lookups per domain (RFC 7208 limit: 10)", spf, "domains", "DNS lookups", (spf[-1][0],)),
        ("Tenants by provider", sorted(t.by_provider.items()), "tenants", "provider", ()),
    )
    for ax, (name, bars, xlabel, ylabel, red) in zip(axes.flat, data):
        labels = [b[0] for b in bars]
        ax.barh(range(len(bars)), [b[1] for b in bars], color=["#d9534f" if b[0] in red else "#4a7ab5" for b in bars])
        ax.set_yticks(range(len(bars)), labels)
        ax.invert_yaxis()
        ax.set_title(name)
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, count_axis="x", legend=False)
    return fig
