"""evaluate_many (resolve the tree once, match each client IP) gives, for every IP, the result
evaluate() gives: result, reason, explanation, lookup and void counts (only the trace of the
second and later IPs is left out). Checked on every scenario of the RFC 7208 and RFC 4408
suites (answers from zone data, offline) and on hand-made trees with the corners the
resolved form must get right or hand back to evaluate()."""

from __future__ import annotations

from dataclasses import replace

import pytest
import spf_suite as suite

from mailsupport.dnslookup import CachedLookup, ZoneLookup
from mailsupport.spf.engine import run_sync
from mailsupport.spf.evaluate import evaluate
from mailsupport.spf.resolve import evaluate_many
from mailsupport.zones import ZoneData

EXTRA_IPS = ("192.0.2.1", "1.2.3.4", "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.10", "192.0.2.200")


def _same_for_every_ip(lookup, ips, domain, *, sender="", helo="", record=None, memo=None):
    """Assert evaluate_many == evaluate per IP (with and without the first IP's trace);
    return how many IPs were compared."""
    many = run_sync(evaluate_many(ips, domain, sender=sender, helo=helo, record=record, memo=memo), lookup)
    bare = run_sync(
        evaluate_many(ips, domain, sender=sender, helo=helo, record=record, memo=memo, trace_first=False), lookup
    )
    assert len(many) == len(bare) == len(ips)
    for index, (ip, got, got_bare) in enumerate(zip(ips, many, bare)):
        want = run_sync(evaluate(ip, domain, sender=sender, helo=helo, record=record, memo=memo), lookup)
        if index == 0:
            assert got == want, (domain, ip)  # the first IP: the full result, trace included
        else:
            assert got == replace(want, trace=got.trace), (domain, ip, record)
        assert got_bare == replace(want, trace=got_bare.trace), (domain, ip, record)
    return len(ips)


def _suite_scenarios():
    out = []
    for path in (suite.RFC7208, suite.RFC4408):
        if path.exists():
            out += [(path.stem, i, z, c) for i, (z, c) in enumerate(suite.load(path))]
    return out


@pytest.mark.skipif(not suite.RFC7208.exists(), reason="conformance suite not found")
def test_every_suite_scenario_gives_the_same_results_per_ip():
    """Every scenario: the scenario's own client IPs plus unrelated ones, each sender."""
    compared = 0
    for _name, _index, zonedata, cases in _suite_scenarios():
        lookup = CachedLookup(ZoneLookup(ZoneData.from_mapping(zonedata)))
        memo: dict = {}
        hosts = tuple(dict.fromkeys(c.host for c in cases))
        for case in cases:
            ip, domain, kw = suite.call_args(case)
            ips = (ip, *[h for h in hosts if h != ip], *EXTRA_IPS)
            compared += _same_for_every_ip(lookup, ips, domain, sender=kw["sender"], helo=kw["helo"], memo=memo)
            compared += _same_for_every_ip(lookup, ips[::-1], domain, sender=kw["sender"], helo=kw["helo"])
    assert compared > 5000


ZONE = {
    "top.test": [
        {"TXT": "v=spf1 a/24 mx include:inc.test ip6:2001:db8::/32 -all"},
        {"A": "192.0.2.10"},
        {"MX": [10, "mail.top.test"]},
        {"MX": [20, "mail2.top.test"]},
    ],
    "inc.test": [{"TXT": "v=spf1 ip4:198.51.100.0/24 include:deep.test ~all"}],
    "deep.test": [{"TXT": "v=spf1 ip4:203.0.113.5 ?all"}],
    "mail.top.test": [{"A": "192.0.2.30"}, {"AAAA": "2001:db8:1::30"}],
    "mail2.top.test": [{"A": "192.0.2.40"}],
    "redir.test": [{"TXT": "v=spf1 ip4:192.0.2.99 redirect=top.test"}],
    "exists.test": [{"TXT": "v=spf1 exists:%{i}.ok.exists.test include:deep.test -all"}],
    "192.0.2.1.ok.exists.test": [{"A": "127.0.0.2"}],
    "voids.test": [{"TXT": "v=spf1 a:gone1.voids.test exists:%{i}.ok.exists.test a:gone2.voids.test ~all"}],
    "mxmany.test": [{"TXT": "v=spf1 ip4:192.0.2.1 mx ~all"}, *({"MX": [i, f"m{i}.top.test"]} for i in range(11))],
    "loop.test": [{"TXT": "v=spf1 ip4:192.0.2.1 include:loop2.test -all"}],
    "loop2.test": [{"TXT": "v=spf1 include:loop.test ~all"}],
    "none.test": [{"TXT": "v=spf1 ip4:192.0.2.1 include:norecord.test ~all"}],
    "norecord.test": [{"A": "192.0.2.1"}],
    "ptr.test": [{"TXT": "v=spf1 ptr:top.test ~all"}],
    "1.2.0.192.in-addr.arpa": [{"PTR": "x.top.test"}],
    "x.top.test": [{"A": "192.0.2.1"}],
    "temp.test": [{"TXT": "v=spf1 ip4:192.0.2.1 a:slow.test ~all"}],
    "slow.test": ["TIMEOUT"],
    "many.test": [{"TXT": "v=spf1 ip4:192.0.2.1 " + "a:mail.top.test " * 8 + "include:inc.test ~all"}],
    "exp.test": [{"TXT": "v=spf1 ip4:192.0.2.1 -all exp=why.exp.test"}],
    "why.exp.test": [{"TXT": "%{i} may not send"}],
}
ZONE_IPS = (
    "192.0.2.1",
    "192.0.2.10",
    "192.0.2.77",
    "192.0.2.30",
    "192.0.2.40",
    "198.51.100.9",
    "203.0.113.5",
    "2001:db8::1",
    "2001:db8:1::30",
    "::ffff:192.0.2.40",
    "10.9.9.9",
)


@pytest.mark.parametrize("domain", sorted(d for d in ZONE if "TXT" in str(ZONE[d])))
def test_hand_made_trees_give_the_same_results_per_ip(domain):
    """Includes, redirect, a/mx with CIDR, IPv6 and mapped clients, exists with %{i}, ptr,
    void and lookup limits, loops, include without a record, a timeout, exp= on fail."""
    zone = ZoneData.from_mapping(ZONE)
    lookup = CachedLookup(ZoneLookup(zone))
    memo: dict = {}
    for start in range(len(ZONE_IPS)):
        ips = ZONE_IPS[start:] + ZONE_IPS[:start]
        _same_for_every_ip(lookup, ips, domain, memo=memo)
        _same_for_every_ip(lookup, ips, domain, record=f"v=spf1 include:{domain} ~all", memo=memo)


def test_first_ip_keeps_its_trace_and_later_ips_have_none():
    """The caller shows the first IP's trace; the others are results only."""
    zone = ZoneData.from_mapping(ZONE)
    lookup = CachedLookup(ZoneLookup(zone))
    first, second = run_sync(evaluate_many(["192.0.2.30", "198.51.100.9"], "top.test", memo={}), lookup)
    assert first.trace is not None and first.result == "pass"
    assert second.trace is None and second.result == "pass" and second.dns_lookups == 3
