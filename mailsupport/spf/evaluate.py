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
from typing import Any

from . import macros
from .engine import (
    DEFAULT_EXPLANATION,
    MAX_DNS_LOOKUPS,
    MAX_MX_NAMES,
    MAX_VOID_LOOKUPS,
    RESULTS,
    DnsLookup,
    EvaluationStopped,
    Gen,
    RunState,
    SpfResult,
    SubtreeMemo,
    ask,
    charge_lookup,
    count_void,
    expand_target,
    in_net,
    net_match,
    ptr_match,
    run_async,
    run_sync,
    select_record,
    valid_domain,
    validated_name,
)
from .expand import expand_term, tree
from .parse import Mechanism, Modifier, SpfSyntaxError, parse_record
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
    "tree",
    "valid_domain",
    "RESULTS",
    "MAX_DNS_LOOKUPS",
    "MAX_VOID_LOOKUPS",
    "DEFAULT_EXPLANATION",
]


def _check_host(run: RunState, domain: str, override: str | None = None, chain: tuple[str, ...] = ()) -> Gen:
    """Evaluate one record; returns (result, exp_source, RecordTrace) or raises EvaluationStopped
    with ``.trace`` set."""
    log: list[QueryTrace] = []
    terms: list[TermTrace] = []

    def fail(err: EvaluationStopped, text: str | None, decided: str) -> EvaluationStopped:
        err.trace = RecordTrace(
            domain=domain,
            record=text,
            query=log[0] if log else None,
            terms=tuple(terms),
            result=err.result,
            decided_by=decided,
            error=err.reason,
        )
        return err

    if override is not None:
        text = override
    else:
        try:
            ans = yield from ask(domain, "TXT", log)
        except EvaluationStopped as err:
            raise fail(err, None, "DNS failure fetching the record") from None
        found, error = select_record(ans, domain)
        if error:
            raise fail(EvaluationStopped("permerror", error), None, "several SPF records")
        if found is None:
            return (
                "none",
                None,
                RecordTrace(domain=domain, record=None, query=log[0], result="none", decided_by="no SPF record"),
            )
        text = found
    try:
        record = parse_record(text)
    except SpfSyntaxError as exc:
        raise fail(EvaluationStopped("permerror", f"syntax error: {exc}"), text, "syntax error") from None
    chain = (*chain, domain.lower())
    index = 0
    mechs = record.mechanisms
    try:
        for index, mech in enumerate(mechs):
            matched = yield from _mechanism(run, mech, domain, terms, chain)
            if matched:
                result = mech.qualifier.result
                rest = [_not_reached(m, run.lookups) for m in mechs[index + 1 :]]
                terms.extend(rest)
                exp = (record.exp, domain) if result == "fail" and record.exp else None
                return (
                    result,
                    exp,
                    RecordTrace(
                        domain=domain,
                        record=text,
                        query=log[0] if log else None,
                        terms=tuple(terms),
                        result=result,
                        decided_by=mech.text,
                    ),
                )
        index = len(mechs)
        redirect = record.redirect
        if redirect is not None:
            result, exp, _child = yield from _redirect(run, redirect, domain, terms, chain)
            return (
                result,
                exp,
                RecordTrace(
                    domain=domain,
                    record=text,
                    query=log[0] if log else None,
                    terms=tuple(terms),
                    result=result,
                    decided_by=redirect.text,
                ),
            )
    except EvaluationStopped as err:
        culprit = mechs[index].text if index < len(mechs) else (record.redirect.text if record.redirect else "")
        if err.limit:
            remaining: list[Mechanism | Modifier] = list(mechs[index + 1 :])
            if record.redirect is not None and index < len(mechs):
                remaining.append(record.redirect)
            for term in remaining:
                terms.append((yield from expand_term(run, term, domain, chain, probe=False)))
        raise fail(err, text, culprit) from None
    # §4.7: no mechanism matched and no redirect -> neutral
    return (
        "neutral",
        None,
        RecordTrace(
            domain=domain,
            record=text,
            query=log[0] if log else None,
            terms=tuple(terms),
            result="neutral",
            decided_by="default (no mechanism matched)",
        ),
    )


def _not_reached(mech: Mechanism, lookups: int) -> TermTrace:
    return TermTrace(
        term=mech.text, lookups=lookups, outcome="not evaluated", note="an earlier term matched", evaluated=False
    )


