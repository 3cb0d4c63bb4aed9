"""Expanding an SPF tree without evaluating it: every include/redirect followed regardless
of the client IP, costs counted against the RFC 7208 §4.6.4 limit, void targets probed.

Used for the static lookup tree (:func:`tree`, behind :func:`mailsupport.spf.lookup_tree`)
and by :mod:`.evaluate` to show the rest of the tree after a limit stopped evaluation.
Loops are cut (a domain already on the chain), and so are trees over 60 records.

Layer 2 (pure core): imports the spf modules only.
"""

from __future__ import annotations

from . import macros
from .engine import (
    MAX_DNS_LOOKUPS,
    MAX_MX_NAMES,
    MAX_TREE_RECORDS,
    MAX_VOID_LOOKUPS,
    EvaluationStopped,
    Gen,
    RunState,
    SubtreeMemo,
    ask,
    select_record,
)
from .parse import Mechanism, Modifier, SpfSyntaxError, parse_record
from .trace import QueryTrace, RecordTrace, TermTrace

__all__ = ["tree"]


def expand_term(run: RunState, term: Mechanism | Modifier, domain: str, chain: tuple, *, probe: bool) -> Gen:
    """A TermTrace for a term that is only expanded: cost counted, includes followed."""
    log: list[QueryTrace] = []
    name = term.name
    cost = 1 if (isinstance(term, Mechanism) and term.costs_lookup) or name == "redirect" else 0
    if isinstance(term, Modifier) and name != "redirect":
        return TermTrace(
            term=term.text,
            lookups=run.lookups,
            outcome="not evaluated",
            evaluated=False,
            note="explanation (no lookup)" if name == "exp" else "unknown modifier, ignored",
        )
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
        elif run.audit_records >= MAX_TREE_RECORDS:
            note = "tree too large; not expanded further"
            run.tainted = True
        else:
            target = macros.expand(term.macro, {}).rstrip(".")
            key = ("tree", target.lower(), probe)
            hit = run.memo.get(key) if run.memo is not None else None
            if target.lower() in chain:
                note = f"loop: {target} is already being evaluated"
                run.tainted = True
            elif hit is not None and run.lookups + hit.lookups <= run.max_lookups and hit.domains.isdisjoint(chain):
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
                    run.memo[key] = SubtreeMemo(
                        "",
                        child,
                        base,
                        run.lookups - base,
                        run.voids - voids0,
                        run.audit_records - records0,
                        domains=_domains(child),
                    )
    elif probe and name in ("a", "mx", "exists") and not dynamic:
        target = macros.expand(term.macro, {}).rstrip(".") if term.macro else domain
        rdtype = {"a": "A", "mx": "MX", "exists": "A"}[name]
        try:
            ans = yield from ask(target, rdtype, log)
            void = not ans.records
            if void:
                run.voids += 1
            if name == "mx" and len(ans.records) > MAX_MX_NAMES:
                note = f"{len(ans.records)} MX names: over the limit of {MAX_MX_NAMES} (permerror)"
        except EvaluationStopped as err:
            note = err.reason
    return TermTrace(
        term=term.text,
        cost=cost,
        lookups=run.lookups,
        queries=tuple(log),
        void=void,
        outcome="not evaluated",
        over_limit=over,
        evaluated=False,
        note=note,
        child=child,
    )


def _domains(trace: RecordTrace | None) -> frozenset[str]:
    """Every record's domain inside ``trace`` (a reuse where one is on the chain would hide a loop)."""
    if trace is None:
        return frozenset()
    return frozenset(n.domain.lower() for _d, n in trace.walk() if isinstance(n, RecordTrace))


def _audit_record(run: RunState, domain: str, chain: tuple, *, probe: bool, override: str | None = None) -> Gen:
    log: list[QueryTrace] = []
    if override is not None:
        text = override
    else:
        try:
            ans = yield from ask(domain, "TXT", log)
        except EvaluationStopped as err:
            return RecordTrace(
                domain=domain, record=None, query=log[0], result="temperror", error=err.reason, evaluated=False
            )
        found, error = select_record(ans, domain)
        if error or found is None:
            return RecordTrace(
                domain=domain,
                record=None,
                query=log[0],
                result="permerror" if error else "none",
                error=error or "no SPF record",
                evaluated=False,
            )
        text = found
    try:
        record = parse_record(text)
    except SpfSyntaxError as exc:
        return RecordTrace(
            domain=domain,
            record=text,
            query=log[0] if log else None,
            result="permerror",
            error=f"syntax error: {exc}",
            evaluated=False,
        )
    chain = (*chain, domain.lower())
    terms = []
    seen_all = False
    for term in record.terms:
        if seen_all and (isinstance(term, Mechanism) or term.name == "redirect"):
            # §5.1: terms after "all" are never evaluated (and redirect is then unused, §6.1)
            terms.append(
                TermTrace(
                    term=term.text,
                    lookups=run.lookups,
                    outcome="not evaluated",
                    evaluated=False,
                    note="after 'all': never evaluated",
                )
            )
            continue
        terms.append((yield from expand_term(run, term, domain, chain, probe=probe)))
        seen_all = seen_all or (isinstance(term, Mechanism) and term.name == "all")
    return RecordTrace(domain=domain, record=text, query=log[0] if log else None, terms=tuple(terms), evaluated=False)


# -- entry points ------------------------------------------------------------------------


def tree(
    domain: str, *, record: str | None = None, max_lookups: int = MAX_DNS_LOOKUPS, memo: dict | None = None
) -> Gen:
    """Generator for :func:`lookup_tree`: returns (RecordTrace, total lookups, void lookups)."""
    run = RunState("192.0.2.0", f"postmaster@{domain}", "", "unknown", 0, max_lookups, MAX_VOID_LOOKUPS)
    run.memo = memo
    trace = yield from _audit_record(run, domain.rstrip("."), (), probe=True, override=record)
    return trace, run.lookups, run.voids
