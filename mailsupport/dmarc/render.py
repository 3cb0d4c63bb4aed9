"""Rendering of DMARC results and evidence: JSON-ready dicts, plain text, HTML for Jupyter.

Every dynamic value in the HTML goes through :func:`html.escape` (records, header values
and message fields are customer-controlled text). Pure string building: imports only the
standard library and the dmarc value types.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .check import DmarcCheck
    from .evidence import EvidenceTable
    from .findings import PathVerdict

__all__ = [
    "check_to_dict",
    "check_to_text",
    "check_to_html",
    "evidence_to_dict",
    "evidence_to_text",
    "evidence_to_html",
]


def _verdict_dict(v: PathVerdict) -> dict[str, Any]:
    o = v.outcome
    return {
        "path": v.path.kind,
        "label": v.path.label,
        "mail_from_domain": v.path.mail_from_domain,
        "spf": {
            "result": v.spf_result,
            "ips": dict(v.spf_ips),
            "domain_aligned": v.spf_domain_aligned,
            "aligned_pass": bool(o and o.spf_aligned),
            "record": v.spf_record,
            "suggestion": v.spf_suggestion,
        },
        "dkim": [
            {
                "selector": i.selector,
                "domain": i.domain,
                "name": k.name,
                "status": k.status,
                "cname": k.cname,
                "bits": k.bits,
                "problem": k.problem,
            }
            for i, k in zip(v.path.dkim, v.keys)
        ],
        "dkim_aligned": bool(o and o.dkim_aligned),
        "dmarc": v.dmarc,
        "policy": o.policy if o else None,
        "disposition": o.disposition if o else None,
        "reason": o.reason if o else "",
    }


def check_to_dict(check: DmarcCheck) -> dict[str, Any]:
    """The CLI's JSON object for one domain."""
    p = check.policy
    return {
        "domain": check.domain,
        "org_domain": p.org_domain,
        "location": p.location or None,
        "records": list(p.records),
        "policy": p.policy,
        "status": p.status,
        "paths": [_verdict_dict(v) for v in check.verdicts],
        "findings": [
            {"check": f.check, "severity": str(f.severity), "summary": f.summary, "remedy": f.remedy}
            for f in check.findings
        ],
        "fixes": [s.to_dict() for s in check.fixes],
    }


def _verdict_lines(v: PathVerdict) -> list[str]:
    o = v.outcome
    lines = [f"  path: {v.path.label}"]
    spf = v.spf_result or "not evaluated (no sending IP known: give --ip)"
    lines.append(
        f"    SPF: {spf} at MAIL FROM {v.path.mail_from_domain} "
        f"({'aligned' if v.spf_domain_aligned else 'NOT aligned'} with {v.path.from_domain})"
        + (f" - IPs {', '.join(f'{ip}={r}' for ip, r in v.spf_ips)}" if v.spf_ips else "")
    )
    if not v.path.dkim:
        lines.append("    DKIM: no selector known (name it with --selector or sending.own_dkim_selectors)")
    for ident, key in zip(v.path.dkim, v.keys):
        extra = f" -> {key.cname}" if key.cname else ""
        size = f", {key.key_type} {key.bits} bits" if key.bits else ""
        lines.append(
            f"    DKIM: d={ident.domain} s={ident.selector}: {key.status}{size} ({key.name}{extra})"
            + (f" - {key.problem}" if key.problem else "")
        )
    if o is None:
        lines.append("    DMARC: unknown (depends on the SPF of a server whose address is not known)")
    else:
        lines.append(f"    DMARC: {o.result} ({o.reason})" + (f"; policy p={o.policy}" if o.policy else ""))
    return lines


def check_to_text(check: DmarcCheck) -> str:
    """A plain-text report for one domain."""
    p = check.policy
    lines = [f"DMARC for {check.domain} (organisational domain {p.org_domain}; answers from {check.source})"]
    if p.records:
        lines += [f"  record at {p.location}: {r}" for r in p.records]
    else:
        lines.append(f"  record: (none; asked {', '.join(p.asked)})")
    lines.append(f"  policy applied: {p.policy or 'none'} ({p.status})")
    for v in check.verdicts:
        lines += _verdict_lines(v)
    for f in check.findings:
        lines.append(f"  [{f.severity}] {f.check}: {f.summary}")
        if f.remedy:
            lines.append(f"      fix: {f.remedy}")
        if f.detail:
            lines.extend("      " + d for d in f.detail.splitlines())
    if check.fixes:
        lines.append("  records to publish:")
        lines += [f"    - {s.describe()}" + (f"  [check: {s.verify}]" if s.verify else "") for s in check.fixes]
    return "\n".join(lines)


def _colour(result: str) -> str:
    return {"pass": "#070", "none": "#888", "unknown": "#888"}.get(result, "#b00")


