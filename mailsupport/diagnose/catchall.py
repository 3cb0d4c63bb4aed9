"""Catch-all header choice: which envelope header routes a sample's messages to real targets.

For every candidate header of :data:`~mailsupport.config.CATCH_ALL_HEADERS` and every message
of a sample this module asks: does the receiving side's copy of the header exist (above the
topmost ``Received``, :mod:`mailsupport.headers`), and where would the product file the
message if it routed by that header (:func:`~mailsupport.addresses.classify_address`): a real
target (matter, alias, user), the catch-all mailbox itself, or failed mail? Copies of the
header below the provider's own ``Received`` were written by an earlier hop or the sender and
are counted as *sender-written* (forgeable, never used for routing).

Checks (:data:`CATCHALL_CHECKS`): ``catchall.header-choice``, ``catchall.header-missing``,
``catchall.header-forgeable``. Facts: ``shared/facts/provider-facts.md`` §1.

Layer 4: imports the pure core only; must not import clients, the sandbox or presentation.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from ..addresses import TargetKind, classify_address
from ..config import CATCH_ALL_HEADERS, Tenant
from ..headers import MessageSummary, recipients_for
from ..model import Finding, Severity

__all__ = ["CATCHALL_CHECKS", "HeaderRow", "CatchAllReport", "diagnose_catch_all", "SERVER_FIXES",
           "TABLE_COLUMNS"]

#: Check id -> one-line meaning.
CATCHALL_CHECKS = {
    "catchall.header-choice": "which envelope header to route the catch-all mailbox by, and which messages each other choice misroutes",
    "catchall.header-missing": "messages that lack the chosen header, or no header routes the sample at all (change the mail server)",
    "catchall.header-forgeable": "the header also appears below the provider's own Received line, where the sender could have written it",
}

#: Columns of the per-header table.
TABLE_COLUMNS = ("header", "carries", "real_target", "mailbox", "failed", "missing", "sender_written")

#: What to change on the server so a usable header appears, by delivering system (facts §1).
SERVER_FIXES = {
    "postfix": "Postfix: keep enable_original_recipient = yes (X-Original-To, the address as sent) "
               "and deliver with local(8)/virtual(8); behind LMTP set Dovecot "
               "lmtp_hdr_delivery_address = original with one recipient per transaction",
    "exim": "Exim: set envelope_to_add = true on the local delivery transport (Envelope-to)",
    "qmail": "qmail: Delivered-To carries the local part prefixed for virtual domains; "
             "strip the prefix (fetchmail qvirtual) or map the virtual domain to a user per address",
    "gmail": "Google Workspace: in the Default routing rule for the catch-all, tick "
             "'Add X-Gm-Original-To header' and choose X-Gm-Original-To",
    "exchange": "Exchange/Office 365 does not keep the envelope recipient in delivered mail "
                "(X-MS-Exchange-Organization-* headers are stripped, MS-OXCMAIL §2.2.3.2.28): "
                "add a transport rule that stamps the recipient, or host the catch-all elsewhere",
    "other": "make the server that delivers into the mailbox add the envelope recipient "
             "(X-Original-To / Delivered-To / Envelope-To) above its own Received line",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderRow:
    """One candidate header over the whole sample (see :data:`TABLE_COLUMNS`).

    ``carries``: messages whose receiving side wrote it; ``real_target``/``mailbox``/``failed``:
    where routing by it would file those messages; ``missing``: messages without a trusted
    copy (they would go to failed mail); ``sender_written``: messages with a copy below the
    topmost Received; ``misrouted``: positions of messages it would not file to a real target.
    """

    header: str
    carries: int
    real_target: int
    mailbox: int
    failed: int
    missing: int
    sender_written: int
    misrouted: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the table columns and the misrouted messages."""
        d = {c: getattr(self, c) for c in TABLE_COLUMNS}
        d["misrouted"] = list(self.misrouted)
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class CatchAllReport:
    """The per-header table, the recommended header (``None`` = none works) and the findings."""

    total: int
    rows: tuple[HeaderRow, ...]
    recommended_header: str | None
    current_header: str | None
    provider: str
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``recommended_header``, ``headers`` (the table) and ``findings``."""
        return {
            "total": self.total,
            "recommended_header": self.recommended_header,
            "current_header": self.current_header,
            "provider": self.provider,
            "headers": [r.to_dict() for r in self.rows],
            "findings": [f.to_dict() for f in self.findings],
        }

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in TABLE_COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(getattr(r, c)))}</td>" for c in TABLE_COLUMNS) + "</tr>"
            for r in self.rows)
        rec = html.escape(self.recommended_header or "none works")
        return (f"<p>Recommended header: <b>{rec}</b> ({self.total} messages)</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _outcome(tenant: Tenant, addresses: tuple[str, ...]) -> str:
    kinds = [classify_address(tenant, a).kind for a in addresses]
    if any(k.is_real_target for k in kinds):
        return "real"
    if any(k is TargetKind.MAILBOX for k in kinds):
        return "mailbox"
    return "failed"


def _label(s: MessageSummary) -> str:
    return s.position if not s.message_id else f"{s.position} {s.message_id}"


def _list(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def diagnose_catch_all(summaries: Iterable[MessageSummary], tenant: Tenant) -> CatchAllReport:
    """Build the per-header table for a catch-all sample and the three catch-all findings."""
    stats = {h: Counter() for h in CATCH_ALL_HEADERS}
    misrouted: dict[str, list[str]] = {h: [] for h in CATCH_ALL_HEADERS}
    forged: dict[str, list[str]] = {h: [] for h in CATCH_ALL_HEADERS}
    absent: dict[str, list[str]] = {h: [] for h in CATCH_ALL_HEADERS}
    providers: Counter[str] = Counter()
    total = 0
    for s in summaries:
        if s.problems and not s.candidates and not s.message_id:
            continue  # unreadable: nothing to route
        total += 1
        providers[s.provider] += 1
        for h in CATCH_ALL_HEADERS:
            st = stats[h]
            if any(not ev.trusted and ev.header == h for ev in s.candidates):
                st["sender_written"] += 1
                forged[h].append(_label(s))
            addrs = recipients_for(s.candidates, h)
            if not addrs:
                st["missing"] += 1
                misrouted[h].append(_label(s))
                absent[h].append(_label(s))
                continue
            st["carries"] += 1
            outcome = _outcome(tenant, addrs)
            st[outcome] += 1
            if outcome != "real":
                misrouted[h].append(_label(s))
    rows = tuple(HeaderRow(header=h, carries=stats[h]["carries"], real_target=stats[h]["real"],
                           mailbox=stats[h]["mailbox"], failed=stats[h]["failed"],
                           missing=stats[h]["missing"], sender_written=stats[h]["sender_written"],
                           misrouted=tuple(misrouted[h]))
                 for h in CATCH_ALL_HEADERS)
    provider = providers.most_common(1)[0][0] if providers else "other"
    best = max(rows, key=lambda r: (r.real_target, -r.failed, -CATCH_ALL_HEADERS.index(r.header)))
    recommended = best.header if best.real_target > 0 else None
    current = tenant.inbound.catch_all_header if tenant.inbound else None
    findings = _findings(total, rows, recommended, current, provider, forged, absent)
    return CatchAllReport(total=total, rows=rows, recommended_header=recommended,
                          current_header=current, provider=provider, findings=tuple(findings))


def _findings(total: int, rows: tuple[HeaderRow, ...], recommended: str | None, current: str | None,
              provider: str, forged: dict[str, list[str]], absent: dict[str, list[str]]) -> list[Finding]:
    by_name = {r.header.lower(): r for r in rows}
    subject = "catch-all mailbox"
    out: list[Finding] = []
    fix = SERVER_FIXES.get(provider, SERVER_FIXES["other"])
    if total == 0:
        return out
    if recommended is None:
        out.append(Finding(
            check="catchall.header-missing", severity=Severity.ERROR, subject=subject,
            summary=f"No candidate header routes any of the {total} messages to a matter, alias or user.",
            remedy=fix, reference="docs/provider-facts.md §1",
            detail="Every header is missing, names only the catch-all mailbox, or names unknown addresses.",
            evidence=tuple((r.header, f"carries {r.carries}, mailbox {r.mailbox}, failed {r.failed}")
                           for r in rows)))
        return out
    best = by_name[recommended.lower()]
    cur = by_name.get((current or "").lower())
    others = tuple((r.header, f"misroutes {len(r.misrouted)}: {_list(r.misrouted, 5)}")
                   for r in rows if r.header != recommended and r.misrouted)
    if cur is None or cur.header == recommended:
        sev = Severity.INFO if best.real_target == total else Severity.WARNING
        summary = (f"{recommended} routes {best.real_target} of {total} messages to a real target"
                   + (" (the tenant's current setting)." if cur is not None else "."))
        remedy = "" if cur is not None else f"Set the catch-all header to {recommended}."
    else:
        sev = Severity.ERROR if cur.real_target < best.real_target else Severity.WARNING
        summary = (f"The tenant routes by {cur.header}, which files {cur.real_target} of {total} messages "
                   f"to a real target; {recommended} files {best.real_target}.")
        remedy = f"Change the catch-all header from {cur.header} to {recommended}."
    out.append(Finding(
        check="catchall.header-choice", severity=sev, subject=subject, summary=summary, remedy=remedy,
        reference="docs/provider-facts.md §1",
        detail=(f"Messages {recommended} does not file to a real target: {_list(best.misrouted)}"
                if best.misrouted else f"{recommended} files every message of the sample."),
        evidence=(("recommended", recommended), ("current", current or "")) + others))
    if best.missing:
        out.append(Finding(
            check="catchall.header-missing", severity=Severity.WARNING, subject=subject,
            summary=f"{best.missing} of {total} messages have no {recommended} written by the receiving server.",
            remedy=f"These go to failed mail. {fix}.",
            detail=f"Messages without it: {_list(absent[recommended])}",
            evidence=(("header", recommended), ("missing", str(best.missing)))))
    suspicious = forged.get(recommended, [])
    if suspicious:
        out.append(Finding(
            check="catchall.header-forgeable", severity=Severity.WARNING, subject=subject,
            summary=(f"{len(suspicious)} message(s) carry {recommended} below the provider's own Received "
                     f"line, where an earlier hop or the sender wrote it."),
            remedy=(f"Route only by the topmost {recommended} (above the first Received line, as this kit "
                    f"does); never by any copy of it, or a sender can file mail anywhere."),
            detail=f"Messages: {_list(suspicious)}",
            reference="RFC 5321 §4.4 (trace headers are prepended)",
            evidence=(("header", recommended), ("messages", str(len(suspicious))))))
    return out
