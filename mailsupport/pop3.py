"""A thin POP3 client on :mod:`poplib`: TLS verified by default, errors translated once.

Owns the POP3 conversation (RFC 1939) for the fetcher and the connection doctor:
implicit TLS (port 995) or STLS (RFC 2595 §4), certificate verification through
:func:`mailsupport.tlsutil.client_context`, USER/PASS only over TLS unless the tenant's
``allow_plaintext_auth`` says otherwise, and SASL XOAUTH2 (RFC 5034 ``AUTH``) when an
``oauth_token`` is configured.

Every :mod:`poplib`, :mod:`ssl` and socket error is translated here, once, into
:mod:`mailsupport.errors` (``raise ... from exc``):

* :class:`ConnectError`: DNS, TCP or TLS set-up failed;
* :class:`AuthError`: credentials rejected (``-ERR [AUTH]`` or a plain ``-ERR`` to PASS);
* :class:`LoginRefusedError`: refused for another reason, by the RFC 3206 response codes
  ``[IN-USE]`` (another session holds the maildrop lock), ``[SYS/TEMP]``, ``[SYS/PERM]``,
  ``[LOGIN-DELAY]`` (RFC 2449 §8.1.1, polling too often);
* :class:`ProtocolError`: any other ``-ERR``, a time-out, or the connection closing mid-command.

Passwords and tokens never appear in messages: only the server's reply and our own words.

Speed: RETR answers are read in blocks up to the terminating ``CRLF.CRLF`` (not line by
line as :mod:`poplib` does), and when CAPA lists ``PIPELINING`` (RFC 2449 §6.6)
:meth:`Pop3Client.retr_many` and :meth:`Pop3Client.dele_many` send a window of commands in
one write, so a 50 KB message costs well under one round trip.

Layer 3: imports config, errors, model, sasl, tlsutil; must not import the pipeline, sandbox
or presentation modules.
"""

from __future__ import annotations

import poplib
import re
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Iterator

from .config import ServerSettings, TlsMode
from .errors import AuthError, ConfigError, ConnectError, LoginRefusedError, ProtocolError
from .sasl import parse_xoauth2_error, xoauth2_initial_response
from .tlsutil import client_context

__all__ = ["Pop3Client", "ListingEntry", "REFUSAL_CODES"]

# poplib refuses lines longer than 2048 octets; real mail (long base64 lines, broken
# generators) exceeds RFC 5322's 998 often enough that the fetcher must not choke on it.
poplib._MAXLINE = 1 << 20

#: RFC 3206 / RFC 2449 response codes that mean "not now / not like this", not "wrong password".
REFUSAL_CODES = ("IN-USE", "SYS/TEMP", "SYS/PERM", "LOGIN-DELAY")
_CODE = re.compile(rb"^-ERR\s+\[([A-Z0-9/-]+)\]", re.I)
_UNSTUFF = re.compile(rb"(?m)^\.\.")
_READ_BUFFER = 1 << 18


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingEntry:
    """One message of the maildrop: its number in this session, size (LIST) and UIDL."""

    number: int
    size: int
    uidl: str


def _reply_text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace").strip()
    return str(arg).strip()


