"""Reading a live POP3 mailbox as a sample, **without deleting anything**.

:func:`iter_pop3` logs in with :class:`~mailsupport.tenant.ServerSettings` through the kit's one
POP3 client, :class:`~mailsupport.pop3.Pop3Client` (verified TLS, STLS, XOAUTH2, plaintext
login only with ``allow_plaintext_auth``, the RFC 3206 ``[AUTH]``/``[IN-USE]`` advice, every
read bounded in bytes and time, echoed secrets scrubbed), lists the messages and fetches
each with ``RETR`` (or only its header with ``TOP n 0`` when ``headers_only``), pipelined when
the server offers it. It never sends ``DELE``; it ends with ``RSET`` then ``QUIT`` so even a
server that had marked something cannot apply it (RFC 1939 §5, §6: deletions happen only in
the UPDATE state, and RSET unmarks them). Note that some providers (Gmail's "POP download"
setting) may treat a RETR as "downloaded" on their side; ``headers_only`` avoids RETR.

A message listed over ``limits.max_message_bytes`` is not read: its row says so and what to
do. A message the server refuses, or that breaks a limit or a deadline, is a row with its
problem; when the session is lost that way, every message not read yet is a row saying so.
Connecting and logging in raise the client's errors (:class:`~mailsupport.errors.ConnectError`,
:class:`~mailsupport.errors.AuthError`, :class:`~mailsupport.errors.ConfigError`...).

Layer 3 (through the POP3 client, the only socket user here).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import ProtocolError
from ..limits import DEFAULT_LIMITS, Deadline, Limits
from ..pop3 import Pop3Client
from ..tenant import ServerSettings
from .readers import RawMessage

__all__ = ["iter_pop3"]

#: Steps before the session's own deadline is known: connect, greeting, STLS, USER, PASS, CAPA, STAT.
_LOGIN_STEPS = 8


def iter_pop3(
    settings: ServerSettings, *, headers_only: bool = False, limit: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> Iterator[RawMessage]:
    """Yield every message of the mailbox (first ``limit`` only if given), never deleting.

    ``position`` is the POP3 message number (RFC 1939 §4); ``source`` is ``pop3://host:port``.
    A message that cannot be read becomes a :class:`RawMessage` with ``problem``.
    """
    source = f"pop3://{settings.endpoint}"
    client = Pop3Client(
        settings,
        limits=limits,
        session=Deadline(
            limits.session_seconds(settings.timeout, steps=_LOGIN_STEPS), "POP3 log-in", server=settings.endpoint
        ),
    )
    client.open()
    try:
        client.capabilities()
        count, octets = client.stat()
        client.session = Deadline(
            limits.session_seconds(settings.timeout, steps=3 * count + 4, expected_bytes=octets + count * 80),
            "POP3 session",
            server=settings.endpoint,
        )
        sizes = client.list_sizes()
        numbers = sorted(sizes)[:limit] if limit is not None else sorted(sizes)
        wanted = [n for n in numbers if sizes[n] <= limits.max_message_bytes]
        fetched = (client.top_many if headers_only else client.retr_many)(wanted)
        lost = ""
        for n in numbers:
            if sizes[n] > limits.max_message_bytes:
                yield RawMessage(
                    source=source,
                    position=str(n),
                    problem=f"listed as {sizes[n]:,} octets, over the limit of "
                    f"{limits.max_message_bytes:,}; not read (if it is genuine, raise the "
                    "limit: mailsupport scan --max-message-mb)",
                )
                continue
            if lost:
                yield RawMessage(source=source, position=str(n), problem=f"not read: {lost}")
                continue
            _n, result = next(fetched)
            if isinstance(result, ProtocolError):
                yield RawMessage(source=source, position=str(n), problem=f"not read: {result}")
                if not client.connected:
                    lost = f"the session ended at message {n} ({result})"
                continue
            yield RawMessage(source=source, position=str(n), data=result)
        if client.connected:
            try:
                client.rset()  # RFC 1939 §5: unmark anything, so QUIT's UPDATE state deletes nothing
                client.quit()
            except ProtocolError:
                pass  # nothing was marked; closing without QUIT applies nothing either
    finally:
        client.abort()
