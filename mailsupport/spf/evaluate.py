"""``check_host()`` (RFC 7208 §4–§6) as a sans-I/O generator, with thin sync/async drivers.

The core (:func:`evaluate`) is a generator that *yields* DNS questions ``(name, rdtype)``
and receives :class:`~mailsupport.dnslookup.DnsAnswer` values (or has
:class:`~mailsupport.errors.DnsError` thrown in). :func:`check_host` drives it with a sync
:class:`~mailsupport.dnslookup.DnsLookup`, :func:`acheck_host` with ``await aquery``; the
policy lives in one place, like dnspython's resolver. :func:`lookup_tree` expands a
domain's whole include tree regardless of the client IP (for counting and pictures).

RFC corners implemented here (section numbers in comments): initial processing and the
``none`` result (§4.3), record selection (§4.5), the 10-term DNS lookup limit counting
``include a mx ptr exists redirect`` including recursion, 10 MX names → permerror, only
the first 10 PTR names used, 2 void lookups (§4.6.4), include result mapping (§5.2),
redirect after all mechanisms and only without a match (§6.1), ``exp=`` only for ``fail``
and not through include (§6.2), macros (§7), IPv4-mapped IPv6 clients as IPv4 (§5.6).
DNS failures give ``temperror`` (except in ``ptr`` and ``exp``, where they are skipped).

Layer 2 (pure core): imports errors and the spf modules only; answers are
:class:`~mailsupport.dnslookup.DnsAnswer` values, used by duck typing (``records``,
``status``, ``rdtype``, ``name``).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Generator

from ..errors import DnsError, DnsTempError
from . import macros
from .parse import Mechanism, Modifier, SpfRecord, SpfSyntaxError, is_spf_record, parse_record
from .trace import QueryTrace, RecordTrace, TermTrace

__all__ = [
    "SpfResult",
    "check_host",
    "acheck_host",
    "evaluate",
    "lookup_tree",
    "alookup_tree",
    "run_sync",
    "run_async",
    "RESULTS",
    "MAX_DNS_LOOKUPS",
    "MAX_VOID_LOOKUPS",
    "DEFAULT_EXPLANATION",
]

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
MAX_DNS_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10
MAX_PTR_NAMES = 10
_MAX_AUDIT_RECORDS = 60
DEFAULT_EXPLANATION = "%{i} is not one of %{d}'s designated mail servers"

Query = tuple[str, str]
Gen = Generator[Query, Any, Any]  # sends DnsAnswer values (mailsupport.dnslookup)
DnsLookup = Any  # anything with query()/aquery() as mailsupport.dnslookup.DnsLookup


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfResult:
    """The outcome of ``check_host()``.

    ``result`` is one of :data:`RESULTS`; ``explanation`` is set for ``fail`` (the
    ``exp=`` text, or :data:`DEFAULT_EXPLANATION` expanded when ``explanation_default``);
    ``reason`` says why for permerror/temperror; ``dns_lookups``/``void_lookups`` are the
    counts reached (§4.6.4); ``lookups_total`` is what the whole tree would cost (it is
    larger than ``dns_lookups`` when the limit stopped the evaluation); ``trace`` the tree.
    """

    result: str
    domain: str
    ip: str
    sender: str
    explanation: str = ""
    explanation_default: bool = False
    reason: str = ""
    dns_lookups: int = 0
    void_lookups: int = 0
    lookups_total: int = 0
    limit_exceeded: bool = False
    trace: RecordTrace | None = None


class _SpfError(Exception):
    def __init__(self, result: str, reason: str, *, limit: bool = False) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason
        self.limit = limit
        self.trace: RecordTrace | None = None


@functools.lru_cache(maxsize=8192)
def valid_domain(name: str) -> bool:
    """§4.3: a multi-label name, labels 1–63 octets, at most 253 in all (trailing dot ok)."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 253 or not name.isascii():
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


