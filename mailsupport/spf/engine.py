"""The SPF evaluation engine's state and primitives (RFC 7208), shared by the spf modules.

For every caller (``__all__``): the limits, the result type :class:`SpfResult`,
:func:`valid_domain` and the sync/async drivers :func:`run_sync`/:func:`run_async`, which drive
any generator that yields ``(name, rdtype)`` questions (the SPF, DMARC and DKIM code alike).

For the evaluators of this package (:mod:`.evaluate`, :mod:`.expand`, :mod:`.resolve`,
:mod:`.diagnose.check`) — public names, but not API outside ``mailsupport.spf``: the per-run
state (:class:`RunState`: counters, macro values, the include memo :class:`SubtreeMemo`), DNS
questions as generator steps (:func:`ask` yields ``(name, rdtype)`` and receives a
:class:`~mailsupport.dnslookup.DnsAnswer`, used by duck typing), the early end of an evaluation
(:class:`EvaluationStopped`, a permerror or temperror; never leaves the package),
domain-spec expansion (:func:`expand_target`, :func:`validated_name`), record selection
(:func:`select_record`), the limit counters (:func:`charge_lookup`, :func:`count_void`) and
address matching (:func:`net_match`, :func:`in_net`, :func:`ptr_match`).

Layer 2 (pure core): imports errors and the spf modules only; no sockets, clock or
environment (the drivers call whatever lookup they are given).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DnsError, DnsTempError
from . import macros
from .parse import is_spf_record
from .trace import QueryTrace, RecordTrace, TermTrace

__all__ = [
    "SpfResult",
    "RESULTS",
    "MAX_DNS_LOOKUPS",
    "MAX_VOID_LOOKUPS",
    "MAX_MX_NAMES",
    "MAX_PTR_NAMES",
    "DEFAULT_EXPLANATION",
    "valid_domain",
    "run_sync",
    "run_async",
]

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
MAX_DNS_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10
MAX_PTR_NAMES = 10
MAX_TREE_RECORDS = 60  # a lookup tree is cut after this many records (the static tree, not evaluation)
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


class EvaluationStopped(Exception):
    """An evaluation ends early with ``result`` (permerror or temperror) and why; ``limit`` when a
    §4.6.4 limit stopped it. Control flow inside the spf package: the evaluators turn it into an
    :class:`SpfResult`, so it never reaches a caller (not part of :mod:`mailsupport.errors`)."""

    def __init__(self, result: str, reason: str, *, limit: bool = False) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason
        self.limit = limit
        self.trace: RecordTrace | None = None


@functools.lru_cache(maxsize=2048)
def valid_domain(name: str) -> bool:
    """§4.3: a multi-label name, labels 1–63 octets, at most 253 in all (trailing dot ok)."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 253 or not name.isascii():
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


