"""Check a customer domain's SPF end to end: :func:`check_domain` → :class:`SpfCheck`.

Gathers the facts through one :class:`~mailsupport.dnslookup.DnsLookup` (the record, the
static lookup tree, the vendor include's own record and its sending IPs, check_host() for
each of them — the first in full with its trace, the others matched against the record tree
resolved once, :mod:`mailsupport.spf.resolve`), diagnoses them (:mod:`.findings`), builds the suggested record
(:mod:`mailsupport.spf.suggest`) and evaluates that suggestion too. One generator does the work, so the
same code runs sync (:func:`check_domain`) and async (:func:`check_domain_async`,
:func:`check_domains_async` for many domains at once with a shared answer cache).

Layer 4 (use case): imports the spf core, dnslookup, model and the renderers beside it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...dnslookup import CachedLookup, DnsLookup, make_lookup
from ...errors import OperationError
from ...fixes import FixStep
from ...model import Finding, Severity
from ...tenant import DEFAULT_VENDOR_INCLUDE
from ..engine import EvaluationStopped, Gen, SpfResult, ask, run_async, run_sync
from ..expand import tree
from ..parse import SpfRecord, SpfSyntaxError, is_spf_record, parse_record
from ..resolve import evaluate_many
from ..suggest import flatten_networks, suggest_record
from ..trace import RecordTrace
from .findings import SpfFacts, diagnose, include_costs
from .fixes import spf_fix_steps

__all__ = ["SpfCheck", "check_domain", "check_domain_async", "check_domains", "check_domains_async", "vendor_ips"]

MAX_VENDOR_IPS = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfCheck:
    """The SPF state of one domain, ready to show.

    ``verdict`` is the check_host() result for ``ip`` when given, else for the vendor's
    sending IPs (``pass`` only when every one passes; otherwise the first other result);
    ``verdicts`` lists ``(ip, result)``; ``evaluation`` is the full result (with trace) for
    the first IP. ``dns_lookups``/``void_lookups`` count the whole static tree
    (:attr:`tree`), which is what a receiver may spend. ``suggested_record`` is None when
    nothing needs fixing (or the check ran with ``detail=False``); ``suggestion_verdict``/
    ``suggestion_lookups`` come from evaluating the suggestion through DNS.
    """

    domain: str
    vendor_include: str = DEFAULT_VENDOR_INCLUDE
    records: tuple[str, ...] = ()
    verdict: str = "none"
    verdicts: tuple[tuple[str, str], ...] = ()
    evaluation: SpfResult | None = None
    dns_lookups: int = 0
    void_lookups: int = 0
    tree: RecordTrace | None = None
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    suggested_record: str | None = None
    suggestion_changes: tuple[str, ...] = ()
    suggestion_lookups: int | None = None
    suggestion_verdict: str | None = None
    source: str = ""

    @property
    def trace(self) -> RecordTrace | None:
        """The evaluation trace for the first IP checked."""
        return self.evaluation.trace if self.evaluation else None

    @property
    def ok(self) -> bool:
        """True when no finding is an error or worse."""
        return all(f.severity < Severity.ERROR for f in self.findings)

    @property
    def fixes(self) -> tuple[FixStep, ...]:
        """The fix step: publish :attr:`suggested_record` at the domain's TXT (none when nothing to fix)."""
        return spf_fix_steps(self)

    def fix_steps(self, *, detail: bool = False) -> tuple[FixStep, ...]:
        """:attr:`fixes`, with the current record's evaluation trace as each step's detail when ``detail``."""
        return spf_fix_steps(self, detail=detail)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``mailsupport spf --format json``."""
        from .render import check_to_dict

        return check_to_dict(self)

    def to_text(self) -> str:
        """A plain-text report (verdict, findings, suggestion, trace tree)."""
        from .render import check_to_text

        return check_to_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from .render import check_to_html

        return check_to_html(self)


def vendor_ips(vendor_tree: RecordTrace | None, limit: int = MAX_VENDOR_IPS) -> tuple[str, ...]:
    """One representative address per ``ip4``/``ip6`` network of the vendor's record tree."""
    if vendor_tree is None:
        return ()
    out: list[str] = []
    for _depth, node in vendor_tree.walk():
        text = getattr(node, "term", "")
        low = text.lower().lstrip("+")
        if low.startswith(("ip4:", "ip6:")):
            try:
                net = ipaddress.ip_network(low[4:], strict=False)
            except ValueError:
                continue
            host = next(iter(net.hosts()), net.network_address) if net.num_addresses > 2 else net.network_address
            out.append(str(host))
    return tuple(dict.fromkeys(out))[:limit]


#: Per cached lookup (one run): the vendor include's tree and IPs (the same for every
#: domain) and the evaluated include subtrees (see mailsupport.spf.evaluate's memo).
_VENDOR_TREES: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def run_memo(lookup: DnsLookup) -> dict[Any, Any] | None:
    """The memo the checks of one run share (the vendor include's tree, evaluated include subtrees,
    recent vendor-IP verdicts, which :mod:`mailsupport.dmarc.check` reads too), or None: only a
    :class:`CachedLookup`'s answers are fixed for the run, so only then may they be reused."""
    if not isinstance(lookup, CachedLookup):
        return None
    return _VENDOR_TREES.setdefault(lookup, {})


