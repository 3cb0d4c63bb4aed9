"""smtplib with bounded replies: every reply read under its step's wall-clock deadline.

Owns :class:`BoundedSMTP` and :class:`BoundedSMTPS` (:class:`smtplib.SMTP` / ``SMTP_SSL``
with the reply reader replaced) and :data:`FINAL_DOT`. smtplib's own ``getreply`` caps a line
at 8,192 bytes but not the number of ``250-`` lines, and its timeout applies to each read,
so a server dripping one byte a second never ends. Here:

* each step starts a :class:`~mailsupport.limits.Deadline` of ``Limits.step_seconds(timeout)``
  when its command is sent (the greeting when connecting; the message after DATA's 354 starts
  the *final dot* step, with time for its size); an optional session deadline caps them all;
* before every read the socket timeout is ``min(timeout, time left)``, so the step ends on
  time however the server paces its bytes, as :class:`~mailsupport.errors.DeadlineExceeded`
  naming the step;
* replies go through :class:`~mailsupport.protolines.LineSplitter` and
  :class:`~mailsupport.protolines.SmtpReplyReader`: a line over ``max_line`` or a reply over
  ``max_reply_lines`` lines is :class:`~mailsupport.errors.LimitExceeded`, a line that is not
  ``ddd[ -]text`` a :class:`~mailsupport.errors.ProtocolError` quoting the (scrubbed) words;
* bytes that follow the STARTTLS 220 before the handshake are refused (RFC 3207 §5).

Transport failures stay smtplib's exceptions, so :mod:`mailsupport.smtp` translates them as
before; the kit's errors close the connection. AUTH continuation lines (base64 credentials)
never name a step.

Layer 3: imports errors, limits, protolines. Must not import the pipeline, sandbox or
presentation modules.
"""

from __future__ import annotations

import math
import smtplib
import socket
import sys
import time
from collections.abc import Callable

from .errors import DeadlineExceeded, LimitExceeded, ProtocolError
from .limits import Deadline, Limits
from .protolines import LineSplitter, SmtpReplyReader

_monotonic = time.monotonic

__all__ = ["BoundedSMTP", "BoundedSMTPS", "FINAL_DOT"]

#: Commands that start a step of their own; any other line sent (an AUTH continuation, which
#: carries base64 credentials) continues the current step and never names one.
_VERBS = frozenset(
    {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "QUIT", "NOOP", "VRFY", "EXPN", "HELP"}
)
#: The step that sends the message after DATA's 354 and reads the reply to its final dot.
FINAL_DOT = "final dot"
_CHUNK = 65536


