"""The push paths into the same router: wildcard SMTP delivery and ``.eml`` ingestion.

Owns :func:`decide` (route one raw message, never raising), :func:`ingest_message`,
:func:`ingest_files` (the plugin path, ``mailsupport ingest``) and :func:`wildcard_handler`
(the wildcard path: the sandbox's ``on_wildcard(rcpt, raw)`` hook files mail to
``<matterID>@<orgkey>.<wildcard domain>`` at once, with the SMTP ``RCPT TO`` as the
envelope, no polling).

Ingested messages are stored like fetched ones (durably, with their decision, the failed
forward queued in the same transaction); the same bytes ingested twice are stored once.
Reading a message is bounded like retrieving one (:func:`read_limited`, ``max_bytes``,
default :data:`~mailsupport.limits.DEFAULT_LIMITS`' ``max_message_bytes``): a bigger file is
reported with its size and the limit, and not read further.

Layer 4. Must not import presentation modules or the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import StoreError
from ..headerblock import parse_fields, split_header_block
from ..limits import DEFAULT_LIMITS
from ..routing import RouteDecision, RouteKind, referenced_message_ids, route_message
from ..samples.files import read_regular
from ..store import Store
from ..tenant import Tenant
from .failed import plan_failed_forward

__all__ = [
    "decide",
    "IngestResult",
    "ingest_message",
    "ingest_files",
    "ingest_stream",
    "wildcard_handler",
    "read_limited",
]


def decide(
    tenant: Tenant, raw: bytes, store: Store | None = None, *, envelope_recipients: Sequence[str] | None = None
) -> tuple[RouteDecision, bool]:
    """Route ``raw`` (looking up our sent Message-IDs in ``store``); returns ``(decision, unreadable)``.

    Never raises for message content: an unexpected router error becomes a failed decision
    naming the error. ``unreadable`` is true when no header field could be read at all.
    """
    try:
        fields = parse_fields(split_header_block(raw)[0])
        sent = store.sent_matters(referenced_message_ids(fields)) if store is not None else {}
        decision = route_message(tenant, fields, envelope_recipients=envelope_recipients, sent_matters=sent)
        return decision, not fields
    except Exception as exc:  # noqa: BLE001 - one bad message must never stop the batch
        return RouteDecision(
            kind=RouteKind.FAILED,
            target=tenant.failed_email_address or "",
            reason=f"the router could not read this message ({type(exc).__name__}: {exc})",
            trace=(f"router error: {type(exc).__name__}",),
        ), True


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    """One ingested message: where it came from, its decision, and whether it was new."""

    source: str
    decision: RouteDecision
    created: bool
    forwarded_as_failed: bool
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "created": self.created,
            "forwarded_as_failed": self.forwarded_as_failed,
            "error": self.error,
            **self.decision.to_dict(),
        }


def ingest_message(
    tenant: Tenant,
    store: Store,
    raw: bytes,
    *,
    source: str = "ingest",
    envelope_recipients: Sequence[str] | None = None,
    message_domain: str | None = None,
) -> IngestResult:
    """Route and durably store one message pushed in directly. Raises :class:`StoreError` only."""
    decision, _unreadable = decide(tenant, raw, store, envelope_recipients=envelope_recipients)
    decision, enqueue = plan_failed_forward(tenant, raw, decision, message_domain, key=store.forward_key)
    stored = store.put_message(
        raw,
        account=f"{tenant.org_key}:{source.split(':')[0]}",
        uidl=None,
        source=source.split(":")[0],
        decision=decision.to_dict(),
        enqueue=enqueue,
    )
    return IngestResult(
        source=source, decision=decision, created=stored.created, forwarded_as_failed=bool(enqueue) and stored.created
    )


def read_limited(stream: IO[bytes], max_bytes: int) -> bytes | None:
    """At most ``max_bytes`` from ``stream`` (a file, stdin); ``None`` when it holds more (one
    byte more is read to tell, nothing else)."""
    data = stream.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def _too_large(what: str, max_bytes: int, size: int | None = None) -> str:
    """The error for a message over ``max_bytes`` (``size`` when known)."""
    weighs = f"is {size:,} bytes" if size is not None else "holds more"
    return (
        f"{what} {weighs}, over the limit of {max_bytes:,} bytes for one message; not ingested (if it is "
        "genuine, raise the limit: --max-message-mb)"
    )


def _not_ingested(source: str, error: str, reason: str) -> IngestResult:
    return IngestResult(
        source=source,
        created=False,
        forwarded_as_failed=False,
        error=error,
        decision=RouteDecision(kind=RouteKind.FAILED, target="", reason=reason),
    )


def _read_file(path: Path, max_bytes: int) -> bytes | IngestResult:
    # a regular file within the cap; a FIFO, a device or a bigger file is reported, never read
    # (read_regular looks before opening and opens non-blocking, so nothing can block)
    raw, problem = read_regular(path, max_bytes)
    if problem:
        reason = "over the size limit" if "over the per-message cap" in problem else "file not readable"
        return _not_ingested(str(path), f"cannot ingest {path}: {problem}", reason)
    return raw


def ingest_stream(
    tenant: Tenant,
    store: Store,
    stream: IO[bytes],
    *,
    source: str = "ingest:-",
    envelope_recipients: Sequence[str] | None = None,
    max_bytes: int = DEFAULT_LIMITS.max_message_bytes,
) -> IngestResult:
    """Ingest the one message ``stream`` holds (standard input), read up to ``max_bytes``;
    too big, or not stored, is a result with its error."""
    name = source.partition(":")[2] or source
    raw = read_limited(stream, max_bytes)
    if raw is None:
        return _not_ingested(
            name, _too_large("standard input" if name == "-" else name, max_bytes), "over the size limit"
        )
    try:
        return ingest_message(tenant, store, raw, source=source, envelope_recipients=envelope_recipients)
    except StoreError as exc:
        return _not_ingested(name, str(exc), "not stored")


def ingest_files(
    tenant: Tenant,
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    *,
    envelope_recipients: Sequence[str] | None = None,
    max_bytes: int = DEFAULT_LIMITS.max_message_bytes,
) -> list[IngestResult]:
    """Ingest ``.eml`` files (the plugin path). An unreadable file is reported, not fatal: one that
    is missing, not a regular file (a FIFO, a device) or over ``max_bytes``.

    ``envelope_recipients`` are used as the SMTP envelope when the caller knows it; otherwise
    the tenant's catch-all header choice decides, exactly as for fetched mail.
    """
    out = []
    for p in paths:
        path = Path(p)
        raw = _read_file(path, max_bytes)
        if isinstance(raw, IngestResult):
            out.append(raw)
            continue
        try:
            out.append(
                ingest_message(tenant, store, raw, source=f"ingest:{path}", envelope_recipients=envelope_recipients)
            )
        except StoreError as exc:
            out.append(_not_ingested(str(path), str(exc), "not stored"))
    return out


def wildcard_handler(tenant: Tenant, store: Store) -> Callable[[str, bytes], RouteDecision]:
    """A callable ``(rcpt, raw) -> RouteDecision`` for the sandbox's ``on_wildcard`` hook."""

    def on_wildcard(rcpt: str, raw: bytes) -> RouteDecision:
        return ingest_message(tenant, store, raw, source="wildcard", envelope_recipients=(rcpt,)).decision

    return on_wildcard
