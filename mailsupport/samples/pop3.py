"""Reading a live POP3 mailbox as a sample, **without deleting anything**.

:func:`iter_pop3` logs in with :class:`~mailsupport.config.ServerSettings`, lists the
messages and fetches each with ``RETR`` (or only its header with ``TOP n 0`` when
``headers_only``). It never sends ``DELE``; it ends with ``RSET`` then ``QUIT`` so even a
server that had marked something cannot apply it (RFC 1939 §5, §6: deletions happen only in
the UPDATE state, and RSET unmarks them). Note that some providers (Gmail's "POP download"
setting) may treat a RETR as "downloaded" on their side; ``headers_only`` avoids RETR.

TLS is verified through :func:`mailsupport.tlsutil.client_context`. Plaintext login on an
unencrypted connection happens only if ``allow_plaintext_auth`` is set.

Layer 3 (the only socket user here). Library errors are translated once into the kit's
:class:`~mailsupport.errors.OperationError` family; the password never appears in them.
"""

from __future__ import annotations

import poplib
from typing import Iterator

from ..config import ServerSettings, TlsMode
from ..errors import AuthError, ConfigError, ConnectError, ProtocolError
from ..tlsutil import client_context
from .readers import RawMessage

__all__ = ["iter_pop3"]


def _connect(settings: ServerSettings) -> poplib.POP3:
    if not settings.host or not settings.port:
        raise ConfigError("POP3 host and port are required to read a live mailbox",
                          path="inbound.server")
    ctx = client_context(verify=settings.verify_tls, ca_file=settings.ca_file)
    try:
        if settings.tls is TlsMode.IMPLICIT:
            return poplib.POP3_SSL(settings.host, settings.port, timeout=settings.timeout, context=ctx)
        conn = poplib.POP3(settings.host, settings.port, timeout=settings.timeout)
        if settings.tls is TlsMode.STARTTLS:
            conn.stls(context=ctx)
        return conn
    except poplib.error_proto as exc:
        raise ProtocolError(f"server refused TLS set-up: {exc}", server=settings.endpoint) from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect: {exc}; check host, port and TLS mode",
                           server=settings.endpoint) from exc


def iter_pop3(settings: ServerSettings, *, headers_only: bool = False,
              limit: int | None = None) -> Iterator[RawMessage]:
    """Yield every message of the mailbox (first ``limit`` only if given), never deleting.

    ``position`` is the POP3 message number (RFC 1939 §4); ``source`` is ``pop3://host:port``.
    A message the server fails to return becomes a :class:`RawMessage` with ``problem``.
    """
    if settings.tls is TlsMode.NONE and not settings.allow_plaintext_auth:
        raise ConfigError("refusing to send a password over an unencrypted POP3 connection; "
                          "use tls = implicit or starttls, or set allow_plaintext_auth = true",
                          path="inbound.server.tls")
    if settings.password is None or settings.username is None:
        raise ConfigError("POP3 username and password are required", path="inbound.server.password")
    source = f"pop3://{settings.endpoint}"
    conn = _connect(settings)
    try:
        try:
            conn.user(settings.username)
            conn.pass_(settings.password.reveal())
        except poplib.error_proto as exc:
            text = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise AuthError(f"login rejected for {settings.username}: {text}",
                            server=settings.endpoint) from None
        try:
            _resp, listing, _octets = conn.list()
        except poplib.error_proto as exc:
            raise ProtocolError(f"LIST failed: {exc}", server=settings.endpoint) from exc
        numbers = [int(line.split()[0]) for line in listing if line.split()]
        if limit is not None:
            numbers = numbers[:limit]
        for n in numbers:
            try:
                if headers_only:
                    _r, lines, _o = conn.top(n, 0)
                else:
                    _r, lines, _o = conn.retr(n)
            except poplib.error_proto as exc:
                yield RawMessage(source=source, position=str(n), problem=f"server refused message {n}: {exc}")
                continue
            yield RawMessage(source=source, position=str(n), data=b"\r\n".join(lines) + b"\r\n")
    except OSError as exc:
        raise ConnectError(f"connection lost: {exc}", server=settings.endpoint) from exc
    finally:
        try:
            conn.rset()  # RFC 1939 §5: unmark anything, so QUIT's UPDATE state deletes nothing
            conn.quit()
        except (poplib.error_proto, OSError):
            conn.close()
