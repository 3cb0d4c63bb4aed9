"""Organisational domains through the Public Suffix List, identifier alignment, and the DMARC result."""

from __future__ import annotations

import pytest

from mailsupport.dmarc.align import PolicyLookup, aligned, evaluate, organizational_domain
from mailsupport.dmarc.record import parse_dmarc


@pytest.mark.parametrize(
    "name,org",
    [
        ("smithlaw.example", "smithlaw.example"),
        ("mail.smithlaw.co.uk", "smithlaw.co.uk"),
        ("bounce.mail.smithlaw.com.au", "smithlaw.com.au"),
        ("firm.blogspot.com", "firm.blogspot.com"),
        ("co.uk", "co.uk"),
    ],
    ids=["example-tld", "co-uk", "com-au", "private-section", "public-suffix-itself"],
)
def test_organizational_domain_follows_the_psl(name, org):
    """The organisational domain is the public suffix plus one label (RFC 7489 §3.2)."""
    assert organizational_domain(name) == org


@pytest.mark.parametrize(
    "ident,from_,mode,expected",
    [
        ("smithlaw.co.uk", "smithlaw.co.uk", "s", True),
        ("bounce.smithlaw.co.uk", "smithlaw.co.uk", "r", True),
        ("bounce.smithlaw.co.uk", "smithlaw.co.uk", "s", False),
        ("actionstep.com", "smithlaw.co.uk", "r", False),
        ("other.co.uk", "smithlaw.co.uk", "r", False),
    ],
    ids=["strict-equal", "relaxed-subdomain", "strict-subdomain", "vendor-domain", "same-suffix-only"],
)
def test_alignment_modes(ident, from_, mode, expected):
    """Relaxed alignment compares organisational domains, strict compares names (§3.1)."""
    assert aligned(ident, from_, mode) is expected


def _policy(text: str | None, *, inherited: bool = False) -> PolicyLookup:
    rec = parse_dmarc(text) if text else None
    return PolicyLookup(
        domain="smithlaw.example",
        org_domain="smithlaw.example",
        location="_dmarc.smithlaw.example" if text else "",
        records=(text,) if text else (),
        record=rec,
        inherited=inherited,
    )


@pytest.mark.parametrize(
    "record,spf,dkim,result,disposition",
    [
        ("v=DMARC1; p=reject", ("pass", "smithlaw.example"), [], "pass", "none"),
        ("v=DMARC1; p=reject", ("pass", "bounces.actionstep.com"), [], "fail", "reject"),
        ("v=DMARC1; p=reject", ("pass", "bounces.actionstep.com"), [("pass", "smithlaw.example")], "pass", "none"),
        (
            "v=DMARC1; p=quarantine",
            ("softfail", "smithlaw.example"),
            [("pass", "actionstep.com")],
            "fail",
            "quarantine",
        ),
        ("v=DMARC1; p=reject; aspf=s", ("pass", "mail.smithlaw.example"), [], "fail", "reject"),
        ("v=DMARC1; p=none", ("fail", "smithlaw.example"), [], "fail", "none"),
        (None, ("fail", "smithlaw.example"), [], "none", "none"),
    ],
    ids=["spf-aligned", "spf-pass-unaligned", "dkim-rescues", "dkim-unaligned", "aspf-strict", "p-none", "no-record"],
)
def test_dmarc_result_table(record, spf, dkim, result, disposition):
    """DMARC passes only through an aligned pass; the policy decides what a failure costs."""
    outcome = evaluate("smithlaw.example", _policy(record), spf=spf, dkim=dkim)
    assert (outcome.result, outcome.disposition) == (result, disposition)


def test_subdomain_mail_gets_the_sp_policy():
    """A record inherited from the organisational domain applies sp to its subdomains."""
    lookup = PolicyLookup(
        domain="mail.smithlaw.example",
        org_domain="smithlaw.example",
        location="_dmarc.smithlaw.example",
        records=("v=DMARC1; p=reject; sp=quarantine",),
        record=parse_dmarc("v=DMARC1; p=reject; sp=quarantine"),
        inherited=True,
    )
    outcome = evaluate("mail.smithlaw.example", lookup, spf=("fail", "mail.smithlaw.example"))
    assert outcome.disposition == "quarantine"
