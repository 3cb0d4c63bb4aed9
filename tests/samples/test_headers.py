"""Envelope-recipient candidates and provider fingerprints, on real and hand-written header bytes."""

from __future__ import annotations

import email
from email import policy

import pytest

from mailsupport.headers import envelope_candidates, fingerprint, parse_fields, recipients_for, split_header_block


def _triples(cands):
    return [(c.header, c.address, c.trusted, c.position) for c in cands]


def test_two_delivered_to_pairs_both_above_the_entry_hop(real):
    """fp7 was fetched by fetchmail and delivered again: both X-Original-To/Delivered-To pairs sit above the
    entry hop (dogma.boxhost.net's), the last hop's pair first; only the hops below it are the sender's."""
    cands = envelope_candidates(real("sa__FORGED_MUA_OUTLOOK__fp7.eml"))
    assert recipients_for(cands, "X-Original-To") == ("jm@localhost", "jm@jmason.org")
    assert recipients_for(cands, "Delivered-To") == ("jm@localhost.jmason.org", "jm@dogma.boxhost.net")
    below = [(c.header, c.address) for c in cands if not c.trusted]
    assert below == [("Received-for", "ivtv-users@ivtvdriver.org"), ("Received-for", "ivtv-users@ivtvdriver.org")]
    assert recipients_for(cands, "Received-for") == ("jm@localhost", "jm@jmason.org")


def test_root_localhost_delivered_to_vs_x_original_to(real):
    """spamscope mail_test_13: Delivered-To is root@localhost, the real recipient only in X-Original-To."""
    cands = envelope_candidates(real("spamscope__mails__mail_test_13.eml"))
    assert recipients_for(cands, "Delivered-To") == ("root@localhost",)
    assert recipients_for(cands, "X-Original-To") == ("dpinnix@coastbankcalifornia.com",)


@pytest.mark.parametrize(
    "name,header,expected",
    [
        ("sa__nice__007.eml", "Envelope-To", ("daf-rogers@localhost",)),
        ("sa__FORGED_MUA_OUTLOOK__fp-5946-1.eml", "Envelope-To", ("xxxxx@cse.yorku.ca",)),
        ("sa__BOUNCE_MESSAGE__fp-bug5942-1.eml", "X-Envelope-To", ("OMISSIS@regione.piemonte.it",)),
        ("mailpit__testdata__plain-text.eml", "Delivered-To", ("recipient@example.com",)),
        (
            "mikel__error_emails__content_transfer_encoding_plain.eml",
            "Delivered-To",
            ("em-ca-bruceg-spam@em.ca", "em-ca-em-ca-bruceg@em.ca"),
        ),
        ("mikel__error_emails__content_transfer_encoding_7-bit.eml", "Delivered-To", ()),
    ],
    ids=[
        "exim-envelope-to",
        "bracketed-envelope-to",
        "x-envelope-to-list",
        "gmail-delivered-to",
        "qmail-two-delivered-to",
        "no-header",
    ],
)
def test_real_samples_header_values(real, name, header, expected):
    """Each real sample gives the documented trusted addresses for its header (samples.csv)."""
    assert recipients_for(envelope_candidates(real(name)), header) == expected


def test_qmail_alias_chain_both_delivered_to_are_the_receiving_hosts(real):
    """qmail prepends one Delivered-To per local delivery; its own hops (no from clause, qmail-scanner by
    uid) are the receiving chain, so the second Delivered-To is above the entry hop too."""
    cands = envelope_candidates(real("mikel__error_emails__content_transfer_encoding_plain.eml"))
    assert [(c.address, c.position) for c in cands if c.header == "Delivered-To"] == [
        ("em-ca-bruceg-spam@em.ca", "above-entry"),
        ("em-ca-em-ca-bruceg@em.ca", "above-entry"),
    ]


