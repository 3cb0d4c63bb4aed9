"""The POP3 client: TLS verified by default, every read bounded in bytes and time, errors translated once.

Owns the POP3 conversation (RFC 1939) for the fetcher (``mailsupport run``) and the live
sample reader (``mailsupport scan --pop3``): implicit TLS (port 995) or STLS (RFC 2595 §4),
certificate verification through :func:`mailsupport.tlsutil.client_context`, USER/PASS or SASL
XOAUTH2 (RFC 5034 ``AUTH``, when an ``oauth_token`` is configured) — either only over TLS unless
the tenant's ``allow_plaintext_auth`` says otherwise.

It speaks over its own socket (no :mod:`poplib`): the framing and parsing of answers are the
pure :mod:`mailsupport.pop3parse`, fed by :meth:`Pop3Client._recv`. Every read is bounded
(:class:`~mailsupport.limits.Limits`): the greeting and status lines by ``max_line``; ``CAPA``
by ``max_reply_lines``; ``LIST``/``UIDL`` by ``max_listing_lines``/``max_listing_bytes``;
``RETR``/``TOP`` by :func:`~mailsupport.pop3parse.retr_budget` of the message's LIST size (a
message running far past what LIST said is not trusted) and its unended lines by
``max_message_line``; a message over ``max_message_bytes`` is an error. Every step (the
greeting, ``STLS``, ``PASS``, ``RETR 5``...) runs under a wall-clock
:class:`~mailsupport.limits.Deadline` of ``Limits.step_seconds`` (the message's size included
for RETR), inside the caller's session deadline (:attr:`Pop3Client.session`) when one is given:
before each read the socket timeout is set to what is left, so a server sending one byte a
second ends on time and the error names the step.

Every socket, TLS and parse failure is translated once (:mod:`mailsupport.pop3errors`) into
:mod:`mailsupport.errors`:

* :class:`ConnectError`: DNS, TCP or TLS set-up failed, or the greeting/STLS was refused;
* :class:`AuthError`: credentials rejected (``-ERR [AUTH]`` or a plain ``-ERR`` to PASS);
* :class:`LoginRefusedError`: refused for another reason, by the RFC 3206 response codes
  ``[IN-USE]`` (another session holds the maildrop lock), ``[SYS/TEMP]``, ``[SYS/PERM]``,
  ``[LOGIN-DELAY]`` (RFC 2449 §8.1.1, polling too often), each with what to do;
* :class:`ProtocolError`: any other ``-ERR`` (the connection stays usable), an unreadable
  answer, a lost connection; :class:`DeadlineExceeded` and :class:`LimitExceeded` (both
  ProtocolErrors) for a step that ran out of time or past a limit. After anything but a
  ``-ERR`` the connection is closed without QUIT, so the server applies no DELE.

Server words reach an exception only through :meth:`Pop3Client._words`: every form of the
password and token scrubbed (:class:`~mailsupport.redact.Redactor`), control characters
escaped, cut to a sane length.

Speed: RETR answers are read in blocks up to the terminating ``CRLF.CRLF`` (not line by
line), and when CAPA lists ``PIPELINING`` (RFC 2449 §6.6) :meth:`Pop3Client.retr_many`,
:meth:`Pop3Client.top_many` and :meth:`Pop3Client.dele_many` send a window of commands in one
write, so a 50 KB message costs well under one round trip.

What the block reader relies on (:meth:`mailsupport.pop3parse.AnswerReader.block`): the
framing of RFC 1939 §3 — a multi-line answer ends with exactly ``CRLF.CRLF`` and a line of the
message that begins with ``.`` is stuffed with a second one. A server that ends its answer
with a bare ``LF.LF`` is not understood as ending: the read runs to the message's byte budget
and stops with :class:`LimitExceeded` naming the message, never with a message cut short.
The framing is tested over plain bytes at every chunking (``tests/test_pop3parse.py``),
against misbehaving servers (``tests/pipeline/test_pop3_hostile.py``) and against Dovecot
(``tests/pipeline/test_fetch.py``).

Layer 3: imports tenant, errors, limits, model, pop3errors, pop3parse, redact, sasl, tlsutil; must not
import the pipeline, sandbox or presentation modules.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from .errors import (
    AuthError,
    ConfigError,
    ConnectError,
    DeadlineExceeded,
    LimitExceeded,
    OperationError,
    ProtocolError,
)
from .limits import DEFAULT_LIMITS, Deadline, Limits
from .pop3errors import REFUSAL_CODES, Refused, auth_error, tls_error, translate
from .pop3parse import (
    AnswerError,
    AnswerReader,
    parse_capa,
    parse_list_line,
    parse_stat,
    parse_status,
    parse_uidl_line,
    retr_budget,
    shown,
    unstuff,
)
from .redact import Redactor
from .sasl import parse_xoauth2_error, xoauth2_initial_response
from .tenant import ServerSettings, TlsMode
from .tlsutil import client_context

__all__ = ["Pop3Client", "ListingEntry", "REFUSAL_CODES"]


#: Bytes asked of the socket per read (RETR answers are read in blocks this big).
_READ_BUFFER = 1 << 18
#: Bytes per message expected in a LIST or UIDL answer (for the step's deadline only).
_LISTING_LINE = 40
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingEntry:
    """One message of the maildrop: its number in this session, size (LIST) and UIDL."""

    number: int
    size: int
    uidl: str


class Pop3Client:
    """One POP3 session. Use as a context manager; leaving it without :meth:`quit` aborts
    the session, so the server applies no DELE (RFC 1939 §6: deletions happen in UPDATE).

    ``connect()`` and ``login()`` are separate so callers can report each step; :meth:`open`
    does both. ``limits`` bound every read; ``session`` (settable at any time) is the
    wall-clock deadline of the whole conversation, inside which each step has its own.
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: Limits = DEFAULT_LIMITS,
        session: Deadline | None = None,
    ) -> None:
        if not settings.host or not settings.port:
            raise ConfigError("the POP3 server needs a host and a port", path="inbound.server")
        self.settings = settings
        self.server = settings.endpoint
        self.limits = limits
        #: the session's deadline (``None``: each step is bounded only by its own)
        self.session = session
        self._ctx = ssl_context
        self._redact = Redactor.for_settings(settings)
        self._sock: socket.socket | None = None
        self._reader: AnswerReader | None = None
        self._step: Deadline | None = None
        self._timeout: float | None = None
        self._sizes: dict[int, int] = {}
        self._count = 0
        self.encrypted = False
        self.greeting = ""
        #: True once :meth:`capabilities` saw PIPELINING (RFC 2449 §6.6)
        self.pipelining = False
        #: the CAPA answer (``{}`` until :meth:`capabilities`, or when the server has no CAPA)
        self.capa: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"Pop3Client({self.server}, user={self.settings.username!r}, connected={self.connected})"

    # ------------------------------------------------------------------ the wire
    def _timed_socket(self) -> socket.socket:
        """The socket, its timeout the lesser of the configured one and what the step has left
        (so a server that drips bytes still ends at the step's deadline)."""
        timeout = self._step.timeout(self.settings.timeout) if self._step else self.settings.timeout
        sock = self._sock
        if sock is None:
            raise EOFError("not connected")
        if timeout != self._timeout:
            sock.settimeout(timeout)
            self._timeout = timeout
        return sock

    def _recv(self, n: int) -> bytes:
        """One read under the step's deadline."""
        return self._timed_socket().recv(n)

    def _send(self, data: bytes) -> None:
        """One write under the step's deadline."""
        self._timed_socket().sendall(data)

    def _attach(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = None
        self._reader = AnswerReader(self._recv, chunk=_READ_BUFFER)

    def _words(self, raw: bytes | str, *, quote: bool = True) -> str:
        """Server words fit for an exception: secrets scrubbed, control characters escaped, cut short."""
        return shown(self._redact(raw), quote=quote)

    def _status(self, what: str) -> bytes:
        """Read one status line; its text when ``+OK``, :class:`Refused` when ``-ERR``."""
        assert self._reader is not None
        line = self._reader.line(self.limits.max_line, f"the answer to {what}")
        status = parse_status(line)
        if not status.ok:
            raise Refused(line, status.code)
        return status.text

    def _command(self, command: str, what: str | None = None) -> bytes:
        self._send(command.encode("utf-8") + b"\r\n")
        return self._status(what or command.split(" ", 1)[0])

    def _run(
        self,
        what: str,
        fn: Callable[[], _T],
        *,
        expected: int = 0,
        refused: Callable[[Refused], OperationError] | None = None,
    ) -> _T:
        """Run one step under its deadline, translating every failure once (module docstring).

        A ``-ERR`` becomes ``refused(exc)`` (default: a :class:`ProtocolError` quoting the
        server) and leaves the connection open; anything else closes it without QUIT.
        """
        if self._sock is None:
            raise ProtocolError(f"cannot {what}: not connected", server=self.server)
        step = Deadline(self.limits.step_seconds(self.settings.timeout, expected), what, server=self.server)
        self._step = step.sooner(self.session)
        try:
            return fn()
        except Refused as exc:
            if refused is not None:
                raise refused(exc) from None
            raise ProtocolError(f"{what} failed: {self._words(exc.line)}", server=self.server) from None
        except BaseException as exc:
            self.abort()
            error = self._translate(what, exc)
            if error is None or error is exc:
                raise
            raise error from (None if isinstance(exc, AnswerError) else exc)
        finally:
            self._step = None

    def _translate(self, what: str, exc: BaseException) -> OperationError | None:
        """The kit's error for ``exc`` raised during step ``what`` (``None``: not ours to translate)."""
        step = self._step
        if (
            isinstance(exc, TimeoutError)
            and step is not None
            and (step.expired() or self._timeout is not None and self._timeout < self.settings.timeout)
        ):
            exc = step.exceeded()  # the read's timeout was what the deadline had left
        return translate(what, exc, self.server, timeout=self._timeout or self.settings.timeout, words=self._words)

    # ------------------------------------------------------------------ set-up
    def _context(self) -> ssl.SSLContext:
        if self._ctx is None:
            try:
                self._ctx = client_context(verify=self.settings.verify_tls, ca_file=self.settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"cannot load the CA file {self.settings.ca_file!r}: {exc}", path="inbound.server.ca_file"
                ) from exc
        return self._ctx

    def _handshake(self, sock: socket.socket) -> ssl.SSLSocket:
        """Wrap ``sock`` in TLS; the handshake is bounded by the current step's deadline."""
        ctx = self._context()
        step = self._step
        sock.settimeout(step.timeout(self.settings.timeout) if step else self.settings.timeout)
        try:
            tls = ctx.wrap_socket(sock, server_hostname=self.settings.host)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            sock.close()
            raise tls_error(exc, self.server, self.settings.tls) from exc
        except OSError as exc:  # a time-out or reset during the handshake
            sock.close()
            raise ConnectError(
                f"TLS handshake failed ({exc.strerror or exc}); check the port and TLS mode "
                f"(now {self.settings.tls.value})",
                server=self.server,
            ) from exc
        self.encrypted = True
        return tls

    def connect(self) -> Pop3Client:
        """Open the TCP (and TLS) connection and read the greeting (STLS first when configured)."""
        s = self.settings
        if s.tls is not TlsMode.NONE:
            self._context()  # a bad CA file is a ConfigError before any connection
        self._step = Deadline(self.limits.step_seconds(s.timeout), "connect", server=self.server).sooner(self.session)
        try:
            sock = socket.create_connection((s.host, s.port), timeout=self._step.timeout(s.timeout))
            if s.tls is TlsMode.IMPLICIT:
                sock = self._handshake(sock)
        except ConnectError:
            raise
        except (DeadlineExceeded, OSError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConnectError(f"cannot connect ({detail}); check host, port and firewall", server=self.server) from exc
        finally:
            self._step = None
        self._attach(sock)

        def refused(kind: str) -> Callable[[Refused], OperationError]:
            return lambda exc: ConnectError(f"the server refused {kind}: {self._words(exc.line)}", server=self.server)

        self.greeting = self._words(
            self._run("greeting", lambda: self._status("the greeting"), refused=refused("the connection")), quote=False
        )
        if s.tls is TlsMode.STARTTLS:
            self._run("STLS", self._starttls, refused=refused("STLS"))
        return self

    def _starttls(self) -> None:
        self._command("STLS")
        assert self._reader is not None and self._sock is not None
        if self._reader.pending:
            raise ProtocolError(
                "the server sent data after its STLS answer, before TLS began (an injection "
                "attempt or a broken server); not continuing",
                server=self.server,
            )
        self._attach(self._handshake(self._sock))

    def login(self) -> None:
        """Authenticate: XOAUTH2 when a token is set, else USER/PASS; only over TLS unless allowed."""
        s = self.settings
        if not self.encrypted and not s.allow_plaintext_auth:
            what = "OAuth token" if s.oauth_token else "password"
            raise ConfigError(
                f"refusing to send the {what} for {s.username!r} unencrypted to {self.server}; "
                'use tls = "implicit" or "starttls", or set allow_plaintext_auth = true '
                "(test servers only)",
                path="inbound.server.tls",
            )
        if s.oauth_token:
            self._run("AUTH XOAUTH2", self._xoauth2, refused=self._auth_error)
            return
        if not s.username or s.password is None:
            raise ConfigError("POP3 login needs a username and a password (or an oauth_token)", path="inbound.server")
        password = s.password.reveal()
        if any(c in s.username + password for c in "\r\n\0"):
            raise ConfigError(
                "the POP3 user name or password contains a line break or NUL; it cannot be sent", path="inbound.server"
            )
        self._run("USER", lambda: self._command(f"USER {s.username}"), refused=self._auth_error)
        self._run("PASS", lambda: self._command(f"PASS {password}", "PASS"), refused=self._auth_error)

    def _xoauth2(self) -> None:
        s = self.settings
        try:
            initial = xoauth2_initial_response(s.username or "", s.oauth_token)
        except ValueError as exc:
            raise ConfigError(str(exc), path="inbound.server.username") from None
        self._send(f"AUTH XOAUTH2 {initial}\r\n".encode("ascii"))
        assert self._reader is not None
        line = self._reader.line(self.limits.max_line, "the answer to AUTH")
        if line.startswith(b"+") and not line[:3].upper() == b"+OK":
            # RFC 5034 §4: a continuation carrying the JSON error; answer empty to get the -ERR
            err = parse_xoauth2_error(line[1:].strip())
            self._send(b"\r\n")
            try:
                self._status("AUTH")
            except Refused:
                pass
            status = f" (status {err.status}, scope {err.scope or '?'})" if err else ""
            raise AuthError(
                f"the OAuth token for {s.username!r} was refused{status}; get a fresh token", server=self.server
            )
        status = parse_status(line)
        if not status.ok:
            raise Refused(line, status.code)

    def _auth_error(self, exc: Refused) -> AuthError:
        return auth_error(exc, self.settings.username or "?", self.server, self._words)

    def open(self) -> Pop3Client:
        """:meth:`connect` then :meth:`login`; aborts the connection if login fails."""
        self.connect()
        try:
            self.login()
        except BaseException:
            self.abort()
            raise
        return self

    # ------------------------------------------------------------------ commands
    @property
    def connected(self) -> bool:
        """False once the connection was closed or lost (no more commands possible)."""
        return self._sock is not None

    def _multi(self, command: str, what: str) -> Iterator[bytes]:
        """Send ``command``; the lines of its multi-line answer, within the listing limits."""
        self._command(command, what)
        assert self._reader is not None
        lim = self.limits
        return self._reader.lines(
            max_line=lim.max_line,
            max_lines=lim.max_listing_lines,
            max_bytes=lim.max_listing_bytes,
            what=f"the {what} answer",
        )

    def capabilities(self) -> dict[str, tuple[str, ...]]:
        """CAPA (RFC 2449) as ``{name: args}``; empty when the server has no CAPA (``-ERR``)."""

        def capa() -> list[bytes]:
            self._command("CAPA")
            assert self._reader is not None
            return list(
                self._reader.lines(
                    max_line=self.limits.max_line,
                    max_lines=self.limits.max_reply_lines,
                    max_bytes=self.limits.max_line * self.limits.max_reply_lines,
                    what="the CAPA answer",
                )
            )

        try:
            lines = self._run("CAPA", capa)
        except ProtocolError:
            if self.connected:  # a -ERR: the server has no CAPA (RFC 1939 servers)
                return {}
            raise
        self.capa = parse_capa(lines)
        self.pipelining = "PIPELINING" in self.capa
        return self.capa

    def stat(self) -> tuple[int, int]:
        """(message count, total octets)."""
        count, octets = self._run("STAT", lambda: parse_stat(self._command("STAT")))
        self._count = count
        return count, octets

    def list_sizes(self) -> dict[int, int]:
        """LIST: ``{number: size}`` of every message (remembered, so RETR knows what to expect)."""

        def read() -> dict[int, int]:
            sizes: dict[int, int] = {}
            for line in self._multi("LIST", "LIST"):
                number, size = parse_list_line(line)
                if number in sizes:
                    raise AnswerError(f"LIST names message {number} twice", line)
                sizes[number] = size
            return sizes

        self._sizes = self._run("LIST", read, expected=self._count * _LISTING_LINE)
        return dict(self._sizes)

    def listing(self) -> tuple[ListingEntry, ...]:
        """LIST and UIDL together: every message's number, size and unique id, by number."""
        sizes = self.list_sizes()

        def read() -> list[ListingEntry]:
            out: dict[int, ListingEntry] = {}
            for line in self._multi("UIDL", "UIDL"):
                number, uidl = parse_uidl_line(line)
                if number not in sizes or number in out:
                    why = "twice" if number in out else "that LIST does not"
                    raise AnswerError(f"UIDL names message {number} {why}", line)
                out[number] = ListingEntry(number=number, size=sizes[number], uidl=uidl)
            return [out[n] for n in sorted(out)]

        entries = self._run("UIDL", read, expected=len(sizes) * _LISTING_LINE)
        if len(entries) != len(sizes):
            missing = sorted(set(sizes) - {e.number for e in entries})[:5]
            self.abort()
            raise ProtocolError(
                f"UIDL gives no unique id for message(s) {missing} that LIST names; the server "
                "is broken, nothing can be fetched safely",
                server=self.server,
            )
        return tuple(entries)

    def _read_message(self, what: str, number: int) -> bytes:
        """The multi-line answer of ``RETR``/``TOP`` ``number``, bounded (module docstring), unstuffed."""
        self._status(what)
        assert self._reader is not None
        listed = self._sizes.get(number)
        lim = self.limits
        data = unstuff(
            self._reader.block(
                max_bytes=retr_budget(listed, lim.max_message_bytes),
                max_line=lim.max_message_line,
                what=f"message {number}" + (f" (listed as {listed:,} octets)" if listed is not None else ""),
            )
        )
        if len(data) > lim.max_message_bytes:
            raise LimitExceeded(
                f"message {number} is {len(data):,} bytes, over the limit of "
                f"{lim.max_message_bytes:,}; it stays on the server (raise the limit if it is "
                "genuine)",
                what="message",
                limit=lim.max_message_bytes,
            )
        return data

    def _fetch(self, verb: str, number: int) -> bytes:
        command = f"RETR {number}" if verb == "RETR" else f"TOP {number} 0"
        expected = self._sizes.get(number, 0) if verb == "RETR" else 0

        def one() -> bytes:
            self._send(command.encode("ascii") + b"\r\n")
            return self._read_message(command, number)

        return self._run(command, one, expected=expected)

    def retr(self, number: int) -> bytes:
        """RETR: the message's bytes, dot-unstuffed, CRLF line ends (RFC 1939 §7)."""
        return self._fetch("RETR", number)

    def top(self, number: int) -> bytes:
        """``TOP number 0``: the message's header block and the empty line after it (RFC 1939 §7)."""
        return self._fetch("TOP", number)

    def _fetch_many(self, verb: str, numbers: Sequence[int]) -> Iterator[tuple[int, bytes | ProtocolError]]:
        if not self.pipelining:
            for n in numbers:
                try:
                    yield n, self._fetch(verb, n)
                except ProtocolError as exc:
                    yield n, exc
                    if not self.connected:
                        return
            return
        commands = [f"RETR {n}" if verb == "RETR" else f"TOP {n} 0" for n in numbers]
        if not commands:
            return
        try:
            self._run(f"{verb} (pipelined)", lambda: self._send("".join(c + "\r\n" for c in commands).encode("ascii")))
        except ProtocolError as exc:
            yield numbers[0], exc
            return
        for n, command in zip(numbers, commands):
            expected = self._sizes.get(n, 0) if verb == "RETR" else 0
            try:
                yield n, self._run(command, lambda: self._read_message(command, n), expected=expected)  # noqa: B023 (called in this iteration)
            except ProtocolError as exc:
                yield n, exc
                if not self.connected:
                    return

    def retr_many(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes | ProtocolError]]:
        """RETR several messages; yields ``(number, bytes)`` or ``(number, ProtocolError)`` in order.

        With ``PIPELINING`` (RFC 2449 §6.6) all RETR commands go out in one write and the
        answers are read back to back, so the messages cost one round trip instead of one
        each. A refused RETR yields its error and the rest continue; a lost connection (or a
        limit or deadline, which close it) yields its error and ends the iteration.
        """
        return self._fetch_many("RETR", numbers)

    def top_many(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes | ProtocolError]]:
        """``TOP n 0`` for several messages, like :meth:`retr_many`: each one's header block."""
        return self._fetch_many("TOP", numbers)

    def dele(self, number: int) -> None:
        """DELE: mark for deletion (applied only after a successful QUIT)."""
        self._run(f"DELE {number}", lambda: self._command(f"DELE {number}", f"DELE {number}"))

    def dele_many(self, numbers: Sequence[int]) -> dict[int, str]:
        """DELE several messages; returns ``{number: server reply}`` for each one refused.

        With ``PIPELINING`` in CAPA (RFC 2449 §6.6) all commands go out in one write and the
        replies are read after, saving a round trip per message; otherwise one by one.
        Raises :class:`ProtocolError` only when the connection is lost (or closed after an
        unreadable reply: the session then ends without QUIT, so nothing is deleted).
        """
        refused: dict[int, str] = {}
        if not self.pipelining or len(numbers) < 2:
            for n in numbers:
                try:
                    self.dele(n)
                except ProtocolError as exc:
                    if not self.connected:
                        raise
                    refused[n] = str(exc)
            return refused

        def pipelined() -> None:
            self._send("".join(f"DELE {n}\r\n" for n in numbers).encode("ascii"))
            for n in numbers:
                try:
                    self._status(f"DELE {n}")
                except Refused as exc:
                    refused[n] = f"DELE {n} failed: {self._words(exc.line)}"

        self._run(f"DELE of {len(numbers)} messages", pipelined)
        return refused

    def rset(self) -> None:
        """RSET: unmark every message marked for deletion in this session."""
        self._run("RSET", lambda: self._command("RSET"))

    def quit(self) -> str:
        """QUIT: enter UPDATE (deletions applied) and close; returns the server's reply."""
        text = self._run("QUIT", lambda: self._command("QUIT"))
        self.abort()
        return self._words(text, quote=False)

    def abort(self) -> None:
        """Close the connection without QUIT: the server discards every DELE of this session."""
        sock, self._sock = self._sock, None
        self._reader = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> Pop3Client:
        if self._sock is None:
            self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.abort()
