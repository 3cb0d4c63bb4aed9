"""Misbehaving POP3 and SMTP servers on loopback, for testing that every client stays bounded.

Owns :class:`HostileServer`, the tables :data:`POP3_POINTS`, :data:`SMTP_POINTS` and
:data:`HOWS`. A hostile server speaks the protocol honestly (a small RFC 1939 maildrop with
DELE applied only at QUIT; an SMTP receiver that accepts any mail) except at **one point**
(``at``), where it misbehaves in one **way** (``how``)::

    with HostileServer("pop3", at="retr", how="endless-lines") as srv:
        srv.deliver(b"Subject: x\\r\\n\\r\\nhi\\r\\n", uidl="u1")
        ... point the client at ("127.0.0.1", srv.port) ...
    assert srv.bytes_sent < srv.max_bytes      # the client gave up on its own

Ways (:data:`HOWS`):

=================  ====================================================================
``honest``         no misbehaviour (the baseline)
``endless-lines``  the positive first line, then well-formed lines forever, never the end
                   (``.`` for POP3 multi-line answers, a final ``250 `` line for SMTP)
``endless-line``   the positive start of the answer, then bytes forever with no line end
``endless-listing`` (``list``/``uidl``; elsewhere as ``endless-lines``) well-formed listing
                   lines forever, numbered 1, 2, 3...: only a client's listing limits (line
                   count, bytes) end it, where ``endless-lines``' filler is a malformed line
``drip``           ``endless-lines`` sent one byte every ``drip_interval`` seconds: each
                   read gets data in time, so only a wall-clock deadline ends it
``malformed``      a syntactically broken answer (``LIST`` ``1 lots``, ``UIDL`` with no id,
                   ``STAT`` ``+OK many``, an SMTP reply ``2x0 what``)
``echo-secret``    refuses the login and quotes it: ``-ERR [AUTH] no such password: <PASS
                   argument>``; SMTP ``535 5.7.8 bad credentials for AUTH PLAIN <base64>``
                   (and the decoded user/password for ``AUTH LOGIN``)
``close``          closes the connection at that point without a word
``huge-size``      (``list``/``stat`` only) reports every message as 10**15 octets
=================  ====================================================================

The maildrop is kept across connections, so a test can reproduce RFC 1939 corner cases by
itself: :meth:`HostileServer.deliver` with a ``uidl`` used by a message deleted earlier is a
reused UIDL; ``listed_size`` makes ``LIST`` lie. Every endless answer stops after
``max_bytes`` or when the server's ``lifetime`` (seconds) is over, so a client that is not
bounded fails the test instead of hanging the suite forever. Passwords and AUTH arguments are
recorded as ``***`` in :attr:`HostileServer.commands`.

Layer 6 (testing); standard library only. Plain TCP (no TLS): tenants pointed at it need
``allow_plaintext_auth``.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from dataclasses import dataclass

__all__ = ["HostileServer", "POP3_POINTS", "SMTP_POINTS", "HOWS", "HostileMessage"]

#: Where a POP3 server can misbehave (``greeting`` is before any command).
POP3_POINTS = ("greeting", "capa", "user", "pass", "stat", "list", "uidl", "top", "retr", "dele", "quit")
#: Where an SMTP server can misbehave (``dot`` is the reply to the end of DATA).
SMTP_POINTS = ("greeting", "ehlo", "auth", "mail", "rcpt", "data", "dot", "rset", "quit")
HOWS = (
    "honest",
    "endless-lines",
    "endless-line",
    "endless-listing",
    "drip",
    "malformed",
    "echo-secret",
    "close",
    "huge-size",
)

_MULTILINE_POP3 = {"capa", "list", "uidl", "top", "retr"}


@dataclass(slots=True)
class HostileMessage:
    """One message of the hostile maildrop (``listed_size`` overrides what LIST/STAT say)."""

    uidl: str
    raw: bytes
    listed_size: int | None = None


class _Gone(Exception):
    """The client went away, the byte budget or the lifetime is spent: end this session."""


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def _stuff(data: bytes) -> bytes:
    body = _crlf(data)
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    lines = body.split(b"\r\n")[:-1] if body else []
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)


class HostileServer:
    """A POP3 (``protocol="pop3"``) or SMTP server on ``127.0.0.1:0`` that misbehaves at ``at``.

    ``username``/``password`` are the only credentials accepted (any, when ``password`` is
    ``None``). ``lifetime`` bounds how long the server runs at all; ``max_bytes`` how much any
    one endless answer may send. ``auth_mechanisms`` is the SMTP EHLO ``AUTH`` line (``"LOGIN"``
    makes a client use AUTH LOGIN). Use as a context manager; :attr:`port` is the bound port.
    """

    def __init__(
        self,
        protocol: str,
        *,
        at: str = "greeting",
        how: str = "honest",
        username: str | None = None,
        password: str | None = None,
        drip_interval: float = 0.2,
        lifetime: float = 60.0,
        max_bytes: int = 1 << 31,
        size_limit: int | None = None,
        auth_mechanisms: str = "PLAIN LOGIN",
    ) -> None:
        points = POP3_POINTS if protocol == "pop3" else SMTP_POINTS if protocol == "smtp" else None
        if points is None:
            raise ValueError(f"protocol must be 'pop3' or 'smtp', not {protocol!r}")
        if at not in points:
            raise ValueError(f"{protocol} cannot misbehave at {at!r}; choose one of {', '.join(points)}")
        if how not in HOWS:
            raise ValueError(f"unknown way {how!r}; choose one of {', '.join(HOWS)}")
        self.protocol, self.at, self.how = protocol, at, how
        self.username, self.password = username, password
        self.drip_interval, self.lifetime, self.max_bytes = drip_interval, lifetime, max_bytes
        self.size_limit = size_limit
        self.auth_mechanisms = auth_mechanisms
        self.host = "127.0.0.1"
        self.maildrop: list[HostileMessage] = []
        #: every command line received, oldest first, as ``(session number, line)``; secrets as ``***``
        self.commands: list[tuple[int, str]] = []
        #: SMTP: ``(mail_from, rcpt_tos, data)`` of each message accepted
        self.received: list[tuple[str, tuple[str, ...], bytes]] = []
        #: UIDLs whose deletion a QUIT applied, in order
        self.deleted: list[str] = []
        self.bytes_sent = 0
        self.sessions = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._started = 0.0
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name=f"hostile-{protocol}", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> HostileServer:
        self._started = time.monotonic()
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, end every session, wait for the threads (bounded)."""
        self._stop.set()
        if self._accepter.is_alive():
            self._accepter.join(timeout=5)
        for t in list(self._threads):
            t.join(timeout=5)
        self._listener.close()

    def deliver(self, raw: bytes, *, uidl: str | None = None, listed_size: int | None = None) -> HostileMessage:
        """Put a message in the maildrop (``uidl`` defaults to a fresh one)."""
        with self._lock:
            m = HostileMessage(
                uidl=uidl or f"hostile-{len(self.maildrop) + len(self.deleted) + 1}", raw=raw, listed_size=listed_size
            )
            self.maildrop.append(m)
            return m

    def commands_named(self, verb: str) -> list[str]:
        """The command lines that began with ``verb`` (case-insensitive), every session."""
        v = verb.upper()
        return [line for _s, line in self.commands if line.upper().split(" ", 1)[0] == v]

    def _accept(self) -> None:
        while not self._stop.is_set() and time.monotonic() - self._started < self.lifetime:
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.sessions += 1
                n = self.sessions
            t = threading.Thread(target=self._serve, args=(conn, n), name=f"hostile-{self.protocol}-{n}", daemon=True)
            self._threads.append(t)
            t.start()
        self._stop.set()

    # ------------------------------------------------------------------ wire
    def _alive(self) -> None:
        if self._stop.is_set() or time.monotonic() - self._started > self.lifetime:
            raise _Gone()

    def _send(self, conn: socket.socket, data: bytes) -> None:
        self._alive()
        try:
            conn.sendall(data)
        except OSError as exc:
            raise _Gone() from exc
        with self._lock:
            self.bytes_sent += len(data)

    def _endless(self, conn: socket.socket, first: bytes, unit: bytes, *, slow: bool = False) -> None:
        """Send ``first`` then ``unit`` over and over until the budget, lifetime or client ends it;
        ``slow`` sends one byte every :attr:`drip_interval` seconds."""
        if slow:
            sent, data = 0, first + unit
            while True:
                for i in range(len(data)):
                    self._send(conn, data[i : i + 1])
                    sent += 1
                    if sent >= self.max_bytes or self._stop.wait(self.drip_interval):
                        raise _Gone()
                data = unit
        self._send(conn, first)
        sent = len(first)
        block = unit * max(1, 65536 // len(unit))
        while sent < self.max_bytes:
            self._send(conn, block)
            sent += len(block)
        raise _Gone()

    def _misbehave(
        self, conn: socket.socket, point: str, positive: bytes, *, multiline: bool, secret_echo: bytes = b""
    ) -> bool:
        """Misbehave if this is the point; True when an answer was sent (the caller skips its own).
        Endless ways never return (they end the session with :class:`_Gone`)."""
        if point != self.at or self.how in ("honest", "huge-size"):
            return False
        how = self.how
        if how == "close":
            raise _Gone()
        if how == "echo-secret":
            if not secret_echo:
                return False
            self._send(conn, secret_echo)
            return True
        if how == "malformed":
            self._send(conn, self._malformed(point))
            return True
        head = positive.rstrip(b"\r\n")
        if how == "endless-line":
            self._endless(conn, head + b" ", b"x")
        if how == "endless-listing" and point in ("list", "uidl"):
            self._endless_listing(conn, positive, point)
        if self.protocol == "pop3":
            if multiline:
                first, line = positive, b"x-hostile filler line that never ends the answer\r\n"
            else:  # a one-line answer cannot go on for lines: the line goes on instead
                first, line = head + b" ", b"x"
        else:
            first, line = b"", positive[:3] + b"-hostile reply line that never ends the reply\r\n"
        self._endless(conn, first, line, slow=how == "drip")
        return True  # pragma: no cover - _endless always raises

    def _endless_listing(self, conn: socket.socket, first: bytes, point: str) -> None:
        """``first``, then ``n size`` (LIST) or ``n id`` (UIDL) lines for n = 1, 2, 3... in blocks,
        until the byte budget, the lifetime or the client ends it."""
        self._send(conn, first)
        sent, n = len(first), 0
        while sent < self.max_bytes:
            lines = [f"{k} {100 if point == 'list' else f'hostile-{k}'}\r\n" for k in range(n + 1, n + 4097)]
            n += len(lines)
            block = "".join(lines).encode()
            self._send(conn, block)
            sent += len(block)
        raise _Gone()

    def _malformed(self, point: str) -> bytes:
        if self.protocol == "smtp":
            return b"2x0 what\r\n"
        return {
            "greeting": b"*OK hello\r\n",
            "stat": b"+OK many\r\n",
            "list": b"+OK\r\n1 lots\r\n.\r\n",
            "uidl": b"+OK\r\n1\r\nseven x\r\n.\r\n",
            "capa": b"+OK\r\n\x00\xff\r\n.\r\n",
            "retr": b"+OK\r\n",  # an answer without its terminator, then silence until close
            "top": b"+OK\r\n",
        }.get(point, b"+ OK?\r\n")

    def _lines(self, conn: socket.socket):
        buf = b""
        conn.settimeout(0.2)
        while True:
            self._alive()
            while b"\n" not in buf:
                self._alive()
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError as exc:
                    raise _Gone() from exc
                if not chunk:
                    raise _Gone()
                buf += chunk
                if len(buf) > 1 << 20:
                    raise _Gone()
            line, _, buf = buf.partition(b"\n")
            yield line.rstrip(b"\r")

    def _serve(self, conn: socket.socket, session: int) -> None:
        try:
            with conn:
                (self._serve_pop3 if self.protocol == "pop3" else self._serve_smtp)(conn, session)
        except _Gone:
            pass

    def _record(self, session: int, line: str) -> None:
        with self._lock:
            self.commands.append((session, line))

    # ------------------------------------------------------------------ POP3
    def _serve_pop3(self, conn: socket.socket, session: int) -> None:
        if not self._misbehave(conn, "greeting", b"+OK hostile POP3 server ready\r\n", multiline=False):
            self._send(conn, b"+OK hostile POP3 server ready\r\n")
        user = ""
        authed = False
        marked: set[int] = set()
        with self._lock:
            drop = list(self.maildrop)  # this session's maildrop, numbered from 1 (RFC 1939 §5)
        lines = self._lines(conn)
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            self._record(session, f"{verb} ***" if verb in ("PASS", "AUTH") else text)
            point = verb.lower()
            live = [(i + 1, m) for i, m in enumerate(drop) if i + 1 not in marked]

            def size(m: HostileMessage) -> int:
                if self.at in ("list", "stat") and self.how == "huge-size":
                    return 10**15
                return m.listed_size if m.listed_size is not None else len(_crlf(m.raw))

            if verb == "CAPA":
                if not self._misbehave(conn, "capa", b"+OK capabilities follow\r\n", multiline=True):
                    self._send(conn, b"+OK capabilities follow\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")
            elif verb == "USER":
                user = arg
                if not self._misbehave(conn, "user", b"+OK send PASS\r\n", multiline=False):
                    self._send(conn, b"+OK send PASS\r\n")
            elif verb == "PASS":
                echo = b"-ERR [AUTH] no such password: " + arg.encode("utf-8", "replace") + b"\r\n"
                if self._misbehave(conn, "pass", b"+OK logged in\r\n", multiline=False, secret_echo=echo):
                    continue
                ok = (self.username is None or user == self.username) and (
                    self.password is None or arg == self.password
                )
                authed = ok
                self._send(conn, b"+OK logged in\r\n" if ok else b"-ERR [AUTH] invalid user name or password\r\n")
            elif verb == "QUIT":
                if authed:
                    with self._lock:
                        for n in sorted(marked, reverse=True):
                            m = drop[n - 1]
                            if m in self.maildrop:
                                self.maildrop.remove(m)
                                self.deleted.append(m.uidl)
                if not self._misbehave(conn, "quit", b"+OK bye\r\n", multiline=False):
                    self._send(conn, b"+OK bye\r\n")
                return
            elif not authed:
                self._send(conn, b"-ERR log in first\r\n")
            elif verb == "STAT":
                first = f"+OK {len(live)} {sum(size(m) for _n, m in live)}\r\n".encode()
                if not self._misbehave(conn, "stat", first, multiline=False):
                    self._send(conn, first)
            elif verb in ("LIST", "UIDL"):
                col = (lambda m: str(size(m))) if verb == "LIST" else (lambda m: m.uidl)
                if arg:
                    hit = [(n, m) for n, m in live if str(n) == arg.strip()]
                    self._send(
                        conn, f"+OK {hit[0][0]} {col(hit[0][1])}\r\n".encode() if hit else b"-ERR no such message\r\n"
                    )
                    continue
                if not self._misbehave(conn, point, b"+OK listing follows\r\n", multiline=True):
                    body = "".join(f"{n} {col(m)}\r\n" for n, m in live).encode()
                    self._send(conn, b"+OK listing follows\r\n" + body + b".\r\n")
            elif verb in ("RETR", "TOP"):
                parts = arg.split()
                hit = [m for n, m in live if parts and str(n) == parts[0]]
                if not hit:
                    self._send(conn, b"-ERR no such message\r\n")
                    continue
                if self._misbehave(conn, point, b"+OK message follows\r\n", multiline=True):
                    continue
                data = hit[0].raw
                if verb == "TOP":
                    head, sep, body = _crlf(data).partition(b"\r\n\r\n")
                    count = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                    data = head + sep + b"".join(ln + b"\r\n" for ln in body.split(b"\r\n")[:count] if sep)
                self._send(conn, b"+OK message follows\r\n" + _stuff(data) + b".\r\n")
            elif verb == "DELE":
                hit = [n for n, _m in live if str(n) == arg.strip()]
                if self._misbehave(conn, "dele", b"+OK marked\r\n", multiline=False):
                    continue
                if hit:
                    marked.add(hit[0])
                self._send(conn, b"+OK marked\r\n" if hit else b"-ERR no such message\r\n")
            elif verb == "RSET":
                marked.clear()
                self._send(conn, b"+OK\r\n")
            elif verb == "NOOP":
                self._send(conn, b"+OK\r\n")
            else:
                self._send(conn, b"-ERR unknown command\r\n")

    # ------------------------------------------------------------------ SMTP
    def _serve_smtp(self, conn: socket.socket, session: int) -> None:
        if not self._misbehave(conn, "greeting", b"220 hostile.test ESMTP ready\r\n", multiline=False):
            self._send(conn, b"220 hostile.test ESMTP ready\r\n")
        mail_from = ""
        rcpts: list[str] = []
        lines = self._lines(conn)
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            verb = text.split(" ", 1)[0].upper()
            self._record(session, "AUTH ***" if verb == "AUTH" else text)
            if verb in ("EHLO", "HELO"):
                size = f"250-SIZE {self.size_limit}\r\n" if self.size_limit else ""
                answer = f"250-hostile.test\r\n{size}250-AUTH {self.auth_mechanisms}\r\n250 8BITMIME\r\n".encode()
                if not self._misbehave(conn, "ehlo", b"250 hostile.test\r\n", multiline=True):
                    self._send(conn, answer)
            elif verb == "AUTH":
                self._auth(conn, text, lines)
            elif verb == "MAIL":
                mail_from, rcpts = text[10:].strip().strip("<>"), []
                if not self._misbehave(conn, "mail", b"250 2.1.0 ok\r\n", multiline=False):
                    self._send(conn, b"250 2.1.0 ok\r\n")
            elif verb == "RCPT":
                rcpts.append(text[8:].strip().strip("<>"))
                if not self._misbehave(conn, "rcpt", b"250 2.1.5 ok\r\n", multiline=False):
                    self._send(conn, b"250 2.1.5 ok\r\n")
            elif verb == "DATA":
                if self._misbehave(conn, "data", b"354 go ahead\r\n", multiline=False):
                    continue
                self._send(conn, b"354 go ahead\r\n")
                body: list[bytes] = []
                for line in lines:
                    if line == b".":
                        break
                    body.append(line[1:] if line.startswith(b".") else line)
                with self._lock:
                    self.received.append((mail_from, tuple(rcpts), b"\r\n".join(body) + b"\r\n"))
                if not self._misbehave(conn, "dot", b"250 2.0.0 queued\r\n", multiline=False):
                    self._send(conn, b"250 2.0.0 queued\r\n")
            elif verb == "RSET":
                mail_from, rcpts = "", []
                if not self._misbehave(conn, "rset", b"250 2.0.0 ok\r\n", multiline=False):
                    self._send(conn, b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                if not self._misbehave(conn, "quit", b"221 2.0.0 bye\r\n", multiline=False):
                    self._send(conn, b"221 2.0.0 bye\r\n")
                return
            elif verb == "NOOP":
                self._send(conn, b"250 2.0.0 ok\r\n")
            else:
                self._send(conn, b"502 5.5.2 unknown command\r\n")

    def _auth(self, conn: socket.socket, text: str, lines) -> None:
        parts = text.split()
        mech = parts[1].upper() if len(parts) > 1 else ""
        if mech not in self.auth_mechanisms.upper().split():  # only what EHLO offered
            self._send(conn, b"504 5.5.4 unrecognised authentication type\r\n")
            return
        if mech == "PLAIN":
            arg = parts[2] if len(parts) > 2 else None
            if arg is None:
                self._send(conn, b"334 \r\n")
                arg = next(lines).decode("ascii", "replace")
            try:
                _z, user, password = base64.b64decode(arg, validate=False).decode("utf-8", "replace").split("\0", 2)
            except ValueError:
                user, password = "", ""
            echo = f"535 5.7.8 bad credentials for AUTH PLAIN {arg}\r\n".encode()
        elif mech == "LOGIN":
            if len(parts) > 2:  # the user name as an initial response (RFC 4954 §4), as smtplib sends it
                user_b64 = parts[2]
            else:
                self._send(conn, b"334 VXNlcm5hbWU6\r\n")
                user_b64 = next(lines).decode("ascii", "replace")
            self._send(conn, b"334 UGFzc3dvcmQ6\r\n")
            pass_b64 = next(lines).decode("ascii", "replace")
            user = base64.b64decode(user_b64 + "==").decode("utf-8", "replace")
            password = base64.b64decode(pass_b64 + "==").decode("utf-8", "replace")
            echo = f"535 5.7.8 bad credentials: user {user} password {password} ({pass_b64})\r\n".encode()
        else:
            self._send(conn, b"504 5.5.4 unrecognised authentication type\r\n")
            return
        if self._misbehave(conn, "auth", b"235 2.7.0 authenticated\r\n", multiline=False, secret_echo=echo):
            return
        ok = (self.username is None or user == self.username) and (self.password is None or password == self.password)
        self._send(conn, b"235 2.7.0 authenticated\r\n" if ok else b"535 5.7.8 authentication failed\r\n")
