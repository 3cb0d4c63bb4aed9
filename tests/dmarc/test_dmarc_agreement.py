"""Our verdicts against independent implementations on the same records and zones: checkdmarc's
DMARC record parser and organisational domain, and dkimpy's own verify().

Differences are listed, with the reason, in ``KNOWN_DIFFERENCES``: checkdmarc 6 follows RFC 9989
(DMARCbis), which drops ``pct`` and replaces an invalid ``adkim``/``aspf``/missing ``p`` by the
default with a warning; the kit follows RFC 7489, the DMARC the big receivers implement, where
those records break the grammar and the kit reports ``dmarc.syntax-error`` so the customer fixes
them rather than relying on a receiver's leniency.
"""

from __future__ import annotations

import logging

import pytest
from dmarc_suite import DMARC_ZONES

from mailsupport.dmarc.align import organizational_domain
from mailsupport.dmarc.dkimcheck import dnsfunc_for, verify_message
from mailsupport.dmarc.record import DmarcSyntaxError, parse_dmarc
from mailsupport.dnslookup import ZoneLookup
from mailsupport.sandbox.auth import DkimSigner
from mailsupport.zones import load_zone_files

checkdmarc_dmarc = pytest.importorskip("checkdmarc.dmarc")
checkdmarc_utils = pytest.importorskip("checkdmarc.utils")

#: record -> why checkdmarc (RFC 9989) accepts what the kit (RFC 7489) reports as broken
KNOWN_DIFFERENCES = {
    "v=DMARC1; p=none; pct=150": "RFC 9989 removed pct, so checkdmarc ignores it; RFC 7489 allows 0-100",
    "v=DMARC1; p=none; adkim=x": "RFC 9989 §4.8 discards an invalid value for the default; RFC 7489's grammar fails",
    "v=DMARC1; rua=mailto:a@smithlaw.example": "RFC 9989 treats a missing p as p=none; RFC 7489 requires p",
}

RECORDS = [
    "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@smithlaw.example",
    "v=DMARC1; p=reject; sp=none; adkim=s; aspf=s",
    "v=DMARC1;p=none",
    "v=DMARC1; p=none; fo=1; ri=3600; rua=mailto:a@smithlaw.example!10m",
    "v=DMARC1; p=quarantaine; rua=mailto:d@smithlaw.example",
    "p=none; v=DMARC1",
    "v=DMARC1; p=none; p=reject",
    "v=DMARC1; p=none; foo=bar",
    *KNOWN_DIFFERENCES,
]


def _sample_records() -> list[str]:
    """Every _dmarc TXT record of the sample zones."""
    data = load_zone_files(DMARC_ZONES)
    out = []
    for name in data.names():
        if name.startswith("_dmarc."):
            try:
                out.extend(ZoneLookup(data).query(name, "TXT").records)
            except Exception:  # noqa: BLE001 - the SERVFAIL sample
                continue
    return out


def _theirs(record: str, nameserver) -> dict | None:
    import dns.nameserver

    logging.getLogger("checkdmarc").setLevel(logging.CRITICAL)
    try:
        return checkdmarc_dmarc.parse_dmarc_record(
            record, "smithlaw.example", timeout=1.0, retries=0, nameservers=[dns.nameserver.Do53Nameserver(*nameserver)]
        )
    except checkdmarc_dmarc.DMARCError:
        return None


@pytest.mark.parametrize("record", sorted(set(RECORDS + _sample_records())))
def test_record_verdicts_agree_with_checkdmarc(record, dmarc_dns):
    """Both parsers accept or reject the same records, and read the same policy and alignment modes."""
    theirs = _theirs(record, dmarc_dns.address)
    try:
        ours = parse_dmarc(record)
    except DmarcSyntaxError:
        ours = None
    if record in KNOWN_DIFFERENCES:
        assert ours is None and theirs is not None, KNOWN_DIFFERENCES[record]
        return
    assert (ours is None) == (theirs is None)
    if ours is not None:
        tags = {k: v["value"] for k, v in theirs["tags"].items()}
        assert (ours.p, ours.policy_for(subdomain=True), ours.adkim, ours.aspf) == (
            tags["p"],
            tags["sp"],
            tags["adkim"],
            tags["aspf"],
        )


@pytest.mark.parametrize(
    "name",
    [
        "smithlaw.example",
        "mail.smithlaw.co.uk",
        "a.b.firm.com.au",
        "firm.blogspot.com",
        "x.c001.fleet.example",
        "co.uk",
        "bounces.actionstep.com",
    ],
)
def test_organisational_domain_agrees_with_checkdmarc(name):
    """The Public Suffix List gives both the same organisational domain."""
    assert organizational_domain(name) == checkdmarc_utils.get_base_domain(name)


@pytest.fixture(scope="module")
def signed():
    """A message signed by the sandbox relay's signer and the zone data holding its key."""
    signer = DkimSigner(bits=1024)
    data = load_zone_files(DMARC_ZONES).merged(signer.zone_data())
    raw = (
        b"From: Jane <jane@smithlaw.example>\r\nTo: client@recipient.example\r\nSubject: Matter 1042\r\n"
        b"Date: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@smithlaw.example>\r\n\r\nSee attached.\r\n"
    )
    return signer.sign(raw, "smithlaw.example"), ZoneLookup(data)


@pytest.mark.parametrize(
    "tamper",
    [None, (b"See attached.", b"See attached!"), (b"Matter 1042", b"Matter 1043")],
    ids=["intact", "body-changed", "subject-changed"],
)
def test_dkim_results_agree_with_dkimpy_verify(signed, tamper):
    """Our per-signature result is pass exactly when dkimpy's own verify() says True."""
    import dkim

    raw, lookup = signed
    if tamper:
        raw = raw.replace(*tamper)
    (ours,) = verify_message(raw, lookup)
    theirs = dkim.verify(raw, dnsfunc=dnsfunc_for(lookup))
    assert (ours.result == "pass") is theirs
    if tamper:
        assert ours.result == "fail" and ours.reason