def check_to_html(check: DmarcCheck) -> str:
    """HTML for Jupyter: per-path table, findings, fix steps (all escaped)."""
    p = check.policy
    recs = "".join(f"<li><code>{escape(r)}</code></li>" for r in p.records) or "<li>(no DMARC record)</li>"
    rows = []
    for v in check.verdicts:
        keys = (
            "<br>".join(
                f"{escape(k.name)}: {escape(k.status)}" + (f" ({k.bits} bits)" if k.bits else "") for k in v.keys
            )
            or "(no selector known)"
        )
        o = v.outcome
        rows.append(
            f"<tr><td>{escape(v.path.label)}</td><td>{escape(v.spf_result or 'not evaluated')} at "
            f"<code>{escape(v.path.mail_from_domain)}</code>, {'aligned' if v.spf_domain_aligned else 'not aligned'}"
            f'</td><td>{keys}</td><td style="color:{_colour(v.dmarc)}"><b>{escape(v.dmarc)}</b>'
            f"<br><small>{escape(o.reason if o else '')}</small></td></tr>"
        )
    paths = "<table><tr><th>path</th><th>SPF</th><th>DKIM</th><th>DMARC</th></tr>" + "".join(rows) + "</table>"
    frows = "".join(
        f"<tr><td>{escape(str(f.severity))}</td><td><code>{escape(f.check)}</code></td>"
        f"<td>{escape(f.summary)}</td><td>{escape(f.remedy)}</td></tr>"
        for f in check.findings
    )
    findings = (
        f"<table><tr><th>severity</th><th>check</th><th>summary</th><th>remedy</th></tr>{frows}</table>"
        if frows
        else "<p>No findings.</p>"
    )
    fixes = ""
    if check.fixes:
        items = "".join(
            f"<tr><td><code>{escape(s.host)}</code></td><td>{escape(s.rtype)}</td>"
            f"<td><code>{escape(s.current or '(nothing)')}</code></td><td><code>{escape(s.new)}</code></td>"
            f"<td>{escape(s.why)}</td><td><code>{escape(s.verify)}</code></td></tr>"
            for s in check.fixes
        )
        fixes = (
            "<p><b>Records to publish</b></p><table><tr><th>host</th><th>type</th><th>now</th><th>publish</th>"
            f"<th>why</th><th>check with</th></tr>{items}</table>"
        )
    return (
        f'<div class="mailsupport-dmarc"><h4>DMARC for {escape(check.domain)}: policy '
        f"<code>{escape(p.policy or 'none')}</code></h4><ul>{recs}</ul>{paths}{findings}{fixes}</div>"
    )


def evidence_to_dict(table: EvidenceTable) -> list[dict[str, Any]]:
    """One dict per message (the JSON of ``mailsupport dmarc --sample``)."""
    return [row.to_dict() for row in table.rows]


def evidence_to_text(table: EvidenceTable) -> str:
    """The evidence table as text: per message, what the receiver computed and what the kit computes now."""
    lines = [f"Evidence from {table.source}: {len(table.rows)} messages (DNS answers from {table.dns_source})"]
    for r in table.rows:
        lines.append(f"  {r.position}: From {r.from_domain or '?'} MAIL FROM {r.mail_from_domain or '?'}")
        lines.append(
            f"    receiver ({r.receiver or 'no Authentication-Results'}): spf={r.receiver_spf or '-'} "
            f"dkim={r.receiver_dkim or '-'} dmarc={r.receiver_dmarc or '-'}"
        )
        lines.append(
            f"    kit now: spf={r.kit_spf or '-'} dkim={r.kit_dkim or '-'} dmarc={r.kit_dmarc or '-'}"
            + (f" ({r.kit_reason})" if r.kit_reason else "")
        )
        if r.note:
            lines.append(f"    note: {r.note}")
    return "\n".join(lines)


def evidence_to_html(table: EvidenceTable) -> str:
    """The evidence table as HTML (escaped)."""
    head = (
        "<tr><th>message</th><th>From</th><th>receiver</th><th>receiver spf / dkim / dmarc</th>"
        "<th>kit spf / dkim / dmarc now</th><th>note</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(r.position)}</td><td>{escape(r.from_domain)}</td><td>{escape(r.receiver)}</td>"
        f"<td>{escape(r.receiver_spf or '-')} / {escape(r.receiver_dkim or '-')} / {escape(r.receiver_dmarc or '-')}</td>"
        f"<td>{escape(r.kit_spf or '-')} / {escape(r.kit_dkim or '-')} / "
        f'<b style="color:{_colour(r.kit_dmarc)}">{escape(r.kit_dmarc or "-")}</b></td>'
        f"<td>{escape(r.note)}</td></tr>"
        for r in table.rows
    )
    return (
        f'<div class="mailsupport-dmarc-evidence"><h4>Authentication evidence: {escape(table.source)}</h4>'
        f"<table>{head}{rows}</table></div>"
    )