def _mechanism(run: RunState, mech: Mechanism, domain: str, terms: list[TermTrace], chain: tuple) -> Gen:
    """Evaluate one directive; append its TermTrace; return True on match."""
    log: list[QueryTrace] = []
    cost = 1 if mech.costs_lookup else 0
    voids_before = run.voids
    child: RecordTrace | None = None
    note = ""
    try:
        if cost:
            charge_lookup(run)
        name = mech.name
        if name == "all":
            matched = True
        elif name in ("ip4", "ip6"):
            matched = mech.network is not None and net_match(run, mech.network)
        elif name == "a":
            target = yield from expand_target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            ans = yield from ask(target, "A" if run.v4 else "AAAA", log)
            count_void(run, ans)
            cidr = mech.ip4_cidr if run.v4 else mech.ip6_cidr
            matched = any(in_net(a, run, cidr) for a in ans.records)
        elif name == "mx":
            target = yield from expand_target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            ans = yield from ask(target, "MX", log)
            count_void(run, ans)
            if len(ans.records) > MAX_MX_NAMES:
                # §4.6.4: more than 10 MX names -> permerror for the mx mechanism
                raise EvaluationStopped(
                    "permerror",
                    f"{target} has {len(ans.records)} MX records; "
                    f"the mx mechanism allows at most {MAX_MX_NAMES} (§4.6.4)",
                )
            cidr = mech.ip4_cidr if run.v4 else mech.ip6_cidr
            matched = False
            for mx in sorted(ans.records, key=lambda r: r.preference):
                if mx.exchange in (".", ""):
                    continue  # null MX (RFC 7505)
                addrs = yield from ask(mx.exchange, "A" if run.v4 else "AAAA", log)
                if any(in_net(a, run, cidr) for a in addrs.records):
                    matched = True
                    break
        elif name == "ptr":
            target = yield from expand_target(run, mech.macro, domain, log) if mech.macro else _same(domain)
            matched = yield from ptr_match(run, target, log)
        elif name == "exists":
            target = yield from expand_target(run, mech.macro, domain, log)
            ans = yield from ask(target, "A", log)  # §5.7: always an A query
            count_void(run, ans)
            matched = bool(ans.records)
        else:  # include
            target = yield from expand_target(run, mech.macro, domain, log)
            key = ("eval", target.lower(), run.ip_int, run.v4)
            hit = run.memo.get(key) if run.memo is not None and not run.limit_hit else None
            if (
                hit is not None
                and run.lookups + hit.lookups <= run.max_lookups
                and run.voids + hit.voids <= run.max_voids
            ):
                child = hit.trace_at(run.lookups)
                run.lookups += hit.lookups
                run.voids += hit.voids
                result = hit.result
            else:
                base, voids0, outer = run.lookups, run.voids, run.tainted
                run.tainted = False
                try:
                    result, _exp, child = yield from _check_host(run, target, chain=chain)
                except EvaluationStopped as err:
                    child = err.trace
                    raise
                finally:
                    inner, run.tainted = run.tainted, outer or run.tainted
                if run.memo is not None and not inner and not run.limit_hit:
                    run.memo[key] = SubtreeMemo(result, child, base, run.lookups - base, run.voids - voids0)
            # §5.2: pass -> match; fail/softfail/neutral -> no match; none -> permerror
            if result == "none":
                raise EvaluationStopped("permerror", f"include:{target} has no SPF record (§5.2)")
            matched = result == "pass"
            note = f"included result {result}"
    except EvaluationStopped as err:
        terms.append(
            TermTrace(
                term=mech.text,
                cost=cost,
                lookups=run.lookups,
                queries=tuple(log),
                void=run.voids > voids_before,
                outcome="error",
                result=err.result,
                note=err.reason,
                over_limit=_mark_over(run, err, cost, child),
                child=child,
            )
        )
        raise
    terms.append(
        TermTrace(
            term=mech.text,
            cost=cost,
            lookups=run.lookups,
            queries=tuple(log),
            void=run.voids > voids_before,
            outcome="match" if matched else "no match",
            result=mech.qualifier.result if matched else None,
            note=note,
            child=child,
        )
    )
    return matched


def _mark_over(run: RunState, err: EvaluationStopped, cost: int, child: RecordTrace | None) -> bool:
    """True for the one term whose own lookup went over the limit."""
    if err.limit and cost and child is None and run.limit_hit and not run.over_marked:
        run.over_marked = True
        return True
    return False


def _same(domain: str) -> Gen:
    return domain
    yield  # pragma: no cover - makes this a generator


def _redirect(run: RunState, mod: Modifier, domain: str, terms: list[TermTrace], chain: tuple) -> Gen:
    """§6.1: the result of check_host() on the target; ``none`` becomes permerror."""
    log: list[QueryTrace] = []
    child = None
    try:
        charge_lookup(run)
        target = yield from expand_target(run, mod.macro, domain, log)
        try:
            result, exp, child = yield from _check_host(run, target, chain=chain)
        except EvaluationStopped as err:
            child = err.trace
            raise
        if result == "none":
            raise EvaluationStopped("permerror", f"redirect={target} has no SPF record (§6.1)")
    except EvaluationStopped as err:
        terms.append(
            TermTrace(
                term=mod.text,
                cost=1,
                lookups=run.lookups,
                queries=tuple(log),
                outcome="error",
                result=err.result,
                note=err.reason,
                child=child,
                over_limit=_mark_over(run, err, 1, child),
            )
        )
        raise
    terms.append(
        TermTrace(
            term=mod.text,
            cost=1,
            lookups=run.lookups,
            queries=tuple(log),
            outcome="match",
            result=result,
            note=f"redirected result {result}",
            child=child,
        )
    )
    return result, exp, child


