"""Outgoing mail: safe composition, and the signature plus mandatory disclaimer.

Owns :func:`compose_message` (a new message from fields, refusing CR/LF injection),
:func:`check_header_value`, :func:`crlf_line_ends` (every outgoing message's line ends as
DATA needs them), :func:`signature_for` (the user's own signature, else the division's) and
:func:`add_signature`, which appends the signature and disclaimer to the body's text and
HTML parts:

* MIME structure is kept: in ``multipart/alternative`` every alternative is signed, in
  ``multipart/mixed``/``related`` only the first (body) part; attachments, forwarded
  ``message/rfc822`` parts and every untouched part keep their bytes and encodings.
* A modified part keeps its charset and Content-Transfer-Encoding (base64 stays base64,
  quoted-printable stays quoted-printable); only when the signature cannot be written in
  the part's charset does the part become UTF-8, and a ``7bit`` part that must carry 8-bit
  text becomes quoted-printable (RFC 2045 §6).
* In HTML the signature and disclaimer are HTML-escaped and inserted before ``</body>``.
* The text signature follows the ``-- `` separator convention (RFC 3676 §4.3).
* Idempotent: the ``X-Mailsupport-Signed`` header marks a signed message; signing it again
  returns it unchanged.
* A signed or encrypted message (``multipart/signed``, RFC 1847) cannot be changed without
  breaking it: :class:`SignatureError` says so.
* A message that is one text part (what :func:`compose_message` writes for text) is signed by
  splicing bytes: its header block is kept as it is and only the body is re-encoded, giving
  the very bytes the MIME round trip (parse, sign the parts, write the message again) gives,
  in about 60 % of its time; every other shape takes the round trip.

Pure (layer 2): no I/O, no clock (``Date`` and ``Message-ID`` are passed in). Must not import
the clients, the store, the pipeline or presentation modules.
"""

from __future__ import annotations

import base64
import email
import html
import quopri
import re
from collections.abc import Sequence
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from io import BytesIO

from .errors import MailsupportError
from .tenant import Tenant

__all__ = [
    "SIGNED_HEADER",
    "UnsafeHeaderError",
    "SignatureError",
    "check_header_value",
    "crlf_line_ends",
    "signature_for",
    "add_signature",
    "compose_message",
]

