"""SPF: a complete RFC 7208 evaluator that explains itself, and the vendor's rules.

Public API (re-exported lazily: ``import mailsupport.spf`` loads only what is used)::

    check_domain(domain, *, vendor_include=..., lookup=..., ip=None, sender="", helo="", record=None) -> SpfCheck
    await check_domain_async(...) -> SpfCheck;  check_domains(domains, ...) / check_domains_async(...)
    check_host(ip, domain, *, lookup, sender=..., helo=...) -> SpfResult     (RFC 7208 §4)
    lookup_tree(domain, *, lookup) -> (RecordTrace, lookups, voids)
    parse_record(text) -> SpfRecord  (raises SpfSyntaxError with .marked())
    SPF_CHECKS: check id -> one-line meaning

Modules: ``parse`` and ``macros`` (pure syntax), ``engine`` (run state, DNS steps, limits,
drivers), ``evaluate`` (sans-I/O check_host), ``expand`` (the static lookup tree),
``trace`` (the tree), ``suggest`` (the smallest fixing edit) — all layer 2;
``diagnose`` (findings, the :class:`SpfCheck` use case and its rendering; layer 4);
``plot`` and ``widget`` (notebook helpers importing matplotlib/ipywidgets lazily; layer 5).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS = {
    "SpfCheck": "diagnose",
    "check_domain": "diagnose",
    "check_domain_async": "diagnose",
    "check_domains": "diagnose",
    "check_domains_async": "diagnose",
    "SPF_CHECKS": "diagnose",
    "SpfResult": "evaluate",
    "check_host": "evaluate",
    "acheck_host": "evaluate",
    "lookup_tree": "evaluate",
    "alookup_tree": "evaluate",
    "SpfRecord": "parse",
    "SpfSyntaxError": "parse",
    "parse_record": "parse",
    "QueryTrace": "trace",
    "RecordTrace": "trace",
    "TermTrace": "trace",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailsupport.spf' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
