"""Several client IPs against one domain: resolve the record tree once, then match each IP.

check_host() (RFC 7208 §4) for a second and third client IP of the same domain walks the
same records and asks the same questions as for the first; only the matches differ. When
nothing in the tree depends on the client beyond the matches themselves,
:func:`evaluate_many` *resolves* the tree once per IP version — every reachable ``ip4``/
``ip6``/``a``/``mx`` directive turned into address blocks, ``include``/``redirect`` into
resolved sub-records, with each term's lookup cost and void flag — and walks it per IP
with integer prefix compares, giving the result and the lookup/void counts check_host()
gives (§4.6.4 counting: the cost of every term reached, includes counted inside).

The resolved form is only used where that is exact; otherwise the IP gets the full
:func:`~mailsupport.spf.evaluate.evaluate`:

* macros anywhere (``%{i}``, ``%{s}``… depend on the client or sender, §7), ``ptr`` and
  ``exists`` (their answers depend on the client: §5.5, §5.7);
* any DNS failure, several or no records, a syntax error, ``include`` of a domain without
  a record, more than 10 MX names (these give temperror/permerror at a fixed place, which
  evaluate() reports with its reason);
* a tree whose lookups or void lookups, all reachable terms counted, could pass the
  limits of 10 and 2 (then some IPs would stop with permerror half way: §4.6.4);
* the result ``fail`` (its explanation, §6.2, expands ``%{i}`` from the ``exp=`` text).

The first IP always gets the full evaluation (the caller shows its trace); the others get
results without a trace (``trace=None``). Resolved sub-records are shared through the run
memo (as :mod:`.evaluate`'s include memo: only when the answers come from one cache).

Layer 2 (pure core): imports the spf modules only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import (
    MAX_DNS_LOOKUPS,
    MAX_MX_NAMES,
    MAX_VOID_LOOKUPS,
    EvaluationStopped,
    Gen,
    RunState,
    SpfResult,
    addr_int,
    ask,
    client_address,
    count_void,
    expand_target,
    net_int,
    ptr_match,
    select_record,
    valid_domain,
)
from .evaluate import evaluate
from .macros import truncate_domain
from .parse import SpfSyntaxError, parse_record

__all__ = ["evaluate_many"]

_ALL, _NETS, _SUB, _EXISTS, _PTR = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class _Resolved:
    """One record resolved for one IP version: ``steps`` are ``(kind, result on match, cost,
    void, payload)`` up to the first ``all``; ``redirect`` is used when nothing matched.
    ``lookups``/``voids`` count every reachable term (the most any client can spend)."""

    domain: str
    steps: tuple[tuple[int, str, int, int, Any], ...]
    redirect: _Resolved | None
    lookups: int
    voids: int


class _Unresolvable(Exception):
    """The tree depends on the client, or evaluation would stop with an error somewhere."""


def _static_name(tokens: tuple, domain: str) -> str:
    """A domain-spec without macros, as engine._target expands it (§7.3 truncation)."""
    if not all(isinstance(t, str) for t in tokens):
        raise _Unresolvable("macro")
    return truncate_domain("".join(tokens))


def _blocks(pairs: list[tuple[int, int]]) -> tuple[tuple[int, frozenset[int]], ...]:
    """``(value, shift)`` pairs grouped by shift: match when ``ip >> shift`` is in the set."""
    by_shift: dict[int, set[int]] = {}
    for value, shift in pairs:
        by_shift.setdefault(shift, set()).add(value >> shift)
    return tuple((shift, frozenset(values)) for shift, values in by_shift.items())


def _resolve(domain: str, v4: bool, memo: dict | None, chain: tuple[str, ...], text: str | None = None) -> Gen:
    """Resolve ``domain``'s record (or ``text``) for one IP version; raises _Unresolvable.

    Whether a record resolves, and its totals, do not depend on who includes it (a loop is a
    cycle in the include graph, reached from any of its members), so results and failures
    are both memoised."""
    key = ("resolved", domain.lower(), v4)
    # only included records recur across domains (the top record is resolved once per call):
    # memoising just those keeps the run memo as small as the number of providers
    keep = memo is not None and bool(chain) and text is None
    if keep and key in memo:  # type: ignore[operator]
        hit = memo[key]  # type: ignore[index]
        if hit is None:
            raise _Unresolvable("cached")
        return hit
    try:
        done = yield from _resolve_record(domain, v4, memo, chain, text)
    except _Unresolvable:
        if keep:
            memo[key] = None  # type: ignore[index]
        raise
    if keep:
        memo[key] = done  # type: ignore[index]
    return done


def _resolve_record(domain: str, v4: bool, memo: dict | None, chain: tuple[str, ...], text: str | None) -> Gen:
    log = None  # the questions' traces: nobody reads them here (only the result matters)
    if domain.lower() in chain:
        raise _Unresolvable("loop")  # evaluation would run into the lookup limit (§4.6.4)
    chain = (*chain, domain.lower())
    try:
        if text is None:
            text, error = select_record((yield from ask(domain, "TXT", log)), domain)
            if error or text is None:
                raise _Unresolvable("no or several records")
        record = parse_record(text)
    except (EvaluationStopped, SpfSyntaxError):
        raise _Unresolvable("DNS failure or syntax error") from None
    bits = 32 if v4 else 128
    version = 4 if v4 else 6
    addr_type = "A" if v4 else "AAAA"
    steps: list[tuple[int, str, int, int, Any]] = []
    lookups = voids = 0
    seen_all = False
    try:
        for mech in record.mechanisms:
            result = mech.qualifier.result
            name = mech.name
            if name == "all":
                steps.append((_ALL, result, 0, 0, None))
                seen_all = True
                break  # §5.1: nothing after "all" is reached
            if name in ("ip4", "ip6"):
                pairs = []
                if mech.network is not None:
                    nv, value, prefix = net_int(mech.network)
                    if nv == version:
                        pairs.append((value, bits - prefix))
                steps.append((_NETS, result, 0, 0, _blocks(pairs)))
                continue
            lookups += 1
            if name in ("exists", "ptr"):
                # asked per client when reached (§5.5, §5.7: the answers depend on it)
                steps.append((_EXISTS if name == "exists" else _PTR, result, 1, 0, mech.macro))
                continue
            if name == "include":
                target = _static_name(mech.macro, domain)
                sub = yield from _resolve(target, v4, memo, chain)
                lookups += sub.lookups
                voids += sub.voids
                steps.append((_SUB, result, 1, 0, sub))
                continue
            target = _static_name(mech.macro, domain) if mech.macro else domain
            cidr = mech.ip4_cidr if v4 else mech.ip6_cidr
            shift = bits - (cidr if cidr is not None else bits)
            ans = yield from ask(target, "MX" if name == "mx" else addr_type, log)
            void = 0 if ans.records else 1
            voids += void
            if name == "a":
                addresses = list(ans.records)
            else:
                if len(ans.records) > MAX_MX_NAMES:
                    raise _Unresolvable("too many MX names")  # §4.6.4 permerror
                addresses = []
                for mx in sorted(ans.records, key=lambda r: r.preference):
                    if mx.exchange in (".", ""):
                        continue  # null MX (RFC 7505)
                    addresses.extend((yield from ask(mx.exchange, addr_type, log)).records)
            pairs = []
            for addr in addresses:
                av, value = addr_int(addr)
                if av == version:
                    pairs.append((value, shift))
            steps.append((_NETS, result, 1, void, _blocks(pairs)))
        redirect = None
        if not seen_all and record.redirect is not None:
            lookups += 1
            target = _static_name(record.redirect.macro, domain)
            redirect = yield from _resolve(target, v4, memo, chain)
            lookups += redirect.lookups
            voids += redirect.voids
    except EvaluationStopped:
        raise _Unresolvable("DNS failure") from None
    if lookups > MAX_DNS_LOOKUPS or voids > MAX_VOID_LOOKUPS:
        raise _Unresolvable("a client could reach a limit")
    return _Resolved(domain, tuple(steps), redirect, lookups, voids)


def _walk(res: _Resolved, run: RunState) -> Gen:
    """check_host() over a resolved record for ``run``'s client: returns the result and
    counts lookups and voids on ``run``; ``exists``/``ptr`` ask their questions as
    evaluate() does. Raises EvaluationStopped (the caller then evaluates in full) where evaluate()
    would stop with an error: a DNS failure or the void limit."""
    ip_int = run.ip_int
    for kind, result, cost, void, payload in res.steps:
        run.lookups += cost
        if void:
            run.voids += 1
            if run.voids > run.max_voids:
                raise EvaluationStopped("permerror", "void lookup limit", limit=True)
        if kind == _ALL:
            return result
        if kind == _NETS:
            for shift, values in payload:
                if ip_int >> shift in values:
                    return result
        elif kind == _SUB:
            if (yield from _walk(payload, run)) == "pass":  # §5.2: only pass matches
                return result
        elif kind == _EXISTS:
            log: list = []
            target = yield from expand_target(run, payload, res.domain, log)
            ans = yield from ask(target, "A", log)  # §5.7: always an A query
            count_void(run, ans)
            if ans.records:
                return result
        else:
            log = []
            target = (yield from expand_target(run, payload, res.domain, log)) if payload else res.domain
            if (yield from ptr_match(run, target, log)):
                return result
    if res.redirect is not None:
        run.lookups += 1
        return (yield from _walk(res.redirect, run))  # §6.1
    return "neutral"  # §4.7


def evaluate_many(
    ips: tuple[str, ...] | list[str],
    domain: str,
    *,
    sender: str = "",
    helo: str = "",
    record: str | None = None,
    memo: dict | None = None,
    trace_first: bool = True,
) -> Gen:
    """Generator: check_host() for each IP (see module docstring); returns a list of
    :class:`~mailsupport.spf.evaluate.SpfResult` in the order of ``ips``.

    ``trace_first=False`` when only the results matter: then the first IP is matched against
    the resolved tree too (no trace for any IP)."""
    out: list[SpfResult] = []
    if not ips:
        return out
    first: SpfResult | None = None
    if trace_first:
        first = yield from evaluate(ips[0], domain, sender=sender, helo=helo, record=record, memo=memo)
        out.append(first)
    name = domain.rstrip(".") if domain != "." else domain
    resolved: dict[bool, _Resolved | None] = {}
    for ip in ips[1:] if trace_first else ips:
        res: SpfResult | None = None
        _addr, _ip_int, v4 = client_address(ip)
        if valid_domain(name) and (first is None or first.result not in ("none", "temperror", "permerror")):
            if v4 not in resolved:
                try:
                    resolved[v4] = yield from _resolve(name, v4, memo, (), text=record)
                except _Unresolvable:
                    resolved[v4] = None
            tree = resolved[v4]
            if tree is not None:
                run = RunState(
                    ip, sender or f"postmaster@{name}", helo, "unknown", 0, MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS
                )
                try:
                    result = yield from _walk(tree, run)
                except EvaluationStopped:
                    result = "fail"  # an error on the way: evaluate() says which, below
                if result != "fail":
                    res = SpfResult(
                        result=result,
                        domain=name,
                        ip=str(run.ip),
                        sender=run.sender,
                        dns_lookups=run.lookups,
                        void_lookups=run.voids,
                        lookups_total=run.lookups,
                    )
        if res is None:
            res = yield from evaluate(ip, domain, sender=sender, helo=helo, record=record, memo=memo)
        out.append(res)
    return out
