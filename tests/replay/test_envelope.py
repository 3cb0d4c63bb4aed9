"""What a replay sends: the receiving side removed, the sender's part byte for byte, the envelope read back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.chain import receiving_chain
from mailsupport.headerblock import split_header_block
from mailsupport.headers import envelope_candidates
from mailsupport.replay.envelope import field_spans, original_recipients, strip_receiving_side
from mailsupport.samples.generate import gmail_copy, plain_message, postfix_copy

from .conftest import MAILBOX, REAL, SAMPLES


def _fields(raw: bytes) -> list[bytes]:
    block = split_header_block(raw)[0]
    return [block[s:e] for _i, s, e, _n in field_spans(block)]


def _subsequence(part: list[bytes], whole: list[bytes]) -> bool:
    """Whether ``part`` is ``whole`` with some items left out (order and bytes kept)."""
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


STRIPS = [
    # file, removed fields (top first), HELO, client address, envelope sender
    (
        "messages/catchall-x-original-to-only.eml",
        ("Return-Path", "X-Original-To", "Delivered-To", "Received"),
        "out.example.net",
        "192.0.2.10",
        "client@example.net",
    ),
    (
        "messages/catchall-exim-envelope-to-list.eml",
        ("Envelope-to", "Delivery-date", "Received"),
        "out.example.net",
        "192.0.2.10",
        "",
    ),
    (
        "real/mailpit__testdata__plain-text.eml",
        (
            "Delivered-To",
            "Received",
            "X-Received",
            "ARC-Seal",
            "ARC-Message-Signature",
            "ARC-Authentication-Results",
            "Return-Path",
            "Received",
        ),
        "mail-sor-f41.google.com",
        "209.85.220.41",
        "sender@example.com",
    ),
    (
        "real/mikel__plain_emails__raw_email10.eml",
        ("Return-Path", "Received"),
        "xxx.xxxx.xxx",
        "UNAVAILABLE",
        "xxx@xxxx.xxx",
    ),
    (
        "real/parsedmarc__smtp_tls__google.com_smtp_tls_report.eml",
        ("X-Received", "Return-Path"),
        "unknown",
        "",
        "3IDzYZhoKADcghkXier-lfmi-mel-kXihkmbgZZhhZeX.Vhf@smtp-tls-reporting.bounces.google.com",
    ),
]


@pytest.mark.parametrize(
    "name, removed, helo, address, sender",
    STRIPS,
    ids=["postfix", "exim", "gmail-real", "entry-without-address", "no-received"],
)
def test_strip_removes_the_receiving_side_and_keeps_the_rest(name, removed, helo, address, sender):
    """The chain's hops and the trace fields above the entry go; every other field stays, in order, byte for
    byte, and so does the body; the entry hop's client and the Return-Path become HELO, address and sender."""
    raw = (SAMPLES / name).read_bytes()
    s = strip_receiving_side(raw)
    assert (s.removed, s.helo, s.client_address, s.mail_from) == (removed, helo, address, sender)
    kept = _fields(s.data)
    original = _fields(raw)
    assert _subsequence(kept, original)  # the original fields, some left out, none changed or moved
    assert len(original) - len(kept) == len(removed)
    assert s.data[len(split_header_block(s.data)[0]) :] == raw[len(split_header_block(raw)[0]) :]


def test_sender_written_delivery_headers_survive_the_strip():
    """A forged X-Original-To/Delivered-To below the entry hop is the sender's: it is sent again as it was,
    while the receiving side's copies are gone."""
    raw = (SAMPLES / "messages" / "catchall-forged-x-original-to.eml").read_bytes()
    data = strip_receiving_side(raw).data
    assert b"X-Original-To: jane@smithlaw.example" in data and b"Delivered-To: raj@smithlaw.example" in data
    assert b"1043@smithlaw.example\n" not in data.split(b"To: ")[0]
    assert b"Received:" not in data and b"Return-Path" not in data


def test_a_lan_message_takes_the_bottom_hop_as_its_client():
    """Without an outside hop the bottom hop stands for the client: its private address is named, so the
    replayed hop is inside too, as the sample's were."""
    s = strip_receiving_side((REAL / "mikel__plain_emails__raw_email_with_bad_date.eml").read_bytes())
    assert s.chain.entry == 0 and s.client_address.startswith("10.")


