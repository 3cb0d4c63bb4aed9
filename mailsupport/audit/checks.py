"""Adapters from the audit to the checks other modules own: one small async function per check kind.

The audit writes no check of its own: each adapter calls the module that owns the check
and returns its findings (plus SPF lookup counts). Check kinds:

===========  ================================================================  =====================
kind         what runs                                                          owner
===========  ================================================================  =====================
config       pre-flight of the settings (required fields, download-then-delete,  mailsupport.doctor
             failed-mail loops, alias clashes, size limit)
spf          ``check_domain`` of every tenant domain with its vendor include    mailsupport.spf
dmarc        DMARC, DKIM and alignment of every tenant domain on its sending    mailsupport.dmarc
             path (``[sending]``: the vendor relay or its own server)
mx           MX and Office 365 catch-all prerequisites (MX to EOP)              mailsupport.doctor
settings     the connection doctor, inbound and outbound (only with --connect)  mailsupport.doctor
samples      catch-all, consolidation and size diagnoses of ``tenant.sample``   mailsupport.diagnose
===========  ================================================================  =====================

Each adapter also returns the owning diagnosis's fix steps (:class:`~mailsupport.fixes.FixStep`)
and, when the run asks for them (``CheckContext.traces``, for fix reports), its technical detail:
the SPF evaluation trace on the SPF step, the DMARC report and the connection test's transcript.

When the owning module is not importable (not built yet, or broken), the kind reports one
``audit.check-unavailable`` info finding per tenant instead of failing. Check ids of the
audit itself:

- ``audit.check-unavailable`` (info): the check kind could not be loaded; nothing was checked.
- ``audit.check-failed`` (error): the check raised; the error is in the summary (secrets
  scrubbed). The rest of the tenant and the run carry on.
- ``audit.tenant-invalid`` (error): the tenant file cannot be loaded (the config error says
  which field and what to do); no other check runs for it.
- ``audit.check-skipped`` (info): the kind does not apply (no sample path; ``settings``
  without ``--connect``).

Layer 4 (use case). Imports the other use cases lazily, inside the adapters, so one broken
module never stops the audit from loading; must not import presentation code.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..fixes import FixStep
from ..model import Finding, Severity
from ..tenant import MailboxKind, Provider, Tenant

__all__ = [
    "AUDIT_CHECKS",
    "CHECK_KINDS",
    "DEFAULT_CHECKS",
    "CheckOutput",
    "CheckContext",
    "ADAPTERS",
    "unavailable",
    "failed",
    "skipped",
]

#: The audit's own check ids -> one-line meaning (the other ids belong to the checks it runs).
AUDIT_CHECKS: Mapping[str, str] = {
    "audit.tenant-invalid": "the tenant file cannot be loaded (the field and what to do are named); no check ran for it",
    "audit.check-unavailable": "a check kind cannot be loaded in this installation; nothing was checked by it",
    "audit.check-skipped": "a check kind does not apply to this tenant (settings without --connect)",
    "audit.check-failed": "a check raised an error for this tenant (secrets scrubbed); the rest of the run went on",
}

#: Every check kind, in the order they run and are listed.
CHECK_KINDS = ("config", "spf", "dmarc", "mx", "settings", "samples")
#: What runs without ``--checks`` (``settings`` still needs ``--connect``).
DEFAULT_CHECKS = CHECK_KINDS


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOutput:
    """What one check kind found for one tenant: findings, fix steps, SPF lookup counts, traces."""

    findings: tuple[Finding, ...] = ()
    spf_lookups: tuple[tuple[str, int], ...] = ()
    fixes: tuple[FixStep, ...] = ()
    traces: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckContext:
    """What the adapters share across a run: the DNS lookup for this tenant, --connect, timeouts,
    and whether to keep technical detail (``traces``) for fix reports."""

    lookup: Any = None
    connect: bool = False
    timeout: float = 30.0
    traces: bool = False


def unavailable(kind: str, subject: str, why: str) -> Finding:
    """The ``audit.check-unavailable`` finding for a check kind that cannot be loaded."""
    return Finding(
        check="audit.check-unavailable",
        severity=Severity.INFO,
        subject=subject,
        summary=f"the {kind} check is not available in this installation ({why}); nothing was checked",
        remedy="update mailsupport, or leave this check kind out of the audit",
    )


def skipped(kind: str, subject: str, why: str) -> Finding:
    """The ``audit.check-skipped`` finding for a check kind that does not apply to a tenant."""
    return Finding(
        check="audit.check-skipped",
        severity=Severity.INFO,
        subject=subject,
        summary=f"the {kind} check was skipped: {why}",
    )


def failed(kind: str, subject: str, exc: BaseException, secrets: tuple[str, ...] = ()) -> Finding:
    """The ``audit.check-failed`` finding: the check raised ``exc``; secret values are scrubbed."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return Finding(
        check="audit.check-failed",
        severity=Severity.ERROR,
        subject=subject,
        summary=f"the {kind} check could not finish: {text}",
        remedy="fix the cause named here and audit this tenant again (a resumed audit keeps the other tenants)",
        evidence=(("check kind", kind),),
    )


def _load(module: str, name: str) -> Callable[..., Any]:
    """The callable ``module.name``; raises ImportError (→ unavailable) when it does not exist."""
    mod = importlib.import_module(module)
    func = getattr(mod, name, None)
    if func is None:
        raise ImportError(f"{module}.{name} does not exist yet")
    return func


