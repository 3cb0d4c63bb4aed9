"""A lenient SMTP server on loopback that ends a line at CR, LF or CRLF alike: the smuggling target.

Owns :class:`LenientSmtpServer`. Servers that accept any line end (the ones "SMTP smuggling"
abused, see https://www.postfix.org/smtp-smuggling.html) end DATA at ``CR.CR``, ``LF.LF`` and
the like, so a message whose own bytes contain such a shape, sent without normalising its
line ends, ends early and its remainder is read as new commands (a second, forged message).
Tests send through the kit's client to this server and check that exactly one message arrives,
its lines intact.

It speaks just enough SMTP for :mod:`smtplib` (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
on 127.0.0.1 port 0, one thread per connection, reads bounded in bytes and time. Every
accepted message is kept in :attr:`LenientSmtpServer.messages`, every command line in
:attr:`LenientSmtpServer.commands`; :meth:`LenientSmtpServer.wait_closed` waits for sessions
to end (a smuggled command is handled after the client has its first reply).

Layer 6 (testing); standard library only.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass

__all__ = ["LenientSmtpServer", "ReceivedMessage"]

_ANY_LINE_END = re.compile(rb"\r\n|\r|\n")
_MAX_BYTES = 8 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedMessage:
    """One message the server accepted: envelope and the data lines (dot-unstuffed, no line ends)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    lines: tuple[bytes, ...]


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def _lines(self):
        buf = b""
        total = 0
        while True:
            m = _ANY_LINE_END.search(buf)
            # a CR at the very end may be the first half of CRLF: wait for the next byte
            if m and not (m.group() == b"\r" and m.end() == len(buf)):
                line, buf = buf[: m.start()], buf[m.end() :]
                yield line
                continue
            chunk = self.request.recv(65536)
            total += len(chunk)
            if not chunk or total > _MAX_BYTES:
                return
            buf += chunk

    def handle(self) -> None:
        self.request.settimeout(10)
        send = self.request.sendall
        send(b"220 lenient.test ESMTP\r\n")
        mail_from, rcpts = "", []
        lines = self._lines()
        try:
            for line in lines:
                cmd = line.decode("latin-1")
                self.server.owner.commands.append(cmd)
                verb = cmd[:4].upper()
                if verb in ("EHLO", "HELO"):
                    send(b"250 lenient.test\r\n")
                elif verb == "MAIL":
                    mail_from, rcpts = cmd.partition(":")[2].strip(), []
                    send(b"250 ok\r\n")
                elif verb == "RCPT":
                    rcpts.append(cmd.partition(":")[2].strip())
                    send(b"250 ok\r\n")
                elif verb == "DATA":
                    send(b"354 go ahead\r\n")
                    data = []
                    for body_line in lines:
                        if body_line == b".":
                            break
                        data.append(body_line[1:] if body_line.startswith(b".") else body_line)
                    self.server.owner.messages.append(
                        ReceivedMessage(mail_from=mail_from, rcpt_tos=tuple(rcpts), lines=tuple(data))
                    )
                    send(b"250 queued\r\n")
                elif verb == "QUIT":
                    send(b"221 bye\r\n")
                    return
                else:  # RSET, NOOP and anything else
                    send(b"250 ok\r\n")
        except OSError:
            return

    def finish(self) -> None:
        self.server.owner._session_ended()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LenientSmtpServer


class LenientSmtpServer:
    """The server; use as a context manager. ``port`` is the bound loopback port."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.commands: list[str] = []
        self.closed = 0
        self._done = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="lenient-smtp", daemon=True
        )

    def __enter__(self) -> LenientSmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_closed(self, connections: int, timeout: float = 10.0) -> bool:
        """Wait (with a deadline) until ``connections`` sessions have ended; true if they have."""
        with self._done:
            return self._done.wait_for(lambda: self.closed >= connections, timeout=timeout)

    def _session_ended(self) -> None:
        with self._done:
            self.closed += 1
            self._done.notify_all()
