"""Every SPF check id, reproduced by a sample zone served over UDP by the sandbox DNS server;
the suggested record fixes it and passes for the vendor IPs."""

from __future__ import annotations

import asyncio

import pytest

from mailsupport.dnslookup import CachedLookup, ResolverLookup
from mailsupport.model import Severity
from mailsupport.spf import SPF_CHECKS, check_domain, check_domains_async
from mailsupport.spf.suggest import suggest_record

VENDOR = "_spf.actionstep.com"

# symptom domain -> (check ids expected, suggested record or None)
CASES = {
    "no-record.example": ({"spf.no-record"}, "v=spf1 mx include:_spf.actionstep.com ~all"),
    "multiple-records.example": (
        {"spf.multiple-records", "spf.vendor-ip-not-permitted"},
        "v=spf1 mx include:_spf.actionstep.com ~all",
    ),
    "syntax-error.example": (
        {"spf.syntax-error", "spf.vendor-ip-not-permitted"},
        "v=spf1 mx include:_spf.actionstep.com ~all",
    ),
    "vendor-include-missing.example": (
        {"spf.vendor-include-missing", "spf.vendor-ip-not-permitted"},
        "v=spf1 mx include:_spf.actionstep.com ~all",
    ),
    "vendor-include-after-all.example": (
        {"spf.vendor-include-after-all", "spf.vendor-ip-not-permitted"},
        "v=spf1 mx include:_spf.actionstep.com ~all",
    ),
    "terms-after-all.example": (
        {"spf.terms-after-all"},
        "v=spf1 mx include:_spf.actionstep.com a:backup.terms-after-all.example -all",
    ),
    "too-many-lookups.example": ({"spf.too-many-lookups", "spf.vendor-ip-not-permitted"}, None),
    "too-many-void-lookups.example": (
        {"spf.too-many-void-lookups", "spf.vendor-ip-not-permitted"},
        "v=spf1 include:_spf.actionstep.com ~all",
    ),
    "ptr-deprecated.example": ({"spf.ptr-deprecated"}, "v=spf1 a mx include:_spf.actionstep.com ~all"),
    "permissive-all.example": ({"spf.permissive-all"}, "v=spf1 mx include:_spf.actionstep.com ~all"),
    "dns-temporary-failure.example": ({"spf.dns-temporary-failure", "spf.vendor-ip-not-permitted"}, None),
    "vendor-ip-not-permitted.example": ({"spf.vendor-ip-not-permitted"}, "v=spf1 mx include:_spf.actionstep.com ~all"),
}


def test_every_check_id_has_a_sample():
    """Each documented check id is reproduced by at least one sample zone."""
    covered = set().union(*(ids for ids, _ in CASES.values()))
    assert covered == set(SPF_CHECKS)


@pytest.mark.parametrize("domain", sorted(CASES))
def test_sample_zone_reproduces_its_finding(domain, sample_lookup):
    """The symptom's zone gives exactly the expected check ids, and the suggestion passes."""
    expected, suggestion = CASES[domain]
    result = check_domain(domain, lookup=sample_lookup)
    assert {f.check for f in result.findings} == expected
    assert all(f.subject == domain and f.summary and f.remedy for f in result.findings)
    if suggestion is not None:
        assert result.suggested_record == suggestion
    if result.suggested_record is not None:
        assert result.suggestion_verdict == "pass"
        assert result.suggestion_lookups <= 10


@pytest.mark.parametrize("domain", sorted(CASES))
def test_without_detail_the_findings_are_the_same(domain, sample_lookup):
    """``detail=False`` (the audit's way) gives the same findings, verdicts and lookup counts, no
    suggested record, and no evaluation trace where the results pass."""
    full = check_domain(domain, lookup=sample_lookup)
    lean = check_domain(domain, lookup=sample_lookup, detail=False)
    assert lean.findings == full.findings and lean.verdicts == full.verdicts
    assert (lean.dns_lookups, lean.void_lookups, lean.records) == (full.dns_lookups, full.void_lookups, full.records)
    assert lean.suggested_record is None and lean.suggestion_verdict is None and lean.suggestion_lookups is None
    if full.verdict == "pass":
        assert full.trace is not None and lean.trace is None


def test_healthy_tenant_domain_has_no_findings(sample_lookup):
    """The sample tenant's domain passes for every vendor IP and needs no suggestion, also without detail."""
    lean = check_domain("smithlaw.example", lookup=sample_lookup, detail=False)
    assert lean.findings == () and lean.verdict == "pass" and lean.trace is None and lean.dns_lookups == 2
    result = check_domain("smithlaw.example", lookup=sample_lookup)
    assert result.findings == () and result.suggested_record is None
    assert result.verdict == "pass" and len(result.verdicts) == 3
    assert result.dns_lookups == 2


def test_vendor_ips_come_from_the_vendor_include(sample_lookup):
    """The vendor IPs checked are hosts of the networks in _spf.actionstep.com's record."""
    result = check_domain("smithlaw.example", lookup=sample_lookup)
    assert [ip for ip, _ in result.verdicts] == ["192.0.2.1", "198.51.100.33", "203.0.113.9"]


