"""Deterministic faults: a stage, a match and a reply or action — same input, same failure.

A :class:`Fault` fires when a server reaches ``stage`` (for ``service`` ``smtp``, ``pop3`` or
either) and the stage's *subject* matches ``match`` (a case-insensitive shell pattern,
:mod:`fnmatch`). Subjects per stage:

=============  ==============================================================
stage          subject
=============  ==============================================================
``connect``    the listener name (``mx``, ``smtp``, ``smtp_tls``, ``pop3``, ``pop3_tls``)
``greeting``   the listener name
``starttls``   the listener name (SMTP STARTTLS and POP3 STLS)
``auth``       the user name given (USER, APOP, AUTH, SMTP AUTH)
``mail``       the envelope sender
``rcpt``       the recipient address
``data``       the recipients, comma-separated (checked after the message is received)
``retr``/``top``/``dele``  the message number *or* its UIDL
``list``/``uidl``/``stat`` the message number argument, or ``""``
``quit``       the user name of the session (``""`` before login)
=============  ==============================================================

Actions (:class:`Action`): ``reply`` sends ``reply`` instead of the normal answer (the
session goes on; at ``greeting`` the connection is then closed); ``drop`` closes the
connection without a word; ``stall`` waits ``seconds`` (``None`` = until the client gives
up) and then carries on normally; ``wrong-greeting`` greets with the other protocol's
banner (or ``reply``) and answers every command with that protocol's error;
``partial`` (``retr``/``top`` only) sends the ``+OK`` line and half of the message, then drops.

Faults never use randomness or counters. This module is pure (no I/O); the servers
consult a :class:`FaultSet`.
"""

from __future__ import annotations

import enum
import fnmatch
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Stage", "Action", "Fault", "FaultSet"]


class Stage(str, enum.Enum):
    """Where in a session a fault can fire."""

    CONNECT = "connect"
    GREETING = "greeting"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    STAT = "stat"
    LIST = "list"
    UIDL = "uidl"
    TOP = "top"
    RETR = "retr"
    DELE = "dele"
    QUIT = "quit"

    def __str__(self) -> str:
        return self.value


class Action(str, enum.Enum):
    """What a fault does when it fires."""

    REPLY = "reply"
    DROP = "drop"
    STALL = "stall"
    WRONG_GREETING = "wrong-greeting"
    PARTIAL = "partial"

    def __str__(self) -> str:
        return self.value


_SMTP_ONLY = {Stage.MAIL, Stage.RCPT, Stage.DATA}
_POP3_ONLY = {Stage.STAT, Stage.LIST, Stage.UIDL, Stage.TOP, Stage.RETR, Stage.DELE}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One deterministic failure: ``stage`` + ``match`` (+ ``service``) → ``action``/``reply``.

    ``reply`` is the exact line(s) sent (without the final CRLF; several lines separated by
    ``\\r\\n``), e.g. ``"451 4.3.0 Error: queue file write error"`` or
    ``"-ERR [SYS/TEMP] Mailbox temporarily unavailable"``. Empty means a sensible temporary
    failure for the stage. ``seconds`` is the stall length (``None``: stall until closed).
    """

    stage: Stage
    action: Action = Action.REPLY
    match: str = "*"
    reply: str = ""
    service: str = "any"
    seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))
        object.__setattr__(self, "action", Action(self.action))
        if self.service not in ("any", "smtp", "pop3"):
            raise ValueError(f"Fault.service must be 'any', 'smtp' or 'pop3', got {self.service!r}")
        if self.stage in _SMTP_ONLY and self.service == "pop3" or self.stage in _POP3_ONLY and self.service == "smtp":
            raise ValueError(f"stage {self.stage.value!r} does not exist in {self.service}")
        if self.action is Action.PARTIAL and self.stage not in (Stage.RETR, Stage.TOP):
            raise ValueError("action 'partial' only applies to the retr and top stages")
        if self.action is Action.WRONG_GREETING and self.stage is not Stage.GREETING:
            raise ValueError("action 'wrong-greeting' only applies to the greeting stage")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError("Fault.seconds must be >= 0 or None (stall until the client closes)")
        if "\n" in self.reply.replace("\r\n", ""):
            raise ValueError("Fault.reply lines must be separated by CRLF")

    def applies(self, service: str, stage: Stage, subjects: Iterable[str]) -> bool:
        """True when this fault fires for ``service`` at ``stage`` with any of ``subjects``."""
        if self.stage is not stage or self.service not in ("any", service):
            return False
        pattern = self.match.lower()
        return any(fnmatch.fnmatchcase(str(s).lower(), pattern) for s in subjects)

    def reply_for(self, service: str) -> str:
        """The reply to send: the configured one, or a temporary failure in the service's syntax."""
        if self.reply:
            return self.reply
        if service == "pop3":
            return f"-ERR [SYS/TEMP] sandbox fault at {self.stage.value}: try again later"
        if self.stage is Stage.GREETING:
            return "421 4.3.2 Service not available, closing transmission channel"
        return f"451 4.3.0 Sandbox fault at {self.stage.value}: try again later"


class FaultSet:
    """The faults in force, in order; the first that applies wins. Thread-safe."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: tuple[Fault, ...] = tuple(faults)

    def __repr__(self) -> str:
        return f"FaultSet({list(self._faults)!r})"

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults in force."""
        return self._faults

    def add(self, fault: Fault) -> None:
        """Add a fault after the existing ones."""
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, got {type(fault).__name__}")
        with self._lock:
            self._faults = self._faults + (fault,)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults = ()

    def find(self, service: str, stage: Stage, *subjects: str) -> Fault | None:
        """The first fault for ``service``/``stage`` matching any subject, else ``None``."""
        for fault in self._faults:
            if fault.applies(service, stage, subjects or ("",)):
                return fault
        return None
