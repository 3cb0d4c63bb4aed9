"""The failed-mail forward: the original attached as ``message/rfc822``, the reason in the body.

Owns :func:`failed_forward`. The original is attached byte for byte, only its line ends made
CRLF (bare CR and bare LF too, so no dot shape in it can end the DATA early): a
``message/rfc822`` body may not be base64 or quoted-printable (RFC 2046 §5.2.1), so it is
declared ``8bit`` when it has 8-bit bytes and ``7bit`` otherwise; a message that does not even
parse is still attached, unchanged, so nothing the customer sent is lost.

Pure: ``message_id`` and ``date`` are passed in (only :func:`forward_items`, which the
fetcher and ingester call, reads the clock to make them). Must not import clients or the store.
"""

from __future__ import annotations

import hashlib
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from ..headerblock import parse_fields, split_header_block
from ..config import Tenant
from ..routing import RouteDecision, RouteKind
from ..signature import check_header_value, crlf_line_ends

__all__ = ["failed_forward", "forward_items", "FORWARD_MARKER", "is_failed_forward"]

#: Marks our own failed-mail forwards, so one that comes back (a failed-emails address on the
#: catch-all domain) is never forwarded again: no mail loop.
FORWARD_MARKER = "X-Mailsupport-Forward"


def _subject(raw: bytes) -> str:
    for name, value in parse_fields(split_header_block(raw)[0]):
        if name.lower() == "subject":
            try:
                text = str(make_header(decode_header(value)))
            except Exception:  # noqa: BLE001 - any broken encoded-word: show it raw
                text = value
            return " ".join(text.split())[:150]
    return "(no subject)"


def failed_forward(raw: bytes, decision: RouteDecision, *, from_addr: str, to_addr: str,
                   message_id: str, date: str) -> bytes:
    """A message to ``to_addr`` explaining why ``raw`` could not be filed, with ``raw`` attached."""
    for field, value in (("failed-email From", from_addr), ("failed-email To", to_addr),
                         ("Message-ID", message_id), ("Date", date)):
        check_header_value(field, value)
    head = EmailMessage(policy=email_policy.SMTP)
    head["From"] = from_addr
    head["To"] = to_addr
    head["Subject"] = f"Failed email: {_subject(raw)}"
    head["Date"] = date
    head["Message-ID"] = message_id
    head["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-replies to this
    head[FORWARD_MARKER] = "failed"
    head["MIME-Version"] = "1.0"
    body = EmailMessage(policy=email_policy.SMTP)
    lines = [
        "This email could not be filed to a matter or user, so it is forwarded here.",
        "",
        f"Reason: {decision.reason}",
        f"Envelope recipients ({decision.recipient_source or 'none'}): "
        f"{', '.join(decision.recipients) or '(none found)'}",
        "",
        "How the router decided:",
        *(f"  - {step}" for step in decision.trace),
        "",
        "The original email is attached unchanged.",
    ]
    body.set_content("\n".join(lines))
    original = crlf_line_ends(raw)
    if not original.endswith(b"\r\n"):
        original += b"\r\n"
    seed = hashlib.sha256(raw).hexdigest()[:24]
    boundary = f"=_failed_{seed}"
    n = 0
    while boundary.encode() in original:
        n += 1
        boundary = f"=_failed_{seed}_{n}"
    head["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
    cte = "7bit" if original.isascii() else "8bit"
    del body["MIME-Version"]  # only the top level carries it (RFC 2045 §4)
    text_part = body.as_bytes(policy=email_policy.SMTP)
    b = boundary.encode()
    header_block = b"".join(email_policy.SMTP.fold_binary(k, v) for k, v in head.items()) + b"\r\n"
    return b"".join([
        header_block,
        b"This is a MIME-formatted message.\r\n",
        b"--" + b + b"\r\n", text_part, b"\r\n",
        b"--" + b + b"\r\n",
        b"Content-Type: message/rfc822\r\n",
        f"Content-Transfer-Encoding: {cte}\r\n".encode(),
        b'Content-Disposition: attachment; filename="original.eml"\r\n\r\n',
        original,
        b"--" + b + b"--\r\n",
    ])


def is_failed_forward(raw: bytes) -> bool:
    """True when ``raw`` is one of our failed-mail forwards (its top header block has the marker)."""
    marker = FORWARD_MARKER.lower()
    return any(name.lower() == marker for name, _ in parse_fields(split_header_block(raw)[0]))


def forward_items(tenant: Tenant, raw: bytes, decision: RouteDecision,
                  domain: str | None = None) -> list[dict[str, Any]]:
    """The queue entries (``Store.enqueue`` keywords) a decision causes: the failed forward, or none."""
    if decision.kind is not RouteKind.FAILED or not tenant.failed_email_address or is_failed_forward(raw):
        return []
    sender = tenant.outbound.from_address or (tenant.inbound.address if tenant.inbound else "") \
        or tenant.failed_email_address
    mid = make_msgid(domain=domain or sender.rpartition("@")[2] or None)
    fwd = failed_forward(raw, decision, from_addr=sender, to_addr=tenant.failed_email_address,
                         message_id=mid, date=formatdate(localtime=False))
    return [{"raw": fwd, "mail_from": sender, "rcpt_tos": [tenant.failed_email_address], "matter": "",
             "message_id": mid}]
