"""Exact encoded vs decoded sizes (checked against the stdlib decoder) and the documented limits."""

from __future__ import annotations

import email
import random
from email import policy
from email.message import EmailMessage

import pytest

from mailsupport.sizes import (
    MIB,
    POSTFIX_DEFAULT_LIMIT,
    PROVIDER_LIMITS,
    base64_decoded_size,
    limits_for,
    measure,
    qp_decoded_size,
)


def _stdlib_leaf_sizes(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.default)
    return sorted(len(p.get_payload(decode=True) or b"") for p in msg.walk() if not p.is_multipart())


def _message(seed: int) -> bytes:
    rng = random.Random(seed)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@b.example", "c@d.example", f"sizes {seed}"
    m.set_content("Grüße = " * rng.randint(1, 400), cte="quoted-printable")
    for i in range(rng.randint(1, 3)):
        m.add_attachment(
            rng.randbytes(rng.randint(0, 50_000)), maintype="application", subtype="pdf", filename=f"f{i}.pdf"
        )
    m.add_attachment(
        ("line ünïcode =\n" * rng.randint(1, 300)), subtype="plain", filename="n.txt", cte="quoted-printable"
    )
    return m.as_bytes()


@pytest.mark.parametrize("seed", range(6))
def test_attachment_sizes_match_stdlib_decoding(seed):
    """Counting without decoding gives exactly the stdlib's decoded payload lengths."""
    raw = _message(seed)
    report = measure(raw)
    decoded_attachments = sorted(a.raw_size for a in report.attachments)
    stdlib = _stdlib_leaf_sizes(raw)
    assert all(size in stdlib for size in decoded_attachments)
    assert report.encoded_size == len(raw) and report.raw_size < report.encoded_size
    assert report.problems == ()


@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", bytes(range(256)) * 3, b"\x00" * 1000])
def test_base64_decoded_size_is_exact(data):
    """Padding and line breaks are not data (RFC 2045 §6.8)."""
    import base64

    assert base64_decoded_size(base64.encodebytes(data)) == len(data)
    assert base64_decoded_size(base64.encodebytes(data).replace(b"\n", b"\r\n")) == len(data)


@pytest.mark.parametrize("text", [b"plain", b"caf\xc3\xa9 = 100%", b"x" * 300, b"tab\tend \n" * 40, b""])
def test_qp_decoded_size_is_exact(text):
    """=XX escapes count one octet, soft line breaks nothing (RFC 2045 §6.7)."""
    import quopri

    encoded = quopri.encodestring(text)
    assert qp_decoded_size(encoded) == len(quopri.decodestring(encoded))


def test_padded_message_reaches_target_and_names_attachment():
    """A synthetic 12 MB message is over 10 MB encoded but under it decoded."""
    from mailsupport.samples.generate import padded_message

    raw = padded_message(12_000_000)
    r = measure(raw)
    assert 11_900_000 < r.encoded_size < 12_100_000
    assert r.raw_size < 10_000_000 and r.attachments[0].filename == "scan.pdf"
    assert r.attachments[0].encoding == "base64"


def test_limits_table_matches_the_facts():
    """Postfix 10,240,000 bytes; Gmail 25/50; Office 365 35/36; Mailgun 25 (MiB)."""
    by = {(p.provider, p.direction): p.limit for p in PROVIDER_LIMITS}
    assert by[("Postfix default", "receive")] == POSTFIX_DEFAULT_LIMIT == 10_240_000
    assert by[("Gmail", "send")] == 25 * MIB and by[("Gmail", "receive")] == 50 * MIB
    assert by[("Office 365", "send")] == 35 * MIB and by[("Office 365", "receive")] == 36 * MIB
    assert by[("Mailgun", "send")] == 25 * MIB
    assert all(p.source for p in PROVIDER_LIMITS)


def test_limits_for_provider_tenant_and_server_size():
    """A provider picks its rows; the tenant limit and the server's SIZE are added; sorted smallest first."""
    rows = limits_for("gmail", tenant_limit=5_000_000, server_size=20_000_000)
    assert [p.provider for p in rows] == ["Tenant", "Server SIZE", "Gmail", "Gmail"]
    assert limits_for("gmail", server_size=0) == limits_for("gmail")
    assert limits_for("nosuch") == ()


def test_broken_mime_is_measured_with_a_problem():
    """A multipart without a boundary is measured as one body and named."""
    r = measure(b"Content-Type: multipart/mixed\n\n--x\n\nhello\n--x--\n")
    assert r.encoded_size == r.raw_size and "boundary" in r.problems[0]