def _check(
    domain: str,
    *,
    vendor_include: str,
    ip: str | None,
    sender: str,
    helo: str,
    record: str | None,
    source: str,
    memo: dict[Any, Any] | None = None,
    detail: bool = True,
    suggest: bool = True,
) -> Gen:
    domain = domain.strip().rstrip(".").lower()
    log = None  # the questions' traces: the findings do not show them
    txt_error = ""
    records: tuple[str, ...] = ()
    if record is not None:
        records = (record.strip(),)
    else:
        try:
            ans = yield from ask(domain, "TXT", log)
            records = tuple(r for r in ans.records if is_spf_record(r))
        except EvaluationStopped as err:
            txt_error = err.reason
    has_mx = False
    if not records and not txt_error:
        try:
            has_mx = bool((yield from ask(domain, "MX", log)).records)
        except EvaluationStopped:
            pass
    parsed: SpfRecord | None = None
    syntax: SpfSyntaxError | None = None
    if len(records) == 1:
        try:
            parsed = parse_record(records[0])
        except SpfSyntaxError as exc:
            syntax = exc
    elif len(records) > 1:
        for rec in records:
            try:
                parse_record(rec)
            except SpfSyntaxError as exc:
                syntax = syntax or exc
    static, lookups, voids = None, 0, 0
    if parsed is not None:
        static, lookups, voids = yield from tree(domain, record=records[0], memo=memo)
    key = ("vendor", vendor_include.lower())
    if memo is not None and key in memo:
        vtree, vips = memo[key]
    else:
        vtree, _vl, _vv = yield from tree(vendor_include, memo=memo)
        vips = vendor_ips(vtree)
        if memo is not None:
            memo[key] = (vtree, vips)
    vendor_error = vtree.error if vtree is not None and vtree.error else ""
    ips = (ip,) if ip else vips
    override = record if record is not None else None
    # one full evaluation (its trace is shown), the other IPs matched against the resolved tree
    evaluated = yield from evaluate_many(
        ips, domain, sender=sender or f"postmaster@{domain}", helo=helo, record=override, memo=memo, trace_first=detail
    )
    results: list[tuple[str, SpfResult]] = list(zip(ips, evaluated))
    if memo is not None and override is None and not ip and not sender:
        _remember(memo, domain, ips, evaluated)
    facts = SpfFacts(
        domain=domain,
        vendor_include=vendor_include,
        records=records,
        txt_error=txt_error,
        parsed=parsed,
        syntax_error=syntax,
        tree=static,
        lookups=lookups,
        voids=voids,
        vendor_verdicts=tuple(results) if not ip else (),
        vendor_error=vendor_error,
    )
    findings = diagnose(facts)
    if ip is None and not vips:
        findings += (
            Finding(
                check="spf.vendor-ip-not-permitted",
                severity=Severity.WARNING,
                subject=domain,
                summary=f"No sending IPs could be read from {vendor_include} "
                f"({vendor_error or 'no ip4/ip6 terms'}), so they were not checked.",
                remedy="Check the vendor include's name (the tenant's vendor_include setting) and its DNS.",
            ),
        )
    suggestion = None
    s_lookups = s_verdict = None
    if suggest and not txt_error and any(f.severity >= Severity.WARNING for f in findings):
        costs = include_costs(static)
        flat = {t.term: flatten_networks(t.child) for t in (static.terms if static else ()) if t.child}
        void_terms = [t.term for t in (static.terms if static else ()) if t.void]
        suggestion = suggest_record(
            records,
            vendor_include=vendor_include,
            has_mx=has_mx,
            costs=costs,
            flattenable=flat,
            void_terms=void_terms,
            voids=voids,
        )
        if len(records) == 1 and suggestion.record == records[0]:
            suggestion = None
        else:
            _t, s_lookups, _v = yield from tree(domain, record=suggestion.record, memo=memo)
            checks = yield from evaluate_many(
                vips or ips,
                domain,
                sender=f"postmaster@{domain}",
                helo=helo,
                record=suggestion.record,
                memo=memo,
                trace_first=False,
            )
            s_verdict = _combine([res.result for res in checks])
    verdicts = tuple((one, r.result) for one, r in results)
    return SpfCheck(
        domain=domain,
        vendor_include=vendor_include,
        records=records,
        verdict=_combine([r for _i, r in verdicts])
        if verdicts
        else ("temperror" if txt_error else "none" if not records else "unknown"),
        verdicts=verdicts,
        evaluation=results[0][1] if results else None,
        dns_lookups=lookups,
        void_lookups=voids,
        tree=static,
        findings=findings,
        suggested_record=suggestion.record if suggestion else None,
        suggestion_changes=suggestion.changes if suggestion else (),
        suggestion_lookups=s_lookups,
        suggestion_verdict=s_verdict,
        source=source,
    )