def test_the_mbox_from_line_is_not_sent():
    """A leading mbox From_ line is no header field: it is dropped, the fields after it kept."""
    raw = b"From MAILER-DAEMON Mon Nov  3 09:00:00 2025\n" + plain_message(
        to=["a@b.example"], subject="s", message_id="m@x"
    )
    s = strip_receiving_side(raw)
    assert s.data.startswith(b"From: Client") and s.removed == ()


RECIPIENTS = [
    (
        "x-original-to over delivered-to",
        postfix_copy(
            plain_message(to=["conveyancing@smithlaw.example"], subject="s", message_id="a@x"),
            original_to="conveyancing@smithlaw.example",
        ),
        (("conveyancing@smithlaw.example", "X-Original-To"),),
    ),
    (
        "delivered-to only names the mailbox",
        postfix_copy(
            plain_message(to=["x@smithlaw.example"], subject="s", message_id="b@x"), original_to=None, single=False
        ),
        ((MAILBOX, "Delivered-To"),),
    ),
    (
        "received-for when nothing else",
        postfix_copy(
            plain_message(to=["1042@smithlaw.example"], subject="s", message_id="c@x"), original_to=None
        ).replace(b"\tfor <None>", b""),
        ((MAILBOX, "Delivered-To"),),
    ),
    (
        "x-gm-original-to",
        gmail_copy(
            plain_message(to=["a@smithlaw.example"], subject="s", message_id="d@x"),
            original_to="a@smithlaw.example",
            rcpt="a@smithlaw.example",
        ),
        (("a@smithlaw.example", "X-Gm-Original-To"),),
    ),
    (
        "gmail for clause without the option",
        gmail_copy(plain_message(to=["a@smithlaw.example"], subject="s", message_id="e@x"), rcpt="a@smithlaw.example"),
        (("a@smithlaw.example", "Received-for"),),
    ),
    (
        "exim list",
        (SAMPLES / "messages" / "catchall-exim-envelope-to-list.eml").read_bytes(),
        (("conveyancing@smithlaw.example", "Envelope-To"), ("litigation@smithlaw.example", "Envelope-To")),
    ),
    (
        "fetchmail re-delivery: the deepest field",
        (REAL / "sa__FORGED_MUA_OUTLOOK__fp7.eml").read_bytes(),
        (("jm@jmason.org", "X-Original-To"),),
    ),
    ("nothing the receiving side wrote", (REAL / "flanker__bounce__office365.eml").read_bytes(), ()),
]


@pytest.mark.parametrize("label, raw, expected", RECIPIENTS, ids=[r[0] for r in RECIPIENTS])
def test_original_recipients(label, raw, expected):
    """The RCPT TO addresses read back: as-sent headers first, the deepest field of a header, Delivered-To last,
    the mailbox's own address only when nothing else is named."""
    assert original_recipients(envelope_candidates(raw), mailbox=MAILBOX) == expected


_NAMES = st.sampled_from(
    [
        "X-Original-To",
        "Delivered-To",
        "Envelope-To",
        "Received",
        "Return-Path",
        "X-Mailer",
        "Subject",
        "Authentication-Results",
    ]
)
_VALUES = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=8))
def test_fields_below_the_entry_hop_are_never_touched(sender_fields):
    """Whatever the sender wrote below the entry hop (delivery headers, Received lines, anything) is sent
    again unchanged and in order; only the receiving side's fields above it go."""
    below = b"".join(f"{n}: {v}\n".encode() for n, v in sender_fields)
    message = below + b"From: a@b.example\nSubject: s\n\nbody\n"
    raw = (
        b"Delivered-To: matters@smithlaw.example\nX-Original-To: 1042@smithlaw.example\n"
        b"Received: from out.example.net (out.example.net [192.0.2.10])\n\tby mx.example (Postfix) with ESMTPS"
        b" id Q1\n\tfor <1042@smithlaw.example>; Mon, 3 Nov 2025 09:00:01 +0000\n" + message
    )
    s = strip_receiving_side(raw)
    assert s.data == message
    assert receiving_chain(raw).entry == 1 and s.removed == ("Delivered-To", "X-Original-To", "Received")