class Pop3Client:
    """One POP3 session. Use as a context manager; leaving it without :meth:`quit` aborts
    the session, so the server applies no DELE (RFC 1939 §6: deletions happen in UPDATE).

    ``connect()`` and ``login()`` are separate so the connection doctor can report each
    step; :meth:`open` does both.
    """

    def __init__(self, settings: ServerSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if not settings.host or not settings.port:
            raise ConfigError("the POP3 server needs a host and a port", path="inbound.server")
        self.settings = settings
        self.server = settings.endpoint
        self._ctx = ssl_context
        self._pop: poplib.POP3 | None = None
        self.encrypted = False
        self.greeting = ""
        #: True once :meth:`capabilities` saw PIPELINING (RFC 2449 §6.6)
        self.pipelining = False

    # ------------------------------------------------------------------ set-up
    def _context(self) -> ssl.SSLContext:
        if self._ctx is None:
            try:
                self._ctx = client_context(verify=self.settings.verify_tls, ca_file=self.settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot load the CA file {self.settings.ca_file!r}: {exc}",
                                  path="inbound.server.ca_file") from exc
        return self._ctx

    def connect(self) -> "Pop3Client":
        """Open the TCP (and TLS) connection and read the greeting."""
        s = self.settings
        try:
            if s.tls is TlsMode.IMPLICIT:
                self._pop = poplib.POP3_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
                self.encrypted = True
            else:
                self._pop = poplib.POP3(s.host, s.port, timeout=s.timeout)
            self.greeting = self._pop.getwelcome().decode("utf-8", "replace")
            if s.tls is TlsMode.STARTTLS:
                self._pop.stls(self._context())
                self.encrypted = True
            # a bigger read buffer than makefile()'s 8 KiB: RETR answers are read in blocks
            # (nothing is buffered right now: the server waits for our next command)
            self._pop.file = self._pop.sock.makefile("rb", buffering=_READ_BUFFER)
        except ssl.SSLCertVerificationError as exc:
            self.abort()
            raise ConnectError(f"the server's TLS certificate was not accepted ({exc.verify_message}); "
                               "fix the certificate, give ca_file, or (only if you accept the risk) "
                               "verify_tls = false", server=self.server) from exc
        except ssl.SSLError as exc:
            self.abort()
            raise ConnectError(f"TLS handshake failed ({exc.reason or exc}); check the port and TLS mode "
                               f"(now {s.tls.value})", server=self.server) from exc
        except poplib.error_proto as exc:
            self.abort()
            raise ConnectError(f"the server refused {'STLS' if s.tls is TlsMode.STARTTLS else 'the connection'}: "
                               f"{_reply_text(exc)}", server=self.server) from exc
        except (OSError, EOFError) as exc:
            self.abort()
            raise ConnectError(f"cannot connect ({exc}); check host, port and firewall",
                               server=self.server) from exc
        return self

    def login(self) -> None:
        """Authenticate: XOAUTH2 when a token is set, else USER/PASS (only over TLS unless allowed)."""
        s = self.settings
        pop = self._require()
        if s.oauth_token:
            self._xoauth2()
            return
        if not self.encrypted and not s.allow_plaintext_auth:
            raise ConfigError(f"refusing to send the password for {s.username!r} unencrypted to {self.server}; "
                              "use tls = \"implicit\" or \"starttls\", or set allow_plaintext_auth = true "
                              "(test servers only)", path="inbound.server.tls")
        if not s.username or s.password is None:
            raise ConfigError("POP3 login needs a username and a password (or an oauth_token)",
                              path="inbound.server")
        try:
            pop.user(s.username)
            pop.pass_(s.password.reveal())
        except poplib.error_proto as exc:
            raise self._auth_error(exc) from exc
        except (OSError, EOFError) as exc:
            raise ProtocolError(f"connection lost during login ({exc})", server=self.server) from exc

    def _xoauth2(self) -> None:
        s = self.settings
        pop = self._require()
        initial = xoauth2_initial_response(s.username or "", s.oauth_token)
        try:
            resp = pop._shortcmd(f"AUTH XOAUTH2 {initial}")
            if resp.startswith(b"+ ") or resp == b"+":
                # RFC 5034 §4: a continuation carrying the JSON error; answer empty to get the -ERR.
                err = parse_xoauth2_error(resp[2:])
                pop._putcmd("")
                try:
                    pop._getresp()
                except poplib.error_proto:
                    pass
                status = f" (status {err.status}, scope {err.scope or '?'})" if err else ""
                raise AuthError(f"the OAuth token for {s.username!r} was refused{status}; get a fresh token",
                                server=self.server)
        except poplib.error_proto as exc:
            raise self._auth_error(exc) from exc
        except (OSError, EOFError) as exc:
            raise ProtocolError(f"connection lost during AUTH XOAUTH2 ({exc})", server=self.server) from exc

    def _auth_error(self, exc: poplib.error_proto) -> AuthError:
        text = _reply_text(exc)
        m = _CODE.match(text.encode("utf-8", "replace"))
        code = m.group(1).decode().upper() if m else ""
        who = self.settings.username or "?"
        if code in REFUSAL_CODES:
            advice = {
                "IN-USE": "another client holds the mailbox; close it (or wait) and retry",
                "LOGIN-DELAY": "the server limits how often this mailbox may log in; poll less often",
                "SYS/TEMP": "a temporary server problem; retry later",
                "SYS/PERM": "a permanent server problem; contact the provider",
            }[code]
            return LoginRefusedError(f"login for {who!r} refused [{code}]: {text}; {advice}", server=self.server)
        return AuthError(f"login for {who!r} rejected: {text}; check the user name and password "
                         "(or app password)", server=self.server)

    def open(self) -> "Pop3Client":
        """:meth:`connect` then :meth:`login`; aborts the connection if login fails."""
        self.connect()
        try:
            self.login()
        except BaseException:
            self.abort()
            raise
        return self

    # ------------------------------------------------------------------ commands
    def _require(self) -> poplib.POP3:
        if self._pop is None:
            raise ProtocolError("not connected", server=self.server)
        return self._pop

    @property
    def connected(self) -> bool:
        """False once the connection was closed or lost (no more commands possible)."""
        return self._pop is not None

    def _call(self, what: str, fn, *args):
        """Run one command, translating every library error once (module docstring)."""
        self._require()
        try:
            return fn(*args)
        except poplib.error_proto as exc:
            text = _reply_text(exc)
            if text.endswith("EOF"):
                self.abort()
                raise ProtocolError(f"the server closed the connection during {what}", server=self.server) from exc
            raise ProtocolError(f"{what} failed: {text}", server=self.server) from exc
        except (socket.timeout, TimeoutError) as exc:
            self.abort()
            raise ProtocolError(f"{what} timed out after {self.settings.timeout:g} s", server=self.server) from exc
        except (OSError, EOFError) as exc:
            self.abort()
            raise ProtocolError(f"connection lost during {what} ({exc})", server=self.server) from exc

    def capabilities(self) -> dict[str, tuple[str, ...]]:
        """CAPA (RFC 2449) as ``{name: args}``; empty when the server has no CAPA."""
        try:
            caps = self._call("CAPA", self._require().capa)
        except ProtocolError:
            return {}
        out = {k.upper(): tuple(v) for k, v in caps.items()}
        self.pipelining = "PIPELINING" in out
        return out

    def stat(self) -> tuple[int, int]:
        """(message count, total octets)."""
        return self._call("STAT", self._require().stat)

    def listing(self) -> tuple[ListingEntry, ...]:
        """LIST and UIDL together: every message's number, size and unique id."""
        _, lines, _ = self._call("LIST", self._require().list)
        sizes = {}
        for line in lines:
            num, _, size = line.partition(b" ")
            sizes[int(num)] = int(size.split()[0]) if size.strip() else 0
        _, lines, _ = self._call("UIDL", self._require().uidl)
        out = []
        for line in lines:
            parts = line.decode("utf-8", "replace").split(None, 1)
            if len(parts) != 2:
                raise ProtocolError(f"unreadable UIDL line {line[:80]!r}", server=self.server)
            num = int(parts[0])
            out.append(ListingEntry(number=num, size=sizes.get(num, 0), uidl=parts[1].strip()))
        return tuple(out)

    def retr(self, number: int) -> bytes:
        """RETR: the message's bytes, dot-unstuffed, CRLF line ends (RFC 1939 §7)."""
        def one() -> bytes:
            self._require()._putcmd(f"RETR {number}")
            return self._read_message()

        return self._call(f"RETR {number}", one)

    def retr_many(self, numbers: list[int]) -> Iterator[tuple[int, bytes | ProtocolError]]:
        """RETR several messages; yields ``(number, bytes)`` or ``(number, ProtocolError)`` in order.

        With ``PIPELINING`` (RFC 2449 §6.6) all RETR commands go out in one write and the
        answers are read back to back, so the messages cost one round trip instead of one
        each. A refused RETR yields its error and the rest continue; a lost connection
        yields its error and ends the iteration.
        """
        if not self.pipelining:
            for n in numbers:
                try:
                    yield n, self.retr(n)
                except ProtocolError as exc:
                    yield n, exc
                    if not self.connected:
                        return
            return
        try:
            self._call("RETR (pipelined)", lambda: self._require().sock.sendall(
                b"".join(f"RETR {n}\r\n".encode() for n in numbers)))
        except ProtocolError as exc:
            yield numbers[0], exc
            return
        for n in numbers:
            try:
                yield n, self._call(f"RETR {n}", self._read_message)
            except ProtocolError as exc:
                yield n, exc
                if not self.connected:
                    return

    def _read_message(self) -> bytes:
        # poplib reads a multi-line answer one readline() per line (~700 calls for 50 KB);
        # reading in blocks up to the terminator is several times faster. The end is the
        # first CRLF "." CRLF: dot-stuffing (RFC 1939 §3) keeps it out of the data itself.
        # peek() then read() consumes exactly up to the terminator, so a pipelined answer
        # that follows stays in the buffer for the next call.
        pop = self._require()
        first = pop._getline()[0]
        if not first.startswith(b"+"):
            raise poplib.error_proto(first)
        f = pop.file
        buf = bytearray()
        while True:
            chunk = f.peek(1 << 16)
            if not chunk:
                raise poplib.error_proto(b"-ERR EOF")
            if not buf and chunk.startswith(b".\r\n"):  # an empty message
                f.read(3)
                return b""
            tail = bytes(buf[-4:])
            i = (tail + chunk).find(b"\r\n.\r\n")
            if i >= 0:
                buf += f.read(i + 5 - len(tail))
                break
            buf += f.read(len(chunk))
        data = bytes(buf[:-3])
        if b"\n." in data or data.startswith(b"."):
            data = _UNSTUFF.sub(b".", data)
        return data

    def dele(self, number: int) -> None:
        """DELE: mark for deletion (applied only after a successful QUIT)."""
        self._call(f"DELE {number}", self._require().dele, number)

    def dele_many(self, numbers: list[int]) -> dict[int, str]:
        """DELE several messages; returns ``{number: server reply}`` for each one refused.

        With ``PIPELINING`` in CAPA (RFC 2449 §6.6) all commands go out in one write and the
        replies are read after, saving a round trip per message; otherwise one by one.
        Raises :class:`ProtocolError` only when the connection is lost.
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
            pop = self._require()
            pop.sock.sendall(b"".join(f"DELE {n}\r\n".encode() for n in numbers))
            for n in numbers:
                line = pop._getline()[0]
                if not line:
                    raise poplib.error_proto(b"-ERR EOF")
                if not line.startswith(b"+"):
                    refused[n] = f"DELE {n} failed: {line.decode('utf-8', 'replace')}"

        self._call(f"DELE of {len(numbers)} messages", pipelined)
        return refused

    def rset(self) -> None:
        """RSET: unmark every message marked for deletion in this session."""
        self._call("RSET", self._require().rset)

    def quit(self) -> str:
        """QUIT: enter UPDATE (deletions applied) and close; returns the server's reply."""
        resp = self._call("QUIT", self._require().quit)
        self._pop = None
        return resp.decode("utf-8", "replace")

    def abort(self) -> None:
        """Close the connection without QUIT: the server discards every DELE of this session."""
        pop, self._pop = self._pop, None
        if pop is not None:
            try:
                pop.close()
            except OSError:
                pass

    def __enter__(self) -> "Pop3Client":
        if self._pop is None:
            self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()
