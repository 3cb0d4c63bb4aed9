"""Catch-all header choice: which envelope header routes a sample's messages to real targets.

For every candidate header of :data:`~mailsupport.tenant.CATCH_ALL_HEADERS` and every message
of a sample this module asks: does the receiving side's copy of the header exist (above the
receiving chain's entry hop, or the ``for`` clause of one of the chain's hops:
:mod:`mailsupport.chain`, the same walk the scan and the router use), and where would the
product file the message if it routed by that header
(:func:`~mailsupport.addresses.classify_address`): a real target (matter, alias, user), the
catch-all mailbox itself, or failed mail? Copies below the entry hop were written by the
sending side and are counted as *sender-written* for every header; a message whose only copy
is sender-written is *sender-only*: a router that takes the first copy would file it wherever
the sender chose. A header with sender-only messages is never recommended.

Checks (:data:`CATCHALL_CHECKS`): ``catchall.header-choice``, ``catchall.header-missing``,
``catchall.header-forgeable``. Every finding names its messages
(:class:`~mailsupport.model.MessageRef`). Facts: ``docs/provider-facts.md`` §1.

Fix steps (:attr:`CatchAllReport.fixes`): the header to select in Email Setup's Catch-All
Header field (current next to recommended, the per-header counts as evidence, the messages the
current header misroutes named), or, when no header routes the sample (or the recommended one
is missing on some messages), what to change on the mail server that delivers into the
mailbox (:data:`SERVER_FIXES`).

Layer 4: imports the pure core only; must not import clients, the sandbox or presentation.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..addresses import TargetKind, classify_address
from ..fixes import ORDER_ROUTING, FixStep
from ..headers import MessageSummary, recipients_for
from ..model import Finding, MessageRef, Severity
from ..tenant import CATCH_ALL_HEADERS, Tenant

__all__ = [
    "CATCHALL_CHECKS",
    "HeaderRow",
    "CatchAllReport",
    "diagnose_catch_all",
    "SERVER_FIXES",
    "TABLE_COLUMNS",
    "MAX_REFS",
]

#: Check id -> one-line meaning.
CATCHALL_CHECKS = {
    "catchall.header-choice": "which envelope header to route the catch-all mailbox by, and which messages each other choice misroutes",
    "catchall.header-missing": "messages that lack the chosen header, or no header routes the sample at all (change the mail server)",
    "catchall.header-forgeable": "a header also appears below the receiving chain's entry hop, where the sender wrote it (worse when only the sender's copy exists)",
}

#: How the catch-all diagnosis decides who wrote a header (Markdown; ``docs/checks.md`` prints it
#: under the check table, :mod:`mailsupport.checks`).
CATCHALL_NOTE = """\
**The receiving chain.** Every mail server prepends its own `Received` field, so read from the top
the fields go back in time: first the hops the receiving organisation added (the mailbox store,
content filters, the provider's internal relays), then the **entry hop**, the first whose `from`
side is outside (the receiving edge's record of the client that handed the message over), then
whatever the sending side wrote. A delivery header above the entry hop, and the `for` clause of
any hop down to and including it, were written by the receiving side; anything below the entry
hop is *sender-written*. The scan, every diagnosis and the router use the same walk
(`mailsupport.chain`), and `mailsupport diagnose --mx-host` adds the tenant's own gateways to it.

A real Gmail message (`data/samples/real/mailpit__testdata__plain-text.eml`, shortened):

```
Delivered-To: recipient@example.com                     receiving side (above the entry hop)
Received: by 2002:a0c:fe87:0:0:0:0:0 with SMTP id d7csp146390qvs;
                                                        hop 1: no from clause, Google inside
Return-Path: <sender@example.com>
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
        by mx.google.com with SMTPS id t3-2002...
        for <recipient@example.com>                     hop 2: the entry, its for clause trusted
Received: from localhost.localhost ([8.8.8.8])
        by smtp.gmail.com with ESMTPSA id s7-2002...
        for <recipient@example.com>                     hop 3: below the entry, the sender's side
```

Hops inside the chain: no `from` clause (Google's `by 10.x`/`by 2002:…`, Postfix pickup, qmail),
the tenant's own MX hosts, LMTP delivery, local programs (Exim `with local`, qmail-scanner),
fetchmail retrieval, a loopback, private, shared, link-local or unique-local peer address
(amavis `from localhost`, Exchange on-premises), Microsoft 365's internal `*.prod.outlook.com`
hops. The entry: a provider's edge (`by mx.google.com`, `by *.mail.protection.outlook.com`),
an authenticated or webmail submission, or any other outside peer.
`data/samples/real/receiving-chains.csv` gives the entry hop of every real message in the repository."""

#: Columns of the per-header table.
TABLE_COLUMNS = ("header", "carries", "real_target", "mailbox", "failed", "missing", "sender_written", "sender_only")
#: At most this many :class:`MessageRef` per sample-wide finding (the detail counts the rest).
MAX_REFS = 20
_REF = "docs/provider-facts.md §1"

#: What to change on the server so a usable header appears, by delivering system (facts §1).
SERVER_FIXES = {
    "postfix": "Postfix: keep enable_original_recipient = yes (X-Original-To, the address as sent) "
    "and deliver with local(8)/virtual(8); behind LMTP set Dovecot "
    "lmtp_hdr_delivery_address = original with one recipient per transaction",
    "exim": "Exim: set envelope_to_add = true on the local delivery transport (Envelope-to)",
    "qmail": "qmail: Delivered-To carries the local part prefixed for virtual domains; "
    "strip the prefix (fetchmail qvirtual) or map the virtual domain to a user per address",
    "gmail": "Google Workspace: route by Received-for (mx.google.com writes for <address> when the "
    "sender's transaction has one recipient), and in the Default routing rule for the catch-all "
    "tick 'Add X-Gm-Original-To header' for the rest",
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
    where routing by it would file those messages; ``missing``: messages without a receiving-side
    copy (they would go to failed mail); ``sender_written``: messages with a copy below the entry
    hop; ``sender_only``: messages whose only copies are sender-written; ``misrouted``: labels
    of the messages it would not file to a real target (:meth:`MessageRef.label`).
    """

    header: str
    carries: int
    real_target: int
    mailbox: int
    failed: int
    missing: int
    sender_written: int
    sender_only: int = 0
    misrouted: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the table columns and the misrouted messages."""
        d = {c: getattr(self, c) for c in TABLE_COLUMNS}
        d["misrouted"] = list(self.misrouted)
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class CatchAllReport:
    """The per-header table, the recommended header (``None`` = none works) and the findings.

    ``excluded`` lists the headers left out of the recommendation because the sender alone
    wrote them on some message; ``fixes`` the steps that fix the findings (see the module docstring).
    """

    total: int
    rows: tuple[HeaderRow, ...]
    recommended_header: str | None
    current_header: str | None
    provider: str
    findings: tuple[Finding, ...]
    excluded: tuple[str, ...] = ()
    fixes: tuple[FixStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``recommended_header``, ``headers`` (the table) and ``findings``."""
        return {
            "total": self.total,
            "recommended_header": self.recommended_header,
            "current_header": self.current_header,
            "provider": self.provider,
            "excluded": list(self.excluded),
            "headers": [r.to_dict() for r in self.rows],
            "findings": [f.to_dict() for f in self.findings],
        }

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in TABLE_COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(getattr(r, c)))}</td>" for c in TABLE_COLUMNS) + "</tr>"
            for r in self.rows
        )
        rec = html.escape(self.recommended_header or "none works")
        return (
            f"<p>Recommended header: <b>{rec}</b> ({self.total} messages)</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _outcome(tenant: Tenant, addresses: tuple[str, ...]) -> str:
    kinds = [classify_address(tenant, a).kind for a in addresses]
    if any(k.is_real_target for k in kinds):
        return "real"
    if any(k is TargetKind.MAILBOX for k in kinds):
        return "mailbox"
    return "failed"


def _list(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _several(s: MessageSummary) -> bool:
    """To and Cc name more than one address: the sender's transaction most likely had several recipients."""
    return len({a.lower() for a in s.to + s.cc}) > 1


def diagnose_catch_all(summaries: Iterable[MessageSummary], tenant: Tenant) -> CatchAllReport:
    """Build the per-header table for a catch-all sample and the catch-all findings."""
    stats = {h: Counter() for h in CATCH_ALL_HEADERS}
    misrouted: dict[str, list[MessageRef]] = {h: [] for h in CATCH_ALL_HEADERS}
    forged: dict[str, list[MessageRef]] = {h: [] for h in CATCH_ALL_HEADERS}
    sender_only: dict[str, list[MessageRef]] = {h: [] for h in CATCH_ALL_HEADERS}
    absent: dict[str, list[MessageRef]] = {h: [] for h in CATCH_ALL_HEADERS}
    no_for: list[tuple[MessageRef, bool, str]] = []  # messages without a trusted for clause
    providers: Counter[str] = Counter()
    total = 0
    for s in summaries:
        if s.problems and not s.candidates and not s.message_id:
            continue  # unreadable: nothing to route
        total += 1
        providers[s.provider] += 1
        ref = s.ref()
        for h in CATCH_ALL_HEADERS:
            st = stats[h]
            written = any(not ev.trusted and ev.header == h for ev in s.candidates)
            addrs = recipients_for(s.candidates, h)
            if written:
                st["sender_written"] += 1
                forged[h].append(ref)
                if not addrs:
                    st["sender_only"] += 1
                    sender_only[h].append(ref)
            if not addrs:
                st["missing"] += 1
                misrouted[h].append(ref)
                absent[h].append(ref)
                if h == "Received-for":
                    no_for.append((ref, _several(s), s.entry_by))
                continue
            st["carries"] += 1
            outcome = _outcome(tenant, addrs)
            st[outcome] += 1
            if outcome != "real":
                misrouted[h].append(ref)
    rows = tuple(
        HeaderRow(
            header=h,
            carries=stats[h]["carries"],
            real_target=stats[h]["real"],
            mailbox=stats[h]["mailbox"],
            failed=stats[h]["failed"],
            missing=stats[h]["missing"],
            sender_written=stats[h]["sender_written"],
            sender_only=stats[h]["sender_only"],
            misrouted=tuple(r.label() for r in misrouted[h]),
        )
        for h in CATCH_ALL_HEADERS
    )
    provider = providers.most_common(1)[0][0] if providers else "other"
    excluded = tuple(r.header for r in rows if r.sender_only)
    usable = [r for r in rows if r.header not in excluded]
    best = max(usable, key=lambda r: (r.real_target, -r.failed, -CATCH_ALL_HEADERS.index(r.header)), default=None)
    recommended = best.header if best is not None and best.real_target > 0 else None
    current = tenant.inbound.catch_all_header if tenant.inbound else None
    ctx = _Context(
        total=total,
        rows=rows,
        recommended=recommended,
        current=current,
        provider=provider,
        misrouted=misrouted,
        forged=forged,
        sender_only=sender_only,
        absent=absent,
        no_for=no_for,
        excluded=excluded,
    )
    findings = tuple(_findings(ctx))
    return CatchAllReport(
        total=total,
        rows=rows,
        recommended_header=recommended,
        current_header=current,
        provider=provider,
        findings=findings,
        excluded=excluded,
        fixes=_fixes(ctx, findings, tenant),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    """Everything the findings are made from (one diagnosis run)."""

    total: int
    rows: tuple[HeaderRow, ...]
    recommended: str | None
    current: str | None
    provider: str
    misrouted: dict[str, list[MessageRef]]
    forged: dict[str, list[MessageRef]]
    sender_only: dict[str, list[MessageRef]]
    absent: dict[str, list[MessageRef]]
    no_for: list[tuple[MessageRef, bool, str]]
    excluded: tuple[str, ...]


def _labels(refs: list[MessageRef], limit: int = 8) -> str:
    return _list((r.label() for r in refs), limit)


def _findings(c: _Context) -> list[Finding]:
    by_name = {r.header.lower(): r for r in c.rows}
    subject = "catch-all mailbox"
    out: list[Finding] = []
    fix = SERVER_FIXES.get(c.provider, SERVER_FIXES["other"])
    if c.total == 0:
        return out
    recommended = c.recommended
    if recommended is None:
        out.append(
            Finding(
                check="catchall.header-missing",
                severity=Severity.ERROR,
                subject=subject,
                summary=f"No candidate header routes any of the {c.total} messages to a matter, alias or user"
                + (" without trusting a copy only the sender wrote." if c.excluded else "."),
                remedy=fix,
                reference=_REF,
                detail="Every header is missing, names only the catch-all mailbox, names unknown addresses, "
                "or exists on some message only as the sender's copy.",
                evidence=tuple(
                    (
                        r.header,
                        f"carries {r.carries}, mailbox {r.mailbox}, failed {r.failed}, sender-only {r.sender_only}",
                    )
                    for r in c.rows
                ),
            )
        )
    else:
        out.extend(_choice(c, by_name, subject, fix))
    out.extend(_forgeable(c, subject))
    return out


def _choice(c: _Context, by_name: dict[str, HeaderRow], subject: str, fix: str) -> list[Finding]:
    recommended = c.recommended or ""
    best = by_name[recommended.lower()]
    cur = by_name.get((c.current or "").lower())
    total = c.total
    others = tuple(
        (r.header, f"misroutes {len(r.misrouted)}: {_list(r.misrouted, 5)}")
        for r in c.rows
        if r.header != recommended and r.misrouted
    )
    if cur is None or cur.header == recommended:
        sev = Severity.INFO if best.real_target == total else Severity.WARNING
        summary = f"{recommended} routes {best.real_target} of {total} messages to a real target" + (
            " (the tenant's current setting)." if cur is not None else "."
        )
        remedy = "" if cur is not None else f"Set the catch-all header to {recommended}."
    else:
        sev = Severity.ERROR if cur.real_target < best.real_target or cur.sender_only else Severity.WARNING
        summary = (
            f"The tenant routes by {cur.header}, which files {cur.real_target} of {total} messages "
            f"to a real target; {recommended} files {best.real_target}."
        )
        remedy = f"Change the catch-all header from {cur.header} to {recommended}."
    skipped = [h for h in c.excluded if by_name[h.lower()].real_target > best.real_target]
    note = (
        (
            f" {', '.join(skipped)} would file more, but on some messages only the sender wrote it: "
            "never route by a header the sender can write."
        )
        if skipped
        else ""
    )
    out = [
        Finding(
            check="catchall.header-choice",
            severity=sev,
            subject=subject,
            summary=summary + note,
            remedy=remedy,
            reference=_REF,
            detail=(
                f"Messages {recommended} does not file to a real target: {_labels(c.misrouted[recommended])}"
                if best.misrouted
                else f"{recommended} files every message of the sample."
            ),
            evidence=(
                (("recommended", recommended), ("current", c.current or ""))
                + others
                + ((("excluded", ", ".join(c.excluded)),) if c.excluded else ())
            ),
            messages=tuple(c.misrouted[recommended][:MAX_REFS]),
        )
    ]
    if best.missing:
        absent = c.absent[recommended]
        detail = f"Messages without it: {_labels(absent)}."
        if recommended == "Received-for":
            several = [ref for ref, many, _by in c.no_for if many]
            detail += (
                f" {len(several)} of them name several addresses in To/Cc: the sender's transaction most "
                "likely had several recipients, and a server writes for <address> only for a "
                "transaction with one (RFC 5321 §4.4; Postfix, Exim and Google do so)."
                if several
                else " Their entry hops wrote no for clause although To/Cc name one address."
            )
        out.append(
            Finding(
                check="catchall.header-missing",
                severity=Severity.WARNING,
                subject=subject,
                summary=f"{best.missing} of {total} messages have no {recommended} written by the receiving side.",
                remedy=f"These go to failed mail. {fix}.",
                reference=_REF,
                detail=detail,
                evidence=(("header", recommended), ("missing", str(best.missing))),
                messages=tuple(absent[:MAX_REFS]),
            )
        )
    return out


def _forgeable(c: _Context, subject: str) -> list[Finding]:
    out = []
    for h in CATCH_ALL_HEADERS:
        refs = c.forged[h]
        if not refs:
            continue
        only = c.sender_only[h]
        key = h in (c.current, c.recommended)
        if only:
            sev = Severity.ERROR if key else Severity.WARNING
            summary = (
                f"{len(only)} message(s) carry {h} only below the receiving chain's entry hop, where the "
                f"sender wrote it; {len(refs)} carry a sender-written copy in all."
            )
            remedy = (
                f"Never route by {h}: a router that takes its first copy files these messages wherever the "
                f"sender chose. The kit routes only by the receiving side's copies."
            )
            shown = only
        else:
            sev = Severity.WARNING if key else Severity.INFO
            summary = (
                f"{len(refs)} message(s) also carry a sender-written {h} below the receiving chain's entry "
                f"hop; the receiving side's copy sits above it."
            )
            remedy = (
                f"Route only by the receiving side's {h} (above the entry hop, as this kit does); never by "
                f"a copy below it, or a sender can file mail anywhere."
            )
            shown = refs
        role = (
            "the tenant's current header" if h == c.current else "the recommended header" if h == c.recommended else ""
        )
        out.append(
            Finding(
                check="catchall.header-forgeable",
                severity=sev,
                subject=subject,
                summary=summary + (f" It is {role}." if role else ""),
                remedy=remedy,
                detail=f"Messages: {_labels(shown)}",
                reference="RFC 5321 §4.4 (trace headers are prepended)",
                evidence=(("header", h), ("messages", str(len(refs))), ("sender-only", str(len(only)))),
                messages=tuple(shown[:MAX_REFS]),
            )
        )
    return out


#: Where the catch-all header is chosen (help page: "Other Catch-All / Wildcard Settings").
HEADER_FIELD = "Email Setup > Catch-All Header"


def _row_evidence(r: HeaderRow, total: int) -> str:
    text = (
        f"files {r.real_target} of {total} to a matter, alias or user; {r.mailbox} to the catch-all mailbox; "
        f"{r.failed + r.missing} to failed emails"
    )
    return text + (f"; only the sender wrote it on {r.sender_only}" if r.sender_only else "")


def _test_message(tenant: Tenant) -> str:
    inbound = tenant.inbound
    domain = (
        (inbound.effective_catch_all_domains or ("the catch-all domain",))[0] if inbound else "the catch-all domain"
    )
    matter = tenant.matters[0].id if tenant.matters else "a matter number"
    return (
        f"From a mailbox outside the firm, send a message to {matter}@{domain}. Within one poll (5 minutes) it "
        "is filed to that matter, not to failed emails."
    )


def _fixes(c: _Context, findings: tuple[Finding, ...], tenant: Tenant) -> tuple[FixStep, ...]:
    """The fix steps for the catch-all findings (see the module docstring)."""
    by_check = {f.check: f for f in findings}
    out: list[FixStep] = []
    fix = SERVER_FIXES.get(c.provider, SERVER_FIXES["other"])
    server = f"the mail server that delivers into the catch-all mailbox ({c.provider})"
    choice = by_check.get("catchall.header-choice")
    rec = c.recommended
    if choice is not None and rec and c.current != rec:
        shown = c.misrouted.get(c.current or "", []) or c.misrouted[rec]
        rows = [r for r in c.rows if r.carries or r.header in (rec, c.current)]
        out.append(
            FixStep(
                host="inbound.catch_all_header",
                rtype="setting",
                label=HEADER_FIELD,
                current=c.current or "(not set)",
                new=rec,
                action=f"Set the Catch-All Header to {rec}",
                why=choice.summary,
                evidence=tuple((r.header, _row_evidence(r, c.total)) for r in rows),
                messages=tuple(shown[:MAX_REFS]),
                verify=_test_message(tenant),
                resolves=((choice.check, choice.subject),),
                severity=choice.severity,
                order=ORDER_ROUTING,
            )
        )
    missing = by_check.get("catchall.header-missing")
    if missing is not None:
        header = rec or "an envelope-recipient header"
        refs = c.absent[rec] if rec else c.misrouted.get(c.current or "", []) or c.misrouted[CATCH_ALL_HEADERS[0]]
        out.append(
            FixStep(
                host=c.provider,
                rtype="provider",
                label=server,
                current=missing.summary,
                new=fix[:1].upper() + fix[1:] + ".",
                action=f"Make the mail server write {header} on every message it delivers",
                why=(
                    f"{header} is missing on some messages, so they go to failed emails."
                    if rec
                    else "No header the server writes names the address the sender used, so no setting routes this mailbox."
                ),
                messages=tuple(refs[:MAX_REFS]),
                verify=_test_message(tenant)
                + (" Its headers, above the first Received line, name that address in " + header + "." if rec else ""),
                resolves=((missing.check, missing.subject),),
                severity=missing.severity,
                order=ORDER_ROUTING,
            )
        )
    return tuple(out)
