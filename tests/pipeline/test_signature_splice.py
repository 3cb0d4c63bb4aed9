"""Signing a one-part message by splicing bytes writes exactly what the MIME round trip writes."""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.signature import _sign_mime, _sign_single_part, add_signature, compose_message

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SIG, DISC = "Jane <Smith> & Co\nSolicitor", "Confidential: privileged — do not forward."

#: Content types: the one-part text ones (most often), and the shapes the splice must leave alone.
CONTENT_TYPES = [
    None,
    None,
    "text/plain",
    "text/plain",
    'text/plain; charset="utf-8"',
    "text/plain; charset=iso-8859-1",
    "TEXT/HTML; Charset=UTF-8",
    "text/html",
    "text/plain; charset=x-no-such-charset",
    "text/plain; format=flowed; charset=us-ascii",
    "text/plain; charset*=utf-8''%E2",
    "text/enriched",
    "text",
    "image/png",
    "multipart/alternative; boundary=XX",
    "multipart/signed; boundary=S",
    "message/rfc822",
    "application/octet-stream",
]
ENCODINGS = [
    None,
    "7bit",
    "8bit",
    "binary",
    "base64",
    "quoted-printable",
    "Base64",
    " quoted-printable ",
    "base64 ",
    "x-uuencode",
    "bogus",
]
DISPOSITIONS = [None, None, "inline", "attachment; filename=a.txt"]
#: Header lines (continuations after \n) the header block may also carry, the awkward ones included.
EXTRA_LINES = [
    b"Received: from a (a [192.0.2.1])\n\tby b; Thu, 26 Nov 2026 09:00:00 +0000",
    b"Subject: Gr\xc3\xbc\xc3\x9fe",
    b"X-Long: a\n b\n c",
    b"DKIM-Signature: v=1;  b=abc",
    b"From a@b Thu Nov 26 09:00:00 2026",
    b":novalue",
    b"no colon here",
    b" continuation first",
    b"X-Mailsupport-Signed: yes",
    b"content-type: text/html",
    b"Content-Transfer-Encoding: base64",
    b"X-Empty:",
    b"X-Tab:\tvalue",
]
#: Text from pieces that matter to signing: line ends, HTML, 8-bit and wide characters, QP's "=".
TEXT = st.lists(st.sampled_from(list("ab <>&.\n\r=ü—日\x00") + ["\r\n", "</body>", "-- ", "From "]), max_size=30).map(
    "".join
)


def _body(text: str, charset: str, encoding: str | None, raw_bytes: bytes) -> bytes:
    if raw_bytes:
        return raw_bytes
    data = text.encode(charset, "replace")
    kind = (encoding or "").strip().lower()
    if kind == "base64":
        return base64.encodebytes(data)
    if kind == "quoted-printable":
        return quopri.encodestring(data)
    return data


@st.composite
def one_part_messages(draw) -> bytes:
    """A message with a header block of many shapes and a body of any encoding or bytes."""
    nl = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [b"From: jane@catchall.example", b"Subject: hello"]
    ctype, cte, disposition = (draw(st.sampled_from(v)) for v in (CONTENT_TYPES, ENCODINGS, DISPOSITIONS))
    for name, value in (
        ("Content-Type", ctype),
        ("Content-Transfer-Encoding", cte),
        ("Content-Disposition", disposition),
    ):
        if value is not None:
            lines.append(f"{name}: {value}".encode())
    for extra in draw(st.lists(st.sampled_from(EXTRA_LINES), max_size=3)):
        lines.insert(draw(st.integers(0, len(lines))), extra)
    head = b"\n".join(lines).replace(b"\n", nl)
    if draw(st.integers(0, 3)) == 0:  # a stray line end inside the header block
        at = draw(st.integers(0, len(head)))
        head = head[:at] + draw(st.sampled_from([b"\r", b"\n", b"\r\n", nl + nl])) + head[at:]
    elif draw(st.integers(0, 3)) == 0:  # one line of the header block ending otherwise (mixed line ends)
        ends = [i for i in range(len(head)) if head.startswith(nl, i)]
        if ends:
            at = draw(st.sampled_from(ends))
            head = head[:at] + draw(st.sampled_from([b"\r", b"\n", b"\r\n"])) + head[at + len(nl) :]
    charset = "latin-1" if ctype and "iso-8859-1" in ctype else "utf-8"
    body = _body(draw(TEXT), charset, cte, draw(st.binary(max_size=40) | st.just(b"")))
    return head + nl + draw(st.sampled_from([nl, nl, nl, b""])) + body  # the empty line, or none


