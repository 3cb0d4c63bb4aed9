"""Rendering of SPF results: JSON-ready dicts, plain text, and HTML for Jupyter.

Every dynamic value in the HTML goes through :func:`html.escape` (records and TXT answers
are customer-controlled text). The trace tree is a nest of ``<details>`` elements, open
along the path that decided the verdict. Pure string building: imports only the standard library
and the spf types.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from ..trace import QueryTrace, RecordTrace, TermTrace

if TYPE_CHECKING:  # pragma: no cover
    from .check import SpfCheck

__all__ = ["trace_to_dict", "trace_to_text", "trace_to_html", "check_to_dict", "check_to_text", "check_to_html"]


def _query_dict(q: QueryTrace | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {"name": q.name, "type": q.rdtype, "outcome": q.outcome, "records": list(q.records)}


def trace_to_dict(node: RecordTrace | None) -> dict[str, Any] | None:
    """A nested JSON-ready dict of a record trace."""
    if node is None:
        return None
    return {
        "domain": node.domain,
        "record": node.record,
        "query": _query_dict(node.query),
        "result": node.result,
        "decided_by": node.decided_by,
        "error": node.error,
        "evaluated": node.evaluated,
        "terms": [
            {
                "term": t.term,
                "cost": t.cost,
                "lookups": t.lookups,
                "void": t.void,
                "queries": [_query_dict(q) for q in t.queries],
                "outcome": t.outcome,
                "result": t.result,
                "note": t.note,
                "over_limit": t.over_limit,
                "evaluated": t.evaluated,
                "child": trace_to_dict(t.child),
            }
            for t in node.terms
        ],
    }


def _term_line(t: TermTrace) -> str:
    bits = [t.term]
    if t.cost:
        bits.append(f"[+{t.cost}, total {t.lookups}]")
    bits.append(t.outcome or "")
    if t.result and t.outcome == "match":
        bits.append(f"-> {t.result}")
    if t.void:
        bits.append("(void)")
    if t.over_limit:
        bits.append("<< OVER THE LIMIT")
    if t.note:
        bits.append(f"- {t.note}")
    return " ".join(b for b in bits if b)


def trace_to_text(node: RecordTrace | None, indent: int = 0) -> str:
    """The trace as an indented text tree."""
    if node is None:
        return ""
    pad = "  " * indent
    head = f"{pad}{node.domain}: {node.record!r}" if node.record is not None else f"{pad}{node.domain}: (no record)"
    if node.result:
        head += f" => {node.result}" + (f" by {node.decided_by}" if node.decided_by else "")
    if node.error:
        head += f" [{node.error}]"
    lines = [head]
    for t in node.terms:
        lines.append(f"{pad}  {_term_line(t)}")
        for q in t.queries:
            lines.append(f"{pad}      ? {q.describe()}")
        if t.child is not None:
            lines.append(trace_to_text(t.child, indent + 2))
    return "\n".join(lines)


def _html_term(t: TermTrace) -> str:
    cls = "spf-over" if t.over_limit else ("spf-match" if t.outcome == "match" else "")
    style = (
        "color:#b00;font-weight:bold"
        if t.over_limit
        else ("color:#070" if t.outcome == "match" else "color:#888" if not t.evaluated else "")
    )
    queries = "".join(f"<li><code>{escape(q.describe())}</code></li>" for q in t.queries)
    body = f"<ul>{queries}</ul>" if queries else ""
    if t.child is not None:
        body += trace_to_html(t.child, open_=t.outcome in ("match", "error") or t.over_limit)
    label = f"<code>{escape(_term_line(t))}</code>"
    if not body:
        return f'<li class="{cls}" style="{style}">{label}</li>'
    return (
        f'<li class="{cls}" style="{style}"><details{" open" if t.over_limit or t.outcome == "error" else ""}>'
        f"<summary>{label}</summary>{body}</details></li>"
    )


def trace_to_html(node: RecordTrace | None, *, open_: bool = True) -> str:
    """The trace as nested ``<details>`` (escaped)."""
    if node is None:
        return "<p>(no trace)</p>"
    record = escape(node.record) if node.record is not None else "(no SPF record)"
    summary = f"<b>{escape(node.domain)}</b>: <code>{record}</code>"
    if node.result:
        summary += f" &rArr; <b>{escape(node.result)}</b>"
        if node.decided_by:
            summary += f" by <code>{escape(node.decided_by)}</code>"
    if node.error:
        summary += f' <span style="color:#b00">{escape(node.error)}</span>'
    terms = "".join(_html_term(t) for t in node.terms)
    query = f"<div><code>{escape(node.query.describe())}</code></div>" if node.query else ""
    return (
        f'<details class="spf-record"{" open" if open_ else ""}><summary>{summary}</summary>'
        f'{query}<ul style="list-style:none;margin-left:1em">{terms}</ul></details>'
    )


def check_to_dict(check: SpfCheck) -> dict[str, Any]:
    """The CLI's JSON object for one domain."""
    return {
        "domain": check.domain,
        "records": list(check.records),
        "verdict": check.verdict,
        "verdicts": {ip: r for ip, r in check.verdicts},
        "dns_lookups": check.dns_lookups,
        "void_lookups": check.void_lookups,
        "findings": [
            {"check": f.check, "severity": str(f.severity), "summary": f.summary, "remedy": f.remedy}
            for f in check.findings
        ],
        "suggested_record": check.suggested_record,
        "suggestion": {
            "changes": list(check.suggestion_changes),
            "dns_lookups": check.suggestion_lookups,
            "verdict": check.suggestion_verdict,
        }
        if check.suggested_record
        else None,
        "trace": trace_to_dict(check.trace),
    }


