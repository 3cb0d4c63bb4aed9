"""The connection doctor's use case: pre-flight, then the POP3 and SMTP ladders, then findings.

:func:`check_settings` is what the CLI (``mailsupport check-settings``), the Email Setup
widget and ``mailsupport demo`` call. It reproduces the product's save-time connection test
step by step (help page: "... all of your settings have gone, it will be because there was
an error in connecting to your external email") and says which rung failed, the server's
exact words, and what to change. Every rung has a wall-clock deadline derived from the
timeout and every answer is bounded (a slow or endless server is the finding
``settings.server-too-slow`` / ``settings.answer-without-end`` naming the rung); the report
is scrubbed of the tenant's passwords and tokens in every form (:func:`redactor_for`).

Layer 4 (use case): calls the probes (layer 3) and the pure pre-flight/classifier. Must not
import the sandbox or presentation modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..model import Finding, Severity
from ..redact import Redactor
from ..tenant import Provider, Tenant
from .classify import classify_probe
from .fixes import settings_fixes
from .mx import check_o365_mx
from .pop3_probe import probe_pop3
from .preflight import effective_servers, preflight
from .report import ProbeResult, Rung, SettingsReport
from .smtp_probe import probe_smtp

__all__ = ["check_settings", "RungListener", "redactor_for"]

#: Called as each rung ends: ``(direction, rung)`` with direction ``"pop3"`` or ``"smtp"``.
RungListener = Callable[[str, Rung], None]

#: Pre-flight checks that make a connection attempt pointless for their direction.
_BLOCKING = ("settings.required-field-missing", "settings.exchange-server-missing")


def _blocked(findings: list[Finding], direction: str) -> str:
    for f in findings:
        if f.check in _BLOCKING and f.subject.startswith(direction):
            return f"not run: {f.summary}"
    return ""


def redactor_for(tenant: Tenant) -> Redactor:
    """A :class:`Redactor` for every password and token of ``tenant`` (mailbox, SMTP, vendor
    relay, and the servers the doctor derives from them), for scrubbing what is shown or saved."""
    inbound = tenant.inbound.server if tenant.inbound is not None else None
    return Redactor.for_settings(*effective_servers(tenant), inbound, tenant.outbound.server, tenant.vendor_relay)


def check_settings(
    tenant: Tenant,
    *,
    dns: Any = None,
    timeout: float | None = None,
    on_rung: RungListener | None = None,
    directions: tuple[str, ...] = ("pop3", "smtp"),
) -> SettingsReport:
    """Check a tenant's inbound (POP3) and outbound (SMTP) settings end to end.

    ``dns`` is a :class:`mailsupport.dnslookup.DnsLookup` for the DNS rung and the Office 365
    MX check (without it: the system resolver, and no MX check); ``timeout`` overrides the
    per-server timeout (seconds); ``on_rung`` sees each rung as it ends (the widget draws the
    ladder live). Customer problems come back as findings, never as exceptions.
    """
    findings = preflight(tenant)
    pop3, smtp = effective_servers(tenant)
    inbound: ProbeResult | None = None
    outbound: ProbeResult | None = None
    if tenant.inbound is None:
        if tenant.provider is Provider.OUTBOUND_ONLY:
            inbound = ProbeResult(
                direction="pop3", endpoint="-", tls="-", skipped="not used: outbound only, no mailbox is fetched"
            )
    elif "pop3" in directions and pop3 is not None:
        reason = _blocked(findings, "pop3")
        if reason:
            inbound = ProbeResult(direction="pop3", endpoint=pop3.endpoint, tls=str(pop3.tls), skipped=reason)
        else:
            inbound = probe_pop3(pop3, dns=dns, on_rung=on_rung, timeout=timeout)
            findings.extend(
                classify_probe(inbound, provider=tenant.provider, server=pop3, size_limit=tenant.size_limit)
            )
    if "smtp" in directions:
        if smtp is None:
            outbound = ProbeResult(
                direction="smtp",
                endpoint="vendor relay",
                tls="-",
                skipped="not used: outbound mail goes through the vendor's relay",
            )
        else:
            reason = _blocked(findings, "smtp")
            if reason:
                outbound = ProbeResult(direction="smtp", endpoint=smtp.endpoint, tls=str(smtp.tls), skipped=reason)
            else:
                mail_from = (
                    tenant.outbound.from_address
                    or (tenant.inbound.address if tenant.inbound else None)
                    or smtp.username
                    or f"postmaster@{tenant.org_key}.invalid"
                )
                rcpt_to = tenant.failed_email_address or mail_from
                outbound = probe_smtp(
                    smtp, mail_from=mail_from, rcpt_to=rcpt_to, dns=dns, on_rung=on_rung, timeout=timeout
                )
                findings.extend(
                    classify_probe(outbound, provider=tenant.provider, server=smtp, size_limit=tenant.size_limit)
                )
    if dns is not None:
        findings.extend(check_o365_mx(tenant, dns))
    report = SettingsReport(
        org_key=tenant.org_key,
        provider=str(tenant.provider),
        inbound=inbound,
        outbound=outbound,
        findings=_dedupe(findings),
    )
    report = report.redacted(redactor_for(tenant))  # the probes scrub already: a second guard
    return replace(report, fixes=settings_fixes(tenant, report.findings))


def _dedupe(findings: list[Finding]) -> tuple[Finding, ...]:
    """Keep the first finding per (check, subject); errors first, then warnings, then info."""
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.check, f.subject)
        if key not in seen:
            seen.add(key)
            out.append(f)
    order = {s: i for i, s in enumerate(sorted(Severity, reverse=True))}
    return tuple(sorted(out, key=lambda f: order[f.severity]))