def test_comma_list_gives_one_evidence_per_address(real):
    """A comma-separated X-Envelope-To becomes one evidence per address, all from the same field."""
    cands = [
        c for c in envelope_candidates(real("sa__BOUNCE_MESSAGE__fp-bug5942-1.eml")) if c.header == "X-Envelope-To"
    ]
    assert len(cands) == 11 and len({c.index for c in cands}) == 1


HAND = [
    (
        b"delivered-to: A@Example.COM\nReceived: by mx (Postfix) id 1 for <b@example.com>; now\n\nbody",
        [
            ("Delivered-To", "A@example.com", True, "above-entry"),
            ("Received-for", "b@example.com", True, "receiving-chain"),
        ],
    ),
    (
        b"Envelope-to: <x@d.example>, y@d.example\r\nReceived: from a by b with esmtp (Exim 4.96)\r\n\r\n",
        [("Envelope-To", "x@d.example", True, "above-entry"), ("Envelope-To", "y@d.example", True, "above-entry")],
    ),
    (
        b"Received: by mx; now\nX-Original-To: forged@d.example\nSubject: hi\n\n",
        [("X-Original-To", "forged@d.example", False, "below-entry")],
    ),
    (
        b"X-Gm-Original-To: alias@d.example\nSubject: no trace at all\n\n",
        [("X-Gm-Original-To", "alias@d.example", True, "no-received")],
    ),
    (
        b"Delivered-To: a@d.example\n\tfolded@d.example\nReceived: x\n\n",
        [
            ("Delivered-To", "a@d.example", True, "above-entry"),
            ("Delivered-To", "folded@d.example", True, "above-entry"),
        ],
    ),
    (
        b"Received: from a\n\tby b\n\tfor <first@d.example>; now\nReceived: from c by a for <second@d.example>; then\n\n",
        [
            ("Received-for", "first@d.example", True, "receiving-chain"),
            ("Received-for", "second@d.example", False, "below-entry"),
        ],
    ),
    (
        b"Delivered-To: box@d.example\nReceived: by 2002:a05:6a10:1::1 with SMTP id x1csp2;\n"
        b"X-Gm-Original-To: alias@d.example\nReceived: from mail.sender.example (mail.sender.example [203.0.113.9])\n"
        b"  by mx.google.com with ESMTPS id y3 for <alias@d.example>; now\nX-Original-To: forged@d.example\n"
        b"Received: from evil (evil [10.0.0.1]) by mail.sender.example for <forged@d.example>; then\n\n",
        [
            ("Delivered-To", "box@d.example", True, "above-entry"),
            ("X-Gm-Original-To", "alias@d.example", True, "above-entry"),
            ("Received-for", "alias@d.example", True, "receiving-chain"),
            ("X-Original-To", "forged@d.example", False, "below-entry"),
            ("Received-for", "forged@d.example", False, "below-entry"),
        ],
    ),
]


@pytest.mark.parametrize(
    "raw,expected",
    HAND,
    ids=[
        "case-insensitive",
        "crlf-bracketed-list",
        "sender-written",
        "no-received",
        "folded",
        "received-for-chain",
        "gmail-internal-hop-then-edge",
    ],
)
def test_hand_written_blocks(raw, expected):
    """Names in any case, CRLF or LF, brackets, lists, folding and position relative to the entry hop."""
    assert _triples(envelope_candidates(raw)) == expected


@pytest.mark.parametrize(
    "name",
    [
        "sa__FORGED_MUA_OUTLOOK__fp7.eml",
        "spamscope__mails__mail_test_13.eml",
        "sa__nice__007.eml",
        "mailpit__testdata__plain-text.eml",
    ],
)
def test_message_object_and_bytes_agree(real, name):
    """An email.message.Message (compat32 or policy.default) gives the same candidates as its bytes."""
    raw = real(name)
    expected = [(c.header, c.address, c.index, c.trusted) for c in envelope_candidates(raw)]
    for pol in (policy.compat32, policy.default):
        msg = email.message_from_bytes(raw, policy=pol)
        assert [(c.header, c.address, c.index, c.trusted) for c in envelope_candidates(msg)] == expected


