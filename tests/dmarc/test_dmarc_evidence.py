"""Proof on mail: the sandbox relay signs with DKIM, the receiving profile writes
Authentication-Results from a real evaluation, and the evidence table reads both back; real
samples' Authentication-Results (Google, Exchange Online, ARC) are parsed with authres."""

from __future__ import annotations

import pytest
from dmarc_suite import REPO

from mailsupport.config import load_tenant
from mailsupport.dmarc.evidence import message_evidence, parse_auth_results, read_evidence
from mailsupport.dnslookup import CachedLookup, ResolverLookup, ZoneLookup
from mailsupport.sandbox import Sandbox
from mailsupport.sandbox.auth import relay_journey
from mailsupport.zones import load_zone_files, zone_from_text

REAL = REPO / "data" / "samples" / "real"
TENANT = REPO / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"


@pytest.fixture(scope="module")
def sandbox():
    """The sample tenant's sandbox with DKIM signing and Authentication-Results on."""
    tenant = load_tenant(TENANT)
    with Sandbox([tenant]) as sb:
        signer = sb.enable_mail_auth()
        yield sb, tenant, load_zone_files(tenant.zones).merged(signer.zone_data())


def _lookup(sb) -> CachedLookup:
    return CachedLookup(ResolverLookup.for_nameserver(sb.dns.address, timeout=2.0))


def _ar(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    start = head.index("Authentication-Results:")
    return " ".join(head[start:].split("\r\n")[0:4])


def test_relay_signs_and_receiver_reports_pass(sandbox):
    """Through the relay: dkim=pass for d=smithlaw.example and dmarc=pass, and the kit agrees now."""
    sb, tenant, good = sandbox
    raw = relay_journey(sb, tenant, to="jane@smithlaw.example")
    row = message_evidence(raw, _lookup(sb), position="relayed")
    assert row.receiver == "mx.sandbox.test" and row.header == "Authentication-Results"
    assert (row.receiver_spf, row.receiver_dkim, row.receiver_dmarc) == (
        "pass (smithlaw.example)",
        "pass (smithlaw.example)",
        "pass (smithlaw.example)",
    )
    assert (row.kit_dkim, row.kit_dmarc, row.note) == ("pass (smithlaw.example)", "pass", "")


def test_changed_copy_is_explained(sandbox):
    """A copy edited after delivery: the receiver said pass, dkimpy now says the body hash differs."""
    sb, tenant, good = sandbox
    raw = relay_journey(sb, tenant, to="jane@smithlaw.example", text="Settlement figure: 100\n")
    row = message_evidence(raw.replace(b"100", b"900"), _lookup(sb))
    assert row.receiver_dkim.startswith("pass") and row.kit_dkim.startswith("fail")
    assert "changed after the receiver checked it" in row.note


def test_receiver_fails_dmarc_when_the_customer_dns_is_wrong(sandbox):
    """Selector CNAME removed and SPF without the vendor include: the receiver writes dmarc=fail."""
    sb, tenant, good = sandbox
    broken = good.merged(
        zone_from_text('$ORIGIN smithlaw.example.\n@ TXT "v=spf1 mx -all"\nactionstep._domainkey TXT "v=DKIM1; p="\n')
    )
    sb.set_zone_data(broken)
    try:
        raw = relay_journey(sb, tenant, to="jane@smithlaw.example")
    finally:
        sb.set_zone_data(good)
    line = _ar(raw)
    assert "spf=fail" in line and "dkim=permerror" in line and "dmarc=fail" in line and "QUARANTINE" in line


def test_exchange_online_results_are_read():
    """Exchange Online's authserv-id after the first result is moved to the front, then parsed by authres."""
    row = message_evidence(
        (REAL / "parsedmarc__aggregate__google_report_borschow.eml").read_bytes(),
        ZoneLookup(zone_from_text("$ORIGIN example.\n")),
    )
    assert row.receiver == "cardinalhealth.mail.onmicrosoft.com"
    assert (row.receiver_spf, row.receiver_dkim, row.receiver_dmarc) == (
        "softfail (google.com)",
        "fail (google.com)",
        "fail (google.com)",
    )


def test_arc_results_are_used_when_no_authentication_results():
    """Without Authentication-Results, the newest ARC-Authentication-Results is the receiver's verdict."""
    raw = (REAL / "mailpit__testdata__plain-text.eml").read_bytes()
    arc_only = b"\n".join(ln for ln in raw.split(b"\n") if not ln.startswith(b"Authentication-Results:"))
    row = message_evidence(arc_only, ZoneLookup(zone_from_text("$ORIGIN example.\n")))
    assert row.header == "ARC-Authentication-Results" and row.receiver_dmarc == "pass (gmail.com)"


@pytest.mark.parametrize(
    "value",
    [
        "mx.example; spf=pass smtp.mailfrom=a@b.example;",
        "garbage ; ; =",
        "i=2; mx.example; dkim=pass header.d=b.example",
    ],
)
def test_parse_auth_results_never_raises(value):
    """Odd values parse or give None, never an exception."""
    parse_auth_results(value)


def test_real_samples_give_one_row_each():
    """The bundled real messages: one row each; every row with a DKIM signature was verified by dkimpy."""
    table = read_evidence(str(REAL), lookup=ZoneLookup(zone_from_text("$ORIGIN example.\n")))
    assert len(table.rows) == len(list(REAL.glob("*.eml")))
    signed = [r for r in table.rows if r.signatures]
    assert len(signed) >= 8 and all(
        s.result in ("pass", "fail", "permerror", "temperror") for r in signed for s in r.signatures
    )
    assert "<script" not in table._repr_html_()
