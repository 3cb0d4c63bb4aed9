"""Differential fuzzing of the fast DNS answer reader against dnspython (Hypothesis).

The reader (:mod:`mailsupport.dnslookup.wire`) may step aside (``None``) for anything, but when
it answers, its answer must be exactly what dnspython's parser plus the package's conversion
give for the same bytes — on well-formed responses built by dnspython (with name compression)
and on those responses damaged byte by byte.
"""

from __future__ import annotations

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mailsupport.dnslookup.answer as dla
import mailsupport.dnslookup.resolver as dlr
from mailsupport.dnslookup import AnswerStatus, wire

label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
odd_label = st.one_of(label, st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=5))
names = st.lists(label, min_size=1, max_size=4).map(lambda ls: ".".join(ls) + ".")
any_names = st.lists(odd_label, min_size=1, max_size=4).map(lambda ls: ".".join(ls) + ".")
TYPES = ("A", "AAAA", "MX", "TXT", "PTR", "CNAME", "SPF")


def _rdata_text(rdtype: str):
    if rdtype == "A":
        return st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
    if rdtype == "AAAA":
        return st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(lambda h: ":".join(f"{x:x}" for x in h))
    if rdtype == "MX":
        return st.tuples(st.integers(0, 65535), any_names).map(lambda t: f"{t[0]} {t[1]}")
    if rdtype in ("TXT", "SPF"):
        chunk = st.binary(max_size=40).map(lambda b: '"' + "".join(f"\\{c:03d}" for c in b) + '"')
        return st.lists(chunk, min_size=1, max_size=3).map(" ".join)
    return any_names


@st.composite
def responses(draw):
    """A response to one question, with answer records (maybe of another owner or type),
    an authority SOA sometimes, and a rcode of NOERROR, NXDOMAIN or something else."""
    qname = draw(names)
    qtype = draw(st.sampled_from(TYPES))
    query = dns.message.make_query(qname, qtype, id=draw(st.integers(0, 65535)))
    resp = dns.message.make_response(query)
    resp.set_rcode(draw(st.sampled_from([0, 0, 0, 3, 2, 5])))
    for _ in range(draw(st.integers(0, 4))):
        owner = draw(st.one_of(st.just(qname), names))
        rtype = draw(st.one_of(st.just(qtype), st.sampled_from(TYPES)))
        text = draw(_rdata_text(rtype))
        try:
            rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text)
        except dns.exception.DNSException:
            continue
        rrset = dns.rrset.RRset(dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.from_text(rtype))
        rrset.update_ttl(draw(st.integers(0, 2**32 - 1)))
        rrset.add(rd)
        resp.answer.append(rrset)
    if draw(st.booleans()):
        soa = dns.rrset.from_text(qname, 60, "IN", "SOA", f"ns.{qname} host.{qname} 1 2 3 4 5")
        resp.authority.append(soa)
    try:
        data = resp.to_wire()
    except dns.exception.DNSException:
        data = query.to_wire()
    return qname, qtype, data


def _agree(qname: str, qtype: str, data: bytes) -> bool:
    """The oracle: when the fast reader answers, dnspython must parse and convert to the same thing."""
    qwire, qlower = dlr._question_name(qname)
    fast = wire.decode(data, qlower, dns.rdatatype.from_text(qtype))
    if fast is None:
        return False
    msg = dns.message.from_wire(data)  # must not raise when the fast reader accepted the bytes
    if msg.rcode() == 3:
        ref = dla.DnsAnswer(
            name=dla.normalize_name(qname),
            rdtype=qtype,
            status=AnswerStatus.NXDOMAIN,
            canonical_name=dla.normalize_name(qname),
        )
    else:
        ref = dla.answer_from_rrsets(qname, qtype, msg.answer, AnswerStatus.NOERROR)
    assert dla.answer_from_decoded(qname, qtype, fast) == ref
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_fast_reader_agrees_with_dnspython_on_generated_responses(resp):
    """Generated responses (compressed names, odd labels, TXT bytes, several owners/types) agree."""
    _agree(*resp)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    responses(),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 10_000),
)
def test_fast_reader_never_accepts_what_dnspython_reads_differently(resp, flips, cut):
    """Damaged responses (bytes changed, truncated): the fast reader steps aside or agrees exactly."""
    qname, qtype, data = resp
    buf = bytearray(data)
    for at, value in flips:
        if buf:
            buf[at % len(buf)] = value
    damaged = bytes(buf[: max(12, len(buf) - cut % max(1, len(buf)))]) if cut % 3 == 0 else bytes(buf)
    _agree(qname, qtype, damaged)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(label, st.text("abcXYZ09-_", min_size=1, max_size=70), odd_label), min_size=1, max_size=6).map(
        ".".join
    ),
    st.booleans(),
)
def test_name_encoder_agrees_with_dnspython(text, absolute):
    """Any name text: the encoder gives dnspython's wire form, or steps aside (None) when the
    name is not plain or dnspython refuses it; plain names within the limits are always encoded."""
    text = text + "." if absolute else text
    fast = wire.name(text)
    try:
        ref = dns.name.from_text(text).to_wire()
    except dns.exception.DNSException:
        assert fast is None
        return
    plain = all(ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_." for ch in text)
    assert fast == ref if plain else fast is None
