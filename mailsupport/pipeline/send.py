"""Sending: compose, sign, size-check and queue outgoing mail, then deliver the queue over SMTP.

Owns :func:`submit`, :func:`enqueue_message`, :func:`enqueue_messages`, :func:`send_queued`,
:class:`OutgoingMessage`, :class:`SendSummary` and :data:`BACKOFF`.

* :func:`submit` composes the message (CR/LF in any field refused), adds the signature (the
  user's, else the division's) and the disclaimer, refuses a message over the tenant's size
  limit *before* it is queued (:class:`~mailsupport.errors.MessageTooLarge` with size and
  limit), and queues it with its Message-ID and matter. :func:`enqueue_messages` queues a
  batch of composed messages in one durable transaction (group commit: one fsync, not one per
  message).
* :func:`send_queued` sends every due message over one connection to the tenant's server (or
  the vendor relay). A 4xx reply keeps the message queued with the next attempt after
  :data:`BACKOFF`; a 5xx marks it failed with the server's reply; a connection that drops
  (mid-DATA included) keeps the rest queued. Each sent Message-ID is recorded with its
  matter so replies route back to it. A server that is too slow, answers without end or
  answers nonsense ends the pass the same way (the SMTP client bounds every step; the pass as
  a whole has a deadline of the sum of its steps' budgets), its error naming the step. Error
  texts are scrubbed of the server's password/token here too, whatever the client did.

Send outcomes (sent, deferred, failed) are committed in groups (:data:`OUTCOMES_PER_COMMIT`)
at ``synchronous=NORMAL``: after a crash or power cut the last of them may be lost, and those
messages are sent again; a queued message is never lost.

Layer 4; the clock is read here (``now`` may be passed in for tests and replays).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate, make_msgid
from typing import Any

from ..errors import ConfigError, MessageTooLarge, OperationError, ProtocolError, SmtpRejected
from ..limits import DEFAULT_LIMITS, Deadline
from ..redact import Redactor
from ..signature import add_signature, compose_message, signature_for
from ..smtp import SmtpClient
from ..store import QueuedMessage, Store
from ..tenant import ServerSettings, Tenant
from .fetch import Checkpoint

__all__ = [
    "BACKOFF",
    "SendSummary",
    "OutgoingMessage",
    "submit",
    "enqueue_message",
    "enqueue_messages",
    "send_queued",
    "outbound_server",
]

#: Seconds to wait before attempt 2, 3, 4, ... after a 4xx (the last value repeats).
BACKOFF = (60.0, 300.0, 900.0, 3600.0)
#: After this many temporary failures the message is given up (reported as failed).
MAX_ATTEMPTS = 12
#: Send outcomes are committed together (a group commit at ``synchronous=NORMAL``) once this
#: many wait or :data:`OUTCOME_COMMIT_SECONDS` passed since the last commit, and when the pass
#: ends: a crash in between has those messages sent again, it never loses one.
OUTCOMES_PER_COMMIT = 32
OUTCOME_COMMIT_SECONDS = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class SendSummary:
    """What one pass over the queue did; ``errors`` carry the server's reply and the stage."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    still_queued: int = 0
    errors: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sent": self.sent,
            "deferred": self.deferred,
            "failed": self.failed,
            "still_queued": self.still_queued,
            "errors": [dict(e) for e in self.errors],
        }


def outbound_server(tenant: Tenant) -> ServerSettings:
    """The SMTP server the tenant sends through: the vendor relay when chosen, else its own."""
    if tenant.outbound.use_vendor_relay:
        if tenant.vendor_relay is None:
            raise ConfigError(
                "use_vendor_relay is set but the tenant has no [vendor_relay] settings",
                path="outbound.use_vendor_relay",
                source=tenant.source,
            )
        return tenant.vendor_relay
    return tenant.outbound.server