#: How many recent vendor-IP verdicts a run keeps for the DMARC check of the same domain.
RECENT_VERDICTS = 512


def _remember(memo: dict[Any, Any], domain: str, ips: tuple[str, ...], results: Sequence[SpfResult]) -> None:
    """Keep the vendor IPs' results for ``domain`` a short while: the audit's dmarc kind checks the
    same domain right after (mailsupport.dmarc.check reads them instead of evaluating again)."""
    recent = memo.setdefault("recent-verdicts", {})
    recent[(domain, tuple(ips))] = tuple(results)
    if len(recent) > RECENT_VERDICTS:
        del recent[next(iter(recent))]


def _combine(results: Sequence[str]) -> str:
    others = [r for r in results if r != "pass"]
    return others[0] if others else ("pass" if results else "none")


def check_domain(
    domain: str,
    *,
    vendor_include: str = DEFAULT_VENDOR_INCLUDE,
    lookup: DnsLookup | None = None,
    ip: str | None = None,
    sender: str = "",
    helo: str = "",
    record: str | None = None,
    detail: bool = True,
    suggest: bool | None = None,
) -> SpfCheck:
    """Check ``domain``'s SPF (see :class:`SpfCheck`).

    ``lookup`` defaults to the system resolver. ``ip``/``sender``/``helo`` check one
    client instead of the vendor IPs; ``record`` evaluates that text as the domain's
    record (to try an edit before publishing it). ``detail=False`` gives the same findings,
    verdicts and counts with less work, for a batch that keeps only those (the audit): every
    vendor IP is matched against the resolved record tree, the trace built only where a result
    needs the full evaluation, and (unless ``suggest`` says otherwise) no suggested record.
    ``suggest`` (default: as ``detail``) decides whether the suggested record, which the fix
    steps publish, is worked out for a domain with findings.
    """
    lookup = lookup or make_lookup()
    gen = _check(
        domain,
        vendor_include=vendor_include,
        ip=ip,
        sender=sender,
        helo=helo,
        record=record,
        source=lookup.source,
        memo=run_memo(lookup),
        detail=detail,
        suggest=detail if suggest is None else suggest,
    )
    return run_sync(gen, lookup)


async def check_domain_async(
    domain: str,
    *,
    vendor_include: str = DEFAULT_VENDOR_INCLUDE,
    lookup: DnsLookup | None = None,
    ip: str | None = None,
    sender: str = "",
    helo: str = "",
    record: str | None = None,
    detail: bool = True,
    suggest: bool | None = None,
) -> SpfCheck:
    """The async form of :func:`check_domain` (for many domains on one event loop)."""
    lookup = lookup or make_lookup()
    gen = _check(
        domain,
        vendor_include=vendor_include,
        ip=ip,
        sender=sender,
        helo=helo,
        record=record,
        source=lookup.source,
        memo=run_memo(lookup),
        detail=detail,
        suggest=detail if suggest is None else suggest,
    )
    return await run_async(gen, lookup)


def _failed(domain: str, vendor_include: str, exc: Exception) -> SpfCheck:
    return SpfCheck(
        domain=domain,
        vendor_include=vendor_include,
        verdict="temperror",
        findings=(
            Finding(
                check="spf.dns-temporary-failure",
                severity=Severity.ERROR,
                subject=domain,
                summary=f"The check could not run: {exc}",
                remedy="Check the DNS server and try again.",
            ),
        ),
    )


async def check_domains_async(
    domains: Iterable[str],
    *,
    vendor_include: str = DEFAULT_VENDOR_INCLUDE,
    lookup: DnsLookup | None = None,
    concurrency: int = 64,
    progress: bool | None = None,
    **kw: Any,
) -> list[SpfCheck]:
    """Check many domains concurrently with one shared answer cache; results in input order.

    ``progress`` (default: stderr is a terminal) writes a one-line counter to stderr.
    A domain whose check fails with an operation error gets a finding, never stops the batch.
    """
    domains = list(domains)
    lookup = lookup or make_lookup()
    if not isinstance(lookup, CachedLookup):
        lookup = CachedLookup(lookup)
    show = sys.stderr.isatty() if progress is None else progress
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(d: str) -> SpfCheck:
        nonlocal done
        async with sem:
            try:
                result = await check_domain_async(d, vendor_include=vendor_include, lookup=lookup, **kw)
            except OperationError as exc:
                result = _failed(d, vendor_include, exc)
        done += 1
        if show:
            sys.stderr.write(f"\rSPF: {done}/{len(domains)} domains checked")
            sys.stderr.flush()
        return result

    try:
        results = await asyncio.gather(*(one(d) for d in domains))
    finally:
        close = getattr(lookup, "aclose", None)
        if close is not None:
            await close()  # this loop's sockets; the answer cache stays
    if show:
        sys.stderr.write("\n")
    return list(results)


def check_domains(domains: Iterable[str], **kw: Any) -> list[SpfCheck]:
    """Sync wrapper around :func:`check_domains_async` (runs its own event loop)."""
    return asyncio.run(check_domains_async(domains, **kw))
