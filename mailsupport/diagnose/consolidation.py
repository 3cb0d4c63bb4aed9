"""Gmail alias consolidation diagnosis: which users never got a message, and how often.

Wraps :func:`mailsupport.consolidation.consolidate` into findings with check id
``gmail.alias-consolidated`` (:data:`CONSOLIDATION_CHECKS`): one per affected message naming
the users who never got it, and one for the sample saying how often it happens and the
options (route those messages by To/Cc, which cannot see Bcc recipients; or a catch-all that
is not hosted by Google). Facts: ``docs/provider-facts.md`` §2. The fix step
(:attr:`ConsolidationDiagnosis.fixes`) is the provider-side option, with the other one as
evidence and the affected messages named.

Layer 4: imports the pure core only; must not import clients, the sandbox or presentation.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..consolidation import ConsolidationReport, consolidate
from ..fixes import ORDER_ROUTING, FixStep
from ..headers import MessageSummary
from ..model import Finding, Severity
from ..tenant import Tenant

__all__ = ["CONSOLIDATION_CHECKS", "ConsolidationDiagnosis", "diagnose_consolidation", "OPTIONS"]

#: Check id -> one-line meaning.
CONSOLIDATION_CHECKS = {
    "gmail.alias-consolidated": "a Google-hosted catch-all kept one copy of a message sent to several aliases/users, so the others never got it",
}

#: The options the findings offer.
OPTIONS = (
    "route messages whose To/Cc name several tenant addresses by To/Cc as well as the "
    "envelope header (Bcc recipients stay invisible: they are in no header)",
    "host the catch-all on a server that keeps one copy per envelope recipient "
    "(e.g. Postfix virtual alias with X-Original-To), not on Google",
)

_REF = "docs/provider-facts.md §2"
_REMEDY = "Options: " + "; or ".join(OPTIONS) + "."


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidationDiagnosis:
    """The grouping report (copies per Message-ID), the findings and the fix step."""

    report: ConsolidationReport
    findings: tuple[Finding, ...]
    fixes: tuple[FixStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, the affected messages and the findings."""
        r = self.report
        return {
            "messages": r.messages,
            "without_message_id": r.without_message_id,
            "consolidated": [
                {
                    "message_id": c.message_id,
                    "subject": c.subject,
                    "copies": c.copies,
                    "expected": list(c.expected),
                    "reached": list(c.reached),
                    "missed": list(c.missed),
                    "google": c.google,
                    "positions": list(c.positions),
                    "messages": [m.to_dict() for m in c.messages],
                }
                for c in r.cases
            ],
            "findings": [f.to_dict() for f in self.findings],
        }

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c.message_id)}</td><td>{html.escape(c.subject)}</td>"
            f"<td>{html.escape(c.messages[0].date if c.messages else '')}</td>"
            f"<td>{html.escape(c.messages[0].from_ if c.messages else '')}</td>"
            f"<td>{html.escape(', '.join(m.place for m in c.messages))}</td>"
            f"<td>{c.copies}</td><td>{html.escape(', '.join(c.missed))}</td></tr>"
            for c in self.report.cases
        )
        return (
            f"<p>{len(self.report.cases)} of {self.report.messages} messages lost copies</p>"
            "<table><thead><tr><th>Message-ID</th><th>subject</th><th>date</th><th>from</th><th>where</th>"
            f"<th>copies</th><th>never got it</th></tr></thead><tbody>{rows}</tbody></table>"
        )


def _who(target: str) -> str:
    kind, _, ident = target.partition(":")
    return f"{ident} ({kind})" if kind in ("matter",) else ident


def diagnose_consolidation(
    summaries: Iterable[MessageSummary], tenant: Tenant, *, google: bool | None = None
) -> ConsolidationDiagnosis:
    """Find consolidated messages in a sample (see :func:`~mailsupport.consolidation.consolidate`)."""
    report = consolidate(summaries, tenant, google=google)
    findings = []
    google_cases = [c for c in report.cases if c.google]
    for c in report.cases:
        missed = ", ".join(_who(t) for t in c.missed)
        if c.google:
            summary = (
                f"Sent to {len(c.expected)} of the tenant's addresses, but the Google catch-all kept "
                f"{c.copies} copy: {missed} never got it."
            )
            sev = Severity.WARNING
        else:
            summary = (
                f"Sent to {len(c.expected)} of the tenant's addresses but only {c.copies} copy arrived "
                f"(not Google-delivered): {missed} never got it."
            )
            sev = Severity.INFO
        findings.append(
            Finding(
                check="gmail.alias-consolidated",
                severity=sev,
                subject=c.messages[0].label() if c.messages else c.message_id,
                summary=summary,
                remedy=_REMEDY,
                reference=_REF,
                detail=(
                    f"Subject {c.subject!r}; addressed {', '.join(c.expected)}; copies at "
                    f"{', '.join(m.place for m in c.messages)}"
                ),
                evidence=(
                    ("copies", str(c.copies)),
                    ("addressed", ", ".join(c.expected)),
                    ("reached", ", ".join(c.reached)),
                    ("missed", ", ".join(c.missed)),
                ),
                messages=c.messages,
            )
        )
    if google_cases:
        findings.append(
            Finding(
                check="gmail.alias-consolidated",
                severity=Severity.WARNING,
                subject="sample",
                summary=(
                    f"{len(google_cases)} of {report.messages} messages ({100 * len(google_cases) / report.messages:.1f} %) "
                    f"named several tenant addresses but arrived once."
                ),
                remedy=_REMEDY,
                reference=_REF,
                detail="Messages: "
                + ", ".join(c.messages[0].label() for c in google_cases[:8] if c.messages)
                + (f" and {len(google_cases) - 8} more" if len(google_cases) > 8 else ""),
                evidence=(("messages", str(report.messages)), ("consolidated", str(len(google_cases)))),
                messages=tuple(c.messages[0] for c in google_cases[:20] if c.messages),
            )
        )
    return ConsolidationDiagnosis(report=report, findings=tuple(findings), fixes=_fixes(report, findings, tenant))


def _fixes(report: ConsolidationReport, findings: list[Finding], tenant: Tenant) -> tuple[FixStep, ...]:
    google = [f for f in findings if f.severity >= Severity.WARNING]
    cases = [c for c in report.cases if c.google]
    if not google or not cases:
        return ()
    missed = sorted({_who(t) for c in cases for t in c.missed})
    users = [u.address for u in tenant.users[:2]]
    example = " and ".join(users) if len(users) == 2 else "two of the firm's addresses"
    return (
        FixStep(
            host="Google Workspace",
            rtype="provider",
            label="where the catch-all mailbox is hosted (Google Workspace)",
            action="Host the catch-all mailbox where every addressee gets a copy",
            current=(
                f"Google keeps one copy per message: {len(cases)} of {report.messages} messages in the sample "
                f"reached only some of their addressees"
            ),
            new=OPTIONS[1][:1].upper() + OPTIONS[1][1:] + ".",
            why=(
                f"{', '.join(missed[:6])}{' and others' if len(missed) > 6 else ''} never got messages addressed to "
                "them; the vendor cannot change how Google delivers."
            ),
            evidence=(("or instead", OPTIONS[0]),),
            messages=tuple(m for c in cases[:20] for m in c.messages[:1]),
            verify=f"From outside the firm, send one message to {example}: each gets it in the practice system.",
            resolves=tuple((f.check, f.subject) for f in google),
            severity=max(f.severity for f in google),
            order=ORDER_ROUTING,
        ),
    )
