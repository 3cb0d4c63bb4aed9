"""The fast answer reader (mailsupport.dnslookup.wire) gives exactly what dnspython's parser
gives, on real answers from the sandbox DNS server over UDP, and steps aside (None) for
anything it does not handle."""

from __future__ import annotations

import socket
import struct

import dns.message
import dns.name
import dns.rdatatype
import pytest

import mailsupport.dnslookup as dl
import mailsupport.dnslookup.answer as dla
import mailsupport.dnslookup.resolver as dlr
from mailsupport.dnslookup import AnswerStatus, wire
from mailsupport.errors import DnsError
from mailsupport.zones import zone_from_text

ZONE = r"""$ORIGIN wire.test.
$TTL 60
@       SOA ns hostmaster 1 3600 600 86400 60
@       NS ns
ns      A 192.0.2.53
@       MX 10 mail
@       MX 20 backup.other.test.
@       TXT "v=spf1 mx include:_spf.wire.test ~all"
@       TXT "unrelated text"
mail    A 192.0.2.10
mail    A 192.0.2.11
mail    AAAA 2001:db8::10
mail    AAAA ::ffff:192.0.2.10
split   TXT "v=spf1 ip4:192.0.2.0/24 " "-all"
utf8    TXT "caf\195\169 \255"
quote   TXT "say \"hi\""
empty   TXT ""
twins   TXT "a" "b"
twins   TXT "ab"
esc     MX 5 m\.x
null    MX 0 .
Mixed-Case A 192.0.2.77
under_score A 192.0.2.78
alias   CNAME mail
10.2.0.192.in-addr.arpa.wire.test. PTR mail
"""

NAMES = [
    "wire.test",
    "mail.wire.test",
    "split.wire.test",
    "utf8.wire.test",
    "quote.wire.test",
    "empty.wire.test",
    "twins.wire.test",
    "esc.wire.test",
    "null.wire.test",
    "mixed-case.wire.test",
    "MIXED-case.Wire.test",
    "under_score.wire.test",
    "alias.wire.test",
    "nope.wire.test",
    "ns.wire.test",
    "10.2.0.192.in-addr.arpa.wire.test",
]
TYPES = ["TXT", "A", "AAAA", "MX", "PTR", "CNAME", "SPF"]


@pytest.fixture()
def wire_server(dns_server):
    """The session DNS server answering from ZONE."""
    dns_server.set_zone_data(zone_from_text(ZONE))
    return dns_server


def _reference(name: str, rdtype: str, data: bytes):
    """What the package built from dnspython's parse before the fast reader existed."""
    msg = dns.message.from_wire(data)
    if msg.rcode() == 3:
        return dl.DnsAnswer(
            name=dla.normalize_name(name),
            rdtype=rdtype,
            status=AnswerStatus.NXDOMAIN,
            canonical_name=dla.normalize_name(name),
        )
    return dla.answer_from_rrsets(name, rdtype, msg.answer, AnswerStatus.NOERROR)


def test_fast_reader_equals_dnspython_on_real_answers(wire_server):
    """Every (name, type) of a zone with odd shapes: same DnsAnswer, and most read fast."""
    host, port = wire_server.address
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    sock.connect((host, port))
    fast = fallback = 0
    try:
        for name in NAMES:
            for rdtype in TYPES:
                qwire, qlower = dlr._question_name(name)
                qtype = dns.rdatatype.from_text(rdtype)
                sock.send(wire.question(4321, qwire, qtype))
                data = sock.recv(65535)
                got = wire.decode(data, qlower, qtype)
                if got is None:
                    fallback += 1
                    continue
                fast += 1
                assert dla.answer_from_decoded(name, rdtype, got) == _reference(name, rdtype, data), (name, rdtype)
    finally:
        sock.close()
    assert fast >= 80 and fallback >= 3  # escaped labels, CNAME chains, TXT twins go to dnspython


def test_lookup_answers_through_the_fast_reader(wire_server):
    """The sync and cached lookups give the typed answers (MX with null MX, joined TXT strings)."""
    lookup = dl.ResolverLookup.for_nameserver(wire_server.address, timeout=2)
    assert lookup.query("split.wire.test", "TXT").records == ("v=spf1 ip4:192.0.2.0/24 -all",)
    assert lookup.query("null.wire.test", "MX").records == (dl.MxRecord(preference=0, exchange="."),)
    assert lookup.query("utf8.wire.test", "TXT").records == ("caf\u00e9 \ufffd",)
    assert set(lookup.query("mail.wire.test", "AAAA").records) == {"2001:db8::10", "::ffff:192.0.2.10"}
    assert lookup.query("esc.wire.test", "MX").records == (dl.MxRecord(preference=5, exchange="m\\.x.wire.test"),)
    assert lookup.query("alias.wire.test", "A").canonical_name == "mail.wire.test"


