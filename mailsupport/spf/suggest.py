"""The suggested SPF record: the smallest edit of the existing record(s) that fixes them.

Edits, in order (each one recorded as a sentence in :attr:`Suggestion.changes`):

1. no record → ``v=spf1 [mx] include:<vendor> ~all`` (``mx`` when the domain has MX hosts);
2. several records → merged into one (terms in order, duplicates dropped, one ``all``);
3. terms that do not parse → dropped;
4. ``ptr`` → dropped (§5.5);
5. mechanisms after ``all`` → moved before it (§5.1); the vendor include → just before ``all``;
6. ``+all``/``?all``/``all`` → ``~all``; no ``all`` and no ``redirect`` → ``~all`` appended;
7. more than 2 void lookups → the void terms dropped;
8. more than 10 lookups → the costliest non-vendor includes replaced by their ``ip4``/``ip6``
   networks (flattened) when their whole subtree is address lists, else removed, until the
   count is at most 10.

The caller (:mod:`.check`) then evaluates the suggestion through DNS: its lookup count and
its verdict for the vendor IPs. Pure (layer 2): imports the spf modules only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .engine import MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS
from .parse import SpfSyntaxError, parse_record
from .trace import RecordTrace

__all__ = ["Suggestion", "suggest_record", "flatten_networks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """A record to publish instead, with the edits that produced it and the estimated
    lookup count (the caller replaces ``lookups`` by the measured count)."""

    record: str
    changes: tuple[str, ...]
    lookups: int


def flatten_networks(tree: RecordTrace | None) -> tuple[str, ...] | None:
    """The ``ip4:``/``ip6:`` terms of a subtree, or None if it has anything else that needs
    DNS (``a``, ``mx``, ``ptr``, ``exists``, macros, errors) and so cannot be flattened."""
    if tree is None or tree.record is None or tree.error:
        return None
    out: list[str] = []
    for term in tree.terms:
        word = term.term.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].split("=", 1)[0].lower()
        if word in ("ip4", "ip6"):
            if term.term[0] in "+ip":
                out.append(term.term.lstrip("+"))
        elif word in ("include", "redirect"):
            sub = flatten_networks(term.child)
            if sub is None:
                return None
            out.extend(sub)
        elif word in ("all", "exp") or "=" in term.term:
            continue
        else:
            return None
    return tuple(dict.fromkeys(out))


def _word(term: str) -> str:
    return term.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].lower()


def _ok_term(term: str) -> bool:
    try:
        parse_record("v=spf1 " + term)
    except SpfSyntaxError:
        return False
    return True


def suggest_record(
    records: Sequence[str],
    *,
    vendor_include: str,
    has_mx: bool = False,
    costs: Mapping[str, int] | None = None,
    flattenable: Mapping[str, tuple[str, ...] | None] | None = None,
    void_terms: Sequence[str] = (),
    voids: int = 0,
) -> Suggestion:
    """The suggested record for ``records`` (see the module docstring for the edits).

    ``costs`` maps top-level term text to its lookup cost including its subtree (from the
    static tree); ``flattenable`` maps an include term to its networks (or None).
    """
    costs = dict(costs or {})
    flattenable = dict(flattenable or {})
    vendor_term = f"include:{vendor_include}"
    changes: list[str] = []
    if not records:
        fresh = (["mx"] if has_mx else []) + [vendor_term, "~all"]
        changes.append("publish a new record" + (" (mx covers the domain's own mail servers)" if has_mx else ""))
        return Suggestion(record="v=spf1 " + " ".join(fresh), changes=tuple(changes), lookups=len(fresh) - 1)
    terms: list[str] = []
    for rec in records:
        terms.extend(rec.split()[1:])
    if len(records) > 1:
        changes.append(f"merge the {len(records)} records into one")
        merged: list[str] = []
        for t in terms:
            if t.lower() not in (m.lower() for m in merged):
                merged.append(t)
        terms = merged
    bad = [t for t in terms if not _ok_term(t)]
    if bad:
        terms = [t for t in terms if t not in bad]
        changes.append("drop the invalid term(s) " + ", ".join(bad))
    ptrs = [t for t in terms if _word(t) == "ptr"]
    if ptrs:
        terms = [t for t in terms if t not in ptrs]
        changes.append("drop " + ", ".join(ptrs) + " (deprecated, RFC 7208 §5.5)")
    requal = [t for t in terms if t[:1] in "-~?" and t[1:].lower() == vendor_term.lower()]
    if requal:
        terms = [vendor_term if t in requal else t for t in terms]
        changes.append(f"change {requal[0]} to {vendor_term} (only a pass from it authorises the vendor)")
    mods = [t for t in terms if "=" in t.split(":", 1)[0]]
    mechs = [t for t in terms if t not in mods]
    alls = [t for t in mechs if _word(t) == "all"]
    first_all = alls[0] if alls else None
    had_vendor_before = False
    if first_all is not None:
        idx = mechs.index(first_all)
        had_vendor_before = any(t.lower() == vendor_term.lower() for t in mechs[:idx])
        after = [t for t in mechs[idx + 1 :] if _word(t) != "all" and t.lower() != vendor_term.lower()]
        if after:
            changes.append("move " + ", ".join(after) + f" before {first_all}")
        if len(alls) > 1:
            changes.append("drop the extra " + ", ".join(alls[1:]))
        mechs = [t for t in mechs[:idx]] + after
    else:
        had_vendor_before = any(t.lower() == vendor_term.lower() for t in mechs)
    present = any(t.lower() == vendor_term.lower() for t in terms)
    if len(records) > 1 and had_vendor_before:
        # merged records come in DNS order (arbitrary): put the include just before the all
        had_vendor_before = False
        mechs = [t for t in mechs if t.lower() != vendor_term.lower()] + [vendor_term]
    elif not had_vendor_before:
        mechs = [t for t in mechs if t.lower() != vendor_term.lower()] + [vendor_term]
        changes.append(f"{'move' if present else 'insert'} {vendor_term} before the all")
    redirect = [m for m in mods if m.lower().startswith("redirect=")]
    if first_all is None and redirect:
        final_all = None
    else:
        final_all = first_all if first_all in ("~all", "-all") else "~all"
        if first_all is None:
            changes.append("end with ~all")
        elif first_all != final_all:
            changes.append(f"replace {first_all} with ~all")
        if redirect:
            mods = [m for m in mods if m not in redirect]
            changes.append("drop " + redirect[0] + " (never used with an all mechanism)")
    if voids > MAX_VOID_LOOKUPS and void_terms:
        dropped = [t for t in mechs if t in void_terms and t != vendor_term]
        if dropped:
            mechs = [t for t in mechs if t not in dropped]
            changes.append("drop " + ", ".join(dropped) + " (their lookups find nothing)")
    total = sum(costs.get(t, 1 if _word(t) in ("a", "mx", "ptr", "exists", "include") else 0) for t in mechs)
    total += sum(costs.get(m, 1) for m in mods if m.lower().startswith("redirect="))
    if total > MAX_DNS_LOOKUPS:
        for term in sorted(
            (t for t in mechs if _word(t) == "include" and t != vendor_term), key=lambda t: -costs.get(t, 1)
        ):
            if total <= MAX_DNS_LOOKUPS:
                break
            nets = flattenable.get(term)
            cost = costs.get(term, 1)
            i = mechs.index(term)
            if nets is not None:
                qual = term[0] if term[0] in "-~?" else ""
                mechs[i : i + 1] = [qual + n for n in nets]
                changes.append(f"flatten {term} ({cost} lookups) into {len(nets)} ip4/ip6 terms")
            else:
                del mechs[i]
                changes.append(
                    f"remove {term} ({cost} lookups; its tree uses a/mx/exists, so ask "
                    "that provider for a flatter include)"
                )
            total -= cost
    out = ["v=spf1", *mechs] + ([final_all] if final_all else []) + mods
    return Suggestion(record=" ".join(out), changes=tuple(changes), lookups=total)
