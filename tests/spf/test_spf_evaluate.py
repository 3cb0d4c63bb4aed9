"""check_host(): limits, trace tree, temperror, record override, sync and async drivers."""

from __future__ import annotations

import asyncio

import pytest

from mailsupport.dnslookup import CachedLookup, ZoneLookup
from mailsupport.spf.evaluate import acheck_host, check_host, lookup_tree
from mailsupport.zones import ZoneData, zone_from_text


def _lookup(zonedata: dict) -> ZoneLookup:
    return ZoneLookup(ZoneData.from_mapping(zonedata))


def _chain(n: int) -> dict:
    """example.com includes n single-include records each with one ip4."""
    data = {"example.com": [{"TXT": "v=spf1 " + " ".join(f"include:i{k}.example.com" for k in range(n)) + " -all"}]}
    for k in range(n):
        data[f"i{k}.example.com"] = [{"TXT": f"v=spf1 ip4:192.0.2.{k} -all"}]
    return data


def test_ten_lookups_is_at_the_limit():
    """Ten includes are allowed (§4.6.4 counts include terms)."""
    res = check_host("192.0.2.9", "example.com", lookup=_lookup(_chain(10)))
    assert res.result == "pass" and res.dns_lookups == 10


def test_eleven_lookups_is_permerror_and_the_tree_is_complete():
    """The 11th include gives permerror; the trace still shows every term and marks it."""
    res = check_host("198.51.100.1", "example.com", lookup=_lookup(_chain(12)))
    assert res.result == "permerror" and res.limit_exceeded
    assert res.dns_lookups == 11 and res.lookups_total == 12
    terms = res.trace.terms
    assert len(terms) == 13  # 12 includes and -all, all shown
    assert [t.term for t in terms if t.over_limit] == ["include:i10.example.com"]
    assert terms[11].evaluated is False and terms[11].cost == 1
    assert res.trace.over_limit_path() == ("include:i10.example.com",)


def test_nested_include_over_limit_is_marked_inside_its_parent():
    """When a nested include crosses the limit, the path names the top-level include."""
    data = _chain(0)
    data["example.com"] = [{"TXT": "v=spf1 a a a a include:big.example.com ip4:203.0.113.5 -all"}]
    data["big.example.com"] = [{"TXT": "v=spf1 a a a a a a a -all"}]
    res = check_host("203.0.113.5", "example.com", lookup=_lookup(data))
    assert res.result == "permerror"
    assert res.trace.over_limit_path()[0] == "include:big.example.com"
    # the remaining top-level terms are shown, unevaluated
    assert [t.term for t in res.trace.terms][-2:] == ["ip4:203.0.113.5", "-all"]
    assert res.trace.terms[-1].evaluated is False


def test_void_lookup_limit():
    """A third void lookup gives permerror; two are fine (§4.6.4)."""
    three = {"example.com": [{"TXT": "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all"}]}
    two = {"example.com": [{"TXT": "v=spf1 a:n1.example.com a:n2.example.com -all"}]}
    assert check_host("192.0.2.1", "example.com", lookup=_lookup(three)).result == "permerror"
    res = check_host("192.0.2.1", "example.com", lookup=_lookup(two))
    assert res.result == "fail" and res.void_lookups == 2


def test_dns_failure_is_temperror_not_a_crash():
    """A SERVFAIL fault on an include target gives temperror with the query in the trace."""
    zone = zone_from_text(
        '$ORIGIN example.com.\n@ TXT "v=spf1 include:bad.example.com -all"\n_fault.bad TXT "servfail"\n'
    )
    res = check_host("192.0.2.1", "example.com", lookup=ZoneLookup(zone))
    assert res.result == "temperror"
    include = res.trace.terms[0]
    assert include.child.query.outcome == "temperror"
    assert "SERVFAIL" in include.child.query.records[0]


def test_record_override_is_evaluated_instead_of_dns():
    """record= evaluates an edited record without publishing it."""
    lookup = _lookup({"example.com": [{"TXT": "v=spf1 -all"}]})
    assert check_host("192.0.2.1", "example.com", lookup=lookup).result == "fail"
    assert check_host("192.0.2.1", "example.com", lookup=lookup, record="v=spf1 ip4:192.0.2.0/24 -all").result == "pass"


def test_lookup_tree_counts_everything_regardless_of_ip():
    """The static tree expands every include, counts lookups and finds void targets."""
    data = _chain(3)
    data["example.com"] = [{"TXT": "v=spf1 a:gone.example.com include:i0.example.com include:i1.example.com -all"}]
    tree, lookups, voids = lookup_tree("example.com", lookup=_lookup(data))
    assert (lookups, voids) == (3, 1)
    assert tree.terms[0].void and tree.terms[1].child.record == "v=spf1 ip4:192.0.2.0 -all"


