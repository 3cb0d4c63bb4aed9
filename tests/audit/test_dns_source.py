"""The run's one DNS cache: shared by every tenant, bounded so memory stays flat."""

from __future__ import annotations

import asyncio

from mailsupport.audit.dns import DnsSource
from mailsupport.audit.runner import AuditOptions, audit_paths, audit_stream


def _run(fleet, dns, options):
    async def main():
        return sorted([r async for r in audit_stream([fleet.tenants_dir], options, dns=dns)], key=lambda r: r.source)

    return asyncio.run(main())


def test_tenants_share_one_cache_and_a_small_bound_changes_no_finding(fleet):
    """Zone-answered tenants of one zone set share one cached lookup; a 50-answer bound keeps
    the cache at 50 entries and gives exactly the findings of an unbounded-size run."""
    options = AuditOptions(checks=("spf", "mx"), concurrency=4, zones=tuple(str(p) for _o, p in fleet.zones))
    big = DnsSource(zones=options.zones, cache_entries=1_000_000)
    small = DnsSource(zones=options.zones, cache_entries=50)
    assert _run(fleet, small, options) == _run(fleet, big, options) == audit_paths([fleet.tenants_dir], options)
    assert big.stats["hits"] > big.stats["misses"] > 50  # include chains are asked once, then cached
    assert small.stats["entries"] == 50
