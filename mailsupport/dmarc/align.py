"""DMARC evaluation without I/O: organisational domains, identifier alignment, policy
discovery and the result a receiver computes (RFC 7489 §3.1, §3.2, §6.6).

* :func:`organizational_domain` — RFC 7489 §3.2: the public suffix of the name (from the
  Public Suffix List, the ``publicsuffixlist`` package's bundled snapshot, ICANN and private
  sections as receivers use it) plus one label; a name that is itself a public suffix is its
  own organisational domain.
* :func:`aligned` — §3.1.1/§3.1.2: strict means equal names, relaxed means the same
  organisational domain.
* :func:`discover_policy` — §6.6.3 as a generator (it yields ``(name, "TXT")`` questions and
  receives :class:`~mailsupport.dnslookup.DnsAnswer` values, as the SPF engine does): the
  record at ``_dmarc.<From domain>``, else at ``_dmarc.<organisational domain>``; only TXT
  records starting ``v=DMARC1`` count; more than one is an error; a record that does not
  parse is an error (``permerror``, §11.2).
* :func:`evaluate` — the DMARC result from the SPF and DKIM results and their domains: pass
  when an SPF pass is aligned (MAIL FROM domain) or a DKIM pass is aligned (``d=``), and the
  policy the receiver applies (``sp`` for subdomains, ``pct`` sampling noted).

Pure (layer 2): imports the record parser, errors and ``publicsuffixlist`` (loaded on first use).
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import DnsError, DnsTempError
from .record import DmarcRecord, DmarcSyntaxError, is_dmarc_record, parse_dmarc

__all__ = ["organizational_domain", "aligned", "PolicyLookup", "discover_policy", "DmarcOutcome", "evaluate", "RESULTS"]

#: DMARC results as Authentication-Results writes them (RFC 7489 §11.2).
RESULTS = ("pass", "fail", "none", "temperror", "permerror")

Gen = Generator[tuple[str, str], Any, Any]


@functools.lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@functools.lru_cache(maxsize=2048)
def organizational_domain(name: str) -> str:
    """RFC 7489 §3.2: the registered domain of ``name`` per the Public Suffix List."""
    name = name.strip().rstrip(".").lower()
    if not name:
        return name
    return _psl().privatesuffix(name) or name


def aligned(identifier: str, from_domain: str, mode: str = "r") -> bool:
    """Is ``identifier`` (MAIL FROM domain or DKIM ``d=``) aligned with the From domain? ``mode`` r or s."""
    a = identifier.strip().rstrip(".").lower()
    b = from_domain.strip().rstrip(".").lower()
    if not a or not b:
        return False
    if mode == "s":
        return a == b
    return a == b or organizational_domain(a) == organizational_domain(b)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyLookup:
    """What policy discovery found for a From domain (§6.6.3).

    ``location`` is the name the records were found at (``_dmarc.<domain>`` or
    ``_dmarc.<organisational domain>``), empty when none; ``records`` the ``v=DMARC1`` texts
    there, ``others`` other TXT texts there; ``record``/``syntax_error`` the parse of the
    single record; ``error`` a temporary DNS failure; ``inherited`` is True when the record
    is the organisational domain's (then ``sp`` applies); ``asked`` the names queried.
    """

    domain: str
    org_domain: str
    location: str = ""
    records: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    record: DmarcRecord | None = None
    syntax_error: DmarcSyntaxError | None = None
    error: str = ""
    inherited: bool = False
    asked: tuple[str, ...] = ()

    @property
    def policy(self) -> str | None:
        """The policy a receiver applies to mail from :attr:`domain` (None when there is none)."""
        if self.record is None:
            return None
        return self.record.policy_for(subdomain=self.inherited)

    @property
    def status(self) -> str:
        """``ok``, ``none`` (no record), ``multiple``, ``syntax`` or ``temperror``."""
        if self.error:
            return "temperror"
        if not self.records:
            return "none"
        if len(self.records) > 1:
            return "multiple"
        return "syntax" if self.record is None else "ok"


def _txt(name: str) -> Gen:
    """TXT texts at ``name``; () for NXDOMAIN/NODATA or an unusable name; DnsTempError propagates."""
    try:
        answer = yield (name, "TXT")
    except DnsTempError:
        raise
    except DnsError:
        return ()
    return tuple(answer.records)


def discover_policy(domain: str) -> Gen:
    """§6.6.3 policy discovery for the From domain ``domain`` (a generator; returns :class:`PolicyLookup`)."""
    domain = domain.strip().rstrip(".").lower()
    org = organizational_domain(domain)
    asked: list[str] = []
    found: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    location = ""
    inherited = False
    for candidate, from_org in ((domain, False), (org, True)):
        if from_org and candidate == domain:
            break
        name = f"_dmarc.{candidate}"
        asked.append(name)
        try:
            texts = yield from _txt(name)
        except DnsTempError as exc:
            return PolicyLookup(domain=domain, org_domain=org, error=f"{name} TXT: {exc}", asked=tuple(asked))
        found = tuple(t for t in texts if is_dmarc_record(t))
        if found or not from_org:
            others = tuple(t for t in texts if not is_dmarc_record(t))
        if found:
            location, inherited = name, from_org
            break
    record = syntax = None
    if len(found) == 1:
        try:
            record = parse_dmarc(found[0])
        except DmarcSyntaxError as exc:
            syntax = exc
    return PolicyLookup(
        domain=domain,
        org_domain=org,
        location=location,
        records=found,
        others=others,
        record=record,
        syntax_error=syntax,
        inherited=inherited,
        asked=tuple(asked),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcOutcome:
    """The DMARC result for one message (or one sending path) and what the receiver does.

    ``spf_aligned``/``dkim_aligned`` are True when a *passing* identifier is aligned;
    ``disposition`` is the policy applied to a failing message (``none`` when it passes or
    there is no policy); ``sampled`` is False when ``pct`` < 100 means some failing mail gets
    the next weaker policy.
    """

    result: str
    from_domain: str
    policy: str | None = None
    disposition: str = "none"
    spf_aligned: bool = False
    dkim_aligned: bool = False
    sampled: bool = True
    reason: str = ""


def evaluate(
    from_domain: str, lookup: PolicyLookup, *, spf: tuple[str, str] | None, dkim: Iterable[tuple[str, str]] = ()
) -> DmarcOutcome:
    """The DMARC result (§6.6.2, §11.2): ``spf`` is ``(result, MAIL FROM domain)``, ``dkim``
    ``(result, d=)`` per signature."""
    record = lookup.record
    adkim = record.adkim if record else "r"
    aspf = record.aspf if record else "r"
    spf_ok = spf is not None and spf[0] == "pass" and aligned(spf[1], from_domain, aspf)
    dkim_ok = any(r == "pass" and aligned(d, from_domain, adkim) for r, d in dkim)
    base = dict(from_domain=from_domain, spf_aligned=spf_ok, dkim_aligned=dkim_ok)
    status = lookup.status
    if status == "temperror":
        return DmarcOutcome(result="temperror", reason=lookup.error, **base)
    if status == "none":
        return DmarcOutcome(result="none", reason="no DMARC record", **base)
    if status == "multiple":
        return DmarcOutcome(
            result="permerror", reason=f"{len(lookup.records)} DMARC records at {lookup.location}", **base
        )
    if record is None:
        return DmarcOutcome(result="permerror", reason=str(lookup.syntax_error), **base)
    policy = lookup.policy
    if spf_ok or dkim_ok:
        how = " and ".join(w for w, ok in (("SPF", spf_ok), ("DKIM", dkim_ok)) if ok)
        return DmarcOutcome(result="pass", policy=policy, reason=f"aligned {how} pass", **base)
    why = []
    if spf is None or spf[0] != "pass":
        why.append(f"SPF {spf[0] if spf else 'not evaluated'}")
    else:
        why.append(f"SPF pass for {spf[1]} not aligned with {from_domain} ({'strict' if aspf == 's' else 'relaxed'})")
    passes = [d for r, d in dkim if r == "pass"]
    if passes:
        why.append(f"DKIM pass for d={', '.join(passes)} not aligned ({'strict' if adkim == 's' else 'relaxed'})")
    else:
        why.append("no passing DKIM signature")
    return DmarcOutcome(
        result="fail",
        policy=policy,
        disposition=policy or "none",
        sampled=record.pct >= 100,
        reason="; ".join(why),
        **base,
    )
