"""The connection doctor's result values: one :class:`Rung` per step, a :class:`ProbeResult`
per direction, and the whole :class:`SettingsReport`, with plain-text and JSON renderings.

Pure (layer 2 values): no sockets, no clock, no environment. Must not import the probes,
the sandbox or any presentation library (the notebook display uses the pure string builders
of :mod:`mailsupport.display`). Secrets never reach these values: the probes write
``PASS ***`` and never the token, and scrub what the server says; every output also passes
the report through :meth:`SettingsReport.redacted` (a second guard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..fixes import FixStep
from ..model import Finding, Severity

__all__ = ["Rung", "ProbeResult", "SettingsReport", "STEPS", "redact_finding", "redact_step", "format_rung"]

#: The rungs in ladder order. ``starttls`` appears only for STLS/STARTTLS mode, ``tls`` only
#: for implicit TLS; ``final`` is POP3 STAT+UIDL or SMTP MAIL FROM + RCPT TO + RSET.
STEPS = ("dns", "connect", "tls", "greeting", "capabilities", "starttls", "auth", "final")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rung:
    """One step of the ladder: did it pass, how long it took, and what was said.

    ``detail`` is a readable sentence; ``reply`` the server's exact words (empty when the
    server said nothing, e.g. a refused TCP connection); ``code`` a short machine code for a
    failure (``refused``, ``timeout``, ``cert-expired``, ``auth-rejected`` ...) that
    :func:`mailsupport.doctor.classify.classify_probe` turns into a finding; ``facts`` are
    ``(name, value)`` pairs learnt on the way (``mechanisms``, ``size``, ``stls``).
    """

    step: str
    ok: bool
    ms: float
    detail: str
    reply: str = ""
    code: str = ""
    facts: tuple[tuple[str, str], ...] = ()

    def fact(self, name: str, default: str = "") -> str:
        """The value of fact ``name`` (the first one), else ``default``."""
        for key, value in self.facts:
            if key == name:
                return value
        return default

    def redacted(self, redact: Callable[[str], str]) -> Rung:
        """This rung with ``redact`` applied to every text (detail, reply, facts)."""
        return replace(
            self,
            detail=redact(self.detail),
            reply=redact(self.reply),
            facts=tuple((k, redact(v)) for k, v in self.facts),
        )

    def to_dict(self) -> dict[str, Any]:
        """``step``, ``ok``, ``ms``, ``detail`` (+ ``reply``, ``code``, ``facts``) for JSON."""
        return {
            "step": self.step,
            "ok": self.ok,
            "ms": round(self.ms, 1),
            "detail": self.detail,
            "reply": self.reply,
            "code": self.code,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    """The ladder of one direction (``pop3`` inbound or ``smtp`` outbound) at ``endpoint``.

    ``skipped`` says why the ladder did not run at all (pre-flight errors, outbound via the
    vendor's relay, no inbound mailbox for an outbound-only tenant).
    """

    direction: str
    endpoint: str
    tls: str
    rungs: tuple[Rung, ...] = ()
    skipped: str = ""

    @property
    def ok(self) -> bool:
        """True when the ladder ran and every rung passed."""
        return not self.skipped and bool(self.rungs) and all(r.ok for r in self.rungs)

    @property
    def failed(self) -> Rung | None:
        """The first failed rung, if any."""
        return next((r for r in self.rungs if not r.ok), None)

    def redacted(self, redact: Callable[[str], str]) -> ProbeResult:
        """This ladder with ``redact`` applied to every rung and the skip reason."""
        return replace(self, rungs=tuple(r.redacted(redact) for r in self.rungs), skipped=redact(self.skipped))

    def rung(self, step: str) -> Rung | None:
        """The rung named ``step`` (the last one when repeated), if it ran."""
        found = None
        for r in self.rungs:
            if r.step == step:
                found = r
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsReport:
    """Everything the doctor found for one tenant's settings.

    ``findings`` are the pre-flight findings followed by those classified from the ladders
    (deduplicated by check and subject); ``fixes`` the Email Setup fields (or provider
    settings) to change for them (:func:`mailsupport.doctor.fixes.settings_fixes`). The report
    passes when no finding is an error and every direction that should run did run and passed.
    """

    org_key: str
    provider: str
    inbound: ProbeResult | None = None
    outbound: ProbeResult | None = None
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    fixes: tuple[FixStep, ...] = ()

    @property
    def directions(self) -> tuple[ProbeResult, ...]:
        """The probes that exist (inbound first)."""
        return tuple(p for p in (self.inbound, self.outbound) if p is not None)

    @property
    def ok(self) -> bool:
        """True when no finding is an error and every direction passed or was meant to be skipped."""
        if any(f.severity >= Severity.ERROR for f in self.findings):
            return False
        return all(p.ok or p.skipped.startswith("not used") for p in self.directions)

    def redacted(self, redact: Callable[[str], str]) -> SettingsReport:
        """This report with ``redact`` (e.g. a :class:`~mailsupport.redact.Redactor`) applied to
        every text of every rung and finding: what each output runs before printing or saving."""
        return replace(
            self,
            inbound=self.inbound.redacted(redact) if self.inbound else None,
            outbound=self.outbound.redacted(redact) if self.outbound else None,
            findings=tuple(redact_finding(f, redact) for f in self.findings),
            fixes=tuple(redact_step(s, redact) for s in self.fixes),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{"ok", "org_key", "provider", "inbound": {...}, "outbound": {...}, "findings"}``;
        each direction has ``endpoint``, ``tls``, ``ok``, ``skipped``, ``rungs`` and its ``findings``."""
        out: dict[str, Any] = {"ok": self.ok, "org_key": self.org_key, "provider": self.provider}
        for name, probe in (("inbound", self.inbound), ("outbound", self.outbound)):
            if probe is None:
                out[name] = None
                continue
            out[name] = {
                "direction": probe.direction,
                "endpoint": probe.endpoint,
                "tls": probe.tls,
                "ok": probe.ok,
                "skipped": probe.skipped,
                "rungs": [r.to_dict() for r in probe.rungs],
                "findings": [f.to_dict() for f in self.findings if f.subject.startswith(probe.direction)],
            }
        out["findings"] = [f.to_dict() for f in self.findings]
        return out

    def format_text(self, *, rungs: bool = True) -> str:
        """A plain-text report: each direction's ladder (unless ``rungs`` is false, e.g. when
        they were already shown live), then the findings with remedies."""
        lines = [f"Settings check for {self.org_key} ({self.provider}): {'PASS' if self.ok else 'FAIL'}"]
        for probe in self.directions:
            lines.append("")
            lines.append(f"{probe.direction.upper()} {probe.endpoint} (tls={probe.tls})")
            if probe.skipped:
                lines.append(f"  skipped: {probe.skipped}")
            if rungs:
                lines.extend(format_rung(r) for r in probe.rungs)
        if self.findings:
            lines.append("")
            lines.append("Findings:")
            for f in self.findings:
                lines.append(f"  [{f.severity}] {f.check} ({f.subject}): {f.summary}")
                if f.remedy:
                    lines.append(f"      what to do: {f.remedy}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Notebook display: PASS/FAIL, the coloured step table, the findings, and the text
        report folded below for copying; every value HTML-escaped (:mod:`mailsupport.display`)."""
        import html

        from ..display import findings_html, ladder_html

        colour = "#070" if self.ok else "#b00"
        title = f"Settings check for {self.org_key} ({self.provider})"
        return (
            f"<div><b style='color:{colour}'>{'PASS' if self.ok else 'FAIL'}</b> {html.escape(title)}"
            + ladder_html(self)
            + (findings_html(self.findings) if self.findings else "")
            + "<details><summary style='cursor:pointer'>plain text (to copy)</summary>"
            f"<pre>{html.escape(self.format_text())}</pre></details></div>"
        )


def redact_finding(f: Finding, redact: Callable[[str], str]) -> Finding:
    """``f`` with ``redact`` applied to its summary, detail, remedy, subject and evidence values."""
    return replace(
        f,
        subject=redact(f.subject),
        summary=redact(f.summary),
        detail=redact(f.detail),
        remedy=redact(f.remedy),
        evidence=tuple((k, redact(v)) for k, v in f.evidence),
    )


def redact_step(s: FixStep, redact: Callable[[str], str]) -> FixStep:
    """``s`` with ``redact`` applied to every text a fix step shows."""
    return replace(
        s,
        current=redact(s.current),
        new=redact(s.new),
        why=redact(s.why),
        detail=redact(s.detail),
        evidence=tuple((k, redact(v)) for k, v in s.evidence),
        resolves=tuple((c, redact(x)) for c, x in s.resolves),
    )


def format_rung(r: Rung) -> str:
    """One ladder line: ``  ok   greeting     12 ms  +OK ready``."""
    mark = "ok  " if r.ok else "FAIL"
    text = f"  {mark} {r.step:<12} {r.ms:7.0f} ms  {r.detail}"
    if r.reply and r.reply not in r.detail:
        text += f"  | server said: {r.reply}"
    return text
