"""DNS messages on the wire for :class:`~mailsupport.dnslookup.ResolverLookup`'s direct path:
the question it sends (RFC 1035 §4.1), with the name encoded from its text when it is plain
(:func:`name`), and a fast reader for the plain answers it gets back.

:func:`decode` reads a response with one question and answer records of the asked type
(TXT/SPF, A, AAAA, MX, PTR, CNAME), SOA/NS in the authority section and A/AAAA in the
additional section, names made of letters, digits, ``-`` and ``_`` (compression pointers
followed with dnspython's rules: backwards only, at most 16 hops, never into the name
itself). Its results are exactly what dnspython's parser plus the package's conversion give
for the same bytes; anything else (truncation, other rcodes, EDNS, CNAME chains, duplicate
records, escaped labels, trailing bytes) returns None and the caller parses the message
with dnspython as before. Parsing a few hundred bytes this way costs a tenth of
``dns.message.from_wire``, which was most of the CPU of a batch SPF check.

What it relies on: dnspython's parse rules, mirrored rather than imported — the header and
section counts, name compression (pointer hops, their limit, no forward or self pointers),
the 255-octet name limit, TXT strings joined as dnspython's rdata gives them, IPv6 text from
``dns.ipv6.inet_ntoa`` — and the package's own conversion of dnspython rdata
(:mod:`mailsupport.dnslookup.answer`). When dnspython changes a rule, the two can differ, so
``tests/spf/test_dns_wire.py`` compares them on real answers of the sandbox DNS server and
``tests/spf/test_dns_wire_properties.py`` fuzzes them against each other (Hypothesis: answers
dnspython builds, then the same bytes damaged one by one): whenever :func:`decode` answers,
the answer must equal dnspython's. Anything it is unsure of goes to dnspython, which stays
the reference.

Layer 3 (client helper): imports only the standard library and ``dns.ipv6`` (for the
same IPv6 text as dnspython).
"""

from __future__ import annotations

import re
import struct
from typing import Any

import dns.ipv6

__all__ = ["name", "question", "decode", "TYPE_CODES"]

#: The record types the fast reader knows (RFC 1035 §3.2.2, RFC 3596, RFC 7208 §3.1).
TYPE_CODES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SPF": 99}

_HEADER = struct.Struct("!HHHHHH")
_QTAIL = struct.Struct("!HH")
_RR = struct.Struct("!HHIH")
_PREF = struct.Struct("!H")
_PLAIN = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
_MAX_HOPS = 16  # dns.name.MAX_COMPRESSION_POINTER_CHAIN
_TC = 0x0200
_NAME_TYPES = (5, 12)  # CNAME, PTR: one name as rdata
_TXT_TYPES = (16, 99)
_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?")
_LENGTHS = [bytes((n,)) for n in range(64)]  # a label's length octet
_DOTS = [b"." * n for n in range(128)]  # what is left of a plain name of n + 1 labels without its letters


def name(text: str) -> bytes | None:
    """``text`` in wire form (RFC 1035 §3.1: each label after its length, then the root's 0),
    case kept, when it is plain: letters, digits, ``-`` and ``_``, labels of 1-63 octets, 255
    octets in all, the final dot optional (read as absolute, as ``dns.name.from_text`` does).
    None otherwise, for dnspython to encode (escapes, IDNA) or refuse. The same bytes as
    ``dns.name.from_text(text).to_wire()``, without building a Name (most of a question's
    cost when every name is new, as in an audit)."""
    if _PLAIN_NAME.fullmatch(text) is None:
        return None
    data = b"".join([_LENGTHS[len(label)] + label for label in text.rstrip(".").encode().split(b".")]) + b"\0"
    return data if len(data) <= 255 else None


def question(wire_id: int, qname_wire: bytes, qtype: int) -> bytes:
    """A query: header with RD set and one question, class IN (RFC 1035 §4.1.1, §4.1.2)."""
    return _HEADER.pack(wire_id, 0x0100, 1, 0, 0, 0) + qname_wire + _QTAIL.pack(qtype, 1)


