"""How the POP3 client's failures become the kit's errors, each with what to do (pure: no socket).

:class:`~mailsupport.pop3.Pop3Client` runs every step through one translation
(:func:`translate`): a time-out is a :class:`~mailsupport.errors.DeadlineExceeded` naming the
step when the step's deadline ran out, a limit a :class:`~mailsupport.errors.LimitExceeded`,
an unreadable answer, a lost connection or a TLS failure a
:class:`~mailsupport.errors.ProtocolError`. A ``-ERR`` is :class:`Refused` until the step says
what it means: :func:`auth_error` for a login (RFC 3206 response codes with their advice),
:func:`tls_error` for a handshake.

Server words reach these messages only through the ``words`` function the client passes in
(secrets scrubbed, control characters escaped, cut short).

Layer 3 (it reads :mod:`ssl` exceptions): imports errors, pop3parse, tenant; opens no socket.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from .errors import (
    AuthError,
    ConnectError,
    DeadlineExceeded,
    LimitExceeded,
    LoginRefusedError,
    OperationError,
    ProtocolError,
)
from .pop3parse import AnswerError
from .tenant import TlsMode

__all__ = ["REFUSAL_CODES", "ADVICE", "Refused", "translate", "tls_error", "auth_error"]

#: RFC 3206 / RFC 2449 response codes that mean "not now / not like this", not "wrong password".
REFUSAL_CODES = ("IN-USE", "SYS/TEMP", "SYS/PERM", "LOGIN-DELAY")
#: What to do for each of :data:`REFUSAL_CODES`.
ADVICE = {
    "IN-USE": "another client holds the mailbox; close it (or wait) and retry",
    "LOGIN-DELAY": "the server limits how often this mailbox may log in; poll less often",
    "SYS/TEMP": "a temporary server problem; retry later",
    "SYS/PERM": "a permanent server problem; contact the provider",
}

#: Makes server words fit for a message (the client's scrubbing ``_words``).
Words = Callable[[bytes | str], str]


class Refused(Exception):
    """A ``-ERR`` answer (the connection is still in step); ``line`` is the whole status line."""

    def __init__(self, line: bytes, code: str) -> None:
        super().__init__("refused")
        self.line = line
        self.code = code


def translate(what: str, exc: BaseException, server: str, *, timeout: float, words: Words) -> OperationError | None:
    """The kit's error for ``exc`` raised during step ``what`` (``None``: not ours to translate).

    ``timeout`` is the read time-out that was in force (for "no data for N s").
    """
    if isinstance(exc, DeadlineExceeded):
        if exc.step == what:
            return exc
        return DeadlineExceeded(
            f"{what} stopped: the {exc.step} deadline of {round(exc.seconds, 1):g} s ran "
            "out; the server is too slow or sends data without end",
            step=what,
            seconds=exc.seconds,
            server=server,
        )
    if isinstance(exc, TimeoutError):
        return ProtocolError(f"{what} timed out: no data for {timeout:g} s", server=server)
    if isinstance(exc, LimitExceeded):
        return LimitExceeded(f"{what}: {exc}; the connection was closed", what=exc.what, limit=exc.limit, server=server)
    if isinstance(exc, AnswerError):
        return ProtocolError(f"{what}: {exc.expected}, got {words(exc.raw)}; the connection was closed", server=server)
    if isinstance(exc, OperationError):
        return exc
    if isinstance(exc, EOFError):
        return ProtocolError(f"the server closed the connection during {what}", server=server)
    if isinstance(exc, ssl.SSLError):
        return ProtocolError(f"TLS failed during {what} ({exc.reason or exc})", server=server)
    if isinstance(exc, OSError):
        return ProtocolError(f"connection lost during {what} ({exc.strerror or exc})", server=server)
    return None


def tls_error(exc: BaseException, server: str, tls: TlsMode) -> ConnectError:
    """A failed TLS handshake: a certificate not accepted, or another reason (port and TLS mode)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(
            f"the server's TLS certificate was not accepted ({exc.verify_message}); "
            "fix the certificate, give ca_file, or (only if you accept the risk) "
            "verify_tls = false",
            server=server,
        )
    reason = getattr(exc, "reason", None) or exc
    return ConnectError(
        f"TLS handshake failed ({reason}); check the port and TLS mode (now {tls.value})",
        server=server,
    )


def auth_error(exc: Refused, who: str, server: str, words: Words) -> AuthError:
    """A refused login: :class:`LoginRefusedError` with advice for an RFC 3206 code, else wrong credentials."""
    text = words(exc.line)
    if exc.code in REFUSAL_CODES:
        return LoginRefusedError(f"login for {who!r} refused [{exc.code}]: {text}; {ADVICE[exc.code]}", server=server)
    return AuthError(
        f"login for {who!r} rejected: {text}; check the user name and password (or app password)",
        server=server,
    )
