"""Every DMARC/DKIM check id, reproduced by a sample zone served over UDP by the sandbox DNS
server; publishing the fix steps makes the findings go away."""

from __future__ import annotations

import dataclasses
import json

import pytest
from dmarc_suite import DMARC_ZONES, ZONES

from mailsupport.config import parse_tenant
from mailsupport.dmarc import DMARC_CHECKS, check_domain
from mailsupport.dnslookup import CachedLookup, ZoneLookup
from mailsupport.model import Severity
from mailsupport.zones import zone_from_text

# symptom domain -> the check ids the vendor path gives for it
CASES = {
    "smithlaw.example": set(),
    "dmarc-no-record.example": {"dmarc.no-record"},
    "dmarc-syntax-error.example": {"dmarc.syntax-error"},
    "dmarc-multiple-records.example": {"dmarc.multiple-records"},
    "dmarc-policy-none.example": {"dmarc.policy-none"},
    "dmarc-spf-not-aligned.example": {"dmarc.spf-not-aligned"},
    "dmarc-dkim-not-aligned.example": {"dmarc.dkim-not-aligned", "dkim.selector-missing"},
    "dmarc-would-fail.example": {
        "dmarc.would-fail",
        "dmarc.spf-not-aligned",
        "dmarc.dkim-not-aligned",
        "dkim.selector-missing",
    },
    "dmarc-dns-temporary-failure.example": {"dmarc.dns-temporary-failure"},
    "dkim-key-invalid.example": {"dkim.key-invalid", "dmarc.dkim-not-aligned"},
    "dkim-key-too-short.example": {"dkim.key-too-short", "dmarc.dkim-not-aligned"},
}


def test_every_check_id_has_a_sample_zone():
    """Each documented DMARC/DKIM check id is reproduced by at least one sample zone."""
    assert set().union(*CASES.values()) == set(DMARC_CHECKS)


@pytest.mark.parametrize("domain", sorted(CASES))
def test_sample_zone_reproduces_its_findings(domain, dmarc_lookup):
    """The symptom's zone, asked over UDP, gives exactly the expected check ids."""
    check = check_domain(domain, lookup=dmarc_lookup, paths=["vendor"])
    assert {f.check for f in check.findings} == CASES[domain]
    json.dumps(check.to_dict())  # the CLI's JSON shape is plain data


def test_would_fail_is_an_error_under_reject_and_names_the_records():
    """p=reject with neither identifier aligned: an error, and the two exact records that fix it."""
    lookup = ZoneLookup.from_files(DMARC_ZONES)
    check = check_domain("dmarc-would-fail.example", lookup=lookup)
    fail = next(f for f in check.findings if f.check == "dmarc.would-fail")
    assert fail.severity is Severity.ERROR and "rejected" in fail.summary
    steps = {(s.host, s.rtype, s.new) for s in check.fixes}
    assert steps == {
        ("actionstep._domainkey.dmarc-would-fail.example", "CNAME", "dkim.actionstep.com"),
        ("dmarc-would-fail.example", "TXT", "v=spf1 mx include:_spf.actionstep.com -all"),
    }
    assert check.verdicts[0].dmarc == "fail" and check.verdicts[0].outcome.disposition == "reject"


def _publish(zone_text: str, origin: str, steps) -> str:
    """The zone text with each fix step's record replacing whatever the host had."""
    lines = zone_text.splitlines()
    for step in steps:
        rel = "@" if step.host == origin else step.host[: -len(origin) - 1]
        lines = [
            ln
            for ln in lines
            if not (
                ln.split()[:1] == [rel]
                and step.rtype in ("TXT", "CNAME")
                and ln.split()[1:2] in (["TXT"], ["CNAME"])
                and (rel != "@" or "v=spf1" in ln or step.rtype == "CNAME")
            )
        ]
        value = f"{step.new}." if step.rtype == "CNAME" else json.dumps(step.new)
        lines.append(f"{rel} {step.rtype} {value}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "domain",
    sorted(
        d
        for d, ids in CASES.items()
        if ids and d not in ("dmarc-dns-temporary-failure.example", "dmarc-policy-none.example")
    ),
)
def test_publishing_the_fix_steps_clears_the_warnings(domain):
    """Every DNS fix step, published, leaves no warning or error (only p=none's info may stay)."""
    vendor = ZoneLookup.from_files([ZONES / "actionstep-vendor.zone"]).zone_data
    text = (ZONES / f"{domain}.zone").read_text()
    before = check_domain(domain, lookup=CachedLookup(ZoneLookup(vendor.merged(zone_from_text(text)))))
    dns_steps = [s for s in before.fixes if s.rtype in ("TXT", "CNAME") and s.check != "dmarc.policy-none"]
    assert dns_steps, "a finding without a record to publish"
    fixed = vendor.merged(zone_from_text(_publish(text, domain, dns_steps)))
    after = check_domain(domain, lookup=CachedLookup(ZoneLookup(fixed)))
    assert [f.check for f in after.findings if f.severity >= Severity.WARNING] == []
    assert after.verdicts[0].dmarc in ("pass",)


