"""The failed-mail forward: the original attached as ``message/rfc822``, the reason in the body.

Owns :func:`failed_forward`. The original is attached byte for byte, only its line ends made
CRLF (bare CR and bare LF too, so no dot shape in it can end the DATA early): a
``message/rfc822`` body may not be base64 or quoted-printable (RFC 2046 §5.2.1), so it is
declared ``8bit`` when it has 8-bit bytes and ``7bit`` otherwise; a message that does not even
parse is still attached, unchanged, so nothing the customer sent is lost.

The anti-loop marker proves itself: its value is an HMAC of the forward's Message-ID under
the store's secret key (:func:`forward_marker`), so a sender who adds the header to stop an
unroutable message reaching the failed-emails address is ignored (:func:`check_marker`).

Pure: ``message_id``, ``date`` and the key are passed in (only :func:`plan_failed_forward`,
which the fetcher and ingester call, reads the clock to make them). Must not import clients
or the store.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import replace
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import Enum
from typing import Any

from ..headerblock import parse_fields, split_header_block
from ..routing import RouteDecision, RouteKind
from ..signature import check_header_value, crlf_line_ends
from ..tenant import Tenant

__all__ = ["failed_forward", "plan_failed_forward", "FORWARD_MARKER", "MarkerCheck", "check_marker", "forward_marker"]

#: Marks our own failed-mail forwards, so one that comes back (a failed-emails address on the
#: catch-all domain) is never forwarded again: no mail loop. Its value carries a proof
#: (:func:`forward_marker`); a marker without it is anyone's header and is ignored.
FORWARD_MARKER = "X-Mailsupport-Forward"
_MAC_CONTEXT = b"mailsupport failed-forward marker v1\0"
_MAC = re.compile(r"\bmac=([0-9a-fA-F]{32})\b")


def _subject(raw: bytes) -> str:
    for name, value in parse_fields(split_header_block(raw)[0]):
        if name.lower() == "subject":
            try:
                text = str(make_header(decode_header(value)))
            except Exception:  # noqa: BLE001 - any broken encoded-word: show it raw
                text = value
            return " ".join(text.split())[:150]
    return "(no subject)"


def failed_forward(
    raw: bytes, decision: RouteDecision, *, from_addr: str, to_addr: str, message_id: str, date: str, key: bytes
) -> bytes:
    """A message to ``to_addr`` explaining why ``raw`` could not be filed, with ``raw`` attached;
    its :data:`FORWARD_MARKER` is proved with the store's secret ``key`` (:func:`forward_marker`)."""
    for field, value in (
        ("failed-email From", from_addr),
        ("failed-email To", to_addr),
        ("Message-ID", message_id),
        ("Date", date),
    ):
        check_header_value(field, value)
    head = EmailMessage(policy=email_policy.SMTP)
    head["From"] = from_addr
    head["To"] = to_addr
    head["Subject"] = f"Failed email: {_subject(raw)}"
    head["Date"] = date
    head["Message-ID"] = message_id
    head["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-replies to this
    head[FORWARD_MARKER] = forward_marker(key, message_id)
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
    return b"".join(
        [
            header_block,
            b"This is a MIME-formatted message.\r\n",
            b"--" + b + b"\r\n",
            text_part,
            b"\r\n",
            b"--" + b + b"\r\n",
            b"Content-Type: message/rfc822\r\n",
            f"Content-Transfer-Encoding: {cte}\r\n".encode(),
            b'Content-Disposition: attachment; filename="original.eml"\r\n\r\n',
            original,
            b"--" + b + b"--\r\n",
        ]
    )


class MarkerCheck(Enum):
    """What the top header block's :data:`FORWARD_MARKER` says about a message."""

    NONE = "none"  #: no marker
    OURS = "ours"  #: a marker this store's key proves we wrote: our own forward came back
    NOT_OURS = "not ours"  #: a marker without a valid proof: anyone can write a header, so it is ignored


def _identity(message_id: str) -> bytes:
    return "".join(message_id.split()).encode("utf-8", "surrogateescape")


def forward_marker(key: bytes, message_id: str) -> str:
    """The :data:`FORWARD_MARKER` value of the forward whose Message-ID is ``message_id``:
    ``failed; mac=`` and the HMAC-SHA256 (RFC 2104, first 128 bits) of that Message-ID under
    the store's secret ``key``. Only a holder of the key can make one that checks."""
    mac = hmac.new(key, _MAC_CONTEXT + _identity(message_id), hashlib.sha256).hexdigest()[:32]
    return f"failed; mac={mac}"


def check_marker(raw: bytes, key: bytes) -> MarkerCheck:
    """Whether ``raw``'s top header block carries a forward marker, and whether ``key`` proves it ours."""
    fields = parse_fields(split_header_block(raw)[0])
    name = FORWARD_MARKER.lower()
    values = [v for n, v in fields if n.lower() == name]
    if not values:
        return MarkerCheck.NONE
    message_id = next((v for n, v in fields if n.lower() == "message-id"), "")
    if message_id.strip():
        expected = forward_marker(key, message_id).encode()
        for value in values:
            m = _MAC.search(value)
            if m and hmac.compare_digest(f"failed; mac={m.group(1).lower()}".encode(), expected):
                return MarkerCheck.OURS
    return MarkerCheck.NOT_OURS


def plan_failed_forward(
    tenant: Tenant, raw: bytes, decision: RouteDecision, domain: str | None = None, *, key: Callable[[], bytes]
) -> tuple[RouteDecision, list[dict[str, Any]]]:
    """The decision (its trace noting any forward marker) and the queue entries (``Store.enqueue``
    keywords) it causes: the failed forward, or none.

    ``key`` returns the store's secret (``Store.forward_key``; asked only for a failed
    decision). A message whose marker the key proves ours is our own forward come back: not
    forwarded again (no mail loop). A marker without that proof is ignored and said so in the
    trace: the message is forwarded like any unroutable one (its forward carries our marker,
    so it is forwarded once).
    """
    if decision.kind is not RouteKind.FAILED:
        return decision, []
    secret = key()
    check = check_marker(raw, secret)
    if check is MarkerCheck.OURS:
        note = (
            f"{FORWARD_MARKER}: our own failed-mail forward (its proof matches this store's key): "
            "not forwarded again, so no mail loop"
        )
        return replace(decision, trace=(*decision.trace, note)), []
    if check is MarkerCheck.NOT_OURS:
        note = (
            f"{FORWARD_MARKER} present but not written by this kit (no proof matching this store's key): "
            "ignored; handled like any unroutable message"
        )
        decision = replace(decision, trace=(*decision.trace, note))
    if not tenant.failed_email_address:
        return decision, []
    sender = (
        tenant.outbound.from_address
        or (tenant.inbound.address if tenant.inbound else "")
        or tenant.failed_email_address
    )
    mid = make_msgid(domain=domain or sender.rpartition("@")[2] or None)
    fwd = failed_forward(
        raw,
        decision,
        from_addr=sender,
        to_addr=tenant.failed_email_address,
        message_id=mid,
        date=formatdate(localtime=False),
        key=secret,
    )
    return decision, [
        {"raw": fwd, "mail_from": sender, "rcpt_tos": [tenant.failed_email_address], "matter": "", "message_id": mid}
    ]
