"""The inbound client: XCLIENT names the sample's client in each profile's hop; refusals and copies come back."""

from __future__ import annotations

import smtplib

import pytest

from mailsupport.chain import receiving_chain
from mailsupport.sandbox import Sandbox
from mailsupport.sandbox.inbound import parse_xclient

from .conftest import message

pytestmark = pytest.mark.timeout(60)
MAILBOX = "matters@smithlaw.example"
PROFILES = ("postfix", "exim", "received-for", "gmail", "office365", "exchange")


@pytest.mark.parametrize("profile", PROFILES)
def test_xclient_makes_the_profile_record_the_named_client(smithlaw, profile):
    """With XCLIENT ADDR/HELO the profile's entry hop records the outside client, so the copy's receiving
    chain has an entry hop from that address (without it, a loopback peer would be inside)."""
    with Sandbox([smithlaw], profile=profile) as sb, sb.inbound_client() as client:
        got = client.deliver(
            message(),
            "client@outside.example",
            ["1042@smithlaw.example"],
            helo="out.example.net",
            client_address="192.0.2.10",
        )
    assert got.refused == () and got.queue_id
    (copy,) = got.copies
    assert copy.mailbox == MAILBOX and copy.recipients == ("1042@smithlaw.example",)
    chain = receiving_chain(copy.stored.data)
    assert chain.entry_hop is not None and chain.entry_hop.peer == "192.0.2.10", chain.explain()
    assert chain.entry_hop.from_host == "out.example.net"


def test_unknown_client_address_is_outside_but_unrecorded(smithlaw):
    """ADDR=[UNAVAILABLE] (an entry hop that recorded no address): the hop is the entry, with no peer."""
    with Sandbox([smithlaw], profile="postfix") as sb, sb.inbound_client() as client:
        got = client.deliver(
            message(),
            "client@outside.example",
            ["1042@smithlaw.example"],
            helo="relay.example.org",
            client_address="UNAVAILABLE",
        )
    chain = receiving_chain(got.copies[0].stored.data)
    assert chain.entry == 1 and chain.entry_hop.peer == "" and "not shown to be inside" in chain.entry_hop.reason


def test_xclient_is_refused_unless_an_inbound_client_is_open(smithlaw):
    """The MX refuses XCLIENT (Postfix's 550 insufficient authorization) when no inbound client enabled
    it, and the submission listener always does."""
    with Sandbox([smithlaw], profile="postfix") as sb:
        with smtplib.SMTP(sb.mx.host, sb.mx.port, timeout=10) as s:
            s.ehlo("x.example")
            assert s.docmd("XCLIENT", "ADDR=192.0.2.1")[0] == 550
        with sb.inbound_client():
            with smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10) as s:
                s.ehlo("x.example")
                assert s.docmd("XCLIENT", "ADDR=192.0.2.1")[0] == 550
            with smtplib.SMTP(sb.mx.host, sb.mx.port, timeout=10) as s:
                s.ehlo("x.example")
                assert s.mail("a@outside.example")[0] == 250
                assert s.docmd("XCLIENT", "ADDR=192.0.2.1")[0] == 503  # not inside a transaction
        assert sb.world.xclient is False and sb.world.on_stored is None


XCLIENT_ARGS = [
    ("ADDR=192.0.2.10 HELO=out.example.net", {"addr": "192.0.2.10", "helo": "out.example.net"}),
    ("ADDR=IPV6:2001:db8::1", {"addr": "2001:db8::1"}),
    ("ADDR=[UNAVAILABLE] NAME=[TEMPUNAVAIL]", {"addr": "UNAVAILABLE", "name": "UNAVAILABLE"}),
    ("HELO=a+2Bb.example", {"helo": "a+b.example"}),
    ("ADDR=not-an-address", "501 5.5.4 Bad XCLIENT ADDR syntax: not-an-address"),
    ("COLOUR=blue", "501 5.5.4 Bad XCLIENT attribute name: COLOUR"),
    ("", "501 5.5.4 Syntax: XCLIENT attribute=value..."),
]


@pytest.mark.parametrize(
    "arg, expected", XCLIENT_ARGS, ids=["addr-helo", "ipv6", "unavailable", "xtext", "bad-addr", "bad-name", "empty"]
)
def test_parse_xclient(arg, expected):
    """XCLIENT attributes as Postfix reads them (xtext, IPV6: prefix, [UNAVAILABLE]); bad ones get a 501."""
    assert parse_xclient(arg) == expected


def test_refusals_come_back_per_recipient_and_per_message(smithlaw):
    """A relayed recipient is refused with the profile's words while the others are accepted; a message over
    the size limit is refused whole; a non-ASCII address is not sent (no SMTPUTF8) — nothing raises."""
    with Sandbox([smithlaw], profile="exim", smtp_size_limit=5000) as sb, sb.inbound_client() as client:
        partial = client.deliver(
            message(),
            "client@outside.example",
            ["1042@smithlaw.example", "someone@elsewhere.example", "danglüe@smithlaw.example"],
            helo="out.example.net",
            client_address="192.0.2.10",
        )
        big = client.deliver(
            message(body="x" * 6000 + "\r\n"),
            "client@outside.example",
            ["1042@smithlaw.example"],
            helo="out.example.net",
            client_address="192.0.2.10",
        )
        none = client.deliver(message(), "client@outside.example", ["a@elsewhere.example"])
    assert partial.accepted == ("1042@smithlaw.example",) and partial.refused_stage == ""
    refused = dict(partial.refused)
    assert refused["someone@elsewhere.example"] == "550 relay not permitted"
    assert "not ASCII" in refused["danglüe@smithlaw.example"]
    assert big.refused_stage in ("MAIL", "DATA") and big.copies == ()
    assert big.refused[0][1].startswith("552") and "maximum" in big.refused[0][1]
    assert none.refused_stage == "RCPT" and none.queue_id == ""


def test_long_lines_of_a_replayed_message_are_taken_as_the_customer_server_took_them(smithlaw):
    """A 5,000-byte line (HTML mail without line breaks) reaches the mailbox whole while the inbound client is
    open; a plain client still gets RFC 5321's 500 for it."""
    raw = message(body="x" * 5000 + "\r\n")
    with Sandbox([smithlaw], profile="postfix") as sb:
        with sb.inbound_client() as client:
            got = client.deliver(raw, "c@outside.example", ["1042@smithlaw.example"])
        assert got.refused == () and b"x" * 5000 + b"\r\n" in got.copies[0].stored.data
        with smtplib.SMTP(sb.mx.host, sb.mx.port, timeout=10) as s:
            s.ehlo("x.example")
            s.mail("c@outside.example")
            s.rcpt("1042@smithlaw.example")
            assert s.data(raw)[0] == 500


def test_a_copy_gmail_drops_is_reported(smithlaw):
    """Gmail keeps one copy per Message-ID: the second delivery's copy comes back with no stored message."""
    with Sandbox([smithlaw], profile="gmail") as sb, sb.inbound_client() as client:
        first = client.deliver(message(), "c@outside.example", ["1042@smithlaw.example"])
        second = client.deliver(message(), "c@outside.example", ["1043@smithlaw.example"])
    assert first.copies[0].stored is not None
    assert second.copies[0].stored is None and second.copies[0].mailbox == MAILBOX
