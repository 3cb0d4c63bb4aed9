"""The DMARC record parser: RFC 7489 §6.3/§6.4 tags, defaults, and errors that point at the tag."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.dmarc.record import DmarcSyntaxError, is_dmarc_record, parse_dmarc


def test_full_record_is_read_with_every_tag():
    """Every RFC 7489 tag is read with its value; absent ones keep the RFC defaults."""
    rec = parse_dmarc(
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; "
        "rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; ri=3600; "
        "fo=1:d; rf=afrf"
    )
    assert (rec.p, rec.sp, rec.adkim, rec.aspf, rec.pct, rec.ri, rec.fo) == (
        "reject",
        "quarantine",
        "s",
        "r",
        50,
        3600,
        "1:d",
    )
    assert rec.rua == ("mailto:a@example.com", "mailto:b@example.net!10m")
    assert parse_dmarc("v=DMARC1;p=none").adkim == "r" and parse_dmarc("v=DMARC1;p=none").pct == 100


def test_subdomain_policy_falls_back_to_p():
    """sp applies to subdomains when given; otherwise p does (§6.3)."""
    assert parse_dmarc("v=DMARC1; p=reject").policy_for(subdomain=True) == "reject"
    assert parse_dmarc("v=DMARC1; p=reject; sp=none").policy_for(subdomain=True) == "none"


def test_unknown_tags_are_kept_and_ignored():
    """An unknown tag does not break the record (§6.3) but is listed."""
    assert parse_dmarc("v=DMARC1; p=none; foo=bar").unknown == ("foo",)


@pytest.mark.parametrize(
    "text,tag,at",
    [
        ("v=DMARC1; p=quarantaine", "p", 10),
        ("p=none; v=DMARC1", "", 0),
        ("v=DMARC2; p=none", "v", 0),
        ("v=DMARC1; rua=mailto:a@example.com", "p", 34),
        ("v=DMARC1; p=none; pct=150", "pct", 18),
        ("v=DMARC1; p=none; adkim=x", "adkim", 18),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "rua", 22),
        ("v=DMARC1; p=none; p=reject", "p", 18),
        ("v=DMARC1; p=none; fo=2", "fo", 18),
        ("v=DMARC1; p=none; junk", "", 18),
    ],
    ids=[
        "misspelt-policy",
        "version-not-first",
        "wrong-version",
        "no-policy",
        "pct-over-100",
        "bad-adkim",
        "uri-without-scheme",
        "duplicate-tag",
        "bad-fo",
        "not-a-tag",
    ],
)
def test_errors_name_the_tag_and_position(text, tag, at):
    """Each broken record raises DmarcSyntaxError pointing at the offending tag."""
    with pytest.raises(DmarcSyntaxError) as info:
        parse_dmarc(text)
    assert info.value.tag == tag and info.value.position == at
    assert "^" in info.value.marked()


def test_is_dmarc_record_tells_dmarc_from_other_txt():
    """Only v=DMARC1 texts count at _dmarc (§6.6.3 step 3)."""
    assert is_dmarc_record("v=DMARC1; p=none") and is_dmarc_record("v = DMARC1;p=none")
    assert not is_dmarc_record("v=spf1 -all") and not is_dmarc_record("google-site-verification=x")


def test_with_tags_edits_in_place():
    """with_tags replaces a tag's value and keeps the others in order."""
    assert (
        parse_dmarc("v=DMARC1; p=none; rua=mailto:a@x.example").with_tags(p="quarantine")
        == "v=DMARC1; p=quarantine; rua=mailto:a@x.example"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("v=DMARC1;p nonequarantine rejectsp=adkim=rs,pct=10!:mailto@")), max_size=60)
)
def test_parser_never_raises_anything_else(text):
    """Arbitrary text either parses or raises DmarcSyntaxError with a position inside the text."""
    try:
        parse_dmarc(text)
    except DmarcSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