def _reverse_name(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return ip.reverse_pointer


@dataclass(frozen=True, slots=True)
class _Memo:
    """An include subtree already evaluated in this run (answers come from one cache).

    Reused for the same target (and client IP, when evaluating) only when no macro was
    expanded and nothing was cut inside it, and only when the lookups it needs still fit
    under the limits at the new position; its trace is shifted to the new running total.
    """

    result: str
    trace: RecordTrace
    base: int
    lookups: int
    voids: int
    records: int = 0
    shifted: dict = field(default_factory=dict)  # new base -> trace moved there

    def trace_at(self, base: int) -> RecordTrace:
        """The subtree's trace as if evaluated when ``base`` lookups had been counted."""
        moved = self.shifted.get(base)
        if moved is None:
            moved = self.shifted[base] = _shift(self.trace, base - self.base)
        return moved


def _shift(trace: RecordTrace, delta: int) -> RecordTrace:
    """The trace with every running lookup total moved by ``delta`` (copies every TermTrace
    field explicitly: faster than dataclasses.replace; keep in step with trace.TermTrace)."""
    if delta == 0:
        return trace
    terms = tuple(TermTrace(term=t.term, cost=t.cost, lookups=t.lookups + delta, void=t.void, queries=t.queries,
                            outcome=t.outcome, result=t.result, note=t.note, over_limit=t.over_limit,
                            evaluated=t.evaluated, child=_shift(t.child, delta) if t.child else None)
                  for t in trace.terms)
    return replace(trace, terms=terms)


class _Run:
    """Mutable state of one check_host() run (counters, macro values)."""

    def __init__(self, ip: str, sender: str, helo: str, receiver: str, now: int,
                 max_lookups: int, max_voids: int) -> None:
        addr = ipaddress.ip_address(ip.strip())
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # §5.6 / RFC 4291 §2.5.5.2: an IPv4 client
        self.ip = addr
        self.ip_int = int(addr)
        self.v4 = isinstance(addr, ipaddress.IPv4Address)
        local, _, sdomain = sender.rpartition("@")
        self.local = local or "postmaster"  # §4.3: empty local-part -> "postmaster"
        self.sender = f"{self.local}@{sdomain}"
        self.sender_domain = sdomain
        self.helo = helo
        self.receiver = receiver
        self.now = now
        self.max_lookups = max_lookups
        self.max_voids = max_voids
        self.lookups = 0
        self.voids = 0
        self.limit_hit = False
        self.stopped_at: int | None = None  # lookups counted when a limit stopped evaluation
        self.over_marked = False
        self.audit_records = 0
        self.memo: dict[Any, _Memo] | None = None
        self.tainted = False  # a macro expansion or a cut (loop, size) happened in this subtree
        self._validated: str | None = None

    def values(self, domain: str) -> dict[str, str]:
        if self.v4:
            i = str(self.ip)
        else:
            # dotted nibbles (§7.3); upper-case hex as the openspf suite expects (DNS ignores case)
            i = ".".join(self.ip.exploded.replace(":", "").upper())
        return {"s": self.sender, "l": self.local, "o": self.sender_domain, "d": domain,
                "i": i, "h": self.helo, "v": "in-addr" if self.v4 else "ip6",
                "c": str(self.ip), "r": self.receiver, "t": str(self.now)}


class _Void:
    """A stand-in answer for a name that cannot be queried: treated as non-existent."""

    __slots__ = ("name", "rdtype")
    records: tuple = ()

    def __init__(self, name: str, rdtype: str) -> None:
        self.name, self.rdtype = name.lower(), rdtype


def _qtrace(ans: Any) -> QueryTrace:
    if ans.records:
        if ans.rdtype == "MX":
            recs = tuple(f"{r.preference} {r.exchange}" for r in ans.records)
        else:
            recs = ans.records  # already text
        return QueryTrace(name=ans.name, rdtype=ans.rdtype, outcome="answer", records=recs)
    outcome = "nxdomain" if getattr(ans.status, "value", "") == "nxdomain" else "nodata"
    return QueryTrace(name=ans.name, rdtype=ans.rdtype, outcome=outcome)


def _query(name: str, rdtype: str, log: list[QueryTrace]) -> Gen:
    """Ask one question; DNS failure -> _SpfError('temperror'); bad name -> void."""
    name = name[:-1] if name.endswith(".") and len(name) > 1 else name
    if not valid_domain(name):
        log.append(QueryTrace(name=name, rdtype=rdtype, outcome="invalid",
                              records=("not a valid domain name; treated as non-existent",)))
        return _Void(name, rdtype)
    try:
        ans = yield (name, rdtype)
    except DnsTempError as exc:
        log.append(QueryTrace(name=name, rdtype=rdtype, outcome="temperror", records=(str(exc),)))
        raise _SpfError("temperror", f"DNS lookup {name} {rdtype} failed: {exc}") from None
    except DnsError as exc:
        log.append(QueryTrace(name=name, rdtype=rdtype, outcome="invalid", records=(str(exc),)))
        return _Void(name, rdtype)
    log.append(_qtrace(ans))
    return ans


def _target(run: _Run, tokens: tuple, domain: str, log: list[QueryTrace]) -> Gen:
    """Expand a domain-spec (§7) and apply the §7.3 253-octet left truncation."""
    if all(isinstance(t, str) for t in tokens):
        name = "".join(tokens)  # no macros: nothing to expand
    else:
        run.tainted = True  # depends on the sender/client: not memoisable
        values = run.values(domain)
        if macros.uses_letter(tokens, "p"):
            values["p"] = yield from _validated_name(run, domain, log)
        name = macros.expand(tokens, values)
    if name.endswith("."):
        name = name[:-1]
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


def _validated_name(run: _Run, domain: str, log: list[QueryTrace]) -> Gen:
    """The %{p} macro (§7.3 with §5.5): a validated reverse name, or "unknown"."""
    if run._validated is not None:
        return run._validated
    found: list[str] = []
    try:
        ptr = yield from _query(_reverse_name(run.ip), "PTR", log)
        for name in ptr.records[:MAX_PTR_NAMES]:
            try:
                addrs = yield from _query(name, "A" if run.v4 else "AAAA", log)
            except _SpfError:
                continue
            if any(ipaddress.ip_address(a) == run.ip for a in addrs.records):
                found.append(name)
    except _SpfError:
        pass
    best = "unknown"
    d = domain.lower()
    for name in found:
        if name.lower() == d:
            best = name
            break
    else:
        sub = [n for n in found if n.lower().endswith("." + d)]
        best = (sub or found or ["unknown"])[0]
    run._validated = best
    return best


def _select(answer: Any, domain: str) -> tuple[str | None, str | None]:
    """§4.5: (record, error). None record and None error means no SPF record."""
    records = [r for r in answer.records if is_spf_record(r)]
    if len(records) > 1:
        return None, f"{domain} publishes {len(records)} SPF records (§4.5 allows one)"
    return (records[0] if records else None), None


def _charge(run: _Run) -> None:
    run.lookups += 1
    if run.lookups > run.max_lookups:
        run.limit_hit = True
        if run.stopped_at is None:
            run.stopped_at = run.lookups
        raise _SpfError("permerror", f"more than {run.max_lookups} DNS-querying terms "
                        "(include, a, mx, ptr, exists, redirect) (§4.6.4)", limit=True)


def _void(run: _Run, ans: Any) -> bool:
    if ans.records:
        return False
    run.voids += 1
    if run.voids > run.max_voids:
        if run.stopped_at is None:
            run.stopped_at = run.lookups
        raise _SpfError("permerror", f"more than {run.max_voids} void DNS lookups "
                        "(NXDOMAIN or no records) (§4.6.4)", limit=True)
    return True


@functools.lru_cache(maxsize=16384)
def _addr_int(addr: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(addr)
    return ip.version, int(ip)


@functools.lru_cache(maxsize=16384)
def _net_int(network: Any) -> tuple[int, int, int]:
    return network.version, int(network.network_address), network.prefixlen


def _net_match(run: _Run, network: Any) -> bool:
    """Is the client inside an ip4/ip6 network? (integer compare; networks recur, so cached)"""
    version, value, prefix = _net_int(network)
    if version != (4 if run.v4 else 6):
        return False
    shift = (32 if run.v4 else 128) - prefix
    return (value >> shift) == (run.ip_int >> shift)


def _in_net(addr: str, run: _Run, cidr: int | None) -> bool:
    """Is the client in ``addr/cidr``? (integer prefix compare; answers repeat, so cached)"""
    version, value = _addr_int(addr)
    if version != (4 if run.v4 else 6):
        return False
    bits = 32 if run.v4 else 128
    shift = bits - (cidr if cidr is not None else bits)
    return (value >> shift) == (run.ip_int >> shift)


def _check_host(run: _Run, domain: str, override: str | None = None, chain: tuple[str, ...] = ()) -> Gen:
    """Evaluate one record; returns (result, exp_source, RecordTrace) or raises _SpfError
    with ``.trace`` set."""
    log: list[QueryTrace] = []
    terms: list[TermTrace] = []

    def fail(err: _SpfError, text: str | None, decided: str) -> _SpfError:
        err.trace = RecordTrace(domain=domain, record=text, query=log[0] if log else None,
                                terms=tuple(terms), result=err.result, decided_by=decided,
                                error=err.reason)
        return err

    if override is not None:
        text: str | None = override
    else:
        try:
            ans = yield from _query(domain, "TXT", log)
        except _SpfError as err:
            raise fail(err, None, "DNS failure fetching the record") from None
        text, error = _select(ans, domain)
        if error:
            raise fail(_SpfError("permerror", error), None, "several SPF records")
        if text is None:
            return "none", None, RecordTrace(domain=domain, record=None, query=log[0], result="none",
                                             decided_by="no SPF record")
    try:
        record = parse_record(text)
    except SpfSyntaxError as exc:
        raise fail(_SpfError("permerror", f"syntax error: {exc}"), text, "syntax error") from None
    chain = (*chain, domain.lower())
    index = 0
    mechs = record.mechanisms
    try:
        for index, mech in enumerate(mechs):
            matched = yield from _mechanism(run, mech, domain, terms, chain)
            if matched:
                result = mech.qualifier.result
                rest = [_not_reached(m, run.lookups) for m in mechs[index + 1:]]
                terms.extend(rest)
                exp = (record.exp, domain) if result == "fail" and record.exp else None
                return result, exp, RecordTrace(domain=domain, record=text, query=log[0] if log else None,
                                                terms=tuple(terms), result=result, decided_by=mech.text)
        index = len(mechs)
        redirect = record.redirect
        if redirect is not None:
            result, exp, _child = yield from _redirect(run, redirect, domain, terms, chain)
            return result, exp, RecordTrace(domain=domain, record=text, query=log[0] if log else None,
                                            terms=tuple(terms), result=result, decided_by=redirect.text)
    except _SpfError as err:
        culprit = mechs[index].text if index < len(mechs) else (record.redirect.text if record.redirect else "")
        if err.limit:
            remaining = list(mechs[index + 1:])
            if record.redirect is not None and index < len(mechs):
                remaining.append(record.redirect)
            for term in remaining:
                terms.append((yield from _audit_term(run, term, domain, chain, probe=False)))
        raise fail(err, text, culprit) from None
    # §4.7: no mechanism matched and no redirect -> neutral
    return "neutral", None, RecordTrace(domain=domain, record=text, query=log[0] if log else None,
                                        terms=tuple(terms), result="neutral",
                                        decided_by="default (no mechanism matched)")


def _not_reached(mech: Mechanism, lookups: int) -> TermTrace:
    return TermTrace(term=mech.text, lookups=lookups, outcome="not evaluated",
                     note="an earlier term matched", evaluated=False)


def _mechanism(run: _Run, mech: Mechanism, domain: str, terms: list[TermTrace], chain: tuple) -> Gen:
    """Evaluate one directive; append its TermTrace; return True on match."""
    log: list[QueryTrace] = []
    cost = 1 if mech.costs_lookup else 0
    voids_before = run.voids
    child: RecordTrace | None = None
    note = ""
    try:
        if cost:
            _charge(run)
        name = mech.name
        if name == "all":
            matched = True
        elif name in ("ip4", "ip6"):
            matched = mech.network is not None and _net_match(run, mech.network)
        elif name == "a":
            target = yield from _target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            ans = yield from _query(target, "A" if run.v4 else "AAAA", log)
            _void(run, ans)
            cidr = mech.ip4_cidr if run.v4 else mech.ip6_cidr
            matched = any(_in_net(a, run, cidr) for a in ans.records)
        elif name == "mx":
            target = yield from _target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            ans = yield from _query(target, "MX", log)
            _void(run, ans)
            if len(ans.records) > MAX_MX_NAMES:
                # §4.6.4: more than 10 MX names -> permerror for the mx mechanism
                raise _SpfError("permerror", f"{target} has {len(ans.records)} MX records; "
                                f"the mx mechanism allows at most {MAX_MX_NAMES} (§4.6.4)")
            cidr = mech.ip4_cidr if run.v4 else mech.ip6_cidr
            matched = False
            for mx in sorted(ans.records, key=lambda r: r.preference):
                if mx.exchange in (".", ""):
                    continue  # null MX (RFC 7505)
                addrs = yield from _query(mx.exchange, "A" if run.v4 else "AAAA", log)
                if any(_in_net(a, run, cidr) for a in addrs.records):
                    matched = True
                    break
        elif name == "ptr":
            target = yield from _target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            matched = yield from _ptr(run, target, log)
        elif name == "exists":
            target = yield from _target(run, mech.macro, domain, log)
            ans = yield from _query(target, "A", log)  # §5.7: always an A query
            _void(run, ans)
            matched = bool(ans.records)
        else:  # include
            target = yield from _target(run, mech.macro, domain, log)
            key = ("eval", target.lower(), run.ip_int, run.v4)
            hit = run.memo.get(key) if run.memo is not None and not run.limit_hit else None
            if hit is not None and run.lookups + hit.lookups <= run.max_lookups \
                    and run.voids + hit.voids <= run.max_voids:
                child = hit.trace_at(run.lookups)
                run.lookups += hit.lookups
                run.voids += hit.voids
                result = hit.result
            else:
                base, voids0, outer = run.lookups, run.voids, run.tainted
                run.tainted = False
                try:
                    result, _exp, child = yield from _check_host(run, target, chain=chain)
                except _SpfError as err:
                    child = err.trace
                    raise
                finally:
                    inner, run.tainted = run.tainted, outer or run.tainted
                if run.memo is not None and not inner and not run.limit_hit:
                    run.memo[key] = _Memo(result, child, base, run.lookups - base, run.voids - voids0)
            # §5.2: pass -> match; fail/softfail/neutral -> no match; none -> permerror
            if result == "none":
                raise _SpfError("permerror", f"include:{target} has no SPF record (§5.2)")
            matched = result == "pass"
            note = f"included result {result}"
    except _SpfError as err:
        terms.append(TermTrace(term=mech.text, cost=cost, lookups=run.lookups, queries=tuple(log),
                               void=run.voids > voids_before, outcome="error", result=err.result,
                               note=err.reason, over_limit=_mark_over(run, err, cost, child), child=child))
        raise
    terms.append(TermTrace(term=mech.text, cost=cost, lookups=run.lookups, queries=tuple(log),
                           void=run.voids > voids_before, outcome="match" if matched else "no match",
                           result=mech.qualifier.result if matched else None, note=note, child=child))
    return matched


def _mark_over(run: _Run, err: _SpfError, cost: int, child: RecordTrace | None) -> bool:
    """True for the one term whose own lookup went over the limit."""
    if err.limit and cost and child is None and run.limit_hit and not run.over_marked:
        run.over_marked = True
        return True
    return False


def _same(domain: str) -> Gen:
    return domain
    yield  # pragma: no cover - makes this a generator


def _ptr(run: _Run, target: str, log: list[QueryTrace]) -> Gen:
    """§5.5: match if a validated reverse name of the client equals or ends in ``target``."""
    try:
        ans = yield from _query(_reverse_name(run.ip), "PTR", log)
    except _SpfError:
        return False  # §5.5: a DNS error on the PTR lookup -> no match
    _void(run, ans)
    want = target.lower().rstrip(".")
    for name in ans.records[:MAX_PTR_NAMES]:  # §4.6.4: only the first 10 names
        low = name.lower()
        if low != want and not low.endswith("." + want):
            continue
        try:
            addrs = yield from _query(name, "A" if run.v4 else "AAAA", log)
        except _SpfError:
            continue  # §5.5: DNS error on the A lookup -> skip this name
        if any(ipaddress.ip_address(a) == run.ip for a in addrs.records):
            return True
    return False


def _redirect(run: _Run, mod: Modifier, domain: str, terms: list[TermTrace], chain: tuple) -> Gen:
    """§6.1: the result of check_host() on the target; ``none`` becomes permerror."""
    log: list[QueryTrace] = []
    child = None
    try:
        _charge(run)
        target = yield from _target(run, mod.macro, domain, log)
        try:
            result, exp, child = yield from _check_host(run, target, chain=chain)
        except _SpfError as err:
            child = err.trace
            raise
        if result == "none":
            raise _SpfError("permerror", f"redirect={target} has no SPF record (§6.1)")
    except _SpfError as err:
        terms.append(TermTrace(term=mod.text, cost=1, lookups=run.lookups, queries=tuple(log),
                               outcome="error", result=err.result, note=err.reason, child=child,
                               over_limit=_mark_over(run, err, 1, child)))
        raise
    terms.append(TermTrace(term=mod.text, cost=1, lookups=run.lookups, queries=tuple(log),
                           outcome="match", result=result, note=f"redirected result {result}",
                           child=child))
    return result, exp, child


# -- expansion without evaluation (limit exceeded, or the static tree) ----------------
def _audit_term(run: _Run, term: Mechanism | Modifier, domain: str, chain: tuple, *, probe: bool) -> Gen:
    """A TermTrace for a term that is only expanded: cost counted, includes followed."""
    log: list[QueryTrace] = []
    name = term.name
    cost = 1 if (isinstance(term, Mechanism) and term.costs_lookup) or name == "redirect" else 0
    if isinstance(term, Modifier) and name != "redirect":
        return TermTrace(term=term.text, lookups=run.lookups, outcome="not evaluated", evaluated=False,
                         note="explanation (no lookup)" if name == "exp" else "unknown modifier, ignored")
    over = False
    if cost:
        run.lookups += cost
        over = run.lookups == run.max_lookups + 1
    child = None
    void = False
    note = ""
    dynamic = any(isinstance(t, macros.Macro) for t in term.macro)
    if name in ("include", "redirect"):
        if dynamic:
            note = "target depends on the sender (macros); not expanded"
        elif run.audit_records >= _MAX_AUDIT_RECORDS:
            note = "tree too large; not expanded further"
            run.tainted = True
        else:
            target = macros.expand(term.macro, {}).rstrip(".")
            key = ("tree", target.lower(), probe)
            hit = run.memo.get(key) if run.memo is not None else None
            if target.lower() in chain:
                note = f"loop: {target} is already being evaluated"
                run.tainted = True
            elif hit is not None and run.lookups + hit.lookups <= run.max_lookups \
                    and not _domains(hit.trace, chain):
                child = hit.trace_at(run.lookups)
                run.lookups += hit.lookups
                run.voids += hit.voids
                run.audit_records += hit.records
            else:
                base, voids0, records0, outer = run.lookups, run.voids, run.audit_records, run.tainted
                run.tainted = False
                run.audit_records += 1
                child = yield from _audit_record(run, target, chain, probe=probe)
                inner, run.tainted = run.tainted, outer or run.tainted
                if run.memo is not None and not inner and run.lookups <= run.max_lookups:
                    run.memo[key] = _Memo("", child, base, run.lookups - base, run.voids - voids0,
                                          run.audit_records - records0)
    elif probe and name in ("a", "mx", "exists") and not dynamic:
        target = macros.expand(term.macro, {}).rstrip(".") if term.macro else domain
        rdtype = {"a": "A", "mx": "MX", "exists": "A"}[name]
        try:
            ans = yield from _query(target, rdtype, log)
            void = not ans.records
            if void:
                run.voids += 1
            if name == "mx" and len(ans.records) > MAX_MX_NAMES:
                note = f"{len(ans.records)} MX names: over the limit of {MAX_MX_NAMES} (permerror)"
        except _SpfError as err:
            note = err.reason
    return TermTrace(term=term.text, cost=cost, lookups=run.lookups, queries=tuple(log), void=void,
                     outcome="not evaluated", over_limit=over, evaluated=False, note=note, child=child)


def _domains(trace: RecordTrace | None, chain: tuple) -> set[str]:
    """Domains of the chain that also occur in ``trace`` (a reuse there would hide a loop)."""
    if trace is None or not chain:
        return set()
    inside = {n.domain.lower() for _d, n in trace.walk() if isinstance(n, RecordTrace)}
    return inside & set(chain)


def _audit_record(run: _Run, domain: str, chain: tuple, *, probe: bool, override: str | None = None) -> Gen:
    log: list[QueryTrace] = []
    text = override
    if override is None:
        try:
            ans = yield from _query(domain, "TXT", log)
        except _SpfError as err:
            return RecordTrace(domain=domain, record=None, query=log[0], result="temperror",
                               error=err.reason, evaluated=False)
        text, error = _select(ans, domain)
        if error or text is None:
            return RecordTrace(domain=domain, record=None, query=log[0],
                               result="permerror" if error else "none",
                               error=error or "no SPF record", evaluated=False)
    try:
        record = parse_record(text)
    except SpfSyntaxError as exc:
        return RecordTrace(domain=domain, record=text, query=log[0] if log else None,
                           result="permerror", error=f"syntax error: {exc}", evaluated=False)
    chain = (*chain, domain.lower())
    terms = []
    seen_all = False
    for term in record.terms:
        if seen_all and (isinstance(term, Mechanism) or term.name == "redirect"):
            # §5.1: terms after "all" are never evaluated (and redirect is then unused, §6.1)
            terms.append(TermTrace(term=term.text, lookups=run.lookups, outcome="not evaluated",
                                   evaluated=False, note="after 'all': never evaluated"))
            continue
        terms.append((yield from _audit_term(run, term, domain, chain, probe=probe)))
        seen_all = seen_all or (isinstance(term, Mechanism) and term.name == "all")
    return RecordTrace(domain=domain, record=text, query=log[0] if log else None, terms=tuple(terms),
                       evaluated=False)


# -- entry points ------------------------------------------------------------------------
def evaluate(ip: str, domain: str, *, sender: str = "", helo: str = "", receiver: str = "unknown",
             now: int = 0, record: str | None = None, max_lookups: int = MAX_DNS_LOOKUPS,
             max_voids: int = MAX_VOID_LOOKUPS, memo: dict | None = None) -> Gen:
    """The check_host() generator: yields ``(name, rdtype)``, returns :class:`SpfResult`.

    ``sender`` is the MAIL FROM (or ``postmaster@<helo>``); defaults to
    ``postmaster@<domain>``. ``record`` evaluates that text as ``domain``'s record instead
    of fetching it (to try an edit before publishing). ``now`` feeds the ``%{t}`` macro.
    ``memo`` (a dict shared by evaluations whose answers come from one cache) reuses
    include subtrees already evaluated for the same client IP.
    """
    sender = sender or f"postmaster@{domain}"
    run = _Run(ip, sender, helo, receiver, now, max_lookups, max_voids)
    run.memo = memo
    domain = domain.rstrip(".") if domain != "." else domain
    base = dict(domain=domain, ip=str(run.ip), sender=run.sender)
    if not valid_domain(domain):
        # §4.3: a malformed or single-label domain -> none, without any DNS query
        return SpfResult(result="none", reason=f"{domain!r} is not a valid multi-label domain name", **base)
    try:
        result, exp, trace = yield from _check_host(run, domain, override=record)
    except _SpfError as err:
        stopped = run.stopped_at if run.stopped_at is not None else run.lookups
        return SpfResult(result=err.result, reason=err.reason, dns_lookups=stopped,
                         void_lookups=run.voids, lookups_total=run.lookups, limit_exceeded=err.limit,
                         trace=err.trace, **base)
    explanation, default = "", False
    if result == "fail":
        explanation, default = yield from _explain(run, exp, domain)
    return SpfResult(result=result, explanation=explanation, explanation_default=default,
                     dns_lookups=run.lookups, void_lookups=run.voids, lookups_total=run.lookups,
                     trace=trace, **base)


def _explain(run: _Run, exp: tuple[Modifier, str] | None, top: str) -> Gen:
    """§6.2: fetch and expand the exp= text; any problem gives the default explanation."""
    default = macros.expand(macros.tokenize(DEFAULT_EXPLANATION, explanation=True), run.values(top))
    if exp is None:
        return default, True
    mod, domain = exp
    log: list[QueryTrace] = []
    try:
        target = yield from _target(run, mod.macro, domain, log)
        ans = yield from _query(target, "TXT", log)
        if len(ans.records) != 1 or not ans.records[0].isascii():
            return default, True
        values = run.values(domain)
        tokens = macros.tokenize(ans.records[0], explanation=True)
        if macros.uses_letter(tokens, "p"):
            values["p"] = yield from _validated_name(run, domain, log)
        return macros.expand(tokens, values), False
    except (_SpfError, macros.MacroError):
        return default, True


def tree(domain: str, *, record: str | None = None, max_lookups: int = MAX_DNS_LOOKUPS,
         memo: dict | None = None) -> Gen:
    """Generator for :func:`lookup_tree`: returns (RecordTrace, total lookups, void lookups)."""
    run = _Run("192.0.2.0", f"postmaster@{domain}", "", "unknown", 0, max_lookups, MAX_VOID_LOOKUPS)
    run.memo = memo
    trace = yield from _audit_record(run, domain.rstrip("."), (), probe=True, override=record)
    return trace, run.lookups, run.voids


def run_sync(gen: Gen, lookup: DnsLookup) -> Any:
    """Drive an evaluation generator with a synchronous lookup."""
    try:
        question = next(gen)
        while True:
            try:
                answer = lookup.query(*question)
            except DnsError as exc:
                question = gen.throw(exc)
                continue
            question = gen.send(answer)
    except StopIteration as stop:
        return stop.value


async def run_async(gen: Gen, lookup: DnsLookup) -> Any:
    """Drive an evaluation generator with ``await lookup.aquery``."""
    try:
        question = next(gen)
        while True:
            try:
                answer = await lookup.aquery(*question)
            except DnsError as exc:
                question = gen.throw(exc)
                continue
            question = gen.send(answer)
    except StopIteration as stop:
        return stop.value


def check_host(ip: str, domain: str, *, lookup: DnsLookup, **kw: Any) -> SpfResult:
    """RFC 7208 check_host() with a sync lookup; keyword options as :func:`evaluate`."""
    return run_sync(evaluate(ip, domain, **kw), lookup)


async def acheck_host(ip: str, domain: str, *, lookup: DnsLookup, **kw: Any) -> SpfResult:
    """RFC 7208 check_host() with an async lookup; keyword options as :func:`evaluate`."""
    return await run_async(evaluate(ip, domain, **kw), lookup)


def lookup_tree(domain: str, *, lookup: DnsLookup, record: str | None = None,
                memo: dict | None = None) -> tuple[RecordTrace, int, int]:
    """Expand ``domain``'s whole SPF tree regardless of the client: ``(trace, lookups, voids)``.

    Every ``include``/``redirect`` is followed (loops cut), ``a``/``mx``/``exists`` targets
    are queried to find void lookups; ``ptr`` and macro targets cost 1 without a query.
    The term that would exceed the limit of 10 has ``over_limit=True``. ``memo`` as in
    :func:`evaluate` (share it between calls whose answers come from one cache).
    """
    return run_sync(tree(domain, record=record, memo=memo), lookup)


async def alookup_tree(domain: str, *, lookup: DnsLookup, record: str | None = None,
                       memo: dict | None = None) -> tuple[RecordTrace, int, int]:
    """The async form of :func:`lookup_tree`."""
    return await run_async(tree(domain, record=record, memo=memo), lookup)
