"""The pure SPF record parser and macro expander, tested with tables."""

from __future__ import annotations

import ipaddress

import pytest

from mailsupport.spf.macros import MacroError, expand, tokenize
from mailsupport.spf.parse import Mechanism, Modifier, SpfSyntaxError, is_spf_record, parse_record

VALID = [
    ("v=spf1", []),
    ("V=SPF1 -ALL", [("-", "all")]),
    ("v=spf1 a mx -all", [("+", "a"), ("+", "mx"), ("-", "all")]),
    ("v=spf1  ~all  ", [("~", "all")]),
    ("v=spf1 ?include:_spf.example.com", [("?", "include")]),
    ("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32", [("+", "ip4"), ("+", "ip6")]),
    ("v=spf1 a:mail.example.com/24//64", [("+", "a")]),
    ("v=spf1 mx//0", [("+", "mx")]),
    ("v=spf1 ptr:example.com", [("+", "ptr")]),
    ("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", [("+", "exists")]),
    ("v=spf1 a:foo:bar/baz.example.com", [("+", "a")]),
    ("v=spf1 a:foo.example.xn--zckzah", [("+", "a")]),
    ("v=spf1 redirect=_spf.example.com", []),
    ("v=spf1 -all exp=explain._spf.%{d}", [("-", "all")]),
    ("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", [("+", "ip4"), ("-", "all")]),
]

INVALID = [
    # (record, offset of the marked problem, words in the reason)
    ("v=spf1 ip4:192.0.2.300", 11, "not an IPv4"),
    ("v=spf1 a mx foo -all", 12, "unknown mechanism"),
    ("v=spf1 -all.", 11, "takes no argument"),
    ("v=spf1 ip4:1.2.3.4/33", 10, "over 32"),
    ("v=spf1 ip4:1.2.3.4/032", 10, "bad CIDR"),
    ("v=spf1 ip6:::1/129", 10, "over 128"),
    ("v=spf1 a//129", 8, "over 128"),
    ("v=spf1 a/24/64", 8, "bad CIDR"),
    ("v=spf1 ptr/0", 10, "no CIDR"),
    ("v=spf1 include:", 15, "empty"),
    ("v=spf1 include", 14, "needs ':domain'"),
    ("v=spf1 a:museum", 9, "not a domain name"),
    ("v=spf1 a:abc.123", 9, "top-level label"),
    ("v=spf1 a:example.-com", 9, "top-level label"),
    ("v=spf1 exists:%{x}.example.com", 16, "unknown macro letter"),
    ("v=spf1 exists:%{d0}.example.com", 17, "nonzero"),
    ("v=spf1 exp=%{r}.example.com", 13, "unknown macro letter"),
    ("v=spf1 foo=%abc", 11, "must be followed"),
    ("v=spf1 redirect=a.example redirect=b.example", 26, "appears twice"),
    ("v=spf1 =all", 7, "unknown mechanism"),
    ("v=spf1 redirect:t2.example.com", 7, "unknown mechanism"),
    ("v=spf1 a:ctrl.example.com\rptr -all", 25, "not allowed"),
    ("v=spf1 \x80a -all", 7, "non-ASCII"),
    ("v=spf2 -all", 0, "must start"),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[v[0] for v in VALID])
def test_valid_records_parse(text, expected):
    """Valid records give the mechanisms with their qualifiers, in order."""
    rec = parse_record(text)
    assert [(m.qualifier.value, m.name) for m in rec.mechanisms] == expected


@pytest.mark.parametrize("text,offset,reason", INVALID, ids=[i[0].encode("unicode_escape").decode() for i in INVALID])
def test_invalid_records_mark_the_position(text, offset, reason):
    """Syntax errors carry the offset of the problem and a reason naming it."""
    with pytest.raises(SpfSyntaxError) as info:
        parse_record(text)
    assert reason in info.value.reason
    assert info.value.position == offset


def test_marked_draws_a_caret_under_the_bad_term():
    """marked() shows the record with a caret under the offending term."""
    err = pytest.raises(SpfSyntaxError, parse_record, "v=spf1 mx ip4:192.0.2.300 ~all").value
    line, caret = err.marked().splitlines()
    assert line == "v=spf1 mx ip4:192.0.2.300 ~all"
    assert caret.index("^") == line.index("192.0.2.300")


def test_mechanism_details():
    """Arguments are split into domain-spec, dual CIDR lengths and networks."""
    rec = parse_record("v=spf1 a:mail.example.com/24//64 ip4:192.0.2.77/24 redirect=x.example exp=e.example")
    a, ip4 = rec.mechanisms
    assert (a.domain_spec, a.ip4_cidr, a.ip6_cidr) == ("mail.example.com", 24, 64)
    assert ip4.network == ipaddress.ip_network("192.0.2.0/24")
    assert isinstance(rec.redirect, Modifier) and rec.redirect.value == "x.example"
    assert rec.exp.value == "e.example"
    assert isinstance(rec.terms[0], Mechanism) and rec.all_index is None


@pytest.mark.parametrize(
    "text,ok",
    [
        ("v=spf1", True),
        ("v=spf1 -all", True),
        ("V=Spf1 mx", True),
        ("v=spf10", False),
        ("v=spf1-all", False),
        ("spf1", False),
    ],
)
def test_record_selection(text, ok):
    """§4.5: v=spf1 followed by a space or the end, case-insensitive."""
    assert is_spf_record(text) is ok


VALUES = {
    "s": "strong-bad@email.example.com",
    "l": "strong-bad",
    "o": "email.example.com",
    "d": "email.example.com",
    "i": "192.0.2.3",
    "h": "mx.example.org",
    "v": "in-addr",
    "c": "192.0.2.3",
    "r": "unknown",
    "t": "0",
    "p": "unknown",
}

MACROS = [  # RFC 7208 §7.4 examples
    ("%{s}", "strong-bad@email.example.com"),
    ("%{o}", "email.example.com"),
    ("%{d4}", "email.example.com"),
    ("%{d2}", "example.com"),
    ("%{d1}", "com"),
    ("%{dr}", "com.example.email"),
    ("%{d2r}", "example.email"),
    ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"),
    ("%{lr}", "strong-bad"),
    ("%{lr-}", "bad.strong"),
    ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%%%_%-", "% %20"),
    ("%{L}", "strong-bad"),
    ("%{S}", "strong-bad%40email.example.com"),
]


@pytest.mark.parametrize("text,expected", MACROS, ids=[m[0] for m in MACROS])
def test_macro_expansion_rfc_examples(text, expected):
    """The §7.4 examples expand as the RFC says."""
    assert expand(tokenize(text), VALUES) == expected


@pytest.mark.parametrize("text", ["%{", "%{z}", "%x", "%{d0}", "%{d2x}", "a b"])
def test_macro_errors(text):
    """Bad macro strings raise MacroError."""
    with pytest.raises(MacroError):
        tokenize(text)


def test_explanation_letters_only_in_explanations():
    """c, r, t and spaces are allowed only in explanation text (§7.2)."""
    assert expand(tokenize("%{c} via %{r} at %{t}", explanation=True), VALUES) == "192.0.2.3 via unknown at 0"
    with pytest.raises(MacroError):
        tokenize("%{c}")