def test_async_driver_gives_the_same_result():
    """acheck_host drives the same generator with await."""
    lookup = CachedLookup(_lookup(_chain(3)))
    res = asyncio.run(acheck_host("192.0.2.2", "example.com", lookup=lookup))
    assert res.result == "pass" and res.dns_lookups == 3
    assert lookup.misses == 4


def test_include_loop_terminates_with_permerror():
    """A loop of includes ends at the lookup limit, and the trace stays finite."""
    data = {
        "a.example.com": [{"TXT": "v=spf1 include:b.example.com -all"}],
        "b.example.com": [{"TXT": "v=spf1 include:a.example.com -all"}],
    }
    res = check_host("192.0.2.1", "a.example.com", lookup=_lookup(data))
    assert res.result == "permerror" and res.limit_exceeded


@pytest.mark.parametrize("domain", ["localhost", "a..example.com", "x" * 64 + ".example.com", "[192.0.2.1]"])
def test_malformed_domains_give_none_without_dns(domain):
    """§4.3: malformed or single-label domains give none immediately."""
    assert check_host("192.0.2.1", domain, lookup=_lookup({})).result == "none"


def _shared_includes() -> dict:
    """Domains sharing provider includes, one with a macro, one loop, one over the limit."""
    data = {
        "_spf.prov.example": [{"TXT": "v=spf1 include:nb1.prov.example include:nb2.prov.example ~all"}],
        "nb1.prov.example": [{"TXT": "v=spf1 ip4:203.0.113.0/25 ~all"}],
        "nb2.prov.example": [{"TXT": "v=spf1 ip6:2001:db8:1::/48 a:gone.prov.example ~all"}],
        "mac.prov.example": [{"TXT": "v=spf1 exists:%{l}.x.prov.example -all"}],
        "ok.x.prov.example": [{"A": "127.0.0.2"}],
        "loop1.example": [{"TXT": "v=spf1 include:loop2.example -all"}],
        "loop2.example": [{"TXT": "v=spf1 include:loop1.example -all"}],
        "_spf.actionstep.com": [{"TXT": "v=spf1 ip4:192.0.2.0/26 -all"}],
    }
    for k in range(12):
        extra = " include:mac.prov.example" if k % 3 == 0 else ""
        heavy = " a a a a a a a" if k % 4 == 0 else ""
        data[f"d{k}.example"] = [
            {"TXT": f"v=spf1 mx{heavy} include:_spf.prov.example{extra} include:_spf.actionstep.com ~all"},
            {"MX": [10, f"mx.d{k}.example"]},
        ]
        data[f"mx.d{k}.example"] = [{"A": f"198.51.100.{k + 1}"}]
    data["d5.example"] = [{"TXT": "v=spf1 include:loop1.example ~all"}]
    return data


@pytest.mark.parametrize("ip", ["203.0.113.7", "2001:db8:1::9", "192.0.2.5", "198.51.100.3", "10.0.0.1"])
def test_include_memo_gives_the_same_results_and_traces(ip):
    """Reusing include subtrees (memo) changes nothing: verdicts, counts and traces are equal."""
    from mailsupport.spf.diagnose.render import trace_to_dict

    lookup = CachedLookup(_lookup(_shared_includes()))
    memo: dict = {}
    for k in range(12):
        for sender in ("ok@d.example", "nope@d.example"):
            fresh = check_host(ip, f"d{k}.example", lookup=lookup, sender=sender)
            reused = check_host(ip, f"d{k}.example", lookup=lookup, sender=sender, memo=memo)
            assert (reused.result, reused.dns_lookups, reused.void_lookups, reused.lookups_total) == (
                fresh.result,
                fresh.dns_lookups,
                fresh.void_lookups,
                fresh.lookups_total,
            )
            assert trace_to_dict(reused.trace) == trace_to_dict(fresh.trace)
    assert any(key[0] == "eval" for key in memo)


def test_tree_memo_gives_the_same_trees():
    """Static trees built with the memo equal those built without it (loops and limits too)."""
    from mailsupport.spf.diagnose.render import trace_to_dict
    from mailsupport.spf.evaluate import run_sync, tree

    lookup = CachedLookup(_lookup(_shared_includes()))
    memo: dict = {}
    for k in list(range(12)) * 2:
        fresh = run_sync(tree(f"d{k}.example"), lookup)
        reused = run_sync(tree(f"d{k}.example", memo=memo), lookup)
        assert fresh[1:] == reused[1:]
        assert trace_to_dict(fresh[0]) == trace_to_dict(reused[0])
    assert any(key[0] == "tree" for key in memo)
