"""The openspf RFC 7208 conformance suite, served for real over UDP by the sandbox DNS server.

Every one of the 203 cases must pass (where several results are allowed, any of them).
The suite is vendored in ``tests/data/spf/`` (see its PROVENANCE.md); a missing file is a failure, not a skip.
"""

from __future__ import annotations

import asyncio

import spf_suite as suite

from mailsupport.dnslookup import CachedLookup, ResolverLookup
from mailsupport.spf.evaluate import acheck_host, check_host
from mailsupport.zones import ZoneData


def _run_suite(path, dns_server):
    failures, passed, total = [], 0, 0
    for zonedata, cases in suite.load(path):
        dns_server.set_zone_data(ZoneData.from_mapping(zonedata))
        # a fresh resolver per scenario: zone data is per scenario (no cache across them)
        lookup = ResolverLookup.for_nameserver(dns_server.address, timeout=0.5)
        for case in cases:
            total += 1
            ip, domain, kw = suite.call_args(case)
            msg = suite.verdict_ok(case, check_host(ip, domain, lookup=lookup, **kw))
            if msg:
                failures.append(msg)
            else:
                passed += 1
    return passed, total, failures


def test_rfc7208_suite_all_cases_pass_over_udp(dns_server, capsys):
    """All 203 cases of rfc7208-tests.yml give an accepted result (and explanation)."""
    passed, total, failures = _run_suite(suite.RFC7208, dns_server)
    with capsys.disabled():
        print(f"\nSPF conformance rfc7208-tests.yml: {passed}/{total} cases passed")
    assert failures == []
    assert (passed, total) == (203, 203)


def test_rfc4408_suite_informational(dns_server, capsys):
    """The older RFC 4408 suite (informational): report the count, require most to pass."""
    passed, total, failures = _run_suite(suite.RFC4408, dns_server)
    with capsys.disabled():
        print(f"\nSPF conformance rfc4408-tests.yml (informational): {passed}/{total} cases passed")
    assert passed >= total - 10, failures


def test_rfc7208_suite_through_the_async_driver_and_cache(dns_server):
    """The same 203 cases through acheck_host, one CachedLookup and include memo per scenario,
    concurrently."""
    failures, total = [], 0
    for zonedata, cases in suite.load(suite.RFC7208):
        dns_server.set_zone_data(ZoneData.from_mapping(zonedata))
        lookup = CachedLookup(ResolverLookup.for_nameserver(dns_server.address, timeout=0.5))

        async def run_all(cases=cases, lookup=lookup):
            try:
                memo: dict = {}  # include subtrees shared between the cases (one cache)
                return await asyncio.gather(
                    *(
                        acheck_host(ip, domain, lookup=lookup, memo=memo, **kw)
                        for ip, domain, kw in map(suite.call_args, cases)
                    )
                )
            finally:
                await lookup.aclose()

        for case, result in zip(cases, asyncio.run(run_all())):
            total += 1
            msg = suite.verdict_ok(case, result)
            if msg:
                failures.append(msg)
    assert failures == [] and total == 203
