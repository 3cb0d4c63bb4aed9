"""SPF: a complete RFC 7208 evaluator that explains itself, and the vendor's rules.

Public API::

    check_domain(domain, *, vendor_include=..., lookup=..., ip=None, sender="", helo="", record=None) -> SpfCheck
    await check_domain_async(...) -> SpfCheck;  check_domains(domains, ...) / check_domains_async(...)
    check_host(ip, domain, *, lookup, sender=..., helo=...) -> SpfResult     (RFC 7208 §4)
    lookup_tree(domain, *, lookup) -> (RecordTrace, lookups, voids)
    parse_record(text) -> SpfRecord  (raises SpfSyntaxError with .marked())
    SPF_CHECKS: check id -> one-line meaning

Modules: ``parse`` and ``macros`` (pure syntax), ``evaluate`` (sans-I/O check_host),
``trace`` (the tree), ``diagnose`` and ``suggest`` (pure findings and fixes), ``check``
(the use case), ``render`` (text/HTML/JSON), ``plot`` and ``widget`` (notebook helpers,
importing matplotlib/ipywidgets lazily).
"""

from __future__ import annotations

from .check import SpfCheck, check_domain, check_domain_async, check_domains, check_domains_async
from .diagnose import SPF_CHECKS
from .evaluate import SpfResult, acheck_host, alookup_tree, check_host, lookup_tree
from .parse import SpfRecord, SpfSyntaxError, parse_record
from .trace import QueryTrace, RecordTrace, TermTrace

__all__ = [
    "SpfCheck", "check_domain", "check_domain_async", "check_domains", "check_domains_async",
    "SPF_CHECKS", "SpfResult", "check_host", "acheck_host", "lookup_tree", "alookup_tree",
    "SpfRecord", "SpfSyntaxError", "parse_record", "QueryTrace", "RecordTrace", "TermTrace",
]
