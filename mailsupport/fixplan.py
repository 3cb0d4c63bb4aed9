"""One tenant's fix plan: the diagnoses' fix steps ordered and deduplicated, with a verdict.

:func:`order_steps` merges steps that change the same thing (one record family at one DNS
name — an SPF record is one TXT record however many checks ask for it —, one setting, one
piece of advice): the first step's values are kept, the findings they resolve are joined and
the worst severity wins. It then orders them: worst first, then by ``order`` (connection
settings, DNS records, policies, routing, advice), then as the diagnoses listed them (the
DMARC diagnosis lists its records in the order they are applied).

:func:`make_plan` wraps the steps with the tenant's findings and what the report must say
about the run: when, with which kit version, where DNS answers came from, what was checked
and what was not. :class:`FixPlan` is the one value every rendering (HTML page, plain text
for e-mail, JSON) is made from, so they say the same thing.

Pure (layer 2): imports :mod:`mailsupport.model` and :mod:`mailsupport.fixes` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .fixes import FixStep
from .model import Finding, Severity

__all__ = ["FixPlan", "order_steps", "make_plan", "step_for", "INTERNAL_CHECKS", "MAX_STEP_MESSAGES"]

#: Check ids that describe the run itself, not the customer's set-up: a plan lists them under
#: "not checked" (with their reason), never as problems.
INTERNAL_CHECKS = ("audit.check-skipped", "audit.check-unavailable", "audit.check-failed", "demo.step-failed")
#: At most this many messages named per merged step (the diagnoses cap their own lists too).
MAX_STEP_MESSAGES = 20


def _slot(step: FixStep) -> tuple[str, ...]:
    """What a step changes: two steps with the same slot are one change."""
    host = step.host.strip().rstrip(".").lower()
    if step.is_dns:
        family = step.new.split(None, 1)[0].lower() if step.rtype == "TXT" and step.new.lower().startswith("v=") else ""
        return (step.rtype, host, family)
    if step.rtype == "setting":
        return (step.rtype, host)
    return (step.rtype, host, step.new)


def _merge(first: FixStep, other: FixStep) -> FixStep:
    resolves = tuple(dict.fromkeys(first.resolves + other.resolves))
    evidence = tuple(dict.fromkeys(first.evidence + other.evidence))
    messages = tuple(dict.fromkeys(first.messages + other.messages))[:MAX_STEP_MESSAGES]
    return replace(
        first,
        resolves=resolves,
        evidence=evidence,
        messages=messages,
        severity=max(first.severity, other.severity),
        order=min(first.order, other.order),
    )


def order_steps(steps: Iterable[FixStep]) -> tuple[FixStep, ...]:
    """Deduplicate (see the module docstring) and order: worst first, then ``order``, then as given."""
    merged: dict[tuple[str, ...], FixStep] = {}
    first_seen: dict[tuple[str, ...], int] = {}
    for i, step in enumerate(steps):
        key = _slot(step)
        if key in merged:
            merged[key] = _merge(merged[key], step)
        else:
            merged[key] = step
            first_seen[key] = i
    return tuple(merged[k] for k in sorted(merged, key=lambda k: (-merged[k].severity, merged[k].order, first_seen[k])))


def step_for(steps: Iterable[FixStep], finding: Finding) -> FixStep | None:
    """The first step that resolves ``finding`` (matched on check id and subject), if any."""
    key = (finding.check, finding.subject)
    return next((s for s in steps if key in s.resolves), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixPlan:
    """Everything a fix report shows for one tenant (see the module docstring).

    ``steps`` are ordered; ``findings`` are every finding about the customer's set-up (the
    run's own ``audit.*``/``demo.*`` findings are left out: their reasons are in
    ``not_checked``); ``checked`` and ``not_checked`` are sentences; ``traces`` are
    ``(title, text)`` pairs of technical detail (an SPF lookup tree, the connection test's
    transcript) that a report folds away; ``created`` is the date and time of the run.
    """

    tenant: str
    steps: tuple[FixStep, ...] = ()
    findings: tuple[Finding, ...] = ()
    provider: str = ""
    created: str = ""
    version: str = ""
    dns_source: str = ""
    checked: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()
    traces: tuple[tuple[str, str], ...] = ()

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The findings that are warnings or worse, worst first."""
        return tuple(
            sorted(
                (f for f in self.findings if f.severity >= Severity.WARNING),
                key=lambda f: (-f.severity, f.check, f.subject),
            )
        )

    @property
    def unresolved(self) -> tuple[Finding, ...]:
        """Findings no step resolves (they need a person to look at them), worst first."""
        return tuple(
            sorted(
                (f for f in self.findings if step_for(self.steps, f) is None),
                key=lambda f: (-f.severity, f.check, f.subject),
            )
        )

    @property
    def status(self) -> str:
        """``action needed`` (an error or worse), ``recommended`` (warnings) or ``ok``."""
        worst = max((f.severity for f in self.findings), default=None)
        if worst is not None and worst >= Severity.ERROR:
            return "action needed"
        if worst is not None and worst >= Severity.WARNING:
            return "recommended"
        return "ok"

    @property
    def verdict(self) -> str:
        """One sentence for the top of the report: what state the set-up is in and what to do."""
        problems = self.problems
        fixed = [f for f in problems if step_for(self.steps, f) is not None]
        n = len(self.steps)
        steps = f"{n} change{'' if n == 1 else 's'}"
        if self.status == "ok":
            text = "No change needed: the checks that ran found no problem"
            if n:
                text += f"; {n} optional improvement{'' if n == 1 else 's'} below"
            return text + "."
        counts = ", ".join(f"{c} {s}{'' if c == 1 else 's'}" for s, c in _count(problems))
        lead = "Action needed" if self.status == "action needed" else "Recommended"
        text = (
            f"{lead}: {steps} below fix{'es' if n == 1 else ''} {len(fixed)} of the {len(problems)} "
            f"problem{'' if len(problems) == 1 else 's'} found ({counts})"
        )
        rest = len(problems) - len(fixed)
        if rest:
            text += f"; {rest} more need{'s' if rest == 1 else ''} a closer look (see 'Also found')"
        if self.steps:
            text += f". First: {self.steps[0].title}"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the JSON form of the fix report (:meth:`from_dict` reads it back)."""
        return {
            "tenant": self.tenant,
            "provider": self.provider,
            "created": self.created,
            "version": self.version,
            "dns_source": self.dns_source,
            "status": self.status,
            "verdict": self.verdict,
            "steps": [dict(s.to_dict(), number=i) for i, s in enumerate(self.steps, 1)],
            "also_found": [f.to_dict() for f in self.unresolved],
            "findings": [f.to_dict() for f in self.findings],
            "checked": list(self.checked),
            "not_checked": list(self.not_checked),
            "traces": [{"title": t, "text": x} for t, x in self.traces],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FixPlan:
        """Rebuild a plan from :meth:`to_dict` output."""
        return cls(
            tenant=str(d["tenant"]),
            provider=str(d.get("provider", "")),
            created=str(d.get("created", "")),
            version=str(d.get("version", "")),
            dns_source=str(d.get("dns_source", "")),
            steps=tuple(FixStep.from_dict(s) for s in d.get("steps", ())),
            findings=tuple(Finding.from_dict(f) for f in d.get("findings", ())),
            checked=tuple(str(x) for x in d.get("checked", ())),
            not_checked=tuple(str(x) for x in d.get("not_checked", ())),
            traces=tuple((str(t["title"]), str(t["text"])) for t in d.get("traces", ())),
        )


def _count(findings: Iterable[Finding]) -> list[tuple[str, int]]:
    counts: dict[Severity, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return [(str(s), counts[s]) for s in sorted(counts, reverse=True)]


def make_plan(
    steps: Iterable[FixStep],
    findings: Iterable[Finding],
    *,
    tenant: str,
    provider: str = "",
    created: str = "",
    version: str = "",
    dns_source: str = "",
    checked: Iterable[str] = (),
    not_checked: Iterable[str] = (),
    traces: Iterable[tuple[str, str]] = (),
) -> FixPlan:
    """A :class:`FixPlan`: ``steps`` ordered and deduplicated; the run's own findings
    (:data:`INTERNAL_CHECKS`) turned into "not checked" sentences."""
    kept: list[Finding] = []
    skipped: list[str] = list(not_checked)
    for f in findings:
        if f.check in INTERNAL_CHECKS:
            skipped.append(f.summary[:1].upper() + f.summary[1:])
        else:
            kept.append(f)
    return FixPlan(
        tenant=tenant,
        steps=order_steps(steps),
        findings=tuple(kept),
        provider=provider,
        created=created,
        version=version,
        dns_source=dns_source,
        checked=tuple(checked),
        not_checked=tuple(dict.fromkeys(skipped)),
        traces=tuple(traces),
    )