def outcome(sign, raw: bytes, signature: str, disclaimer: str):
    """The signed bytes, or the type of the exception signing raised."""
    try:
        return sign(raw, signature, disclaimer)
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike
        return type(exc)


@settings(max_examples=800, deadline=None)
@given(raw=one_part_messages(), signature=TEXT, disclaimer=TEXT)
def test_splice_writes_what_the_mime_round_trip_writes(raw: bytes, signature: str, disclaimer: str) -> None:
    """Whenever the splice takes a message, its bytes (or its error) are the MIME path's, byte for byte."""
    spliced = outcome(_sign_single_part, raw, signature, disclaimer)
    if spliced is not None:
        assert spliced == outcome(_sign_mime, raw, signature, disclaimer)


def _composed(text: str, html: str | None = None) -> bytes:
    return compose_message(
        from_addr="jane@catchall.example",
        to=["client@outside.example"],
        subject="Advice",
        text=text,
        html_body=html,
        message_id="<1@catchall.example>",
        date="Thu, 26 Nov 2026 09:00:00 +0000",
    )


#: One-part shapes the send path meets (id -> message): each must take the splice.
COMMON = {
    "composed-ascii-7bit": _composed("Dear client,\nsee the contract.\n"),
    "composed-long-lines-qp": _composed("Lorem ipsum dolor sit amet. " * 40 + "\n"),
    "composed-umlauts-8bit": _composed("Grüße aus Köln\n"),
    "lf-line-ends": b"From: a@b\nSubject: x\n\nhello\n",
    "latin1-8bit": (
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n"
    ),
    "html-base64": (
        b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"<html><body><p>Hi</p></body></html>").replace(b"\n", b"\r\n")
    ),
    "folded-received": (
        b"Received: from a.example (a.example [192.0.2.1]) by b.example;\r\n"
        b"\tThu, 26 Nov 2026 09:00:00 +0000\r\nSubject:  two  spaces\r\n\r\nhello\r\n"
    ),
}


@pytest.mark.parametrize("signature", [SIG, "Jürgen Smith", "plain ascii"], ids=["em-dash", "umlaut", "ascii"])
@pytest.mark.parametrize("raw", list(COMMON.values()), ids=list(COMMON))
def test_common_one_part_shapes_take_the_splice(raw: bytes, signature: str) -> None:
    """The shapes the send path meets are signed by the splice, identical to the MIME path (charset and
    encoding changes included)."""
    spliced = _sign_single_part(raw, signature, DISC)
    assert spliced is not None
    assert spliced == _sign_mime(raw, signature, DISC) == add_signature(raw, signature=signature, disclaimer=DISC)


def test_multipart_and_odd_header_blocks_take_the_mime_path() -> None:
    """Multipart messages, non-text parts and header blocks the parser reads its own way are not spliced."""
    assert _sign_single_part(_composed("text\n", "<p>html</p>"), SIG, DISC) is None
    assert _sign_single_part(b"Subject: pic\r\nContent-Type: image/png\r\n\r\nxx\r\n", SIG, DISC) is None
    assert _sign_single_part(b"From a@b Thu Nov 26 09:00:00 2026\nSubject: x\n\nbody\n", SIG, DISC) is None
    assert _sign_single_part(b"Subject: x\r\nbare\nLF: y\r\n\r\nbody\r\n", SIG, DISC) is None
    assert _sign_single_part(b"Subject: x\r\nnot a header\r\n\r\nbody\r\n", SIG, DISC) is None
    assert _sign_single_part(b" continued\r\nSubject: x\r\n\r\nbody\r\n", SIG, DISC) is None
    assert _sign_single_part(b"Subject: x\nX-Other: y\r\n\r\nbody\r\n", SIG, DISC) is None  # mixed line ends
    assert _sign_single_part(b"Subject: x\r\n y\rX-Other: z\r\n\r\nbody\r\n", SIG, DISC) is None


@pytest.mark.parametrize("signature", [SIG, "plain ascii"], ids=["em-dash", "ascii"])
def test_real_samples_splice_like_the_mime_path(signature: str) -> None:
    """Every real sample the splice takes is signed byte for byte as the MIME path signs it."""
    files = sorted((SAMPLES / "real").glob("*.eml")) + sorted((SAMPLES / "messages").glob("**/*.eml"))
    spliced = 0
    for f in files:
        raw = f.read_bytes()
        out = _sign_single_part(raw, signature, DISC)
        if out is not None:
            spliced += 1
            assert out == _sign_mime(raw, signature, DISC), f.name
    assert spliced >= 15, f"only {spliced} of {len(files)} samples took the splice"
