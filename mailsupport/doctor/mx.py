"""The Office 365 catch-all prerequisite that DNS can show: MX must point to Exchange Online.

The catch-all is built from a mail-flow (transport) rule, which sees only mail that reaches
Exchange Online Protection, so the domain's MX must be ``<tenant>.mail.protection.outlook.com``
(``docs/provider-facts.md`` §7, "Office 365 catch-all"; help page "Office 365
Exchange": "The MX records must point to Office 365"). A third-party gateway in front
(Mimecast, Proofpoint) may break the rule.

:func:`evaluate_o365_mx` is pure; :func:`check_o365_mx` asks a
:class:`mailsupport.dnslookup.DnsLookup`. Must not import the sandbox or presentation modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DnsError
from ..model import Finding, Severity
from ..tenant import MailboxKind, Provider, Tenant

__all__ = ["O365_MX_SUFFIX", "evaluate_o365_mx", "check_o365_mx"]

#: Exchange Online Protection's MX host suffix.
O365_MX_SUFFIX = ".mail.protection.outlook.com"
_CHECK = "settings.o365-mx-not-protection-outlook"
_REMEDY = (
    "Point the domain's MX record at <yourtenant>.mail.protection.outlook.com (Microsoft 365 admin "
    "center > Settings > Domains shows the exact value); keep any filtering gateway behind it."
)


def evaluate_o365_mx(domain: str, exchanges: Sequence[str], *, nxdomain: bool = False) -> list[Finding]:
    """A finding unless the lowest-preference MX host ends in ``.mail.protection.outlook.com``.

    ``exchanges`` are MX host names ordered by preference (most preferred first).
    """
    hosts = [h.rstrip(".").lower() for h in exchanges]
    if hosts and hosts[0].endswith(O365_MX_SUFFIX):
        return []
    if nxdomain:
        summary = f"The domain {domain} does not exist in DNS, so no mail reaches Office 365 for it."
    elif not hosts:
        summary = f"The domain {domain} has no MX record; the Office 365 catch-all rule never sees its mail."
    else:
        summary = (
            f"The MX of {domain} points to {hosts[0]}, not *{O365_MX_SUFFIX}: the Office 365 "
            "catch-all rule never sees mail that is delivered elsewhere first."
        )
    return [
        Finding(
            check=_CHECK,
            severity=Severity.ERROR,
            subject=f"domain {domain}",
            summary=summary,
            remedy=_REMEDY,
            reference="help page: Office 365 Exchange (MX must point to Office 365)",
            evidence=(("MX", ", ".join(hosts) or ("NXDOMAIN" if nxdomain else "none")),),
        )
    ]


def check_o365_mx(tenant: Tenant, lookup: Any) -> list[Finding]:
    """Check every catch-all domain of an Office 365 tenant (others: nothing to check)."""
    if tenant.provider is not Provider.OFFICE365 or tenant.inbound is None:
        return []
    if tenant.inbound.kind is not MailboxKind.CATCH_ALL:
        return []
    from ..dnslookup import AnswerStatus

    out: list[Finding] = []
    for domain in tenant.inbound.effective_catch_all_domains:
        try:
            answer = lookup.query(domain, "MX")
        except DnsError as exc:
            out.append(
                Finding(
                    check="settings.dns-temporary",
                    severity=Severity.WARNING,
                    subject=f"domain {domain}",
                    summary=f"Could not read the MX of {domain}: {exc}",
                    remedy="Try again later; the MX check was not done.",
                )
            )
            continue
        records = sorted(answer.records, key=lambda r: r.preference)
        out.extend(
            evaluate_o365_mx(domain, [r.exchange for r in records], nxdomain=answer.status is AnswerStatus.NXDOMAIN)
        )
    return out
