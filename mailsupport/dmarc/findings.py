"""The pure DMARC diagnosis: the policy found and each sending path's verdict in, findings
and fix steps out (check ids in :data:`DMARC_CHECKS`).

Since February 2024 Gmail and Yahoo, and since May 2025 Microsoft for consumer Outlook,
decide "spam or rejected" for unauthenticated mail by DMARC (RFC 7489): the From domain
must be aligned with the SPF-authenticated MAIL FROM domain or with a valid DKIM
signature's ``d=``. A domain with ``p=quarantine``/``p=reject`` whose mail leaves through
the vendor's relay can pass SPF and still fail DMARC; these findings say so per path, with
the exact records to publish (:class:`~mailsupport.fixes.FixStep`, each naming the findings it
resolves; the steps of a path also resolve the path's alignment and DMARC-failure findings).

Pure (layer 2): imports model, fixes and the dmarc core (keys are duck-typed DkimKey values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..fixes import ORDER_POLICY, FixStep, dig
from ..model import Finding, Severity
from .align import DmarcOutcome, PolicyLookup, aligned
from .fixes import repair_record, starting_record, stricter_record
from .paths import SendingPath

__all__ = ["DMARC_CHECKS", "PathVerdict", "diagnose"]

DMARC_CHECKS: Mapping[str, str] = {
    "dmarc.no-record": "the From domain and its organisational domain publish no DMARC record (RFC 7489 §6.6.3)",
    "dmarc.syntax-error": "the DMARC record breaks the RFC 7489 grammar: receivers ignore it (permerror)",
    "dmarc.multiple-records": "more than one v=DMARC1 record: receivers apply no policy (§6.6.3)",
    "dmarc.policy-none": "p=none: receivers only report failing mail (monitoring, no protection yet)",
    "dmarc.spf-not-aligned": "on this sending path SPF does not give a pass aligned with the From domain",
    "dmarc.dkim-not-aligned": "on this sending path no valid DKIM signature is aligned with the From domain",
    "dmarc.would-fail": "mail on this path fails DMARC: error when p=quarantine/reject (spam folder or rejected)",
    "dmarc.dns-temporary-failure": "a DMARC or DKIM lookup timed out or failed: receivers defer or get temperror",
    "dkim.selector-missing": "the DKIM selector the path signs with has no key record (signatures cannot verify)",
    "dkim.key-invalid": "the DKIM key record cannot be used (revoked, unparsable, several, or not the vendor's key)",
    "dkim.key-too-short": "an RSA DKIM key under 2048 bits: under 1024 receivers fail it (RFC 8301 §3.2)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PathVerdict:
    """What a receiver would compute for mail on one :class:`SendingPath`.

    ``spf_result`` is check_host()'s combined result for the path's IPs at the MAIL FROM
    domain (None: no sending IP known); ``spf_record``/``spf_suggestion`` the SPF record
    there and the one to publish when SPF does not pass; ``keys`` the key found for each of
    the path's DKIM identities; ``outcome`` the DMARC result (None: not enough known).
    """

    path: SendingPath
    spf_result: str | None = None
    spf_ips: tuple[tuple[str, str], ...] = ()
    spf_record: str | None = None
    spf_suggestion: str | None = None
    keys: tuple[Any, ...] = ()  # DkimKey values (mailsupport.dmarc.dkimcheck)
    outcome: DmarcOutcome | None = None
    aspf: str = "r"

    @property
    def spf_domain_aligned(self) -> bool:
        """The MAIL FROM domain is aligned with From (in the record's ``aspf`` mode)."""
        return aligned(self.path.mail_from_domain, self.path.from_domain, self.aspf)

    @property
    def dkim_usable(self) -> tuple[str, ...]:
        """The ``d=`` domains of the path's identities whose key verifiers can use."""
        return tuple(i.domain for i, k in zip(self.path.dkim, self.keys) if k.usable)

    @property
    def dmarc(self) -> str:
        """The DMARC result a receiver computes, or ``unknown``."""
        return self.outcome.result if self.outcome is not None else "unknown"


def _f(
    domain: str,
    check: str,
    severity: Severity,
    summary: str,
    remedy: str,
    *,
    detail: str = "",
    reference: str = "",
    evidence: tuple[tuple[str, str], ...] = (),
) -> Finding:
    return Finding(
        check=check,
        severity=severity,
        subject=domain,
        summary=summary,
        remedy=remedy,
        detail=detail,
        reference=reference,
        evidence=evidence,
    )


_dig = dig
#: How to check a change to the relay's settings: what a receiver wrote on a real message.
_TEST_MESSAGE = (
    "Send a message through the vendor to a Gmail or Outlook.com mailbox and open its headers: "
    "Authentication-Results says dmarc=pass."
)
_RELAY = "the vendor relay (ask the vendor's support to change it)"


def _step(check: str, domain: str, severity: Severity, **kw: Any) -> FixStep:
    """A fix step resolving the finding ``check`` about ``domain``."""
    return FixStep(resolves=((check, domain),), severity=severity, **kw)


def _policy_findings(policy: PolicyLookup, report: str) -> tuple[list[Finding], list[FixStep]]:
    domain, org = policy.domain, policy.org_domain
    out: list[Finding] = []
    fixes: list[FixStep] = []
    if policy.status == "temperror":
        out.append(
            _f(
                domain,
                "dmarc.dns-temporary-failure",
                Severity.ERROR,
                f"The DMARC record of {domain} could not be fetched: {policy.error}",
                "Check that the domain's DNS servers answer TXT queries; receivers defer or "
                "treat the mail as temperror meanwhile.",
                reference="RFC 7489 §6.6.3",
            )
        )
        return out, fixes
    if policy.status == "none":
        host = f"_dmarc.{org}"
        new = starting_record(report)
        fixes.append(
            _step(
                "dmarc.no-record",
                domain,
                Severity.WARNING,
                host=host,
                rtype="TXT",
                current="",
                new=new,
                action=f"Publish a DMARC record for {org}",
                why="start monitoring: receivers send aggregate reports, nothing is blocked",
                verify=_dig(host),
            )
        )
        out.append(
            _f(
                domain,
                "dmarc.no-record",
                Severity.WARNING,
                f"{domain} publishes no DMARC record (asked {', '.join(policy.asked)}): Gmail, Yahoo and "
                "Outlook treat its mail as unauthenticated bulk and file more of it as spam.",
                f'Publish TXT {host} "{new}"; once the reports show the vendor\'s mail aligned, move to p=quarantine.',
                reference="RFC 7489 §6.1, §6.6.3",
                evidence=tuple(("asked", a) for a in policy.asked)
                + tuple(("other TXT at _dmarc", t) for t in policy.others),
            )
        )
        return out, fixes
    host = policy.location
    if policy.status == "multiple":
        keep = next((r for r in policy.records if _parses(r)), None) or repair_record(policy.records[0], report)
        fixes.append(
            _step(
                "dmarc.multiple-records",
                domain,
                Severity.ERROR,
                host=host,
                rtype="TXT",
                current="\n".join(policy.records),
                new=keep,
                action=f"Keep one DMARC record at {host}",
                why="one DMARC record only: with several, receivers apply none",
                verify=_dig(host),
            )
        )
        out.append(
            _f(
                domain,
                "dmarc.multiple-records",
                Severity.ERROR,
                f"{host} has {len(policy.records)} DMARC records; receivers apply no policy at all.",
                f'Delete all but one: keep "{keep}".',
                reference="RFC 7489 §6.6.3 step 5",
                evidence=tuple((f"record {i + 1}", r) for i, r in enumerate(policy.records)),
            )
        )
        return out, fixes
    if policy.syntax_error is not None:
        err = policy.syntax_error
        new = repair_record(policy.records[0], report)
        fixes.append(
            _step(
                "dmarc.syntax-error",
                domain,
                Severity.ERROR,
                host=host,
                rtype="TXT",
                current=policy.records[0],
                new=new,
                action=f"Repair the DMARC record at {host}",
                why=f"the record does not parse ({err.reason}): receivers ignore it",
                verify=_dig(host),
            )
        )
        out.append(
            _f(
                domain,
                "dmarc.syntax-error",
                Severity.ERROR,
                f"The DMARC record at {host} has a syntax error: {err.reason}; receivers ignore it.",
                f'Publish "{new}" instead.',
                detail=err.marked(),
                reference="RFC 7489 §6.4",
                evidence=(("tag", err.tag), ("position", str(err.position + 1))),
            )
        )
        return out, fixes
    rec = policy.record
    assert rec is not None
    applied = policy.policy or "none"
    if applied == "none":
        new = stricter_record(rec.text)
        fixes.append(
            _step(
                "dmarc.policy-none",
                domain,
                Severity.INFO,
                host=host,
                rtype="TXT",
                current=rec.text,
                new=new,
                order=ORDER_POLICY,
                action=f"Later: ask receivers to quarantine spoofed mail ({host})",
                why="after the aggregate reports show every legitimate path aligned: protect the "
                "domain against spoofing",
                verify=_dig(host),
            )
        )
        scope = " (sp=none for subdomains)" if policy.inherited and rec.sp else ""
        out.append(
            _f(
                domain,
                "dmarc.policy-none",
                Severity.INFO,
                f"{host} asks receivers only to report failing mail (p=none{scope}): monitoring, no protection.",
                f'Read the aggregate reports (rua); when the vendor\'s mail aligns, publish "{new}".',
                reference="RFC 7489 §6.3",
                evidence=(("record", rec.text), ("rua", ", ".join(rec.rua) or "(none: no reports)")),
            )
        )
    return out, fixes


def _parses(text: str) -> bool:
    from .record import DmarcSyntaxError, parse_dmarc

    try:
        parse_dmarc(text)
    except DmarcSyntaxError:
        return False
    return True


def _key_findings(v: PathVerdict) -> tuple[list[Finding], list[FixStep]]:
    out: list[Finding] = []
    fixes: list[FixStep] = []
    path = v.path
    domain = path.from_domain
    for ident, key in zip(path.dkim, v.keys):
        ev = (("path", path.label), ("selector", key.name)) + ((("CNAME", key.cname),) if key.cname else ())
        if ident.target:
            new, rtype = ident.target, "CNAME"
            how = f"Publish {key.name} CNAME {ident.target} (the vendor's key; the vendor rotates it)."
        else:
            new, rtype = "(the key your mail provider generates, 2048-bit RSA)", "TXT"
            how = f"Publish the key your mail provider gives for selector {ident.selector} at {key.name}."
        current = key.cname or key.record
        if key.status == "temperror":
            out.append(
                _f(
                    domain,
                    "dmarc.dns-temporary-failure",
                    Severity.ERROR,
                    f"The DKIM key {key.name} could not be fetched: {key.problem}",
                    "Check the domain's DNS servers answer TXT queries.",
                    reference="RFC 6376 §6.1.2",
                    evidence=ev,
                )
            )
        elif key.status == "missing":
            fixes.append(
                _step(
                    "dkim.selector-missing",
                    domain,
                    Severity.WARNING,
                    host=key.name,
                    rtype=rtype,
                    current=current,
                    new=new,
                    action=f"Publish the DKIM key of the {path.label}",
                    why=f"the {path.label} signs with s={ident.selector} d={ident.domain}; without "
                    "the key receivers cannot verify it",
                    verify=_dig(key.name, rtype),
                    path=path.kind,
                )
            )
            out.append(
                _f(
                    domain,
                    "dkim.selector-missing",
                    Severity.WARNING,
                    f"{key.name} has no DKIM key, so the {path.label}'s signatures (s={ident.selector}) cannot verify.",
                    how,
                    reference="RFC 6376 §3.6.2.1",
                    evidence=ev,
                )
            )
        elif key.status in ("invalid", "revoked"):
            fixes.append(
                _step(
                    "dkim.key-invalid",
                    domain,
                    Severity.ERROR,
                    host=key.name,
                    rtype=rtype,
                    current=current,
                    new=new,
                    action=f"Replace the DKIM key record at {key.name}",
                    why=key.problem,
                    verify=_dig(key.name, rtype),
                    path=path.kind,
                )
            )
            out.append(
                _f(
                    domain,
                    "dkim.key-invalid",
                    Severity.ERROR,
                    f"The DKIM key at {key.name} cannot be used: {key.problem}.",
                    how,
                    reference="RFC 6376 §3.6.1",
                    evidence=ev + (("record", key.record),),
                )
            )
        elif key.status == "short" or (key.key_type == "rsa" and 0 < key.bits < 2048):
            short = key.status == "short"
            fixes.append(
                _step(
                    "dkim.key-too-short",
                    domain,
                    Severity.ERROR if short else Severity.WARNING,
                    host=key.name,
                    rtype=rtype,
                    current=current,
                    new=new,
                    action=f"Replace the {key.bits}-bit DKIM key at {key.name}",
                    why=f"{key.bits}-bit RSA key",
                    verify=_dig(key.name, rtype),
                    path=path.kind,
                )
            )
            out.append(
                _f(
                    domain,
                    "dkim.key-too-short",
                    Severity.ERROR if short else Severity.WARNING,
                    f"The DKIM key at {key.name} is {key.bits}-bit RSA: "
                    + (
                        "receivers must not accept it, so the signature fails."
                        if short
                        else "below the 2048 bits RFC 8301 asks signers to use."
                    ),
                    how if ident.target else "Generate a 2048-bit key at your mail provider and publish it.",
                    reference="RFC 8301 §3.2",
                    evidence=ev + (("bits", str(key.bits)),),
                )
            )
    return out, fixes


def _path_findings(v: PathVerdict, policy: PolicyLookup) -> tuple[list[Finding], list[FixStep]]:
    out, fixes = _key_findings(v)
    path, o = v.path, v.outcome
    domain = path.from_domain
    ev = (
        ("path", path.label),
        ("MAIL FROM domain", path.mail_from_domain),
        ("SPF", v.spf_result or "not evaluated"),
        ("DMARC", v.dmarc),
    )
    spf_ok = o is not None and o.spf_aligned
    dkim_ok = o is not None and o.dkim_aligned
    if v.spf_result is not None and not spf_ok:
        if not v.spf_domain_aligned:
            why = f"the {path.label} uses MAIL FROM @{path.mail_from_domain}, not aligned with {domain}" + (
                f" (SPF {v.spf_result} there)" if v.spf_result else ""
            )
            fixes.append(
                _step(
                    "dmarc.spf-not-aligned",
                    domain,
                    Severity.INFO if dkim_ok else Severity.WARNING,
                    host="sending.relay_mail_from_domain",
                    rtype="setting",
                    label=f"{_RELAY}: its envelope sender (MAIL FROM) domain",
                    current=path.mail_from_domain,
                    new=domain,
                    why="an aligned envelope sender lets SPF count for DMARC",
                    path=path.kind,
                    verify=_TEST_MESSAGE,
                )
            )
            remedy = (
                f"Have the relay send with MAIL FROM @{domain} (tenant setting "
                "sending.relay_mail_from_domain) and keep the vendor include in its SPF record, or rely on "
                "an aligned DKIM signature."
            )
        else:
            why = f"SPF gives {v.spf_result} for the {path.label}'s IPs at {path.mail_from_domain}"
            remedy = (
                f'Publish the SPF record "{v.spf_suggestion}" at {path.mail_from_domain}.'
                if v.spf_suggestion
                else f"Fix the SPF record of {path.mail_from_domain} (see the SPF check)."
            )
            if v.spf_suggestion:
                fixes.append(
                    _step(
                        "dmarc.spf-not-aligned",
                        domain,
                        Severity.INFO if dkim_ok else Severity.WARNING,
                        host=path.mail_from_domain,
                        rtype="TXT",
                        current=v.spf_record or "",
                        new=v.spf_suggestion,
                        action=f"Publish this SPF record for {path.mail_from_domain}",
                        why=f"SPF must pass for the {path.label}'s IPs",
                        path=path.kind,
                        verify=_dig(path.mail_from_domain),
                    )
                )
        out.append(
            _f(
                domain,
                "dmarc.spf-not-aligned",
                Severity.INFO if dkim_ok else Severity.WARNING,
                f"SPF does not count for DMARC on the {path.label}: {why}."
                + (" DMARC rests on DKIM alone." if dkim_ok else ""),
                remedy,
                reference="RFC 7489 §3.1.2, §4.2",
                evidence=ev + tuple(v.spf_ips),
            )
        )
    if path.dkim and not dkim_ok:
        usable = v.dkim_usable
        mode = policy.record.adkim if policy.record else "r"
        off = [i for i in path.dkim if not aligned(i.domain, domain, mode)]
        if off:
            why = f"it signs with d={off[0].domain}, not aligned with {domain}"
            fixes.append(
                _step(
                    "dmarc.dkim-not-aligned",
                    domain,
                    Severity.INFO if spf_ok else Severity.WARNING,
                    host="sending.relay_dkim_domain",
                    rtype="setting",
                    label=f"{_RELAY}: the domain it signs DKIM with (d=)",
                    current=off[0].domain,
                    new=domain,
                    path=path.kind,
                    why="an aligned d= lets DKIM count for DMARC (and survives forwarding)",
                    verify=_TEST_MESSAGE,
                )
            )
            if path.kind == "vendor" and path.dkim[0].target:
                ident = path.dkim[0]
                fixes.append(
                    _step(
                        "dmarc.dkim-not-aligned",
                        domain,
                        Severity.INFO if spf_ok else Severity.WARNING,
                        host=f"{ident.selector}._domainkey.{domain}",
                        rtype="CNAME",
                        current="",
                        new=ident.target,
                        path=path.kind,
                        action=f"Publish the DKIM key of the {path.label}",
                        why="the key the relay signs your domain with",
                        verify=_dig(f"{ident.selector}._domainkey.{domain}", "CNAME"),
                    )
                )
        elif not usable:
            why = "its key record is not usable (see the dkim finding)"
        else:
            why = "its signature is not aligned"
        out.append(
            _f(
                domain,
                "dmarc.dkim-not-aligned",
                Severity.INFO if spf_ok else Severity.WARNING,
                f"DKIM does not count for DMARC on the {path.label}: {why}."
                + (" DMARC rests on SPF alone, which forwarding breaks." if spf_ok else ""),
                "Publish the DKIM record below so the relay signs as your domain."
                if path.kind == "vendor"
                else "Turn on DKIM signing for your domain at your mail provider and publish its key.",
                reference="RFC 7489 §3.1.1, §4.2",
                evidence=ev + tuple((i.name, k.status) for i, k in zip(path.dkim, v.keys)),
            )
        )
    if o is not None and o.result == "fail":
        applied = o.policy or "none"
        harsh = applied in ("quarantine", "reject")
        effect = {"reject": "rejected", "quarantine": "put in the spam folder"}.get(applied, "delivered but reported")
        sample = "" if o.sampled else f" (pct={policy.record.pct if policy.record else 100}: for that share of it)"
        out.append(
            _f(
                domain,
                "dmarc.would-fail",
                Severity.ERROR if harsh else Severity.WARNING,
                f"Mail from {domain} through the {path.label} fails DMARC ({o.reason}); with p={applied} "
                f"receivers have it {effect}{sample}.",
                (
                    "Apply the fix steps of this path: an aligned DKIM signature (the selector CNAME) is the "
                    "robust one; an aligned SPF pass also suffices."
                    if path.kind == "vendor"
                    else "Turn on DKIM signing for your domain at your mail provider (the robust fix), or list "
                    "your server's address in your SPF record."
                ),
                reference="RFC 7489 §6.6.2, §6.7",
                evidence=ev,
            )
        )
    # any of the path's records repairs the path: each also resolves its alignment/failure findings
    path_keys = tuple((f.check, f.subject) for f in out if f.check.startswith("dmarc."))
    worst = max((f.severity for f in out), default=Severity.INFO)
    fixes = [
        replace(x, resolves=tuple(dict.fromkeys(x.resolves + path_keys)), severity=max(x.severity, worst))
        for x in fixes
    ]
    return out, fixes


def diagnose(
    policy: PolicyLookup, verdicts: tuple[PathVerdict, ...], *, report_address: str = ""
) -> tuple[tuple[Finding, ...], tuple[FixStep, ...]]:
    """Findings and fix steps for one From domain (see :data:`DMARC_CHECKS`)."""
    report = report_address or f"dmarc-reports@{policy.domain}"
    findings, fixes = _policy_findings(policy, report)
    for v in verdicts:
        f, x = _path_findings(v, policy)
        findings += f
        fixes += x
    unique: dict[tuple[str, str, str], FixStep] = {}
    for step in fixes:
        key = (step.host, step.rtype, step.new)
        if key in unique:  # one record asked for by several findings: one step resolving them all
            kept = unique[key]
            unique[key] = replace(
                kept,
                resolves=tuple(dict.fromkeys(kept.resolves + step.resolves)),
                severity=max(kept.severity, step.severity),
            )
        else:
            unique[key] = step
    return tuple(findings), tuple(unique.values())