def submit(
    tenant: Tenant,
    store: Store,
    *,
    from_addr: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html_body: str | None = None,
    matter: str = "",
    from_name: str = "",
    cc: Sequence[str] = (),
    in_reply_to: str = "",
    references: Sequence[str] = (),
    now: float | None = None,
) -> str:
    """Compose, sign and queue a message; returns its Message-ID.

    Raises :class:`~mailsupport.signature.UnsafeHeaderError` for CR/LF in a field and
    :class:`MessageTooLarge` when the signed message exceeds ``tenant.size_limit``.
    """
    domain = from_addr.rpartition("@")[2] or None
    message_id = make_msgid(domain=domain)
    raw = compose_message(
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        html_body=html_body,
        message_id=message_id,
        date=formatdate(now if now is not None else time.time()),
        in_reply_to=in_reply_to,
        references=references,
    )
    enqueue_message(tenant, store, raw, mail_from=from_addr, rcpt_tos=[*to, *cc], matter=matter, message_id=message_id)
    return message_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """A composed message for :func:`enqueue_messages`: its bytes, envelope, matter and Message-ID."""

    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    matter: str = ""
    message_id: str = ""


def enqueue_message(
    tenant: Tenant,
    store: Store,
    raw: bytes,
    *,
    mail_from: str,
    rcpt_tos: Sequence[str],
    matter: str = "",
    message_id: str = "",
) -> int:
    """Sign an already composed message (signature of ``mail_from``'s user, else the division's,
    plus the disclaimer; a no-op if already signed), check the size limit, and queue it durably.

    Returns the queue id. Raises :class:`MessageTooLarge` (size and limit) before queueing.
    """
    return enqueue_messages(
        tenant,
        store,
        [OutgoingMessage(raw=raw, mail_from=mail_from, rcpt_tos=tuple(rcpt_tos), matter=matter, message_id=message_id)],
    )[0]


def enqueue_messages(tenant: Tenant, store: Store, messages: Sequence[OutgoingMessage]) -> list[int]:
    """:func:`enqueue_message` for a batch: every message is signed and size-checked first, then
    all are queued in one durable transaction (one ``synchronous=FULL`` commit instead of one
    per message). Returns the queue ids in order.

    All or nothing: a message over the limit raises :class:`MessageTooLarge` naming it, and an
    unsafe address or a message that cannot be signed raises too, before anything is queued.
    """
    rows = []
    for n, m in enumerate(messages, 1):
        raw = add_signature(m.raw, signature=signature_for(tenant, m.mail_from), disclaimer=tenant.disclaimer)
        if len(raw) > tenant.size_limit:
            which = f" (message {n} of {len(messages)}; none of them was queued)" if len(messages) > 1 else ""
            raise MessageTooLarge(
                f"the message to {', '.join(m.rcpt_tos)} is {len(raw)} bytes, over the tenant's "
                f"limit of {tenant.size_limit} bytes{which}; not sent (attach less or share a link)",
                size=len(raw),
                limit=tenant.size_limit,
            )
        rows.append(
            {
                "raw": raw,
                "mail_from": m.mail_from,
                "rcpt_tos": list(m.rcpt_tos),
                "matter": m.matter,
                "message_id": m.message_id,
            }
        )
    return store.enqueue_batch(rows)


def _backoff(attempts: int) -> float:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