def _tenant(**sending) -> object:
    sending.setdefault("path", "vendor")
    return parse_tenant({"org_key": "smithlaw", "domains": ["smithlaw.example"], "sending": sending}, source="<test>")


def test_relay_with_its_own_bounce_domain_is_not_spf_aligned():
    """A relay MAIL FROM at the vendor's domain: SPF passes there but cannot align; DKIM carries DMARC."""
    zones = ZoneLookup(
        ZoneLookup.from_files(DMARC_ZONES).zone_data.merged(
            zone_from_text('$ORIGIN actionstep.com.\nbounces TXT "v=spf1 include:_spf.actionstep.com -all"\n')
        )
    )
    check = check_domain(
        "smithlaw.example", lookup=zones, tenant=_tenant(relay_mail_from_domain="bounces.actionstep.com")
    )
    v = check.verdicts[0]
    assert (v.spf_result, v.spf_domain_aligned, v.dmarc) == ("pass", False, "pass")
    finding = next(f for f in check.findings if f.check == "dmarc.spf-not-aligned")
    assert finding.severity is Severity.INFO and "bounces.actionstep.com" in finding.summary
    assert any(s.rtype == "setting" and s.host == "sending.relay_mail_from_domain" for s in check.fixes)


def test_relay_signing_as_the_vendor_fails_dmarc_without_aligned_spf():
    """d=actionstep.com and a vendor bounce domain: SPF passes, DKIM passes, DMARC still fails (p=quarantine)."""
    zones = ZoneLookup(
        ZoneLookup.from_files(DMARC_ZONES).zone_data.merged(
            zone_from_text(
                '$ORIGIN actionstep.com.\nbounces TXT "v=spf1 include:_spf.actionstep.com -all"\n'
                "actionstep._domainkey CNAME dkim\n"
            )
        )
    )
    check = check_domain(
        "smithlaw.example",
        lookup=zones,
        tenant=_tenant(relay_mail_from_domain="bounces.actionstep.com", relay_dkim_domain="actionstep.com"),
    )
    v = check.verdicts[0]
    assert v.spf_result == "pass" and v.keys[0].status == "ok" and v.dmarc == "fail"
    assert {f.check: f.severity for f in check.findings}["dmarc.would-fail"] is Severity.ERROR


def test_own_office365_path_checks_the_microsoft_selectors():
    """An Office 365 tenant's own path looks for selector1/selector2 and reports them missing."""
    tenant = parse_tenant(
        {
            "org_key": "smithlaw",
            "domains": ["smithlaw.example"],
            "provider": "office365",
            "inbound": {"address": "m@smithlaw.example", "server": {"password": "x"}},
        },
        source="<test>",
    )
    check = check_domain(
        "smithlaw.example",
        lookup=ZoneLookup.from_files(DMARC_ZONES),
        tenant=tenant,
        paths=["own"],
        ips=("198.51.100.25",),
    )
    v = check.verdicts[0]
    assert [k.name for k in v.keys] == [
        "selector1._domainkey.smithlaw.example",
        "selector2._domainkey.smithlaw.example",
    ]
    assert v.spf_result == "pass" and v.dmarc == "pass"  # mail.smithlaw.example is the domain's MX
    assert {f.check for f in check.findings} == {"dkim.selector-missing", "dmarc.dkim-not-aligned"}


def test_a_copied_key_that_is_not_the_vendors_is_invalid():
    """A key published at the relay's selector that is not the vendor's key cannot verify the relay's mail."""
    vendor_key = (ZONES / "actionstep-vendor.zone").read_text().splitlines()[-1].split("TXT", 1)[1].strip()
    copied = vendor_key.replace('"v=DKIM1; k=rsa;', '"v=DKIM1; t=y; k=rsa;')  # a hand-edited copy
    zone = (
        (ZONES / "smithlaw.example.zone")
        .read_text()
        .replace("actionstep._domainkey CNAME dkim.actionstep.com.", f"actionstep._domainkey TXT {copied}")
    )
    lookup = ZoneLookup(
        ZoneLookup.from_files([ZONES / "actionstep-vendor.zone"]).zone_data.merged(zone_from_text(zone))
    )
    key = check_domain("smithlaw.example", lookup=lookup).verdicts[0].keys[0]
    assert key.status == "invalid" and "not the vendor's key" in key.problem and key.bits == 2048


def test_tenant_settings_round_trip():
    """The [sending] table is read with its defaults and paths are checked."""
    tenant = _tenant(path="vendor", relay_dkim_selector="as2024", own_dkim_selectors=["google"])
    assert (tenant.sending.path, tenant.sending.relay_dkim_selector, tenant.sending.own_dkim_selectors) == (
        "vendor",
        "as2024",
        ("google",),
    )
    assert dataclasses.replace(tenant.sending, path=None).relay_dkim_target == "dkim.actionstep.com"
    with pytest.raises(Exception, match="sending.path"):
        _tenant(path="carrier-pigeon")