async def _maybe_await(value: Any) -> Any:
    return await value if isinstance(value, Awaitable) else value


# ----------------------------------------------------------------------------- adapters
# Each adapter: async (tenant, ctx) -> CheckOutput. ImportError means "unavailable".


async def _config(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    preflight = _load("mailsupport.doctor.preflight", "preflight")
    settings_fixes = _load("mailsupport.doctor.fixes", "settings_fixes")
    findings = tuple(preflight(tenant))
    return CheckOutput(findings=findings, fixes=settings_fixes(tenant, findings))


async def _spf(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    check = _load("mailsupport.spf", "check_domain_async")  # the public, lazily re-exported name
    if ctx.lookup is None:
        raise ImportError("no DNS lookup (mailsupport.dnslookup) is available")
    # One domain after another: the run's concurrency comes from the tenants in flight (a task
    # per domain cost more CPU than the overlap gained). The suggested record is worked out for
    # a domain with findings (its fix step publishes it); the evaluation trace only when the run
    # keeps technical detail (fix reports).
    results = [
        await check(d, vendor_include=tenant.vendor_include, lookup=ctx.lookup, detail=ctx.traces, suggest=True)
        for d in tenant.domains
    ]
    findings: list[Finding] = []
    counts: list[tuple[str, int]] = []
    fixes: list[FixStep] = []
    for domain, res in zip(tenant.domains, results):
        findings.extend(res.findings)
        counts.append((domain, int(res.dns_lookups)))
        fixes.extend(res.fix_steps(detail=ctx.traces))
    return CheckOutput(findings=tuple(findings), spf_lookups=tuple(counts), fixes=tuple(fixes))


async def _dmarc(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    check = _load("mailsupport.dmarc.check", "check_domain_async")
    if ctx.lookup is None:
        raise ImportError("no DNS lookup (mailsupport.dnslookup) is available")
    results = [await check(d, tenant=tenant, lookup=ctx.lookup) for d in tenant.domains]  # as in _spf
    return CheckOutput(
        findings=tuple(f for res in results for f in res.findings),
        fixes=tuple(s for res in results for s in res.fixes),
        traces=tuple((f"DMARC and DKIM of {res.domain}", res.to_text()) for res in results) if ctx.traces else (),
    )


async def _mx(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    check = _load("mailsupport.doctor.mx", "check_o365_mx")
    if ctx.lookup is None:
        raise ImportError("no DNS lookup (mailsupport.dnslookup) is available")
    from ..errors import DnsError

    # The doctor's check asks synchronously; ask the same questions asynchronously first so
    # they land in the run's shared cache and the sync call never blocks the event loop.
    # Only Office 365 catch-all tenants are checked (the doctor returns nothing for others).
    if (
        tenant.provider is Provider.OFFICE365
        and tenant.inbound is not None
        and tenant.inbound.kind is MailboxKind.CATCH_ALL
    ):
        for domain in tenant.inbound.effective_catch_all_domains:
            try:
                await ctx.lookup.aquery(domain, "MX")
            except DnsError:
                pass  # cached too; the doctor's check reports it
    findings = tuple(check(tenant, ctx.lookup))
    return CheckOutput(findings=findings, fixes=_load("mailsupport.doctor.fixes", "settings_fixes")(tenant, findings))


async def _settings(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    if not ctx.connect:
        return CheckOutput()
    check_settings = _load("mailsupport.doctor.ladder", "check_settings")
    preflight = _load("mailsupport.doctor.preflight", "preflight")
    # The doctor runs blocking sockets: one worker thread per tenant in flight. Its report
    # repeats the pre-flight and the Office 365 MX check, which the config and mx kinds
    # already report; keep only what the ladders add.
    report = await asyncio.to_thread(check_settings, tenant, dns=ctx.lookup, timeout=ctx.timeout)
    already = {(f.check, f.subject) for f in preflight(tenant)}
    mx_ids = {"settings.o365-mx-not-protection-outlook"}
    kept = {
        (f.check, f.subject)
        for f in report.findings
        if (f.check, f.subject) not in already
        and f.check not in mx_ids
        and not (f.check == "settings.dns-temporary" and f.subject.startswith("domain "))
    }
    return CheckOutput(
        findings=tuple(f for f in report.findings if (f.check, f.subject) in kept),
        fixes=tuple(s for s in report.fixes if set(s.resolves) & kept),
        traces=(("Connection test (POP3 and SMTP), step by step", report.format_text()),) if ctx.traces else (),
    )


async def _samples(tenant: Tenant, ctx: CheckContext) -> CheckOutput:
    if not tenant.sample:
        return CheckOutput()
    diagnose_sample = _load("mailsupport.diagnose.sample", "diagnose_sample")
    # Known providers pick their documented size limits; others are checked against all of them.
    provider = tenant.provider.value if tenant.provider.value in ("gmail", "office365", "exchange") else None
    result = await asyncio.to_thread(diagnose_sample, [tenant.sample], tenant, "all", provider=provider)
    return CheckOutput(findings=result.findings, fixes=result.fixes)


#: kind -> adapter
ADAPTERS: dict[str, Callable[[Tenant, CheckContext], Awaitable[CheckOutput]]] = {
    "config": _config,
    "spf": _spf,
    "dmarc": _dmarc,
    "mx": _mx,
    "settings": _settings,
    "samples": _samples,
}