class _Outcomes:
    """The pass's send outcomes waiting for their commit (see :data:`OUTCOMES_PER_COMMIT`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[dict[str, Any]] = []
        self._since = time.monotonic()

    def add(self, item: QueuedMessage, *, state: str, attempts: int, next_attempt: float, last_reply: str) -> None:
        """One message's outcome; a sent one also records its Message-ID -> matter."""
        self._waiting.append(
            {
                "queue_id": item.id,
                "state": state,
                "attempts": attempts,
                "next_attempt": next_attempt,
                "last_reply": last_reply,
                "sent_matter": item.matter if state == "sent" else "",
                "message_id": item.message_id,
            }
        )
        if len(self._waiting) >= OUTCOMES_PER_COMMIT or time.monotonic() - self._since >= OUTCOME_COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Commit every waiting outcome in one transaction."""
        self._store.record_outcomes(self._waiting)
        self._waiting.clear()
        self._since = time.monotonic()


def send_queued(
    tenant: Tenant,
    store: Store,
    *,
    now: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
    checkpoint: Checkpoint | None = None,
) -> SendSummary:
    """Send every queued message that is due, over one connection (see the module docstring).

    ``checkpoint("sent", n)`` is called when the server accepted the pass's ``n``-th message,
    before its outcome is recorded (the seam the crash test kills the process at).
    """
    now = time.time() if now is None else now
    due = store.queued(due_at=now)
    sent = deferred = failed = 0
    errors: list[dict[str, str]] = []
    if not due:
        return SendSummary(still_queued=len(store.queued()))
    settings = outbound_server(tenant)
    redact = Redactor.for_settings(settings)  # a second guard: the client scrubs its errors already
    # session: connect, EHLO x2, STARTTLS, AUTH, QUIT, then MAIL + DATA + final dot + RCPTs per message
    steps = 6 + sum(3 + len(item.rcpt_tos) for item in due)
    session = Deadline(
        DEFAULT_LIMITS.session_seconds(settings.timeout, steps, sum(len(item.raw) for item in due)),
        "send pass",
        server=settings.endpoint,
    )
    try:
        client = SmtpClient(settings, ssl_context=ssl_context, deadline=session).open()
    except OperationError as exc:
        errors.append(
            {
                "stage": getattr(exc, "step", "") or "connect",
                "message_id": "",
                "message": redact(f"{exc}; {len(due)} message(s) stay queued"),
            }
        )
        return SendSummary(still_queued=len(store.queued()), errors=tuple(errors))
    outcomes = _Outcomes(store)
    try:
        for item in due:
            attempts = item.attempts + 1
            if len(item.raw) > tenant.size_limit:
                failed += 1
                err = MessageTooLarge(
                    f"{len(item.raw)} bytes is over the limit of {tenant.size_limit}",
                    size=len(item.raw),
                    limit=tenant.size_limit,
                )
                outcomes.add(item, state="failed", attempts=attempts, next_attempt=now, last_reply=str(err))
                errors.append({"stage": "size", "message_id": item.message_id, "message": str(err)})
                continue
            try:
                reply = client.send(item.raw, item.mail_from, item.rcpt_tos)
            except MessageTooLarge as exc:
                failed += 1
                outcomes.add(item, state="failed", attempts=attempts, next_attempt=now, last_reply=str(exc))
                errors.append({"stage": "size", "message_id": item.message_id, "message": str(exc)})
                continue
            except SmtpRejected as exc:
                reply_text = redact(str(exc.reply))
                temporary = bool(getattr(exc.reply, "temporary", False))
                if temporary and attempts < MAX_ATTEMPTS:
                    deferred += 1
                    outcomes.add(
                        item,
                        state="queued",
                        attempts=attempts,
                        next_attempt=now + _backoff(attempts),
                        last_reply=reply_text,
                    )
                else:
                    failed += 1
                    outcomes.add(item, state="failed", attempts=attempts, next_attempt=now, last_reply=reply_text)
                errors.append(
                    {
                        "stage": exc.stage,
                        "message_id": item.message_id,
                        "message": redact(f"{exc}" + ("; stays queued, retried later" if temporary else "")),
                    }
                )
                continue
            except ProtocolError as exc:  # connection lost, or a step's deadline / limit / malformed reply
                deferred += 1
                outcomes.add(
                    item,
                    state="queued",
                    attempts=attempts,
                    next_attempt=now + _backoff(attempts),
                    last_reply=redact(str(exc)),
                )
                errors.append(
                    {
                        "stage": getattr(exc, "step", "") or "connection",
                        "message_id": item.message_id,
                        "message": redact(f"{exc}; this and the remaining messages stay queued"),
                    }
                )
                break
            sent += 1
            if checkpoint is not None:
                checkpoint("sent", sent)
            outcomes.add(item, state="sent", attempts=attempts, next_attempt=now, last_reply=str(reply))
    finally:
        try:
            outcomes.commit()
        finally:
            client.quit()
    return SendSummary(
        sent=sent, deferred=deferred, failed=failed, still_queued=len(store.queued()), errors=tuple(errors)
    )