def reverse_name(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The ``in-addr.arpa``/``ip6.arpa`` name a PTR question asks for ``ip``."""
    return ip.reverse_pointer


@dataclass(frozen=True, slots=True)
class SubtreeMemo:
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
    domains: frozenset = frozenset()  # (tree memos) every record's domain inside, lower case

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
    terms = tuple(
        TermTrace(
            term=t.term,
            cost=t.cost,
            lookups=t.lookups + delta,
            void=t.void,
            queries=t.queries,
            outcome=t.outcome,
            result=t.result,
            note=t.note,
            over_limit=t.over_limit,
            evaluated=t.evaluated,
            child=_shift(t.child, delta) if t.child else None,
        )
        for t in trace.terms
    )
    return replace(trace, terms=terms)


@functools.lru_cache(maxsize=4096)
def client_address(ip: str) -> tuple[Any, int, bool]:
    """(address, its integer, is IPv4) for a client IP text (a batch checks few IPs many times)."""
    addr = ipaddress.ip_address(ip.strip())
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # §5.6 / RFC 4291 §2.5.5.2: an IPv4 client
    return addr, int(addr), isinstance(addr, ipaddress.IPv4Address)


class RunState:
    """Mutable state of one check_host() run (counters, macro values)."""

    def __init__(
        self, ip: str, sender: str, helo: str, receiver: str, now: int, max_lookups: int, max_voids: int
    ) -> None:
        self.ip, self.ip_int, self.v4 = client_address(ip)
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
        self.memo: dict[Any, SubtreeMemo] | None = None
        self.tainted = False  # a macro expansion or a cut (loop, size) happened in this subtree
        self._validated: str | None = None

    def values(self, domain: str) -> dict[str, str]:
        """The macro letters' values (§7.3) for a record at ``domain``."""
        if self.v4:
            i = str(self.ip)
        else:
            # dotted nibbles (§7.3); upper-case hex as the openspf suite expects (DNS ignores case)
            i = ".".join(self.ip.exploded.replace(":", "").upper())
        return {
            "s": self.sender,
            "l": self.local,
            "o": self.sender_domain,
            "d": domain,
            "i": i,
            "h": self.helo,
            "v": "in-addr" if self.v4 else "ip6",
            "c": str(self.ip),
            "r": self.receiver,
            "t": str(self.now),
        }


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


def ask(name: str, rdtype: str, log: list[QueryTrace] | None) -> Gen:
    """Ask one question; DNS failure -> EvaluationStopped('temperror'); bad name -> void.

    Each question's :class:`QueryTrace` goes to ``log``; None where nobody reads it (no trace built)."""
    name = name[:-1] if name.endswith(".") and len(name) > 1 else name
    if not valid_domain(name):
        if log is not None:
            log.append(
                QueryTrace(
                    name=name,
                    rdtype=rdtype,
                    outcome="invalid",
                    records=("not a valid domain name; treated as non-existent",),
                )
            )
        return _Void(name, rdtype)
    try:
        ans = yield (name, rdtype)
    except DnsTempError as exc:
        if log is not None:
            log.append(QueryTrace(name=name, rdtype=rdtype, outcome="temperror", records=(str(exc),)))
        raise EvaluationStopped("temperror", f"DNS lookup {name} {rdtype} failed: {exc}") from None
    except DnsError as exc:
        if log is not None:
            log.append(QueryTrace(name=name, rdtype=rdtype, outcome="invalid", records=(str(exc),)))
        return _Void(name, rdtype)
    if log is not None:
        log.append(_qtrace(ans))
    return ans


def expand_target(run: RunState, tokens: tuple, domain: str, log: list[QueryTrace]) -> Gen:
    """Expand a domain-spec (§7) and apply the §7.3 253-octet left truncation."""
    if all(isinstance(t, str) for t in tokens):
        name = "".join(tokens)  # no macros: nothing to expand
    else:
        run.tainted = True  # depends on the sender/client: not memoisable
        values = run.values(domain)
        if macros.uses_letter(tokens, "p"):
            values["p"] = yield from validated_name(run, domain, log)
        name = macros.expand(tokens, values)
    return macros.truncate_domain(name)


def validated_name(run: RunState, domain: str, log: list[QueryTrace]) -> Gen:
    """The %{p} macro (§7.3 with §5.5): a validated reverse name, or "unknown"."""
    if run._validated is not None:
        return run._validated
    found: list[str] = []
    try:
        ptr = yield from ask(reverse_name(run.ip), "PTR", log)
        for name in ptr.records[:MAX_PTR_NAMES]:
            try:
                addrs = yield from ask(name, "A" if run.v4 else "AAAA", log)
            except EvaluationStopped:
                continue
            if any(ipaddress.ip_address(a) == run.ip for a in addrs.records):
                found.append(name)
    except EvaluationStopped:
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


def select_record(answer: Any, domain: str) -> tuple[str | None, str | None]:
    """§4.5: (record, error). None record and None error means no SPF record."""
    records = [r for r in answer.records if is_spf_record(r)]
    if len(records) > 1:
        return None, f"{domain} publishes {len(records)} SPF records (§4.5 allows one)"
    return (records[0] if records else None), None


def charge_lookup(run: RunState) -> None:
    """Count one DNS-querying term; past the limit, stop with permerror (§4.6.4)."""
    run.lookups += 1
    if run.lookups > run.max_lookups:
        run.limit_hit = True
        if run.stopped_at is None:
            run.stopped_at = run.lookups
        raise EvaluationStopped(
            "permerror",
            f"more than {run.max_lookups} DNS-querying terms (include, a, mx, ptr, exists, redirect) (§4.6.4)",
            limit=True,
        )


def count_void(run: RunState, ans: Any) -> bool:
    """Is ``ans`` void (no records)? Counts it; past the void limit, stop with permerror (§4.6.4)."""
    if ans.records:
        return False
    run.voids += 1
    if run.voids > run.max_voids:
        if run.stopped_at is None:
            run.stopped_at = run.lookups
        raise EvaluationStopped(
            "permerror", f"more than {run.max_voids} void DNS lookups (NXDOMAIN or no records) (§4.6.4)", limit=True
        )
    return True


def ptr_match(run: RunState, target: str, log: list[QueryTrace]) -> Gen:
    """§5.5: match if a validated reverse name of the client equals or ends in ``target``."""
    try:
        ans = yield from ask(reverse_name(run.ip), "PTR", log)
    except EvaluationStopped:
        return False  # §5.5: a DNS error on the PTR lookup -> no match
    count_void(run, ans)
    want = target.lower().rstrip(".")
    for name in ans.records[:MAX_PTR_NAMES]:  # §4.6.4: only the first 10 names
        low = name.lower()
        if low != want and not low.endswith("." + want):
            continue
        try:
            addrs = yield from ask(name, "A" if run.v4 else "AAAA", log)
        except EvaluationStopped:
            continue  # §5.5: DNS error on the A lookup -> skip this name
        if any(ipaddress.ip_address(a) == run.ip for a in addrs.records):
            return True
    return False


@functools.lru_cache(maxsize=2048)
def addr_int(addr: str) -> tuple[int, int]:
    """(IP version, the address as an integer) of an address text (answers repeat, so cached)."""
    ip = ipaddress.ip_address(addr)
    return ip.version, int(ip)


@functools.lru_cache(maxsize=2048)
def net_int(network: Any) -> tuple[int, int, int]:
    """(IP version, network address as an integer, prefix length) of an ip4/ip6 network (cached)."""
    return network.version, int(network.network_address), network.prefixlen


def net_match(run: RunState, network: Any) -> bool:
    """Is the client inside an ip4/ip6 network? (integer compare; networks recur, so cached)"""
    version, value, prefix = net_int(network)
    if version != (4 if run.v4 else 6):
        return False
    shift = (32 if run.v4 else 128) - prefix
    return (value >> shift) == (run.ip_int >> shift)


def in_net(addr: str, run: RunState, cidr: int | None) -> bool:
    """Is the client in ``addr/cidr``? (integer prefix compare; answers repeat, so cached)"""
    version, value = addr_int(addr)
    if version != (4 if run.v4 else 6):
        return False
    bits = 32 if run.v4 else 128
    shift = bits - (cidr if cidr is not None else bits)
    return (value >> shift) == (run.ip_int >> shift)


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
    """Drive an evaluation generator with ``await lookup.aquery``; a lookup with ``peek``
    (a cache: the answer already known, or None) answers known questions without awaiting."""
    peek = getattr(lookup, "peek", None)
    try:
        question = next(gen)
        while True:
            try:
                answer = peek(*question) if peek is not None else None
                if answer is None:
                    answer = await lookup.aquery(*question)
            except DnsError as exc:
                question = gen.throw(exc)
                continue
            question = gen.send(answer)
    except StopIteration as stop:
        return stop.value
