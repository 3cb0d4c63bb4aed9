"""The pure SPF diagnosis: :class:`SpfFacts` in, findings out (check ids in
:data:`mailsupport.spf.diagnose.SPF_CHECKS`).

Pure: imports model, the tenant model and the spf core only. Facts come from
``docs/provider-facts.md`` §6 and RFC 7208.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...model import Finding, Severity
from ...tenant import DEFAULT_VENDOR_INCLUDE
from ..engine import MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS, SpfResult
from ..parse import Mechanism, SpfRecord, SpfSyntaxError
from ..trace import RecordTrace, TermTrace

__all__ = ["SPF_CHECKS", "SpfFacts", "diagnose", "include_costs"]

SPF_CHECKS: Mapping[str, str] = {
    "spf.no-record": "the domain publishes no v=spf1 TXT record",
    "spf.multiple-records": "more than one v=spf1 record: permerror for every receiver (RFC 7208 §4.5)",
    "spf.syntax-error": "the record breaks the RFC 7208 grammar: permerror (§4.6)",
    "spf.vendor-include-missing": "the vendor include is not in the record at all",
    "spf.vendor-include-after-all": "the vendor include comes after 'all' and is never evaluated (§5.1)",
    "spf.terms-after-all": "other mechanisms after 'all' are ignored by receivers (§5.1)",
    "spf.too-many-lookups": "the tree needs more than 10 DNS-querying terms: permerror (§4.6.4)",
    "spf.too-many-void-lookups": "more than 2 lookups find nothing (NXDOMAIN/NODATA): permerror (§4.6.4)",
    "spf.ptr-deprecated": "the record uses 'ptr', which SHOULD NOT be used (§5.5)",
    "spf.permissive-all": "'+all' or '?all': anyone may send, or there is no policy at all",
    "spf.dns-temporary-failure": "a DNS lookup timed out or failed: receivers get temperror",
    "spf.vendor-ip-not-permitted": "a vendor sending IP (from the vendor include's own record) does not get pass",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfFacts:
    """Everything the diagnosis needs, gathered by DNS beforehand.

    ``records`` are the domain's ``v=spf1`` TXT records; ``parsed``/``syntax_error`` the
    parse of the single record; ``tree`` the static lookup tree (all includes expanded)
    with its ``lookups``/``voids`` counts; ``vendor_verdicts`` the check_host() result for
    each vendor IP; ``txt_error`` a temporary DNS failure fetching the record.
    """

    domain: str
    vendor_include: str = DEFAULT_VENDOR_INCLUDE
    records: tuple[str, ...] = ()
    txt_error: str = ""
    parsed: SpfRecord | None = None
    syntax_error: SpfSyntaxError | None = None
    tree: RecordTrace | None = None
    lookups: int = 0
    voids: int = 0
    vendor_verdicts: tuple[tuple[str, SpfResult], ...] = ()
    vendor_error: str = ""


def _f(
    facts: SpfFacts,
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
        subject=facts.domain,
        summary=summary,
        remedy=remedy,
        detail=detail,
        reference=reference,
        evidence=evidence,
    )


def _is_vendor(mech: Mechanism, vendor: str) -> bool:
    return mech.name == "include" and (mech.domain_spec or "").rstrip(".").lower() == vendor.lower()


def include_costs(tree: RecordTrace | None) -> dict[str, int]:
    """Top-level term text → lookups it costs including everything below it."""
    if tree is None:
        return {}
    return {t.term: t.cost + (t.child.total_cost if t.child else 0) for t in tree.terms if t.cost}


def _tree_has_include(tree: RecordTrace | None, vendor: str) -> bool:
    if tree is None:
        return False
    for _depth, node in tree.walk():
        if isinstance(node, RecordTrace) and node is not tree and node.domain.lower() == vendor.lower():
            return True
    return False


def diagnose(facts: SpfFacts) -> tuple[Finding, ...]:
    """The findings for one domain (see the table in the module docstring)."""
    out: list[Finding] = []
    vendor = facts.vendor_include
    if facts.txt_error:
        out.append(
            _f(
                facts,
                "spf.dns-temporary-failure",
                Severity.ERROR,
                f"The SPF record of {facts.domain} could not be fetched: {facts.txt_error}",
                "Check the domain's DNS servers answer TXT queries; receivers will defer or "
                "treat the mail as temperror meanwhile.",
                reference="RFC 7208 §4.4",
            )
        )
        return tuple(out)
    if not facts.records:
        out.append(
            _f(
                facts,
                "spf.no-record",
                Severity.ERROR,
                f"{facts.domain} publishes no SPF record, so mail sent through the vendor cannot be authorised.",
                f"Publish one TXT record: the suggested record below (it includes {vendor}).",
                reference="RFC 7208 §4.5; help page: Spam Filter Settings",
            )
        )
        return tuple(out)
    if len(facts.records) > 1:
        out.append(
            _f(
                facts,
                "spf.multiple-records",
                Severity.ERROR,
                f"{facts.domain} publishes {len(facts.records)} SPF records; receivers treat "
                "this as permerror, so no sender passes.",
                "Merge them into one record (amend the existing record, do not add a second); "
                "see the suggested record.",
                reference="RFC 7208 §4.5",
                evidence=tuple((f"record {i + 1}", r) for i, r in enumerate(facts.records)),
            )
        )
    if facts.syntax_error is not None:
        err = facts.syntax_error
        out.append(
            _f(
                facts,
                "spf.syntax-error",
                Severity.ERROR,
                f"The SPF record has a syntax error: {err.reason}.",
                "Fix or remove the marked term; the suggested record drops it.",
                detail=err.marked(),
                reference="RFC 7208 §4.6, §12",
                evidence=(("term", err.term), ("position", str(err.position + 1))),
            )
        )
    rec = facts.parsed
    if rec is not None:
        out.extend(_record_findings(facts, rec))
    if facts.lookups > MAX_DNS_LOOKUPS:
        costs = include_costs(facts.tree)
        path = facts.tree.over_limit_path() if facts.tree else ()
        worst = sorted(((c, t) for t, c in costs.items() if c > 1), reverse=True)
        culprit = path[0] if path else ""
        out.append(
            _f(
                facts,
                "spf.too-many-lookups",
                Severity.ERROR,
                f"The SPF tree needs {facts.lookups} DNS lookups; the limit is "
                f"{MAX_DNS_LOOKUPS}, so receivers return permerror"
                + (f" ({culprit} pushes it over)." if culprit else "."),
                "Flatten or remove the costliest includes: "
                + ", ".join(f"{t} ({c} lookups)" for c, t in worst[:4])
                + ". The suggested record shows the result.",
                reference="RFC 7208 §4.6.4",
                evidence=(("lookups", str(facts.lookups)), ("over the limit at", " > ".join(path)))
                + tuple((t, str(c)) for c, t in worst),
            )
        )
    if facts.voids > MAX_VOID_LOOKUPS:
        voided = [n.term for _d, n in facts.tree.walk() if isinstance(n, TermTrace) and n.void] if facts.tree else []
        out.append(
            _f(
                facts,
                "spf.too-many-void-lookups",
                Severity.ERROR,
                f"{facts.voids} lookups in the SPF tree find nothing (limit {MAX_VOID_LOOKUPS}); "
                "receivers return permerror.",
                "Remove the terms that point at names without records: " + ", ".join(voided) + ".",
                reference="RFC 7208 §4.6.4",
                evidence=tuple(("void", v) for v in voided),
            )
        )
    if facts.tree is not None:
        temp = [n for _d, n in facts.tree.walk() if isinstance(n, RecordTrace) and n.result == "temperror"]
        if temp:
            out.append(
                _f(
                    facts,
                    "spf.dns-temporary-failure",
                    Severity.ERROR,
                    f"DNS lookups for {', '.join(n.domain for n in temp)} failed temporarily; "
                    "receivers get temperror when they reach them.",
                    "Check those domains' DNS servers answer (timeout or SERVFAIL seen).",
                    reference="RFC 7208 §2.6.6",
                    evidence=tuple((n.domain, n.error) for n in temp),
                )
            )
    out.extend(_vendor_findings(facts))
    return tuple(out)


def _record_findings(facts: SpfFacts, rec: SpfRecord) -> list[Finding]:
    out: list[Finding] = []
    vendor = facts.vendor_include
    mechs = rec.mechanisms
    all_pos = next((i for i, m in enumerate(mechs) if m.name == "all"), None)
    vendor_pos = [i for i, m in enumerate(mechs) if _is_vendor(m, vendor)]
    before = [i for i in vendor_pos if all_pos is None or i < all_pos]
    if vendor_pos and not before and all_pos is not None:  # all_pos is set when no include is before it
        out.append(
            _f(
                facts,
                "spf.vendor-include-after-all",
                Severity.ERROR,
                f"include:{vendor} comes after '{mechs[all_pos].text}', so receivers never "
                "evaluate it and the vendor's servers are not authorised.",
                f"Move include:{vendor} before the all (see the suggested record).",
                reference="RFC 7208 §5.1; help page: Spam Filter Settings",
                evidence=(("record", rec.text),),
            )
        )
    elif not vendor_pos and not _tree_has_include(facts.tree, vendor):
        out.append(
            _f(
                facts,
                "spf.vendor-include-missing",
                Severity.ERROR,
                f"The SPF record does not include {vendor}, so mail the vendor sends for "
                f"{facts.domain} is not authorised.",
                f"Add include:{vendor} before the all (amend the record; see the suggestion).",
                reference="help page: Spam Filter Settings",
                evidence=(("record", rec.text),),
            )
        )
    if all_pos is not None:
        after = [m.text for m in mechs[all_pos + 1 :] if not _is_vendor(m, vendor)]
        if after:
            out.append(
                _f(
                    facts,
                    "spf.terms-after-all",
                    Severity.WARNING,
                    f"{', '.join(after)} after '{mechs[all_pos].text}' are never evaluated.",
                    "Move them before the all, or remove them; keep ~all at the end.",
                    reference="RFC 7208 §5.1",
                    evidence=tuple(("ignored", a) for a in after),
                )
            )
        last_all = mechs[all_pos]
        if last_all.qualifier.value in "+?":
            sev = Severity.ERROR if last_all.qualifier.value == "+" else Severity.WARNING
            what = "lets every server on the internet pass" if sev is Severity.ERROR else "states no policy (neutral)"
            out.append(
                _f(
                    facts,
                    "spf.permissive-all",
                    sev,
                    f"'{last_all.text}' {what}.",
                    "End the record with ~all, as the vendor requires.",
                    reference="RFC 7208 §5.1, §8; help page: Spam Filter Settings",
                    evidence=(("record", rec.text),),
                )
            )
    ptrs = [m.text for m in mechs if m.name == "ptr"]
    if ptrs:
        out.append(
            _f(
                facts,
                "spf.ptr-deprecated",
                Severity.WARNING,
                f"The record uses {', '.join(ptrs)}: slow, unreliable and deprecated; some "
                "receivers ignore or penalise it.",
                "Remove ptr; list the sending servers with a, mx, ip4 or ip6 instead.",
                reference="RFC 7208 §5.5",
            )
        )
    return out


def _vendor_findings(facts: SpfFacts) -> list[Finding]:
    if not facts.records or len(facts.records) > 1 and not facts.vendor_verdicts:
        return []
    bad = [(ip, r) for ip, r in facts.vendor_verdicts if r.result != "pass"]
    if not bad:
        return []
    ev = tuple((ip, f"{r.result}" + (f" ({r.reason})" if r.reason else "")) for ip, r in bad)
    return [
        _f(
            facts,
            "spf.vendor-ip-not-permitted",
            Severity.ERROR,
            f"{len(bad)} of {len(facts.vendor_verdicts)} vendor sending IPs do not get pass "
            f"for {facts.domain} (e.g. {bad[0][0]}: {bad[0][1].result}).",
            f"Publish the suggested record so that include:{facts.vendor_include} is evaluated.",
            reference="RFC 7208 §2.6; help page: Spam Filter Settings",
            evidence=ev,
        )
    ]