class _Bounded:
    """smtplib's reply reading replaced by bounded readers under a per-step deadline.

    Every step starts its deadline when its command is sent (:meth:`putcmd`); every read sets
    the socket timeout to ``min(timeout, time left)`` and the reply goes through
    :class:`LineSplitter` and :class:`SmtpReplyReader`. Transport failures stay smtplib's
    exceptions (so :class:`~mailsupport.smtp.SmtpClient` translates them as before);
    deadlines, limits and malformed replies are the kit's (:class:`DeadlineExceeded`,
    :class:`LimitExceeded`, :class:`ProtocolError`), with the step and the server, and close
    the connection. The running step's deadline is kept as a monotonic end time (this is the
    send path: no object per step); the session's is a :class:`Deadline`.
    """

    sock: socket.socket | None
    timeout: float
    command_encoding: str

    def bound(self, *, limits: Limits, redact: Callable[[str], str], server: str, session: Deadline | None) -> None:
        """Set the limits, the scrubber for quoted words, the server's name and the session's
        deadline (``None``: steps only); call before :meth:`connect`."""
        self._limits = limits
        self._max_line = limits.max_line
        self._redact = redact
        self._server = server
        self._session = session
        self._session_end = _monotonic() + session.remaining() if session is not None else math.inf
        self._step_seconds = self._budget(0)
        self._step = "greeting"
        self._seconds = self._step_seconds
        self._end = math.inf
        self._capped = False
        self._io_sock: socket.socket | None = None
        self._lines = LineSplitter(limits.max_line)
        self._sock_timeout: float | None = None

    def _budget(self, expected_bytes: int) -> float:
        """A step's seconds, rounded up to a tenth (they are shown in messages)."""
        return math.ceil(self._limits.step_seconds(self.timeout, expected_bytes) * 10) / 10

    def _begin(self, step: str, expected_bytes: int = 0) -> None:
        """Start ``step``'s deadline, capped by the session's when that ends sooner."""
        seconds = self._budget(expected_bytes) if expected_bytes else self._step_seconds
        end = _monotonic() + seconds
        self._capped = end > self._session_end
        self._step, self._seconds, self._end = step, seconds, min(end, self._session_end)

    def _left(self) -> float:
        """Seconds left for the running step; raises :class:`DeadlineExceeded` naming it."""
        left = self._end - _monotonic()
        if left > 0:
            return left
        if self._capped and self._session is not None:
            session = self._session
            raise DeadlineExceeded(
                f"{self._step} did not finish: the {session.step} ran out of its "
                f"{session.seconds:g} s deadline; the server is too slow or sends data without end",
                step=self._step,
                seconds=session.seconds,
                server=self._server,
            )
        raise DeadlineExceeded(
            f"{self._step} did not finish within its {self._seconds:g} s deadline; the server is "
            "too slow or sends data without end",
            step=self._step,
            seconds=self._seconds,
            server=self._server,
        )

    def _what(self) -> str:
        step = self._step
        return "the greeting" if step == "greeting" else f"the reply to {'the ' if step == FINAL_DOT else ''}{step}"

    def _socket(self) -> socket.socket:
        """The connection; a new one (after STARTTLS) starts with no buffered bytes."""
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if sock is not self._io_sock:
            self._io_sock = sock
            self._lines = LineSplitter(self._max_line)
            self._sock_timeout = None
        return sock

    def _use_timeout(self, sock: socket.socket, seconds: float) -> None:
        if seconds != self._sock_timeout:  # a system call: only when it changes
            sock.settimeout(seconds)
            self._sock_timeout = seconds

    def connect(self, host: str = "localhost", port: int = 0, source_address: object = None) -> tuple[int, bytes]:
        """TCP (and TLS for SMTPS) then the greeting, under the greeting's deadline."""
        self._begin("greeting")
        self._host = host  # smtplib sets it in __init__ only; TLS checks the certificate against it
        # the TCP connect and the SMTPS handshake each take at most `timeout`, inside the step
        return super().connect(host, port, source_address)  # type: ignore[misc]

    def putcmd(self, cmd: str, args: str = "") -> None:
        """Send a command line (as smtplib does); a known verb starts its step's deadline."""
        line = f"{cmd} {args}" if args else cmd
        if "\r" in line or "\n" in line:  # smtplib's own guard, without quoting the (maybe secret) line
            raise ValueError("an SMTP command or its argument contains a CR or LF character")
        verb = cmd.split(" ", 1)[0].upper()
        self._begin(verb if verb in _VERBS else self._step)
        self._send(f"{line}\r\n".encode(self.command_encoding), command=True)

    def send(self, s: str | bytes) -> None:
        """Send bytes not built by :meth:`putcmd`: the message after DATA's 354, which starts
        the final dot's step with time for its size."""
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        self._begin(FINAL_DOT, len(data))
        self._send(data, command=False)

    def _send(self, data: bytes, *, command: bool) -> None:
        sock = self._socket()
        try:
            # sendall's timeout bounds the whole call (Python >= 3.5): a command line gets the
            # usual timeout, the message the step's time left (which grew with its size)
            left = self._left()
            self._use_timeout(sock, min(left, self.timeout) if command else left)
            sys.audit("smtplib.send", self, data)
            try:
                sock.sendall(data)
            except TimeoutError as exc:
                self._left()  # the step's deadline, if that is what ended it
                raise smtplib.SMTPServerDisconnected(f"Server not connected ({exc})") from exc
            except OSError as exc:
                raise smtplib.SMTPServerDisconnected("Server not connected") from exc
        except (DeadlineExceeded, smtplib.SMTPServerDisconnected):
            self.close()  # type: ignore[attr-defined]
            raise

    def getreply(self) -> tuple[int, bytes]:
        """One reply, bounded in line length, line count and time: ``(code, text lines)``."""
        try:
            line = self._line()
            code = line[:3]
            if line[3:4] == b" " and code.isdigit():  # the usual one-line reply, without a reader
                reply: tuple[int, list[bytes]] | None = (int(code), [line])
            else:
                reader = SmtpReplyReader(self._limits.max_reply_lines, redact=self._redact)
                reply = reader.add(line)
                while reply is None:
                    reply = reader.add(self._line())
            if self._step == "STARTTLS" and reply[0] == 220 and self._lines.pending():
                # RFC 3207 §5: nothing may follow the 220 before the handshake (response injection)
                raise ProtocolError(
                    f"the server sent {self._lines.pending()} more bytes after its STARTTLS reply, "
                    "before the TLS handshake (a response injection); not continuing",
                    server=self._server,
                )
        except LimitExceeded as exc:
            self.close()  # type: ignore[attr-defined]
            raise LimitExceeded(
                f"{self._what()} ran past the limit: {exc}; the server sends without end",
                what=exc.what,
                limit=exc.limit,
                server=self._server,
            ) from None
        except (DeadlineExceeded, smtplib.SMTPServerDisconnected):
            self.close()  # type: ignore[attr-defined]
            raise
        except ProtocolError as exc:
            self.close()  # type: ignore[attr-defined]
            if exc.server:
                raise
            raise ProtocolError(f"{self._what()} is {exc}", server=self._server) from None
        number, got = reply
        if len(got) == 1:
            return number, got[0][4:].strip(b" \t\r\n")
        return number, b"\n".join(ln[4:].strip(b" \t\r\n") for ln in got)

    def _line(self) -> bytes:
        """The next reply line, reading under the step's deadline as needed."""
        sock = self.sock if self.sock is self._io_sock and self.sock is not None else self._socket()
        lines = self._lines
        if lines.pending():
            line = lines.line()
            if line is not None:
                return line
        while True:
            left = self._left()
            self._use_timeout(sock, left if left < self.timeout else self.timeout)
            try:
                chunk = sock.recv(_CHUNK)
            except TimeoutError as exc:
                self._left()  # raises when the step's time is spent
                raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from exc
            except OSError as exc:
                raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from exc
            if not chunk:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            if not lines.pending() and len(chunk) <= self._max_line and chunk.find(b"\n") == len(chunk) - 1:
                # the usual case, one whole line in one read: no buffering
                return chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1]
            lines.feed(chunk)
            line = lines.line()
            if line is not None:
                return line


class BoundedSMTP(_Bounded, smtplib.SMTP):
    """:class:`smtplib.SMTP` with bounded replies (see :class:`_Bounded`)."""


class BoundedSMTPS(_Bounded, smtplib.SMTP_SSL):
    """:class:`smtplib.SMTP_SSL` with bounded replies (see :class:`_Bounded`)."""