def _name(data: bytes, pos: int, end: int) -> tuple[str, int] | None:
    """A plain name at ``pos``: (lower-case text without the final dot, or "." for the root;
    the position after it), or None when it is not plain or breaks dnspython's rules."""
    labels: list[bytes] = []
    biggest = start = pos
    after = -1
    hops = 0
    size = 1
    while True:
        if pos >= end:
            return None
        count = data[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            stop = pos + 1 + count
            if stop > end:
                return None
            labels.append(data[pos + 1 : stop])
            size += count + 1
            pos = stop
        elif count >= 192:
            if pos + 1 >= end:
                return None
            target = ((count & 0x3F) << 8) | data[pos + 1]
            hops += 1
            if target >= biggest or hops > _MAX_HOPS:
                return None
            if after < 0:
                after = pos + 2
            biggest = target
            end = start  # the target may not overlap the name read so far
            pos = start = target
        else:
            return None  # RFC 6891 extended label types: not for us
    if size > 255:
        return None
    if not labels:
        return ".", (pos if after < 0 else after)
    dotted = b".".join(labels)
    if dotted.translate(None, _PLAIN) != _DOTS[len(labels) - 1]:
        return None  # a byte dnspython would escape in text (a dot inside a label too): leave it to dnspython
    return dotted.decode("ascii").lower(), (pos if after < 0 else after)


def _rdata(data: bytes, pos: int, end: int, rtype: int) -> Any:
    """The converted value of one answer record (as dnslookup's conversion), or None."""
    if rtype in _TXT_TYPES:
        parts = []
        while pos < end:
            stop = pos + 1 + data[pos]
            if stop > end:
                return None
            parts.append(data[pos + 1 : stop])
            pos = stop
        if not parts:
            return None
        return b"".join(parts).decode("utf-8", "replace")  # RFC 7208 §3.3: strings joined
    if rtype == 1:
        return ".".join(map(str, data[pos:end])) if end - pos == 4 else None
    if rtype == 28:
        return dns.ipv6.inet_ntoa(data[pos:end]) if end - pos == 16 else None
    if rtype == 15:
        if end - pos < 3:
            return None
        got = _name(data, pos + 2, end)
        if got is None or got[1] != end:
            return None
        return _PREF.unpack_from(data, pos)[0], got[0]
    if rtype in _NAME_TYPES:
        got = _name(data, pos, end)
        return got[0] if got is not None and got[1] == end else None
    return None


def _extra_ok(data: bytes, pos: int, end: int, rtype: int) -> bool:
    """Is an authority/additional record one dnspython would read without complaint?"""
    if rtype == 6:  # SOA: two names and five 32-bit numbers (RFC 1035 §3.3.13)
        first = _name(data, pos, end)
        second = _name(data, first[1], end) if first is not None else None
        return second is not None and end - second[1] == 20
    if rtype == 2:
        got = _name(data, pos, end)
        return got is not None and got[1] == end
    if rtype == 1:
        return end - pos == 4
    if rtype == 28:
        return end - pos == 16
    return False


def decode(data: bytes, qname_lower: bytes, qtype: int) -> tuple[int, tuple[Any, ...], int, str | None] | None:
    """Read a plain response to the question ``qname_lower`` (wire form, lower case) of type
    ``qtype``: ``(rcode, records, ttl, owner)`` or None to let dnspython read it.

    ``rcode`` is 0 (NOERROR) or 3 (NXDOMAIN); ``records`` the answer's values converted as
    the package converts dnspython's rdata (TXT text joined, address text, MX as
    ``(preference, exchange)``, names lower case without the final dot); ``ttl`` the
    smallest TTL (dnspython's rrset TTL); ``owner`` the answer records' owner name.
    """
    size = len(data)
    if size < 12:
        return None
    _id, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    rcode = flags & 0x000F
    if flags & _TC or (flags >> 11) & 0x0F or qdcount != 1 or rcode not in (0, 3):
        return None
    qend = 12 + len(qname_lower)
    if size < qend + 4 or data[12:qend].lower() != qname_lower or _QTAIL.unpack_from(data, qend) != (qtype, 1):
        return None
    pos = qend + 4
    records: list[Any] = []
    ttl = -1
    owner: str | None = None
    for _ in range(ancount):
        got = _name(data, pos, size)
        if got is None or got[1] + 10 > size:
            return None
        rname, pos = got
        rtype, rclass, rttl, rdlen = _RR.unpack_from(data, pos)
        pos += 10
        end = pos + rdlen
        if end > size or rclass != 1 or rtype != qtype or (owner is not None and rname != owner):
            return None
        owner = rname
        value = _rdata(data, pos, end, rtype)
        if value is None or value in records or (rtype == 5 and records):
            return None  # dnspython would merge a duplicate, or keep only the last CNAME (a singleton type)
        records.append(value)
        if rttl > 0x7FFFFFFF:
            rttl = 0  # as dnspython's message reader
        ttl = rttl if ttl < 0 else min(ttl, rttl)
        pos = end
    for _ in range(nscount + arcount):
        got = _name(data, pos, size)
        if got is None or got[1] + 10 > size:
            return None
        pos = got[1]
        rtype, rclass, _ttl, rdlen = _RR.unpack_from(data, pos)
        pos += 10
        end = pos + rdlen
        if end > size or rclass != 1 or not _extra_ok(data, pos, end, rtype):
            return None
        pos = end
    if pos != size:
        return None  # trailing bytes: dnspython raises TrailingJunk
    return rcode, tuple(records), max(ttl, 0), owner
