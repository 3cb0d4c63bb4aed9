"""Delivering into the sandbox as a named outside client would, and seeing what the server kept.

Owns :class:`InboundClient` (one SMTP session to the sandbox MX, reused for many transactions),
:class:`InboundDelivery` (what one transaction got: the reply, each refused recipient with the
server's words, and every copy the profile filed, kept or dropped as a duplicate) and
:func:`parse_xclient`. :meth:`Sandbox.deliver <mailsupport.sandbox.Sandbox.deliver>` raises when
every recipient is refused and says nothing about a partial refusal or where the copies went;
the replay of a customer's sample needs all of it, per message.

The client names the SMTP client the sample's entry hop recorded (its HELO and address) with
Postfix's XCLIENT command (https://www.postfix.org/XCLIENT_README.html: ``XCLIENT ADDR=…
HELO=…``, answered with a new greeting, then EHLO again), which the MX accepts from loopback
only while the client is open (``World.xclient``). The profile's ``Received`` line then records
the sample's outside address instead of ``127.0.0.1``, so the copy's receiving chain ends
where the sample's did. Copies are observed through ``World.on_stored`` (set while open).

Layer 6: only the replay (through its sandbox factory), tests and notebooks use it.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..signature import crlf_line_ends

__all__ = ["InboundClient", "InboundDelivery", "FiledCopy", "parse_xclient", "XCLIENT_ATTRIBUTES", "inbound_client"]

#: Attributes Postfix's XCLIENT takes; the sandbox acts on ADDR and HELO and accepts the others.
XCLIENT_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
_QUEUED = re.compile(r"queued as (\S+)")
#: Why an address is not sent: RFC 6531 §3.2 allows a non-ASCII address only with SMTPUTF8.
_NOT_ASCII = (
    "not sent: {what} {address} is not ASCII and the server does not offer SMTPUTF8 "
    "(RFC 6531 §3.2), so a real client could not send it either"
)


def parse_xclient(arg: str) -> dict[str, str] | str:
    """The lower-case attributes of an XCLIENT argument, or the reply refusing it (``501 …``).

    Values are xtext (RFC 3461 §4: ``+XX``); ``[UNAVAILABLE]`` and ``[TEMPUNAVAIL]`` mean "not
    known" (kept as ``UNAVAILABLE``); an ``ADDR`` must be an IPv4 address or ``IPV6:`` and an
    IPv6 address, as Postfix writes them.
    """
    out: dict[str, str] = {}
    for item in arg.split():
        name, eq, value = item.partition("=")
        if not eq or name.upper() not in XCLIENT_ATTRIBUTES:
            return f"501 5.5.4 Bad XCLIENT attribute name: {name[:40]}"
        value = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
        if value.upper() in ("[UNAVAILABLE]", "[TEMPUNAVAIL]"):
            value = "UNAVAILABLE"
        elif name.upper() == "ADDR":
            text = value[5:] if value.upper().startswith("IPV6:") else value
            try:
                value = str(ipaddress.ip_address(text))
            except ValueError:
                return f"501 5.5.4 Bad XCLIENT ADDR syntax: {value[:60]}"
        out[name.lower()] = value
    if not out:
        return "501 5.5.4 Syntax: XCLIENT attribute=value..."
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FiledCopy:
    """One copy the profile made of a transaction: the mailbox, the recipients it stands for (as
    given), and the stored message (``None`` when the mailbox dropped it: Gmail keeps one copy
    per Message-ID)."""

    mailbox: str
    recipients: tuple[str, ...]
    stored: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundDelivery:
    """What one transaction got from the sandbox MX.

    ``queue_id`` is empty when nothing was accepted; ``reply`` is the final reply (or the
    refusal); ``refused`` pairs each refused recipient with the server's reply;
    ``refused_stage`` is ``MAIL``, ``RCPT`` (every recipient) or ``DATA`` when the whole
    transaction was refused, else ``""``; ``copies`` are the mailbox copies filed (matter-domain
    recipients go to the sandbox's ``on_wildcard`` hook instead).
    """

    queue_id: str = ""
    reply: str = ""
    accepted: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    refused_stage: str = ""
    copies: tuple[FiledCopy, ...] = ()


def _text(code: int, msg: bytes | str) -> str:
    words = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return f"{code} {' '.join(words.split())}"


class InboundClient:
    """One SMTP session to a running sandbox's MX listener; see the module docstring.

    Use as a context manager (or call :meth:`close`): while open, the sandbox accepts XCLIENT
    from it and reports every filed copy to it.
    """

    def __init__(self, sandbox: Any, *, timeout: float = 30.0) -> None:
        self._sandbox = sandbox
        self._world = sandbox.world
        self._timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._as: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._filed: dict[str, list[FiledCopy]] = {}
        self._world.xclient = True
        self._world.on_stored = self._on_stored

    def __repr__(self) -> str:
        return f"InboundClient({'open' if self._smtp is not None else 'idle'}, mx={self._sandbox.mx.port})"

    def _on_stored(self, queue_id: str, delivery: Any, stored: Any) -> None:
        with self._lock:
            self._filed.setdefault(queue_id, []).append(
                FiledCopy(mailbox=delivery.mailbox, recipients=tuple(delivery.recipients), stored=stored)
            )

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            ep = self._sandbox.mx
            self._smtp = smtplib.SMTP(ep.host, ep.port, local_hostname="replay.invalid", timeout=self._timeout)
            self._as = None
        return self._smtp

    def _present(self, client: smtplib.SMTP, helo: str, address: str) -> None:
        """Make the session look like ``helo``/``address`` (XCLIENT, then EHLO), unless it already does."""
        want = (helo, address or "127.0.0.1")
        if self._as == want:
            return
        if want[1] == "UNAVAILABLE":
            attrs = "ADDR=[UNAVAILABLE]"
        else:
            attrs = f"ADDR={'IPV6:' if ':' in want[1] else ''}{want[1]}"
        code, msg = client.docmd("XCLIENT", f"{attrs} HELO={helo}")
        if code != 220:
            raise smtplib.SMTPResponseException(code, msg)
        code, msg = client.ehlo(helo)
        if code != 250:
            raise smtplib.SMTPResponseException(code, msg)
        self._as = want

    def deliver(
        self, data: bytes, mail_from: str, recipients: Iterable[str], *, helo: str = "unknown", client_address: str = ""
    ) -> InboundDelivery:
        """Send ``data`` (line ends made CRLF, as on the wire) to ``recipients`` as the client
        ``helo``/``client_address`` (``""``: the loopback address itself; ``UNAVAILABLE``: an
        outside client whose address is not known). Refusals are returned, never raised; a
        dropped connection is opened again once."""
        rcpts = list(recipients)
        data = crlf_line_ends(data)
        for attempt in (1, 2):
            try:
                return self._transaction(data, mail_from, rcpts, helo, client_address)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                self._drop()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, data: bytes, mail_from: str, rcpts: list[str], helo: str, address: str) -> InboundDelivery:
        client = self._connect()
        self._present(client, helo, address)
        utf8 = client.has_extn("smtputf8")
        if not utf8 and not mail_from.isascii():
            why = _NOT_ASCII.format(what="the envelope sender", address=mail_from)
            return InboundDelivery(reply=why, refused=tuple((r, why) for r in rcpts), refused_stage="MAIL")
        options = [f"SIZE={len(data)}"] if client.has_extn("size") else []
        code, msg = client.mail(mail_from, options)
        if code != 250:
            client.rset()
            return InboundDelivery(
                reply=_text(code, msg), refused=tuple((r, _text(code, msg)) for r in rcpts), refused_stage="MAIL"
            )
        accepted, refused = [], []
        for rcpt in rcpts:
            if not utf8 and not rcpt.isascii():
                refused.append((rcpt, _NOT_ASCII.format(what="the recipient", address=rcpt)))
                continue
            code, msg = client.rcpt(rcpt)
            if code in (250, 251):
                accepted.append(rcpt)
            else:
                refused.append((rcpt, _text(code, msg)))
        if not accepted:
            client.rset()
            return InboundDelivery(
                reply=refused[0][1] if refused else "no recipient", refused=tuple(refused), refused_stage="RCPT"
            )
        try:
            code, msg = client.data(data)
        except smtplib.SMTPDataError as exc:
            code, msg = exc.smtp_code, exc.smtp_error
        if code != 250:
            client.rset()
            return InboundDelivery(
                reply=_text(code, msg),
                accepted=(),
                refused_stage="DATA",
                refused=tuple(refused) + tuple((r, _text(code, msg)) for r in accepted),
            )
        reply = _text(code, msg)
        found = _QUEUED.search(reply)
        queue_id = found.group(1) if found else ""
        with self._lock:
            copies = tuple(self._filed.pop(queue_id, ()))
        return InboundDelivery(
            queue_id=queue_id, reply=reply, accepted=tuple(accepted), refused=tuple(refused), copies=copies
        )

    def _drop(self) -> None:
        client, self._smtp = self._smtp, None
        if client is not None:
            try:
                client.close()
            except OSError:  # pragma: no cover - closing a dead socket
                pass

    def close(self) -> None:
        """End the session and stop the sandbox accepting XCLIENT and reporting copies."""
        client, self._smtp = self._smtp, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
        self._world.xclient = False
        if self._world.on_stored == self._on_stored:
            self._world.on_stored = None

    def __enter__(self) -> InboundClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inbound_client(sandbox: Any, *, timeout: float = 30.0) -> InboundClient:
    """An :class:`InboundClient` on ``sandbox``'s MX listener (also ``Sandbox.inbound_client()``): it names each
    transaction's outside client (XCLIENT) and returns refusals and filed copies, never raising."""
    return InboundClient(sandbox, timeout=timeout)