# -- expansion without evaluation (limit exceeded, or the static tree) ----------------


def evaluate(
    ip: str,
    domain: str,
    *,
    sender: str = "",
    helo: str = "",
    receiver: str = "unknown",
    now: int = 0,
    record: str | None = None,
    max_lookups: int = MAX_DNS_LOOKUPS,
    max_voids: int = MAX_VOID_LOOKUPS,
    memo: dict | None = None,
) -> Gen:
    """The check_host() generator: yields ``(name, rdtype)``, returns :class:`SpfResult`.

    ``sender`` is the MAIL FROM (or ``postmaster@<helo>``); defaults to
    ``postmaster@<domain>``. ``record`` evaluates that text as ``domain``'s record instead
    of fetching it (to try an edit before publishing). ``now`` feeds the ``%{t}`` macro.
    ``memo`` (a dict shared by evaluations whose answers come from one cache) reuses
    include subtrees already evaluated for the same client IP.
    """
    sender = sender or f"postmaster@{domain}"
    run = RunState(ip, sender, helo, receiver, now, max_lookups, max_voids)
    run.memo = memo
    domain = domain.rstrip(".") if domain != "." else domain
    outcome = functools.partial(SpfResult, domain=domain, ip=str(run.ip), sender=run.sender)
    if not valid_domain(domain):
        # §4.3: a malformed or single-label domain -> none, without any DNS query
        return outcome(result="none", reason=f"{domain!r} is not a valid multi-label domain name")
    try:
        result, exp, trace = yield from _check_host(run, domain, override=record)
    except EvaluationStopped as err:
        stopped = run.stopped_at if run.stopped_at is not None else run.lookups
        return outcome(
            result=err.result,
            reason=err.reason,
            dns_lookups=stopped,
            void_lookups=run.voids,
            lookups_total=run.lookups,
            limit_exceeded=err.limit,
            trace=err.trace,
        )
    explanation, default = "", False
    if result == "fail":
        explanation, default = yield from _explain(run, exp, domain)
    return outcome(
        result=result,
        explanation=explanation,
        explanation_default=default,
        dns_lookups=run.lookups,
        void_lookups=run.voids,
        lookups_total=run.lookups,
        trace=trace,
    )


def _explain(run: RunState, exp: tuple[Modifier, str] | None, top: str) -> Gen:
    """§6.2: fetch and expand the exp= text; any problem gives the default explanation."""
    default = macros.expand(macros.tokenize(DEFAULT_EXPLANATION, explanation=True), run.values(top))
    if exp is None:
        return default, True
    mod, domain = exp
    log: list[QueryTrace] = []
    try:
        target = yield from expand_target(run, mod.macro, domain, log)
        ans = yield from ask(target, "TXT", log)
        if len(ans.records) != 1 or not ans.records[0].isascii():
            return default, True
        values = run.values(domain)
        tokens = macros.tokenize(ans.records[0], explanation=True)
        if macros.uses_letter(tokens, "p"):
            values["p"] = yield from validated_name(run, domain, log)
        return macros.expand(tokens, values), False
    except (EvaluationStopped, macros.MacroError):
        return default, True


def check_host(ip: str, domain: str, *, lookup: DnsLookup, **kw: Any) -> SpfResult:
    """RFC 7208 check_host() with a sync lookup; keyword options as :func:`evaluate`."""
    return run_sync(evaluate(ip, domain, **kw), lookup)


async def acheck_host(ip: str, domain: str, *, lookup: DnsLookup, **kw: Any) -> SpfResult:
    """RFC 7208 check_host() with an async lookup; keyword options as :func:`evaluate`."""
    return await run_async(evaluate(ip, domain, **kw), lookup)


def lookup_tree(
    domain: str, *, lookup: DnsLookup, record: str | None = None, memo: dict | None = None
) -> tuple[RecordTrace, int, int]:
    """Expand ``domain``'s whole SPF tree regardless of the client: ``(trace, lookups, voids)``.

    Every ``include``/``redirect`` is followed (loops cut), ``a``/``mx``/``exists`` targets
    are queried to find void lookups; ``ptr`` and macro targets cost 1 without a query.
    The term that would exceed the limit of 10 has ``over_limit=True``. ``memo`` as in
    :func:`evaluate` (share it between calls whose answers come from one cache).
    """
    return run_sync(tree(domain, record=record, memo=memo), lookup)


async def alookup_tree(
    domain: str, *, lookup: DnsLookup, record: str | None = None, memo: dict | None = None
) -> tuple[RecordTrace, int, int]:
    """The async form of :func:`lookup_tree`."""
    return await run_async(tree(domain, record=record, memo=memo), lookup)