def test_rfc2231_filename():
    """filename*=utf-8''... is percent-decoded (RFC 2231 §4)."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe.pdf\n\nxyz\n--b--\n"
    )
    assert measure(raw).attachments[0].filename == "Grüße.pdf"


@pytest.mark.parametrize(
    "value",
    [
        'multipart/alternative; boundary="alt-000001"',
        "multipart/mixed; boundary=plain-token",
        'multipart/mixed;\n boundary="folded"  ',
        'multipart/mixed; Boundary="Upper"',
        'multipart/mixed; boundary = "spaced"',
        'multipart/mixed; boundary="a;b"',
        'multipart/mixed; boundary="a\\"b"',
        'multipart/mixed; boundary="a\\\\b"',
        'multipart/mixed; charset=utf-8; boundary="second"',
        'multipart/mixed; boundary="x"; boundary="last wins"',
        'multipart/mixed; boundary="unterminated',
        'multipart/mixed; boundary=""',
        "multipart/mixed",
        "multipart/mixed;",
        'multipart/mixed; boundary="x" trailing',
        'multipart/mixed; boundary="x"extra"',
    ],
)
def test_boundary_fast_path_equals_the_parameter_parser(value):
    """The usual ``boundary="..."`` is read without the parameter regex; every form gives what _params gives."""
    from mailsupport.sizes import _boundary, _params

    assert _boundary(value) == _params(value)[1].get("boundary", "")


@pytest.mark.parametrize(
    "disposition,expected",
    [
        (
            "attachment; filename*0*=utf-8''%E5%8C%97%E4%BA%AC%20; filename*1*=%E6%97%A5; filename*2=n.pdf",
            "北京 日n.pdf",
        ),
        ('attachment; filename*0="long name "; filename*1="in two parts.pdf"', "long name in two parts.pdf"),
        ("attachment; filename*=iso-8859-1'en'caf%E9.pdf", "café.pdf"),
        ("attachment; filename*=utf-8''x.pdf; filename*0=y", ""),  # malformed mix: no name, no exception
    ],
)
def test_rfc2231_continuations_decode_like_the_stdlib(disposition, expected):
    """Parameter continuations (RFC 2231 §3, as extract-msg and Python write long or non-ASCII names)
    give the same file name as email's get_filename."""
    raw = (
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\n"
        f"Content-Disposition: {disposition}\n\nxyz\n--b--\n"
    ).encode()
    assert measure(raw).attachments[0].filename == expected
    if expected:  # the stdlib itself raises TypeError on the malformed mix
        assert email.message_from_bytes(raw).get_payload()[0].get_filename() == expected


def test_the_size_advice_is_the_tenant_default():
    """sizes.RECOMMENDED_SIZE (the help page's 10 MB advice) is the tenant's default size limit."""
    from mailsupport.sizes import RECOMMENDED_SIZE
    from mailsupport.tenant import DEFAULT_SIZE_LIMIT

    assert RECOMMENDED_SIZE == DEFAULT_SIZE_LIMIT == 10_000_000


def test_delimiter_search_equals_find(monkeypatch):
    """The dash-stepping delimiter search finds exactly what bytes.find finds, dense dashes or none, in any range."""
    from mailsupport.sizes import _DASH_STEPS, _find_delimiter_far

    rng = random.Random(11)
    delim = b"--b-1"
    pieces = [b"-", b"--", b"a", b"\n", b"--b", b"--b-1", b"QUJD", b"-" * (_DASH_STEPS + 3)]
    for _ in range(3000):
        buf = bytearray(b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))))
        pos = rng.randint(0, len(buf))
        end = rng.randint(pos, len(buf))
        assert _find_delimiter_far(buf, delim, pos, end) == buf.find(delim, pos, end)


@pytest.mark.parametrize("near", [5, 64, 8192], ids=["near-5", "near-64", "near-default"])
def test_parts_found_past_the_near_window_are_the_same_parts(monkeypatch, near):
    """Wherever the near window ends (delimiters straddling it, dashes in part headers and in bodies), the
    attachments found and their sizes are the stdlib's, for LF and CRLF copies."""
    from mailsupport import sizes

    monkeypatch.setattr(sizes, "_NEAR", near)
    for seed in range(8):
        raw = _message(seed)
        for data in (raw, raw.replace(b"\n", b"\r\n")):
            report = measure(data)
            stdlib = _stdlib_leaf_sizes(data)
            assert report.problems == () and len(report.attachments) == len(stdlib) - 1
            assert all(a.raw_size in stdlib for a in report.attachments)
