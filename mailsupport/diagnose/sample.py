"""Run the mailbox-sample diagnoses (catch-all header, Gmail consolidation, size) in one call.

:func:`diagnose_sample` scans the sample once and hands the summaries to each chosen
diagnosis; :class:`SampleDiagnosis` carries every result and one JSON shape for the CLI
(``findings`` plus, for catch-all, ``recommended_header`` and the per-header table).
:data:`SAMPLE_CHECKS` lists every check id of the three modules.

Layer 4: may read samples (layer 3 readers); must not import the sandbox or presentation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..fixes import FixStep
from ..headers import MessageSummary
from ..model import Finding
from ..tenant import Tenant
from .catchall import CATCHALL_CHECKS, CatchAllReport, diagnose_catch_all
from .consolidation import CONSOLIDATION_CHECKS, ConsolidationDiagnosis, diagnose_consolidation
from .size import SIZE_CHECKS, SizeDiagnosis, diagnose_size

__all__ = [
    "SAMPLE_CHECKS",
    "DIAGNOSES",
    "SampleDiagnosis",
    "diagnose_sample",
    "diagnose_summaries",
    "diagnose_all",
    "demo_diagnoses",
]

#: Every check id of the sample diagnoses -> one-line meaning.
SAMPLE_CHECKS = {**CATCHALL_CHECKS, **CONSOLIDATION_CHECKS, **SIZE_CHECKS}
#: Names accepted by :func:`diagnose_sample` (``all`` runs every one).
DIAGNOSES = ("catch-all", "consolidation", "size", "all")


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleDiagnosis:
    """The results of the diagnoses that ran (``None`` for those that did not)."""

    messages: int
    catch_all: CatchAllReport | None = None
    consolidation: ConsolidationDiagnosis | None = None
    size: SizeDiagnosis | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, catch-all first."""
        out: list[Finding] = []
        for part in (self.catch_all, self.consolidation, self.size):
            if part is not None:
                out.extend(part.findings)
        return tuple(out)

    @property
    def fixes(self) -> tuple[FixStep, ...]:
        """Every diagnosis's fix steps, catch-all first."""
        return tuple(
            s for part in (self.catch_all, self.consolidation, self.size) if part is not None for s in part.fixes
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``findings`` (check, severity, subject, summary, remedy, evidence, ...) and extras."""
        d: dict[str, Any] = {"messages": self.messages, "findings": [f.to_dict() for f in self.findings]}
        if self.catch_all is not None:
            ca = self.catch_all.to_dict()
            d["recommended_header"] = ca["recommended_header"]
            d["current_header"] = ca["current_header"]
            d["headers"] = ca["headers"]
        if self.consolidation is not None:
            c = self.consolidation.to_dict()
            d["consolidated"] = c["consolidated"]
        if self.size is not None:
            d["size_limits"] = self.size.to_dict()["limits"]
        return d


def diagnose_summaries(
    summaries: Sequence[MessageSummary],
    tenant: Tenant,
    which: str = "all",
    *,
    provider: str | None = None,
    server_size: int | None = None,
) -> SampleDiagnosis:
    """Run the chosen diagnosis (or ``all``) over already scanned summaries."""
    if which not in DIAGNOSES:
        raise ValueError(f"unknown diagnosis {which!r}: expected one of {', '.join(DIAGNOSES)}")
    run = set(DIAGNOSES[:3]) if which == "all" else {which}
    google = None if provider is None else provider.lower() in ("gmail", "google")
    return SampleDiagnosis(
        messages=len(summaries),
        catch_all=diagnose_catch_all(summaries, tenant) if "catch-all" in run else None,
        consolidation=diagnose_consolidation(summaries, tenant, google=google) if "consolidation" in run else None,
        size=diagnose_size(summaries, provider=provider, tenant_limit=tenant.size_limit, server_size=server_size)
        if "size" in run
        else None,
    )


def diagnose_sample(
    paths: Iterable[str | os.PathLike[str]],
    tenant: Tenant,
    which: str = "all",
    *,
    provider: str | None = None,
    server_size: int | None = None,
) -> SampleDiagnosis:
    """Scan the sample paths once and run the chosen diagnosis (or ``all``) on them.

    The scan reads each message's receiving chain with the tenant's own MX hosts
    (``inbound.mx_hosts``), as the router does, so both take the same evidence.
    """
    from ..samples import scan

    summaries = list(scan(*paths, mx_hosts=tenant.inbound.mx_hosts if tenant.inbound else ()))
    return diagnose_summaries(summaries, tenant, which, provider=provider, server_size=server_size)


def diagnose_all(
    sample_path: str | os.PathLike[str], tenant: Tenant, *, provider: str | None = None, server_size: int | None = None
) -> tuple[Finding, ...]:
    """Every finding of the three sample diagnoses for one sample path (for the batch audit)."""
    return diagnose_sample([sample_path], tenant, "all", provider=provider, server_size=server_size).findings


def demo_diagnoses(samples_dir: str | os.PathLike[str]) -> dict[str, SampleDiagnosis]:
    """The three diagnoses on the bundled samples, for ``mailsupport demo``.

    ``samples_dir`` is ``data/samples``: the Postfix catch-all mbox with the smithlaw tenant as
    if it routed by ``Delivered-To`` (catch-all), the Google Takeout mbox with the tenant on
    Gmail (consolidation), and ``sizes-mixed.mbox`` plus the real messages (size). Keys are
    ``catch-all``, ``consolidation``, ``size``; each value's ``findings`` go in the report.
    """
    from dataclasses import replace
    from pathlib import Path

    from ..config import load_tenant
    from ..samples import scan
    from ..tenant import Provider

    root = Path(samples_dir)
    tenant = load_tenant(root / "tenants" / "smithlaw-postfix.toml", environ={})
    if tenant.inbound is None:
        raise ConfigError(
            "the bundled smithlaw tenant has no inbound mailbox",
            path="inbound",
            source=str(root / "tenants" / "smithlaw-postfix.toml"),
        )
    as_delivered_to = replace(tenant, inbound=replace(tenant.inbound, catch_all_header="Delivered-To"))
    on_gmail = replace(tenant, provider=Provider.GMAIL)
    return {
        "catch-all": diagnose_summaries(list(scan(root / "catchall-postfix.mbox")), as_delivered_to, "catch-all"),
        "consolidation": diagnose_summaries(
            list(scan(root / "gmail-takeout-consolidated.mbox")), on_gmail, "consolidation", provider="gmail"
        ),
        "size": diagnose_summaries(
            list(scan(root / "sizes-mixed.mbox", root / "real")), tenant, "size", server_size=100_000
        ),
    }