def _message(
    answers: list[bytes],
    *,
    flags: int = 0x8180,
    qname: bytes = b"\x01a\x04test\x00",
    qtype: int = 1,
    extra: bytes = b"",
    counts: tuple[int, int] = (0, 0),
) -> bytes:
    head = struct.pack("!HHHHHH", 7, flags, 1, len(answers), *counts)
    return head + qname + struct.pack("!HH", qtype, 1) + b"".join(answers) + extra


def _a(owner: bytes, addr: bytes, ttl: int = 60) -> bytes:
    return owner + struct.pack("!HHIH", 1, 1, ttl, len(addr)) + addr


QL = b"\x01a\x04test\x00"


def test_crafted_answers_read_fast_or_step_aside():
    """Plain messages are read; anything dnspython treats specially or rejects gives None."""
    pointer = b"\xc0\x0c"  # to the question name
    ok = _message([_a(pointer, b"\xc0\x00\x02\x01", 30), _a(pointer, b"\xc0\x00\x02\x02", 20)])
    assert wire.decode(ok, QL, 1) == (0, ("192.0.2.1", "192.0.2.2"), 20, "a.test")
    assert wire.decode(_message([_a(pointer, b"\x01\x02\x03\x04", 0x80000000)]), QL, 1)[2] == 0
    assert wire.decode(_message([]), QL, 1) == (0, (), 0, None)  # NODATA
    assert wire.decode(_message([], flags=0x8183), QL, 1)[0] == 3  # NXDOMAIN
    assert wire.decode(_message([], qname=b"\x01A\x04TEST\x00"), QL, 1) is not None  # 0x20 case
    steps_aside = {
        "truncated": _message([], flags=0x8380),
        "servfail": _message([], flags=0x8182),
        "other question": _message([], qname=b"\x01b\x04test\x00"),
        "other type": _message([], qtype=16),
        "forward pointer": _message([_a(b"\xc0\x40", b"\x01\x02\x03\x04")]),
        "self pointer": _message([_a(b"\x01x\xc0\x18", b"\x01\x02\x03\x04")]),
        "duplicate": _message([_a(pointer, b"\x01\x02\x03\x04")] * 2),
        "two CNAMEs (dnspython keeps the last)": _message(
            [
                pointer + struct.pack("!HHIH", 5, 1, 60, 3) + b"\x010\x00",
                pointer + struct.pack("!HHIH", 5, 1, 60, 4) + b"\x0200\x00",
            ],
            qtype=5,
        ),
        "short A": _message([_a(pointer, b"\x01\x02\x03")]),
        "trailing bytes": _message([_a(pointer, b"\x01\x02\x03\x04")], extra=b"\x00"),
        "escaped label": _message([_a(b"\x03a b\x04test\x00", b"\x01\x02\x03\x04")]),
        "OPT in additional": _message([], extra=pointer + struct.pack("!HHIH", 41, 1, 0, 0), counts=(0, 1)),
    }
    for why, data in steps_aside.items():
        qtype = 5 if why.startswith("two CNAMEs") else 1
        assert wire.decode(data, QL, qtype) is None, why


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("wire.test", id="relative-looking"),
        pytest.param("Mixed-Case.Wire.TEST.", id="case-kept-trailing-dot"),
        pytest.param("selector1._domainkey.under_score.wire.test", id="underscores"),
        pytest.param("a" * 63 + ".test", id="label-63"),
        pytest.param(".".join(["b" * 63] * 3) + "." + "c" * 61, id="name-255"),
    ],
)
def test_plain_names_are_encoded_as_dnspython_does(text):
    """A plain name's wire form built from its text is dnspython's, byte for byte."""
    assert wire.name(text) == dns.name.from_text(text).to_wire()


@pytest.mark.parametrize(
    "text, problem",
    [
        pytest.param("a..test", "empty", id="empty-label"),
        pytest.param("a" * 64 + ".test", "63 octets", id="label-64"),
        pytest.param(".".join(["b" * 63] * 4), "255", id="name-256"),
    ],
)
def test_names_that_cannot_be_asked_are_refused_by_dnspython(text, problem):
    """The fast encoder steps aside and the question fails with dnspython's reason, as before."""
    assert wire.name(text) is None
    with pytest.raises(DnsError, match=problem):
        dlr._question_name(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("caf\u00e9.test", id="idna"),
        pytest.param("m\\.x.wire.test", id="escaped-dot"),
        pytest.param("*.wire.test", id="wildcard"),
        pytest.param(".", id="root"),
    ],
)
def test_other_names_go_to_dnspython(text):
    """Names that are not plain (IDNA, escapes, wildcards, the root) are encoded by dnspython."""
    assert wire.name(text) is None
    assert dlr._question_name(text)[0] == dns.name.from_text(text).to_wire()