def check_to_text(check: SpfCheck) -> str:
    """A plain-text report for one domain."""
    lines = [f"SPF for {check.domain} (vendor include {check.vendor_include}; answers from {check.source})"]
    if check.records:
        lines += [f"  record: {r}" for r in check.records]
    else:
        lines.append("  record: (none)")
    lines.append(f"  verdict: {check.verdict} " + ", ".join(f"{ip}={r}" for ip, r in check.verdicts))
    lines.append(f"  DNS lookups: {check.dns_lookups}/10, void lookups: {check.void_lookups}/2")
    for f in check.findings:
        lines.append(f"  [{f.severity}] {f.check}: {f.summary}")
        if f.remedy:
            lines.append(f"      fix: {f.remedy}")
        if f.detail:
            lines.extend("      " + d for d in f.detail.splitlines())
    if check.suggested_record:
        lines.append(f"  suggested record: {check.suggested_record}")
        n = check.suggestion_lookups
        lines.append(
            f"      ({'; '.join(check.suggestion_changes)}; {n} lookup{'' if n == 1 else 's'}; "
            f"vendor IPs: {check.suggestion_verdict})"
        )
    if check.trace is not None:
        lines.append("  trace:")
        lines.append(trace_to_text(check.trace, 2))
    return "\n".join(lines)


def check_to_html(check: SpfCheck) -> str:
    """HTML for Jupyter: summary table, findings, suggestion, collapsible trace (all escaped)."""
    colour = {"pass": "#070"}.get(check.verdict, "#b00")
    recs = "".join(f"<li><code>{escape(r)}</code></li>" for r in check.records) or "<li>(none)</li>"
    verdicts = ", ".join(f"{escape(ip)}: {escape(r)}" for ip, r in check.verdicts)
    rows = "".join(
        f"<tr><td>{escape(str(f.severity))}</td><td><code>{escape(f.check)}</code></td>"
        f"<td>{escape(f.summary)}</td><td>{escape(f.remedy)}</td></tr>"
        for f in check.findings
    )
    findings = (
        f"<table><tr><th>severity</th><th>check</th><th>summary</th><th>remedy</th></tr>{rows}</table>"
        if rows
        else "<p>No findings.</p>"
    )
    suggestion = ""
    if check.suggested_record:
        suggestion = (
            f"<p><b>Suggested record</b> ({escape(str(check.suggestion_lookups))} lookups, vendor IPs: "
            f"{escape(str(check.suggestion_verdict))}):<br><code>{escape(check.suggested_record)}</code>"
            f"<br><small>{escape('; '.join(check.suggestion_changes))}</small></p>"
        )
    return (
        f'<div class="mailsupport-spf"><h4>SPF for {escape(check.domain)}: '
        f'<span style="color:{colour}">{escape(check.verdict)}</span></h4>'
        f"<p>{verdicts}</p><ul>{recs}</ul>"
        f"<p>DNS lookups {check.dns_lookups}/10, void lookups {check.void_lookups}/2 "
        f"(vendor include <code>{escape(check.vendor_include)}</code>)</p>"
        f"{findings}{suggestion}{trace_to_html(check.trace)}</div>"
    )
