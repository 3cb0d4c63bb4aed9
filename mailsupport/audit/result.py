"""The outcome of auditing one tenant: :class:`TenantResult`, and its JSON line form.

A batch audit is a stream of these. Each one is written as one JSON line the moment its
tenant finishes (the durable state ``--resume`` reads back), and the report
(:mod:`mailsupport.report`) renders any iterable of them.

This module is a pure value type (layer 4's data): it imports only :mod:`mailsupport.model`,
:mod:`mailsupport.fixes` and the standard library, never clients, the runner or presentation code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..fixes import FixStep
from ..model import Finding, Severity

__all__ = ["TenantResult", "finding_from_dict"]


def finding_from_dict(d: Mapping[str, Any]) -> Finding:
    """Rebuild a :class:`Finding` from :meth:`Finding.to_dict` output."""
    return Finding.from_dict(d)


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantResult:
    """Every finding about one tenant, with what the report needs to chart it.

    ``tenant`` is the org key (or the file's stem when the file cannot be loaded);
    ``source`` the tenant file (the key ``--resume`` matches on); ``provider`` the provider
    preset; ``spf_lookups`` the RFC 7208 §4.6.4 DNS-lookup count of each checked domain, as
    ``(domain, count)`` pairs; ``checks`` the check kinds that ran (``config``, ``spf``, ...; a
    kind that does not apply is left out: ``settings`` without connecting, ``samples`` without a
    sample);
    ``fixes`` the diagnoses' fix steps (:class:`~mailsupport.fixes.FixStep`, unordered: the fix
    plan orders them); ``dns_source`` where DNS answers came from; ``traces`` ``(title, text)``
    technical detail for the tenant's fix report (kept only when the run asks for it).
    Nothing here carries a secret: findings and steps never do, traces are scrubbed, and the
    tenant itself is not kept.
    """

    tenant: str
    source: str = ""
    provider: str = ""
    findings: tuple[Finding, ...] = ()
    spf_lookups: tuple[tuple[str, int], ...] = ()
    checks: tuple[str, ...] = ()
    fixes: tuple[FixStep, ...] = ()
    dns_source: str = ""
    traces: tuple[tuple[str, str], ...] = ()

    @property
    def worst(self) -> Severity | None:
        """The highest severity among the findings, or ``None`` when there are none."""
        return max((f.severity for f in self.findings), default=None)

    @classmethod
    def of(cls, tenant: str, findings: Iterable[Finding], **kw: Any) -> TenantResult:
        """Convenience for callers with a plain list of findings (the demo)."""
        return cls(tenant=tenant, findings=tuple(findings), **kw)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (findings via :meth:`Finding.to_dict`)."""
        return {
            "tenant": self.tenant,
            "source": self.source,
            "provider": self.provider,
            "checks": list(self.checks),
            "spf_lookups": [[d, n] for d, n in self.spf_lookups],
            "findings": [f.to_dict() for f in self.findings],
            "fixes": [s.to_dict(compact=True) for s in self.fixes],
            "dns_source": self.dns_source,
            "traces": [[t, x] for t, x in self.traces],
        }

    def to_json(self) -> str:
        """One JSON line (no newline), keys in a fixed order."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TenantResult:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            tenant=str(d["tenant"]),
            source=str(d.get("source", "")),
            provider=str(d.get("provider", "")),
            checks=tuple(str(c) for c in d.get("checks", ())),
            spf_lookups=tuple((str(dom), int(n)) for dom, n in d.get("spf_lookups", ())),
            findings=tuple(finding_from_dict(f) for f in d.get("findings", ())),
            fixes=tuple(FixStep.from_dict(s) for s in d.get("fixes", ())),
            dns_source=str(d.get("dns_source", "")),
            traces=tuple((str(t), str(x)) for t, x in d.get("traces", ())),
        )

    @classmethod
    def from_json(cls, line: str) -> TenantResult:
        """Rebuild from one line written by :meth:`to_json`."""
        return cls.from_dict(json.loads(line))