def test_recipients_for_unknown_header_and_duplicates():
    """An unknown header name gives nothing; a repeated trusted address is given once."""
    cands = envelope_candidates(b"Delivered-To: a@d.example\nDelivered-To: a@d.example\nReceived: x\n\n")
    assert recipients_for(cands, "delivered-to") == ("a@d.example",)
    assert recipients_for(cands, "X-Nope") == ()


def test_split_header_block_without_body():
    """A message that is all header has its body offset at the end."""
    block, off = split_header_block(b"Subject: x\nFrom: y")
    assert off == len(b"Subject: x\nFrom: y") and parse_fields(block) == [("Subject", "x"), ("From", "y")]


@pytest.mark.parametrize(
    "name,provider",
    [
        ("mailpit__testdata__plain-text.eml", "gmail"),
        ("enmime__mail__ctype-bug.eml", "gmail"),
        ("parsedmarc__aggregate__google_report_borschow.eml", "exchange"),
        ("parsedmarc__aggregate__mimecast-weird-gzip.eml", "exchange"),
        ("sa__FORGED_MUA_OUTLOOK__fp7.eml", "postfix"),
        ("spamscope__mails__mail_test_13.eml", "postfix"),
        ("sa__nice__007.eml", "exim"),
        ("sa__FORGED_MUA_OUTLOOK__fp-5946-1.eml", "exim"),
        ("mikel__error_emails__content_transfer_encoding_plain.eml", "qmail"),
        ("flanker__messages__message-external-body.eml", "qmail"),
        ("cpython__data__msg_04.eml", "other"),
    ],
)
def test_provider_fingerprint(real, name, provider):
    """The delivering system is recognised from the topmost Received and delivery-only headers."""
    fp = fingerprint(real(name))
    assert fp.provider == provider
    assert provider == "other" or fp.evidence


def test_field_indexes_point_at_their_own_header_line():
    """On every bundled real message, each candidate's index is its header line (continuations excluded)."""
    from .conftest import REAL

    for path in sorted(REAL.glob("*.eml")):
        block = split_header_block(path.read_bytes())[0].decode("utf-8", "replace")
        lines = [line for line in block.split("\n") if line and line[0] not in " \t"]
        for c in envelope_candidates(path.read_bytes()):
            name = "received" if c.header == "Received-for" else c.header.lower()
            assert lines[c.index].split(":", 1)[0].strip().lower() == name, (path.name, c)


def test_scanned_names_match_in_any_case_as_a_case_insensitive_regex_does():
    """The fast scan's line regex (a case-sensitive first letter, the rest case-insensitive) finds
    exactly what one case-insensitive regex over the same names finds, on every bundled real header
    block with its names and values in randomly mixed case."""
    import random
    import re

    from mailsupport import headerblock as h
    from tests.samples.conftest import REAL

    names = h._alternation((*h.SCANNED, h._MS_ORG)).replace(r"organization\-", r"organization\-[!-9;-~]*")
    reference = re.compile(r"\n(?:(" + names + r")[ \t]*:[ \t]*(.*(?:\n[ \t].*)*)|(?=[^ \t]))", re.I | re.A)
    rnd = random.Random(5)
    blocks = [split_header_block(p.read_bytes())[0].decode("utf-8", "replace") for p in sorted(REAL.glob("*.eml"))]
    assert len(blocks) >= 20
    for block in blocks:
        for _ in range(5):
            text = "\n" + "".join(c.swapcase() if rnd.random() < 0.3 else c for c in block)
            assert h._LINE_RE.findall(text) == reference.findall(text)
    assert h._LINE_RE.findall("\nrECEIVED: x\nX-ms-EXCHANGE-organization-Foo: 1\nSubjectx: no\n") == [
        ("rECEIVED", "x"),
        ("X-ms-EXCHANGE-organization-Foo", "1"),
        ("", ""),
    ]
