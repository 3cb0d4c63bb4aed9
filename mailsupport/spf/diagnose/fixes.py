"""The SPF fix step: the exact record to publish at the domain's TXT, with why and how to check.

One step per domain that needs a change: the suggested record (:mod:`mailsupport.spf.suggest`,
evaluated through DNS by :mod:`.check`) replaces whatever ``v=spf1`` record(s) the domain
publishes now. It resolves every SPF finding about the domain that the suggestion addresses
(all but a temporary DNS failure, which no record fixes). The evidence lists the edits made
and what the suggestion achieves (its lookup count, the vendor IPs' result with it); the
evaluation trace of the current record is the technical detail a report folds away (only
when asked for: the audit keeps it only for fix reports).

Pure: reads a :class:`~mailsupport.spf.diagnose.check.SpfCheck` (duck-typed) and builds
:class:`~mailsupport.fixes.FixStep` values.
"""

from __future__ import annotations

from typing import Any

from ...fixes import ORDER_DNS, FixStep, dig
from ...model import Severity
from ..engine import MAX_DNS_LOOKUPS

__all__ = ["spf_fix_steps", "UNFIXABLE"]

#: SPF findings no record can fix (the DNS itself failed).
UNFIXABLE = ("spf.dns-temporary-failure",)


def _action(check: Any) -> str:
    n = len(check.records)
    if n == 0:
        return f"Publish an SPF record for {check.domain}"
    if n > 1:
        return f"Replace the {n} SPF records of {check.domain} with this one"
    ids = {f.check for f in check.findings}
    placement = {"spf.vendor-include-missing", "spf.vendor-include-after-all"}
    if ids & placement and len(ids - {"spf.vendor-ip-not-permitted"}) == 1:  # only the include is wrong
        return f"Add the vendor to the SPF record of {check.domain}"
    return f"Replace the SPF record of {check.domain}"


def spf_fix_steps(check: Any, *, detail: bool = False) -> tuple[FixStep, ...]:
    """The fix step for one checked domain (none when nothing needs publishing); ``detail``
    adds the current record's evaluation trace as the step's technical detail."""
    if not check.suggested_record:
        return ()
    fixable = [f for f in check.findings if f.check not in UNFIXABLE]
    if not fixable:
        return ()
    problems = [f for f in fixable if f.severity >= Severity.WARNING] or fixable
    why = " ".join(f.summary for f in problems[:3])
    evidence: list[tuple[str, str]] = [("change", c) for c in check.suggestion_changes]
    if check.suggestion_lookups is not None:
        evidence.append(
            ("DNS lookups with it", f"{check.suggestion_lookups} (limit {MAX_DNS_LOOKUPS}; now {check.dns_lookups})")
        )
    if check.suggestion_verdict:
        evidence.append(("vendor sending IPs with it", check.suggestion_verdict))
    evidence += [(f"vendor IP {ip} now", result) for ip, result in check.verdicts if result != "pass"][:6]
    verify = (
        f"Run `{dig(check.domain)}`: one v=spf1 line, the new value (caches may show the old one for up to "
        "its TTL). Mail sent through the vendor then shows spf=pass in the receiver's Authentication-Results."
    )
    trace = ""
    if detail and check.trace is not None:
        from .render import trace_to_text

        trace = trace_to_text(check.trace)
    return (
        FixStep(
            host=check.domain,
            rtype="TXT",
            current="\n".join(check.records),
            new=check.suggested_record,
            action=_action(check),
            label="at the DNS host of the domain",
            why=why,
            verify=verify,
            resolves=tuple((f.check, f.subject) for f in fixable),
            severity=max(f.severity for f in fixable),
            order=ORDER_DNS,
            evidence=tuple(evidence),
            detail=trace,
        ),
    )
