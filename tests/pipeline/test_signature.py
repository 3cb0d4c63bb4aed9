"""Signature and disclaimer: added to text and HTML parts without breaking MIME, exactly once."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailsupport.signature import (
    SIGNED_HEADER,
    SignatureError,
    UnsafeHeaderError,
    add_signature,
    compose_message,
    signature_for,
)
from mailsupport.testing.mailgen import pipeline_tenant

SIG = "Jane <Smith> & Co\nSolicitor"
DISC = "Confidential: privileged — do not forward."
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "real"


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def sign(raw: bytes) -> bytes:
    return add_signature(raw, signature=SIG, disclaimer=DISC)


def alternative_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "jane@catchall.example"
    msg["To"] = "client@outside.example"
    msg["Subject"] = "Contract"
    msg.set_content("Please find the contract attached.\n")
    msg.add_alternative("<html><body><p>Please find the contract attached.</p></body></html>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 binary \x00\xff", maintype="application", subtype="pdf", filename="c.pdf")
    return msg.as_bytes()


def test_text_and_html_alternatives_both_signed_attachment_untouched() -> None:
    """Both alternatives get the signature; the PDF keeps its exact bytes."""
    original = alternative_with_attachment()
    out = parse(sign(original))
    body = out.get_body(("plain",))
    html = out.get_body(("html",))
    assert "-- \nJane <Smith> & Co\nSolicitor" in body.get_content()
    assert DISC in body.get_content()
    assert "Jane &lt;Smith&gt; &amp; Co" in html.get_content()
    assert html.get_content().rstrip().endswith("</body></html>")
    atts = list(out.iter_attachments())
    assert [a.get_filename() for a in atts] == ["c.pdf"]
    assert atts[0].get_content() == b"%PDF-1.4 binary \x00\xff"


def test_signing_twice_is_impossible() -> None:
    """The marker header makes a second call return the message unchanged."""
    once = sign(alternative_with_attachment())
    assert add_signature(once, signature="other", disclaimer="other") == once
    assert parse(once)[SIGNED_HEADER]
    assert once.count(b"Solicitor") == 2  # text and html, one each


@pytest.mark.parametrize("cte", ["base64", "quoted-printable", "8bit", "7bit"])
def test_encoding_is_kept(cte: str) -> None:
    """A text part keeps its transfer encoding (7bit becomes quoted-printable for 8-bit text)."""
    msg = EmailMessage()
    msg["Subject"] = "x"
    msg.set_content("Grüße aus Köln\n" if cte != "7bit" else "plain ascii\n", cte=cte if cte != "7bit" else "7bit")
    out = parse(sign(msg.as_bytes()))
    want = "quoted-printable" if cte == "7bit" else cte
    assert out["Content-Transfer-Encoding"] == want
    text = out.get_content()
    assert text.startswith("Grüße aus Köln" if cte != "7bit" else "plain ascii")
    assert DISC in text and "Solicitor" in text


def test_latin1_part_becomes_utf8_only_when_needed() -> None:
    """A latin-1 part stays latin-1 for latin-1 text and becomes UTF-8 for the em dash."""
    raw = (
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n"
    )
    latin = parse(add_signature(raw, signature="J\xfcrgen", disclaimer="ok"))
    assert latin.get_content_charset() == "iso-8859-1"
    assert latin.get_content().startswith("Grüße")
    utf = parse(sign(raw))
    assert utf.get_content_charset() == "utf-8"
    assert utf.get_content().startswith("Grüße") and "—" in utf.get_content()


def test_forwarded_message_part_is_not_signed() -> None:
    """In multipart/mixed only the first (body) part is signed, never an attached message/rfc822."""
    inner = b"From: a@b\r\nSubject: inner\r\n\r\ninner body\r\n"
    raw = (
        b"Subject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--XX\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--XX--\r\n"
    )
    out = sign(raw)
    assert inner in out
    assert out.count(b"Solicitor") == 1


def test_attachment_only_message_gets_a_text_part() -> None:
    """A message with no text body gets a text part for the signature; the original part is kept."""
    raw = (
        b"Subject: pic\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n"
    )
    out = parse(sign(raw))
    assert out.get_content_type() == "multipart/mixed"
    parts = list(out.iter_parts())
    assert parts[0].get_content_type() == "text/plain" and DISC in parts[0].get_content()
    assert parts[1].get_content() == b"\x89PNG\r\n\x1a\n"


def test_signed_multipart_refused() -> None:
    """multipart/signed cannot be changed without breaking its signature: a clear error."""
    raw = b"Content-Type: multipart/signed; boundary=S\r\n\r\n--S\r\n\r\nx\r\n--S--\r\n"
    with pytest.raises(SignatureError, match="multipart/signed"):
        sign(raw)


def test_user_signature_else_division() -> None:
    """The user's own signature wins (also for their alias); others get the division's."""
    t = pipeline_tenant()
    assert signature_for(t, "jane@catchall.example") == "Jane Smith\nSolicitor"
    assert signature_for(t, "conveyancing@catchall.example") == "Jane Smith\nSolicitor"
    assert signature_for(t, "mailbox@catchall.example") == t.division_signature


@pytest.mark.parametrize("field", ["subject", "from_name", "from_addr", "to", "in_reply_to"])
def test_crlf_injection_refused(field: str) -> None:
    """CR/LF in any header field is refused with an error naming the field."""
    kwargs = dict(
        from_addr="jane@catchall.example",
        to=["c@outside.example"],
        subject="Hi",
        text="t",
        message_id="<1@x>",
        date="Thu, 26 Nov 2026 09:00:00 +0000",
    )
    evil = "x\r\nBcc: victim@evil.example"
    kwargs[field] = [evil] if field == "to" else evil
    with pytest.raises(UnsafeHeaderError, match="line break"):
        compose_message(**kwargs)


# every character str.splitlines (and so the email package's header check) breaks a line at, and NUL
LINE_BREAKS = {
    "LF": "\n",
    "CR": "\r",
    "VT": "\x0b",
    "FF": "\x0c",
    "FS": "\x1c",
    "GS": "\x1d",
    "RS": "\x1e",
    "NEL": "\x85",
    "LINE-SEPARATOR": "\u2028",
    "PARAGRAPH-SEPARATOR": "\u2029",
    "NUL": "\x00",
}


def test_line_break_table_is_what_splitlines_breaks_at() -> None:
    """The table below is complete: exactly the characters str.splitlines breaks at, plus NUL."""
    breaks = {c for c in map(chr, range(0x110000)) if len(f"a{c}b".splitlines()) > 1}
    assert breaks | {"\x00"} == set(LINE_BREAKS.values())


@pytest.mark.parametrize("char", list(LINE_BREAKS.values()), ids=list(LINE_BREAKS))
@pytest.mark.parametrize("field", ["subject", "from_name", "to"])
def test_unicode_line_separators_raise_unsafe_header_error(field: str, char: str) -> None:
    """A Unicode line separator (U+2028, NEL...) in Subject, the From name or To is the documented
    UnsafeHeaderError naming the field, not the email package's plain ValueError."""
    kwargs = dict(
        from_addr="jane@catchall.example",
        to=["c@outside.example"],
        subject="Hi",
        text="t",
        message_id="<1@x>",
        date="Thu, 26 Nov 2026 09:00:00 +0000",
    )
    evil = f"x{char}Bcc: victim@evil.example"
    kwargs[field] = [evil] if field == "to" else evil
    with pytest.raises(UnsafeHeaderError, match="line break or NUL") as err:
        compose_message(**kwargs)
    assert err.value.field.lower().replace(" ", "_").startswith(field)


def test_untouched_headers_keep_their_bytes() -> None:
    """Long folded headers (DKIM, Received) are written back byte for byte."""
    raw = (
        b"Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP id 1 for <x@y>;\r\n"
        b"\tThu, 26 Nov 2026 09:00:00 +0000\r\nDKIM-Signature: v=1; a=rsa-sha256; d=x;  b=abc\r\n"
        b"Subject:  two  spaces\r\n\r\nhello\r\n"
    )
    out = sign(raw)
    assert out.startswith(raw.split(b"\r\n\r\n")[0] + b"\r\n")


def test_real_samples_all_sign_and_parse() -> None:
    """Every real sample either signs (and parses again, exactly once signed) or refuses clearly."""
    files = sorted(SAMPLES.glob("*.eml"))
    assert len(files) >= 30, f"the real samples are missing from {SAMPLES}"
    for f in files:
        raw = f.read_bytes()
        try:
            out = sign(raw)
        except SignatureError:
            continue
        assert parse(out)[SIGNED_HEADER], f.name
        assert sign(out) == out, f.name
