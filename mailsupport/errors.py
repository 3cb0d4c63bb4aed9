"""The exception tree of mailsupport.

Customer problems are *data* (returned :class:`~mailsupport.model.Finding` values);
exceptions mean the tool itself could not do its job. The tree::

    MailsupportError
    ├── ConfigError(path=...)          a tenant file or typed settings are unusable
    ├── SampleError(source=...)        a mailbox sample cannot be read at all
    ├── StoreError                     the local store cannot keep a message durably
    └── OperationError                 talking to a server failed
        ├── ConnectError               DNS, TCP or TLS could not be set up
        ├── AuthError                  credentials rejected
        │   └── LoginRefusedError      login refused for another reason (locked, in use, ...)
        ├── ProtocolError              the server said something we cannot work with
        │   ├── DeadlineExceeded(step)     a step or session ran past its wall-clock deadline
        │   └── LimitExceeded(what)        an answer ran past a size/line/count limit
        ├── SmtpRejected(reply, stage) an SMTP command got a 4xx/5xx reply
        ├── MessageTooLarge            refused before sending: over the size limit
        └── DnsError
            └── DnsTempError           a temporary DNS failure (timeout, SERVFAIL)

Outside the tree, :class:`RecordSyntaxError` (a ``ValueError``) is what the pure record parsers
(SPF, DMARC) raise for a customer's broken record; the diagnoses turn it into a finding, since a
customer problem is data, not a failure of the tool.

Messages say what happened (with values), where, and what to do. They never carry
secrets: :class:`~mailsupport.model.Secret` renders as ``***``.

This module imports only the standard library.
"""

from __future__ import annotations

__all__ = [
    "MailsupportError",
    "ConfigError",
    "SampleError",
    "StoreError",
    "OperationError",
    "ConnectError",
    "AuthError",
    "LoginRefusedError",
    "ProtocolError",
    "DeadlineExceeded",
    "LimitExceeded",
    "SmtpRejected",
    "MessageTooLarge",
    "DnsError",
    "DnsTempError",
    "RecordSyntaxError",
]


class MailsupportError(Exception):
    """Base of every error the kit raises on purpose."""


class ConfigError(MailsupportError, ValueError):
    """A tenant file or typed settings cannot be used.

    ``path`` is where the bad field is, as a dotted/indexed path such as
    ``users[2].aliases[0]``; ``source`` is the file (or ``"<settings>"``).
    """

    def __init__(self, message: str, *, path: str = "", source: str = "") -> None:
        self.path = path
        self.source = source
        self.reason = message
        where = ": ".join(p for p in (source, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class SampleError(MailsupportError):
    """A mailbox sample cannot be read at all (a single broken message is data, not this)."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class StoreError(MailsupportError):
    """The local store could not keep a message durably (disk full, permissions, ...)."""


class OperationError(MailsupportError):
    """Talking to a server failed. ``server`` is ``host:port`` when known."""

    def __init__(self, message: str, *, server: str = "") -> None:
        self.server = server
        super().__init__(f"{server}: {message}" if server else message)


class ConnectError(OperationError):
    """The connection could not be set up (DNS, TCP or TLS)."""


class AuthError(OperationError):
    """The server rejected the credentials."""


class LoginRefusedError(AuthError):
    """Login refused for a reason other than bad credentials (locked, in use, policy)."""


class ProtocolError(OperationError):
    """The server answered something the client cannot work with."""


class DeadlineExceeded(ProtocolError):
    """A step (``RETR 5``, the greeting, a doctor rung) or a whole session ran past its
    wall-clock deadline. ``step`` names the step, ``seconds`` the deadline it had."""

    def __init__(self, message: str, *, step: str = "", seconds: float = 0.0, server: str = "") -> None:
        self.step = step
        self.seconds = seconds
        super().__init__(message, server=server)


class LimitExceeded(ProtocolError):
    """A server's answer ran past a limit (a line, a multi-line answer, a message size).
    ``what`` names the limit (``line``, ``lines``, ``bytes``, ``message``), ``limit`` its value."""

    def __init__(self, message: str, *, what: str = "", limit: int = 0, server: str = "") -> None:
        self.what = what
        self.limit = limit
        super().__init__(message, server=server)


class SmtpRejected(OperationError):
    """An SMTP command was refused. ``reply`` is the server's reply, ``stage`` the command."""

    def __init__(self, message: str, *, reply: object = None, stage: str = "", server: str = "") -> None:
        self.reply = reply
        self.stage = stage
        super().__init__(message, server=server)


class MessageTooLarge(OperationError):
    """A message is over the size limit and was refused before sending."""

    def __init__(self, message: str, *, size: int = 0, limit: int = 0) -> None:
        self.size = size
        self.limit = limit
        super().__init__(message)


class DnsError(OperationError):
    """A DNS lookup failed for good (the name or answer is unusable)."""


class DnsTempError(DnsError):
    """A DNS lookup failed for now (timeout, SERVFAIL): try again later."""


class RecordSyntaxError(ValueError):
    """A DNS policy record (SPF, DMARC) breaks its grammar.

    ``record`` is the text, ``position`` the 0-based offset of the problem, ``reason`` the
    message without location; subclasses name the part it was found in (an SPF term, a DMARC
    tag) by :attr:`PART`. :meth:`marked` draws a caret under the problem.
    """

    #: what the record's parts are called (``term``, ``tag``), for the message
    PART = "part"

    def __init__(self, reason: str, *, record: str, position: int, part: str = "") -> None:
        self.reason = reason
        self.record = record
        self.position = position
        self.part = part
        where = f" in {self.PART} {part!r}" if part else ""
        super().__init__(f"{reason}{where} (at character {position + 1})")

    def marked(self) -> str:
        """The record with a caret line under the problem (non-printables shown escaped)."""
        shown = self.record.encode("unicode_escape").decode("ascii")
        prefix = self.record[: self.position].encode("unicode_escape").decode("ascii")
        return f"{shown}\n{' ' * len(prefix)}^ {self.reason}"