def test_too_many_lookups_names_the_include_and_flattens(sample_lookup):
    """The over-limit finding names the include that pushed it over; the suggestion flattens
    the costliest include and has at most 10 lookups."""
    result = check_domain("too-many-lookups.example", lookup=sample_lookup)
    finding = next(f for f in result.findings if f.check == "spf.too-many-lookups")
    assert "11 DNS lookups" in finding.summary and "include:_spf.actionstep.com pushes it over" in finding.summary
    assert "include:_spf.crm.too-many-lookups.example (5 lookups)" in finding.remedy
    assert "include:_spf.crm" not in result.suggested_record
    assert "ip4:203.0.113.64/28" in result.suggested_record
    assert result.suggestion_lookups == 6 and result.suggestion_verdict == "pass"
    assert any(t.over_limit for _d, t in result.trace.walk() if hasattr(t, "over_limit"))


def test_syntax_error_finding_marks_the_position(sample_lookup):
    """The syntax-error finding's detail has a caret under the bad term."""
    result = check_domain("syntax-error.example", lookup=sample_lookup)
    finding = next(f for f in result.findings if f.check == "spf.syntax-error")
    record, caret = finding.detail.splitlines()
    assert caret.index("^") == record.index("198.51.100.300")


def test_permissive_plus_all_is_an_error_and_question_all_a_warning(sample_lookup):
    """+all is an error; ?all only a warning."""
    plus = check_domain("permissive-all.example", lookup=sample_lookup)
    assert next(f for f in plus.findings if f.check == "spf.permissive-all").severity is Severity.ERROR
    q = check_domain(
        "permissive-all.example", lookup=sample_lookup, record="v=spf1 mx include:_spf.actionstep.com ?all"
    )
    assert next(f for f in q.findings if f.check == "spf.permissive-all").severity is Severity.WARNING


def test_edited_record_is_checked_without_publishing(sample_lookup):
    """record= checks an edit: moving the include before ~all clears the finding."""
    result = check_domain(
        "vendor-include-after-all.example", lookup=sample_lookup, record="v=spf1 mx include:_spf.actionstep.com ~all"
    )
    assert result.findings == () and result.verdict == "pass"


def test_custom_vendor_include_and_explicit_ip(sample_lookup):
    """--ip style checks use that IP only; another vendor include changes the findings."""
    result = check_domain("smithlaw.example", lookup=sample_lookup, ip="203.0.113.200")
    assert result.verdicts == (("203.0.113.200", "softfail"),)
    other = check_domain(
        "smithlaw.example", lookup=sample_lookup, vendor_include="_spf.mailer.too-many-lookups.example"
    )
    assert "spf.vendor-include-missing" in {f.check for f in other.findings}


def test_many_domains_concurrently_share_one_cache(dns_server, sample_zone_data):
    """check_domains_async checks many domains at once; the vendor record is fetched once."""
    dns_server.set_zone_data(sample_zone_data)
    lookup = CachedLookup(ResolverLookup.for_nameserver(dns_server.address, timeout=1.0))
    results = asyncio.run(check_domains_async(sorted(CASES) + ["smithlaw.example"], lookup=lookup, progress=False))
    assert [r.domain for r in results] == sorted(CASES) + ["smithlaw.example"]
    assert {f.check for r in results for f in r.findings} == set(SPF_CHECKS)
    assert lookup.hits > lookup.misses


SUGGEST = [
    # (records, expected suggestion, a word from the change list)
    ((), "v=spf1 include:_spf.actionstep.com ~all", "publish"),
    (("v=spf1 mx -all",), "v=spf1 mx include:_spf.actionstep.com -all", "insert"),
    (("v=spf1 a mx ptr include:_spf.actionstep.com ~all",), "v=spf1 a mx include:_spf.actionstep.com ~all", "ptr"),
    (
        ("v=spf1 mx ~all", "v=spf1 ip4:192.0.2.1 -all"),
        "v=spf1 mx ip4:192.0.2.1 include:_spf.actionstep.com ~all",
        "merge",
    ),
    (("v=spf1 include:_spf.actionstep.com mx",), "v=spf1 include:_spf.actionstep.com mx ~all", "end with"),
    (("v=spf1 redirect=_spf.example.net",), "v=spf1 include:_spf.actionstep.com redirect=_spf.example.net", "insert"),
    (("v=spf1 mx +all",), "v=spf1 mx include:_spf.actionstep.com ~all", "replace"),
    (("v=spf1 mx ~include:_spf.actionstep.com ~all",), "v=spf1 mx include:_spf.actionstep.com ~all", "change"),
]


@pytest.mark.parametrize("records,expected,word", SUGGEST, ids=[" | ".join(s[0]) or "none" for s in SUGGEST])
def test_suggestion_is_the_smallest_edit(records, expected, word):
    """suggest_record keeps the customer's terms and changes only what is wrong."""
    suggestion = suggest_record(records, vendor_include=VENDOR)
    assert suggestion.record == expected
    assert any(word in change for change in suggestion.changes)


def test_check_table_in_the_docstring_matches_spf_checks():
    """The module docstring's table lists exactly the ids of SPF_CHECKS."""
    import re

    import mailsupport.spf.diagnose as diagnose_module

    table_ids = set(re.findall(r"``(spf\.[a-z-]+)``", diagnose_module.__doc__))
    assert table_ids == set(SPF_CHECKS)


def test_progress_line_on_request(sample_lookup, capsys):
    """With progress on, a one-line counter goes to stderr (off by default when piped)."""
    asyncio.run(check_domains_async(["smithlaw.example", "no-record.example"], lookup=sample_lookup, progress=True))
    err = capsys.readouterr().err
    assert "\rSPF: 2/2 domains checked" in err and err.endswith("\n")
