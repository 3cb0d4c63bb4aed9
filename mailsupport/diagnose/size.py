"""Size diagnosis: messages over the 10 MB advice, over a provider's limit, or pushed over by encoding.

Checks (:data:`SIZE_CHECKS`): ``size.over-recommended`` (encoded size over the product's
10 MB advice), ``size.over-provider-limit`` (over a documented provider limit, the tenant's
limit or a server's advertised SIZE), ``size.encoding-overhead`` (the decoded message is under
a limit but base64/quoted-printable pushes the encoded one over it). Each names its message
(:class:`~mailsupport.model.MessageRef`: file and position, Message-ID, Subject, Date, From) and
the biggest attachments. Limits and sources: :mod:`mailsupport.sizes`.

Fix step (:attr:`SizeDiagnosis.fixes`): one piece of advice for the firm's users (keep each
message under the 10 MB advice; share larger files as links), naming the messages over a limit
and counting them per limit.

Layer 4: imports the pure core only; must not import clients, the sandbox or presentation.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..fixes import ORDER_ADVICE, FixStep
from ..headers import MessageSummary
from ..model import Finding, MessageRef, Severity
from ..sizes import MIB, RECOMMENDED_SIZE, ProviderLimit, limits_for

__all__ = ["SIZE_CHECKS", "SizeRow", "SizeDiagnosis", "diagnose_size"]

#: Check id -> one-line meaning.
SIZE_CHECKS = {
    "size.over-recommended": "the message is over the 10 MB the product recommends",
    "size.over-provider-limit": "the message is over a provider's documented limit, the tenant's limit or a server's SIZE",
    "size.encoding-overhead": "the decoded message fits a limit but its base64/quoted-printable encoding does not",
}


def _mb(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeRow:
    """One message's sizes and the limits its encoded size is over; ``message`` says which message it is."""

    position: str
    message_id: str
    encoded_size: int
    raw_size: int
    attachments: int
    over: tuple[str, ...]
    message: MessageRef = MessageRef()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "position": self.position,
            "message_id": self.message_id,
            "encoded_size": self.encoded_size,
            "raw_size": self.raw_size,
            "attachments": self.attachments,
            "over": list(self.over),
            "message": self.message.to_dict(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeDiagnosis:
    """Per-message size rows, the limits used, the findings and the fix step (see the module docstring)."""

    rows: tuple[SizeRow, ...]
    limits: tuple[ProviderLimit, ...]
    findings: tuple[Finding, ...]
    fixes: tuple[FixStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``limits``, ``messages`` and ``findings``."""
        return {
            "limits": [{"label": p.label, "limit": p.limit, "source": p.source} for p in self.limits],
            "messages": [r.to_dict() for r in self.rows],
            "findings": [f.to_dict() for f in self.findings],
        }

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.message.place)}</td><td>{html.escape(r.message_id)}</td>"
            f"<td>{html.escape(r.message.subject)}</td><td>{html.escape(r.message.date)}</td>"
            f"<td>{html.escape(r.message.from_)}</td><td>{r.encoded_size}</td><td>{r.raw_size}</td>"
            f"<td>{html.escape(', '.join(r.over))}</td></tr>"
            for r in self.rows
            if r.over
        )
        return (
            "<table><thead><tr><th>message</th><th>Message-ID</th><th>subject</th><th>date</th><th>from</th>"
            "<th>encoded</th><th>raw</th><th>over</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _biggest(s: MessageSummary, n: int = 3) -> str:
    atts = sorted(s.attachments, key=lambda a: a.encoded_size, reverse=True)[:n]
    if not atts:
        return "no attachments: the body itself is large"
    return "; ".join(
        f"{a.filename or '(unnamed)'} {a.content_type} {_mb(a.encoded_size)} encoded "
        f"({_mb(a.raw_size)} decoded, {a.encoding})"
        for a in atts
    )


def diagnose_size(
    summaries: Iterable[MessageSummary],
    *,
    provider: str | None = None,
    tenant_limit: int | None = None,
    server_size: int | None = None,
    recommended: int = RECOMMENDED_SIZE,
) -> SizeDiagnosis:
    """Check every message's encoded size against the advice and the limits (see module docstring)."""
    limits = limits_for(provider, tenant_limit=tenant_limit, server_size=server_size)
    rows = []
    findings = []
    for s in summaries:
        ref = s.ref()
        label = ref.label()
        refs = (ref,)
        over = tuple(p.label for p in limits if s.encoded_size > p.limit)
        rows.append(
            SizeRow(
                position=s.position,
                message_id=s.message_id,
                encoded_size=s.encoded_size,
                raw_size=s.raw_size,
                attachments=len(s.attachments),
                over=over,
                message=ref,
            )
        )
        ev = (("encoded", str(s.encoded_size)), ("raw", str(s.raw_size)), ("attachments", _biggest(s)))
        if s.encoded_size > recommended:
            findings.append(
                Finding(
                    check="size.over-recommended",
                    severity=Severity.WARNING,
                    subject=label,
                    summary=f"{_mb(s.encoded_size)} encoded: over the {recommended / 1e6:.0f} MB the product recommends.",
                    remedy="Share large files as links, or split them across messages; keep each message under 10 MB.",
                    detail=f"Biggest attachments: {_biggest(s)}",
                    reference="help page: Email Size Limits",
                    evidence=ev,
                    messages=refs,
                )
            )
        hard = [p for p in limits if s.encoded_size > p.limit]
        if hard:
            findings.append(
                Finding(
                    check="size.over-provider-limit",
                    severity=Severity.ERROR,
                    subject=label,
                    summary=f"{_mb(s.encoded_size)} encoded: over " + ", ".join(p.label for p in hard) + ".",
                    remedy="The receiving or sending server will refuse it (552 5.3.4); send the files another way.",
                    detail=f"Biggest attachments: {_biggest(s)}",
                    reference=hard[0].source,
                    evidence=ev,
                    messages=refs,
                )
            )
        pushed = [p for p in limits if s.raw_size <= p.limit < s.encoded_size]
        if s.raw_size <= recommended < s.encoded_size:
            pushed.insert(
                0, ProviderLimit(provider="Recommended", direction="advice", limit=recommended, source="help page")
            )
        if pushed:
            findings.append(
                Finding(
                    check="size.encoding-overhead",
                    severity=Severity.WARNING,
                    subject=label,
                    summary=(
                        f"The files weigh {_mb(s.raw_size)}, but encoding adds {_mb(s.encoded_size - s.raw_size)} "
                        f"and pushes the message over " + ", ".join(p.label for p in pushed) + "."
                    ),
                    remedy="Count about 4/3 of the attachment sizes against a limit (base64, RFC 2045 §6.8).",
                    detail=f"Biggest attachments: {_biggest(s)}",
                    reference="RFC 2045 §6.8",
                    evidence=ev,
                    messages=refs,
                )
            )
    return SizeDiagnosis(
        rows=tuple(rows), limits=limits, findings=tuple(findings), fixes=_fixes(rows, limits, findings, recommended)
    )


def _fixes(
    rows: list[SizeRow], limits: tuple[ProviderLimit, ...], findings: list[Finding], recommended: int
) -> tuple[FixStep, ...]:
    if not findings:
        return ()
    big = sorted((r for r in rows if r.encoded_size > recommended or r.over), key=lambda r: -r.encoded_size)
    counts = [(p.label, sum(1 for r in rows if r.encoded_size > p.limit)) for p in limits]
    evidence = (
        (f"over the {recommended / 1e6:.0f} MB advice", str(sum(1 for r in rows if r.encoded_size > recommended))),
        *((f"over {label}", f"{n} message(s)") for label, n in counts if n),
    )
    largest = f"; the largest is {_mb(big[0].encoded_size)} encoded" if big else ""
    return (
        FixStep(
            host="users",
            rtype="advice",
            label="how the firm's users send attachments",
            action=f"Keep each message under {recommended / 1e6:.0f} MB: share larger files as links",
            current=f"{len(big)} of {len(rows)} messages in the sample are over a limit{largest}",
            new=(
                f"each message under {recommended / 1e6:.0f} MB as sent (attachments count about 4/3 of their size "
                "once encoded); larger files shared as links or split across messages"
            ),
            why="Servers refuse mail over their limit (552 5.3.4): the sender gets a bounce and the firm never sees it.",
            evidence=evidence,
            messages=tuple(r.message for r in big[:20]),
            verify="Send the largest of these files again as a link (or split): it arrives. A new mailbox sample shows "
            "no message over the limit.",
            resolves=tuple((f.check, f.subject) for f in findings),
            severity=max(f.severity for f in findings),
            order=ORDER_ADVICE,
        ),
    )
