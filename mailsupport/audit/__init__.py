"""Batch audits of tenant configs: every check, many tenants, one report.

Public API (imported lazily so ``import mailsupport.audit`` stays cheap):

- :class:`TenantResult` — one tenant's findings (``mailsupport.audit.result``).
- :class:`AuditOptions`, :func:`audit_paths`, :func:`run_audit` — the runner
  (``mailsupport.audit.runner``).
- :data:`CHECK_KINDS`, :data:`AUDIT_CHECKS` — the check kinds and the audit's own check ids
  (``mailsupport.audit.checks``).
- :func:`generate_fleet` — deterministic generated tenants and zone files
  (``mailsupport.audit.generate``).
- ``mailsupport.audit.dask_engine.run_audit_dask`` — the optional Dask engine;
  ``mailsupport.audit.notebook.run_audit_notebook`` — the parameterised audit notebook.

Layer 4 (use case): calls the other use cases' checks through small adapters
(``mailsupport.audit.checks``); must not import presentation code (report, cli, notebook).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TenantResult": "result",
    "AuditOptions": "runner",
    "audit_paths": "runner",
    "run_audit": "runner",
    "CHECK_KINDS": "checks",
    "AUDIT_CHECKS": "checks",
    "generate_fleet": "generate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailsupport.audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
