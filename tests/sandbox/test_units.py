"""Pure pieces of the sandbox, tested with tables of bytes: stuffing, SASL parsing, routing, fault matching."""

from __future__ import annotations

import base64
import json

import pytest

from mailsupport.sandbox.faults import Action, Fault, FaultSet, Stage
from mailsupport.sandbox.mailstore import MailStore
from mailsupport.sandbox.pop3 import dot_stuff
from mailsupport.sandbox.profiles import message_id_of
from mailsupport.sandbox.xoauth2 import error_challenge, parse_plain, parse_xoauth2


@pytest.mark.parametrize(
    "raw, stuffed",
    [
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b".a\r\n", b"..a\r\n"),
        (b".\r\n", b"..\r\n"),
        (b"a\nb", b"a\r\nb\r\n"),
        (b"x\r\n..y\r\n", b"x\r\n...y\r\n"),
        (b"a\rb\r\n", b"a\r\nb\r\n"),
    ],
    ids=["plain", "leading-dot", "lone-dot", "bare-lf-no-final-eol", "two-dots", "bare-cr"],
)
def test_dot_stuff(raw, stuffed):
    """RFC 1939 §3: CRLF line ends and a dot doubled at the start of a line."""
    assert dot_stuff(raw) == stuffed


@pytest.mark.parametrize(
    "blob, expected",
    [
        (b"user=a@b\x01auth=Bearer tok\x01\x01", ("a@b", "tok")),
        (b"user=a@b\x01auth=bearer tok\x01\x01", ("a@b", "tok")),
        (b"user=a@b\x01auth=Basic tok\x01\x01", None),
        (b"auth=Bearer tok\x01\x01", None),
        (b"\xff\xfe", None),
    ],
    ids=["ok", "lower-case-scheme", "not-bearer", "no-user", "not-utf8"],
)
def test_parse_xoauth2(blob, expected):
    """The XOAUTH2 client string: user and bearer token, or None when malformed."""
    assert parse_xoauth2(blob) == expected


@pytest.mark.parametrize(
    "blob, expected",
    [
        (b"\x00u\x00p", ("u", "p")),
        (b"authz\x00u\x00p", ("u", "p")),
        (b"\x00\x00p", None),
        (b"u\x00p", None),
    ],
    ids=["ok", "with-authzid", "empty-user", "two-fields"],
)
def test_parse_plain(blob, expected):
    """SASL PLAIN (RFC 4616 §2): authzid NUL authcid NUL passwd."""
    assert parse_plain(blob) == expected


def test_error_challenge_is_google_json():
    """The refusal challenge decodes to status 401, scheme bearer."""
    data = json.loads(base64.b64decode(error_challenge()))
    assert data == {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "<a@b>"),
        (b"message-id:\r\n <folded@b>\r\n\r\n", "<folded@b>"),
        (b"Subject: x\r\n\r\nMessage-ID: <in-body@b>\r\n", None),
    ],
    ids=["plain", "folded-lowercase", "only-in-body"],
)
def test_message_id_of(raw, expected):
    """The Message-ID of the header only, unfolded."""
    assert message_id_of(raw) == expected


def test_first_matching_fault_wins_and_matching_is_case_insensitive():
    """Faults are tried in order; patterns are case-insensitive shell patterns."""
    specific = Fault(stage=Stage.RCPT, match="VIP@*", reply="450 busy")
    general = Fault(stage=Stage.RCPT, reply="451 later")
    faults = FaultSet([specific, general])
    assert faults.find("smtp", Stage.RCPT, "vip@x.example") is specific
    assert faults.find("smtp", Stage.RCPT, "other@x.example") is general
    assert faults.find("pop3", Stage.AUTH, "u") is None
    assert Fault(stage=Stage.AUTH, service="pop3").applies("smtp", Stage.AUTH, ["u"]) is False


def test_default_fault_replies_are_temporary():
    """Without a reply text a fault answers a temporary failure in the service's own syntax."""
    assert Fault(stage=Stage.MAIL).reply_for("smtp").startswith("451 4.3.0")
    assert Fault(stage=Stage.GREETING).reply_for("smtp").startswith("421")
    assert Fault(stage=Stage.RETR).reply_for("pop3").startswith("-ERR [SYS/TEMP]")
    assert Fault(stage=Stage.RETR, action=Action.PARTIAL).action is Action.PARTIAL


def test_routing_prefers_the_exact_mailbox_over_the_catch_all():
    """An address with its own mailbox lands there; others on the domain go to the catch-all."""
    store = MailStore()
    store.add_mailbox("all@firm.example", ["firm.example"])
    store.add_mailbox("jane@firm.example")
    assert store.resolve("JANE@firm.example").address == "jane@firm.example"
    assert store.resolve("raj@firm.example").address == "all@firm.example"
    assert store.resolve("x@other.example") is None
    assert store.is_local("x@firm.example") and not store.is_local("x@other.example")


def test_store_dedupes_by_message_id_only_when_asked():
    """Gmail-style duplicate suppression is per mailbox and per Message-ID."""
    store = MailStore()
    box = store.add_mailbox("m@x.example")
    kw = dict(message_id="<1@x>", mail_from="s@y", recipients=("m@x.example",))
    assert store.store(box, b"a", dedupe=True, **kw) is not None
    assert store.store(box, b"a", dedupe=True, **kw) is None
    assert store.store(box, b"a", dedupe=False, **kw) is not None
    assert len(box.messages) == 2
    assert box.messages[0].uid != box.messages[1].uid
