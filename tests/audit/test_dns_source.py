"""The run's one DNS cache: shared by every tenant, bounded so memory stays flat."""

from __future__ import annotations

import asyncio
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[2]
TENANTS = REPO / "data" / "samples" / "tenants"


def test_each_zone_file_is_parsed_once_however_many_tenant_zone_sets_list_it():
    """The sample tenants each list the shared provider zones and their own: every file is parsed
    once a run (it was once per tenant), and the findings are those of loading each set afresh."""
    from mailsupport.config import load_tenant

    tenants = [load_tenant(p) for p in sorted(TENANTS.glob("*.toml"))]
    files = {z for t in tenants for z in t.zones}
    listed = sum(len(t.zones) for t in tenants)
    options = AuditOptions(checks=("spf", "dmarc", "mx"), concurrency=4)
    dns = DnsSource()

    async def main():
        return sorted([r async for r in audit_stream([TENANTS], options, dns=dns)], key=lambda r: r.source)

    results = asyncio.run(main())
    assert dns.stats["zone_files_parsed"] == len(files) < listed / 4
    fresh = []
    for path in sorted(TENANTS.glob("*.toml")):  # each tenant alone: its zone set loaded from scratch
        fresh.extend(audit_paths([path], options))
    assert results == sorted(fresh, key=lambda r: r.source)


def test_a_zone_file_changed_on_disk_is_read_again_and_later_files_win(tmp_path):
    from mailsupport.zones import ZoneFileCache, load_zone_files

    a, b = tmp_path / "a.zone", tmp_path / "b.zone"
    a.write_text('$ORIGIN x.example.\n@ IN TXT "from a"\nonly-a IN TXT "a"\n')
    b.write_text('$ORIGIN x.example.\n@ IN TXT "from b"\n')
    cache = ZoneFileCache(max_files=2)

    def txt(data, name="x.example"):
        return [r.to_text() for rrset in data.resolve(name, "TXT").rrsets for r in rrset]

    assert txt(load_zone_files([a, b], cache=cache)) == ['"from b"']  # the later file wins
    assert txt(load_zone_files([b, a], cache=cache)) == ['"from a"'] and cache.parsed == 2
    assert txt(load_zone_files([a, b], cache=cache), "only-a.x.example") == ['"a"'] and cache.parsed == 2
    b.write_text('$ORIGIN x.example.\n@ IN TXT "b, edited"\n')  # another size: read again
    assert txt(load_zone_files([a, b], cache=cache)) == ['"b, edited"'] and cache.parsed == 3
    c = tmp_path / "c.zone"
    c.write_text('$ORIGIN y.example.\n@ IN TXT "c"\n')
    cache.load(c)  # a third file: the least recently used (a) is dropped
    cache.load(a)
    assert cache.parsed == 5
