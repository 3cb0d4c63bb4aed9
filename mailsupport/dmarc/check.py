"""Check a From domain's DMARC for its sending paths: :func:`check_domain` → :class:`DmarcCheck`.

Gathers the facts through one :class:`~mailsupport.dnslookup.DnsLookup`: the policy record
(§6.6.3 discovery, :mod:`.align`), for each :class:`~mailsupport.dmarc.paths.SendingPath`
the SPF result of its sending IPs at its MAIL FROM domain (the SPF engine's check_host(),
the vendor include's IPs read from its own record as ``mailsupport spf`` does, shared
through the run memo) and each DKIM key it signs with (:mod:`.dkimcheck`, dkimpy's key
parser); then computes the DMARC result a receiver would (:func:`.align.evaluate`) and the
findings and fix steps (:mod:`.findings`). One generator does the work, so the same code
runs sync (:func:`check_domain`) and async (:func:`check_domain_async`, used by the audit).

Layer 4 (use case): imports the dmarc and spf cores, the DKIM client and dnslookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..dnslookup import DnsLookup, make_lookup
from ..errors import DnsError
from ..model import Finding, Severity
from ..spf.diagnose.check import run_memo, vendor_ips
from ..spf.engine import run_async, run_sync
from ..spf.expand import tree
from ..spf.parse import is_spf_record
from ..spf.resolve import evaluate_many
from ..spf.suggest import suggest_record
from ..tenant import Tenant
from .align import PolicyLookup, discover_policy, evaluate
from .dkimcheck import DkimKey, fetch_key
from .findings import PathVerdict, diagnose
from .fixes import FixStep
from .paths import SendingPath, default_path, sending_path

__all__ = ["DmarcCheck", "check_domain", "check_domain_async", "domain_paths"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcCheck:
    """The DMARC state of one From domain for its sending paths, ready to show.

    ``policy`` is what discovery found; ``verdicts`` one :class:`PathVerdict` per path;
    ``fixes`` the records to publish (:class:`~mailsupport.dmarc.fixes.FixStep`, the fix
    report's data); ``source`` where DNS answers came from.
    """

    domain: str
    policy: PolicyLookup
    verdicts: tuple[PathVerdict, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    fixes: tuple[FixStep, ...] = ()
    source: str = ""

    @property
    def ok(self) -> bool:
        """True when no finding is an error or worse."""
        return all(f.severity < Severity.ERROR for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``mailsupport dmarc --format json``."""
        from .render import check_to_dict

        return check_to_dict(self)

    def to_text(self) -> str:
        """A plain-text report: policy, per-path verdicts, findings, fix steps."""
        from .render import check_to_text

        return check_to_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from .render import check_to_html

        return check_to_html(self)


def _combine(results: list[str]) -> str:
    others = [r for r in results if r != "pass"]
    return others[0] if others else "pass"


def _spf_records(domain: str) -> Any:
    try:
        answer = yield (domain, "TXT")
    except DnsError:
        return ()
    return tuple(r for r in answer.records if is_spf_record(r))


def _addresses(host: str) -> Any:
    out: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = yield (host, rdtype)
        except DnsError:
            continue
        out.extend(answer.records)
    return tuple(out)


def _path_ips(path: SendingPath, memo: dict | None) -> Any:
    if path.ips:
        return path.ips
    if path.kind == "own":
        return (yield from _addresses(path.smtp_host)) if path.smtp_host else ()
    key = ("vendor", path.vendor_include.lower())
    if memo is not None and key in memo:
        return memo[key][1]
    vtree, _lookups, _voids = yield from tree(path.vendor_include, memo=memo)
    ips = vendor_ips(vtree)
    if memo is not None:
        memo[key] = (vtree, ips)
    return ips


def _vendor_key(key: DkimKey, target: str) -> Any:
    """The key as the relay's: usable only if it is the vendor's key (the CNAME, or the same text)."""
    if key.status != "ok" or not target or key.cname.lower() == target.lower():
        return key
    try:
        answer = yield (target, "TXT")
        theirs = tuple(answer.records)
    except DnsError:
        theirs = ()
    if theirs and key.record in theirs:
        return key
    return DkimKey(
        name=key.name,
        status="invalid",
        record=key.record,
        cname=key.cname,
        key_type=key.key_type,
        bits=key.bits,
        problem=f"this is not the vendor's key (expected a CNAME to {target}), so the relay's signatures fail",
    )


def _verdict(path: SendingPath, policy: PolicyLookup, memo: dict | None) -> Any:
    ips = yield from _path_ips(path, memo)
    spf_result = record = suggestion = None
    pairs: tuple[tuple[str, str], ...] = ()
    if ips:
        mail_from = path.mail_from_domain
        recent = memo.get("recent-verdicts") if memo is not None else None
        results = recent.get((mail_from, tuple(ips))) if recent else None  # the spf kind's, just computed
        if results is None:
            results = yield from evaluate_many(
                tuple(ips), mail_from, sender=f"postmaster@{mail_from}", memo=memo, trace_first=False
            )
        pairs = tuple((ip, r.result) for ip, r in zip(ips, results))
        spf_result = _combine([r for _ip, r in pairs])
        records = yield from _spf_records(mail_from)
        record = records[0] if records else None
        if spf_result != "pass" and path.kind == "vendor" and spf_result != "temperror":
            suggestion = suggest_record(records, vendor_include=path.vendor_include).record
    keys: list[DkimKey] = []
    for ident in path.dkim:
        key = yield from fetch_key(ident.selector, ident.domain, alias_first=bool(ident.target))
        if ident.target:
            key = yield from _vendor_key(key, ident.target)
        keys.append(key)
    outcome = None
    if spf_result is not None or path.dkim:
        outcome = evaluate(
            path.from_domain,
            policy,
            spf=(spf_result, path.mail_from_domain) if spf_result is not None else None,
            dkim=[("pass" if k.usable else "fail", i.domain) for i, k in zip(path.dkim, keys)],
        )
        if spf_result is None and outcome.result == "fail":
            outcome = None  # the result depends on the SPF of a server whose address is not known
    aspf = policy.record.aspf if policy.record is not None else "r"
    return PathVerdict(
        path=path,
        spf_result=spf_result,
        spf_ips=pairs,
        spf_record=record,
        spf_suggestion=suggestion,
        keys=tuple(keys),
        outcome=outcome,
        aspf=aspf,
    )


def _check(domain: str, paths: tuple[SendingPath, ...], source: str, memo: dict | None) -> Any:
    domain = domain.strip().rstrip(".").lower()
    policy = yield from discover_policy(domain)
    verdicts = []
    for path in paths:
        verdicts.append((yield from _verdict(path, policy, memo)))
    report = paths[0].report_address if paths else ""
    findings, fixes = diagnose(policy, tuple(verdicts), report_address=report)
    return DmarcCheck(
        domain=domain, policy=policy, verdicts=tuple(verdicts), findings=findings, fixes=fixes, source=source
    )


def domain_paths(
    domain: str,
    *,
    tenant: Tenant | None = None,
    paths: Iterable[str] | None = None,
    ips: tuple[str, ...] = (),
    selectors: tuple[str, ...] = (),
) -> tuple[SendingPath, ...]:
    """The sending paths to check for ``domain``: ``paths`` by name, else the tenant's own path."""
    kinds = tuple(paths) if paths else (default_path(tenant),)
    return tuple(sending_path(domain, k, tenant=tenant, ips=ips, selectors=selectors) for k in kinds)


def check_domain(
    domain: str,
    *,
    tenant: Tenant | None = None,
    paths: Iterable[str] | None = None,
    lookup: DnsLookup | None = None,
    ips: tuple[str, ...] = (),
    selectors: tuple[str, ...] = (),
) -> DmarcCheck:
    """Check ``domain``'s DMARC for its sending paths (see :class:`DmarcCheck`).

    ``paths`` names ``vendor`` and/or ``own`` (default: the tenant's path, or ``vendor``);
    ``ips`` the sending IPs to evaluate SPF for instead of the path's own; ``selectors`` the
    DKIM selectors; ``lookup`` defaults to the system resolver.
    """
    lookup = lookup or make_lookup()
    chosen = domain_paths(domain, tenant=tenant, paths=paths, ips=ips, selectors=selectors)
    return run_sync(_check(domain, chosen, lookup.source, run_memo(lookup)), lookup)


async def check_domain_async(
    domain: str,
    *,
    tenant: Tenant | None = None,
    paths: Iterable[str] | None = None,
    lookup: DnsLookup | None = None,
    ips: tuple[str, ...] = (),
    selectors: tuple[str, ...] = (),
) -> DmarcCheck:
    """The async form of :func:`check_domain` (many domains on one event loop: the audit)."""
    lookup = lookup or make_lookup()
    chosen = domain_paths(domain, tenant=tenant, paths=paths, ips=ips, selectors=selectors)
    return await run_async(_check(domain, chosen, lookup.source, run_memo(lookup)), lookup)