#: Marks a message whose signature and disclaimer were added.
SIGNED_HEADER = "X-Mailsupport-Signed"
#: NUL and every character ``str.splitlines`` breaks a line at (CR, LF, VT, FF, FS, GS, RS, NEL, U+2028,
#: U+2029): the email package refuses a header value that splits into lines with a plain ValueError.
_BAD_CHARS = re.compile("[\x00\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_BODY_END = re.compile(r"</body\s*>", re.I)
_SIGNED_VALUE = "signature and disclaimer added"
_SIGNED_LINE = f"{SIGNED_HEADER}: {_SIGNED_VALUE}".encode("ascii")
#: A header line that starts a field: a name of printable ASCII but the colon, then the colon.
_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
#: Every line end the email generator rewrites (CRLF, bare CR, bare LF).
_LINE_END = re.compile(r"\r\n|\r|\n")


class UnsafeHeaderError(MailsupportError, ValueError):
    """A header field or SMTP argument contains a line break (CR, LF, or any other character
    ``str.splitlines`` breaks at, such as U+2028) or NUL, which would inject headers or commands
    (RFC 5322 §2.2: a field body never contains a bare CR or LF)."""

    def __init__(self, field: str, value: str) -> None:
        self.field = field
        shown = value[:80]  # repr below shows every line break and NUL escaped
        super().__init__(
            f"{field} contains a line break or NUL ({shown!r}); remove it: it would let the "
            "text inject extra headers or SMTP commands"
        )


class SignatureError(MailsupportError, ValueError):
    """The signature and disclaimer cannot be added without breaking the message."""


def check_header_value(field: str, value: str) -> str:
    """Return ``value`` if it is safe in a header field or SMTP command, else raise :class:`UnsafeHeaderError`."""
    if _BAD_CHARS.search(value):
        raise UnsafeHeaderError(field, value)
    return value


def crlf_line_ends(raw: bytes) -> bytes:
    """``raw`` with every line end (CRLF, bare CR, bare LF) made CRLF: the form SMTP's DATA
    carries (RFC 5321 §2.3.8). After this a line starts only after CRLF, so the client's
    dot-stuffing (``.`` doubled at each line start, done once in :mod:`smtplib`) and the
    server's end-of-data ``CRLF.CRLF`` see the same lines: a bare ``CR.CR`` or ``LF.LF``
    in a message can no longer end it early on a lenient server (SMTP smuggling).

    Returns ``raw`` itself when it is already canonical (three C-level counts, no copy).
    """
    crlf = raw.count(b"\r\n")
    if crlf == raw.count(b"\r") == raw.count(b"\n"):
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def signature_for(tenant: Tenant, user_address: str | None) -> str:
    """The signature for mail sent by ``user_address``: the user's own, else the division's."""
    if user_address:
        user = tenant.user_by_address(user_address) or None
        if user is None:
            owner = tenant.alias_map().get(user_address.lower())
            user = tenant.user_by_address(owner) if owner else None
        if user is not None and user.signature.strip():
            return user.signature
    return tenant.division_signature


# --------------------------------------------------------------------------- composing


def compose_message(
    *,
    from_addr: str,
    to: Sequence[str],
    subject: str,
    text: str,
    message_id: str,
    date: str,
    from_name: str = "",
    cc: Sequence[str] = (),
    html_body: str | None = None,
    in_reply_to: str = "",
    references: Sequence[str] = (),
) -> bytes:
    """A new RFC 5322 message (CRLF line ends). Every header value is checked for CR/LF first."""
    check_header_value("From address", from_addr)
    check_header_value("From name", from_name)
    check_header_value("Subject", subject)
    check_header_value("Message-ID", message_id)
    check_header_value("Date", date)
    check_header_value("In-Reply-To", in_reply_to)
    for i, a in enumerate(to):
        check_header_value(f"To[{i}]", a)
    for i, a in enumerate(cc):
        check_header_value(f"Cc[{i}]", a)
    for i, r in enumerate(references):
        check_header_value(f"References[{i}]", r)
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = email.utils.formataddr((from_name, from_addr)) if from_name else from_addr
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg.set_content(text)
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html")
    return msg.as_bytes()


# --------------------------------------------------------------------------- signing


class _RawValue(str):
    """A header value exactly as it was in the message (whitespace and folding included)."""


class _VerbatimPolicy(email_policy.Compat32):
    """compat32 that writes every parsed header back byte for byte (a refolded ``Received`` or
    ``DKIM-Signature`` would change what the sender signed); headers we add fold normally."""

    def header_source_parse(self, sourcelines):  # noqa: D401 - email.policy hook
        name, value = sourcelines[0].split(":", 1)
        return name, _RawValue((value + "".join(sourcelines[1:])).rstrip("\r\n"))

    def header_fetch_parse(self, name, value):
        if isinstance(value, _RawValue):
            value = str(value).lstrip(" \t")
        return super().header_fetch_parse(name, value)

    def fold_binary(self, name, value):
        if isinstance(value, _RawValue):
            text = name + ":" + self.linesep.join(re.split(r"\r?\n", str(value))) + self.linesep
            return text.encode("ascii", "surrogateescape")
        return super().fold_binary(name, value)


_VERBATIM = _VerbatimPolicy()


def _body_parts(part: Message) -> list[Message]:
    maintype = part.get_content_maintype()
    if maintype == "message":
        return []  # a forwarded message is an attachment, never our body
    if maintype == "multipart":
        sub = part.get_content_subtype()
        if sub in ("signed", "encrypted"):
            raise SignatureError(
                f"the message is multipart/{sub} (RFC 1847): adding a signature or disclaimer "
                "would break it; add them before signing or encrypting"
            )
        children = part.get_payload()
        if not isinstance(children, list) or not children:
            return []
        if sub == "alternative":
            return [p for child in children for p in _body_parts(child)]
        return _body_parts(children[0])
    if part.get_content_type() in ("text/plain", "text/html"):
        if part.get("Content-Disposition", "").split(";")[0].strip().lower() == "attachment":
            return []
        return [part]
    return []


def _signature_text(signature: str, disclaimer: str, nl: str) -> str:
    blocks = []
    if signature.strip():
        blocks.append("-- " + nl + nl.join(signature.strip("\r\n").splitlines()))
    if disclaimer.strip():
        blocks.append(nl.join(disclaimer.strip("\r\n").splitlines()))
    return nl + nl + (nl + nl).join(blocks) + nl


def _signature_html(signature: str, disclaimer: str) -> str:
    out = []
    if signature.strip():
        lines = "<br>\n".join(html.escape(line) for line in signature.strip("\r\n").splitlines())
        out.append(f'<div class="mailsupport-signature">-- <br>\n{lines}</div>')
    if disclaimer.strip():
        lines = "<br>\n".join(html.escape(line) for line in disclaimer.strip("\r\n").splitlines())
        out.append(f'<div class="mailsupport-disclaimer"><small>{lines}</small></div>')
    return "\n" + "\n".join(out) + "\n"


def _sign_part(part: Message, signature: str, disclaimer: str) -> str:
    """Add the blocks to ``part``'s text; returns its new payload as the generator writes it
    (ASCII, 8-bit bytes kept as surrogate escapes)."""
    charset = part.get_content_charset() or "us-ascii"
    cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    raw = part.get_payload(decode=True) or b""
    try:
        "".encode(charset)
    except LookupError:
        charset = "us-ascii"  # unknown charset: keep the bytes as they are, add an ASCII-safe block
    text = raw.decode(charset, "surrogateescape")
    nl = "\r\n" if "\r\n" in text else "\n"
    if part.get_content_subtype() == "html":
        block = _signature_html(signature, disclaimer)
        ends = list(_BODY_END.finditer(text))
        text = text[: ends[-1].start()] + block + text[ends[-1].start() :] if ends else text + block
    else:
        text = (
            text + _signature_text(signature, disclaimer, nl)
            if text.endswith(nl) or not text
            else text + nl + _signature_text(signature, disclaimer, nl).lstrip("\r\n")
        )
    try:
        data = text.encode(charset, "surrogateescape")
    except UnicodeEncodeError:
        charset = "utf-8"
        data = text.encode(charset, "surrogateescape")
        part.set_param("charset", "utf-8")
    if cte == "base64":
        encoded = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable":
        encoded = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode("ascii")
    elif data.isascii():
        encoded = data.decode("ascii")
    elif cte in ("8bit", "binary"):
        encoded = data.decode("ascii", "surrogateescape")  # written back byte for byte
    else:  # 7bit (or missing) cannot carry the new 8-bit text (RFC 2045 §2.7)
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = "quoted-printable"
        encoded = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode("ascii")
    part.set_payload(encoded)
    return encoded


def add_signature(raw: bytes, *, signature: str, disclaimer: str) -> bytes:
    """Return ``raw`` with ``signature`` and ``disclaimer`` added to its body's text and HTML parts.

    Already signed (the :data:`SIGNED_HEADER` marker is present): returned unchanged.
    Raises :class:`SignatureError` for ``multipart/signed``/``encrypted`` messages.
    """
    if not signature.strip() and not disclaimer.strip():
        return raw
    signed = _sign_single_part(raw, signature, disclaimer)
    return signed if signed is not None else _sign_mime(raw, signature, disclaimer)


def _linesep(raw: bytes) -> str:
    """The line end a signed message is written with: CRLF when its header block uses it."""
    head_end = raw.find(b"\n\n")
    crlf = head_end < 0 and b"\r\n" in raw or b"\r\n" in raw[: max(head_end, 0) or len(raw)]
    return "\r\n" if crlf else "\n"


def _sign_single_part(raw: bytes, signature: str, disclaimer: str) -> bytes | None:
    """A message that is one text part, signed by splicing bytes: its header block as it is
    (a changed charset or encoding header written as the generator writes it), the marker, and
    the new body; exactly what :func:`_sign_mime` writes for it, without parsing and writing
    the whole message again. ``None`` when the message needs :func:`_sign_mime`: not a single
    text/plain or text/html part, or a header block that is not plain ``name: value`` lines and
    continuations, each ending in the message's line end, then one empty line (for anything
    else the email parser's reading of the message decides)."""
    nl = _linesep(raw).encode("ascii")
    end = raw.find(nl + nl)
    if end <= 0:
        return None
    head = raw[: end + len(nl)]
    lines = head.split(nl)[:-1]
    if head.count(b"\r") + head.count(b"\n") != len(nl) * len(lines) or not all(
        _FIELD.match(line) or line[:1] in (b" ", b"\t") for line in lines
    ):
        return None
    msg = BytesHeaderParser(policy=_VERBATIM).parsebytes(head)  # the same header reading as the MIME path
    if msg.get(SIGNED_HEADER) is not None:
        return raw
    if msg.defects or msg.get_content_maintype() != "text" or [msg] != _body_parts(msg):
        return None
    headers = list(msg.raw_items())
    msg.set_payload(raw[end + 2 * len(nl) :].decode("ascii", "surrogateescape"))  # as the parser sets it
    payload = _sign_part(msg, signature, disclaimer)
    if list(msg.raw_items()) != headers:  # the charset or the encoding changed: written as the generator does
        policy = _VERBATIM.clone(linesep=nl.decode("ascii"))
        head = b"".join(policy.fold_binary(name, value) for name, value in msg.raw_items())
    body = _LINE_END.sub(nl.decode("ascii"), payload)  # the generator writes every line end as nl
    return head + _SIGNED_LINE + nl + nl + body.encode("ascii", "surrogateescape")


def _sign_mime(raw: bytes, signature: str, disclaimer: str) -> bytes:
    """Sign any MIME shape: parse the whole message, sign its body parts, write it out again."""
    msg = email.message_from_bytes(raw, policy=_VERBATIM)
    if msg.get(SIGNED_HEADER) is not None:
        return raw
    parts = _body_parts(msg)
    if not parts:
        extra = MIMEText(_signature_text(signature, disclaimer, "\n").lstrip("\n"), "plain", "utf-8")
        if msg.get_content_type() == "multipart/mixed" and isinstance(msg.get_payload(), list):
            msg.get_payload().insert(0, extra)
        else:
            inner = Message()
            for name in [k for k in msg.keys() if k.lower().startswith("content-")]:
                for value in msg.get_all(name, []):
                    inner[name] = value
                del msg[name]
            inner.set_payload(msg.get_payload())
            if inner.get("Content-Type") is None:
                inner["Content-Type"] = "text/plain"
            msg.set_payload([extra, inner])
            msg["Content-Type"] = 'multipart/mixed; boundary="' + email.generator._make_boundary() + '"'
    for part in parts:
        _sign_part(part, signature, disclaimer)
    msg[SIGNED_HEADER] = _SIGNED_VALUE
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(
        msg, unixfrom=msg.get_unixfrom() is not None, linesep=_linesep(raw)
    )
    return out.getvalue()
