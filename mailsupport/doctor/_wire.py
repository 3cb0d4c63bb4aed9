"""Line-level socket plumbing shared by the doctor's POP3 and SMTP probes.

Owns: the system-resolver fallback for the DNS rung, opening TCP, wrapping TLS (implicit or after
STLS/STARTTLS) and translating every socket/SSL failure into a short machine code plus the
library's words, and reading CRLF lines and multi-line replies, bounded:

* each rung sets :attr:`Wire.deadline` (a wall-clock :class:`~mailsupport.limits.Deadline`);
  before every read and handshake the socket timeout becomes ``min(timeout, time left)``, so a
  server dripping one byte a second ends the rung on time (code ``deadline``);
* lines go through :class:`~mailsupport.protolines.LineSplitter` (``Limits.max_line``) and
  SMTP replies through :class:`~mailsupport.protolines.SmtpReplyReader`
  (``Limits.max_reply_lines``); a POP3 multi-line answer may have ``max_reply_lines`` lines
  when kept (CAPA) and ``max_listing_lines`` / ``max_listing_bytes`` when only counted (UIDL).
  Past a limit: code ``too-long``; a reply that is not SMTP: ``bad-reply``.

The probes use this instead of :mod:`poplib`/:mod:`smtplib` because the doctor needs to stop
and report after each rung (DNS, TCP, TLS, greeting, ...), which those libraries fold into
one constructor call. Timings are taken by the rung recorder (``_recorder``), also layer 3.
Must not import the sandbox, the CLI or any presentation module.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import DeadlineExceeded, LimitExceeded, ProtocolError
from ..limits import DEFAULT_LIMITS, Deadline, Limits
from ..protolines import EXCERPT, LineSplitter, SmtpReplyReader
from ..tlsutil import client_context

__all__ = ["SystemResolver", "WireError", "Wire", "tls_failure_code", "is_ip_literal"]


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), used when no DNS server is given."""

    def addresses(self, host: str) -> list[str]:
        """Addresses of ``host`` via ``getaddrinfo``; raises ``DnsError`` when it has none."""
        from ..errors import DnsError, DnsTempError

        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_AGAIN,):
                raise DnsTempError(f"temporary DNS failure for {host}: {exc.strerror}") from exc
            err = DnsError(f"the name {host} does not resolve ({exc.strerror})")
            err.doctor_code = "dns-no-address" if exc.errno == getattr(socket, "EAI_NODATA", -5) else "nxdomain"
            raise err from exc
        out: list[str] = []
        for info in infos:
            addr = info[4][0]
            if addr not in out:
                out.append(addr)
        return out


def is_ip_literal(host: str) -> bool:
    """True when ``host`` is an IPv4/IPv6 address (no DNS rung needed)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class WireError(Exception):
    """A rung failed on the wire. ``code`` is a short machine code (``refused``, ``timeout``,
    ``cert-expired`` ...) that :mod:`mailsupport.doctor.classify` reads; ``words`` are the
    exact words of the library; ``reply`` the server's exact words when it said something;
    ``facts`` what was learnt before the failure (login method, XOAUTH2 status)."""

    def __init__(self, code: str, words: str, *, reply: str = "", facts: tuple[tuple[str, str], ...] = ()) -> None:
        self.code = code
        self.words = words
        self.reply = reply
        self.facts = facts
        super().__init__(f"{code}: {words}")


def tls_failure_code(exc: BaseException) -> str:
    """Name an SSL failure: expired / wrong host / untrusted certificate, old TLS version, or
    a peer that is not speaking TLS at all (plaintext greeting read as a TLS record)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        # OpenSSL X509_V_ERR_* codes: 10 certificate has expired, 9 not yet valid,
        # 62 host name mismatch; the rest (18/19/20/21 self-signed, unknown issuer) untrusted.
        code = getattr(exc, "verify_code", 0)
        message = (getattr(exc, "verify_message", "") or str(exc)).lower()
        if code == 10 or "expired" in message:
            return "cert-expired"
        if code == 62 or "hostname mismatch" in message or "ip address mismatch" in message:
            return "cert-wrong-host"
        return "cert-invalid"
    text = str(exc).upper()
    if (
        "WRONG_VERSION_NUMBER" in text
        or "RECORD_LAYER_FAILURE" in text
        or "PACKET_LENGTH_TOO_LONG" in text
        or "HTTP_REQUEST" in text
    ):
        return "tls-on-plaintext"
    if (
        "UNSUPPORTED_PROTOCOL" in text
        or "PROTOCOL_VERSION" in text
        or "NO_PROTOCOLS_AVAILABLE" in text
        or "VERSION_TOO_LOW" in text
    ):
        return "tls-version"
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError)) or "EOF" in text:
        return "tls-closed"
    return "tls-failed"


#: Command verbs a rung's error may name (anything else sent, e.g. a base64 AUTH line, is not named).
_VERBS = frozenset(
    {"CAPA", "STLS", "USER", "PASS", "AUTH", "STAT", "UIDL", "QUIT", "EHLO", "STARTTLS", "MAIL", "RCPT", "RSET"}
)


@dataclass(slots=True)
class Wire:
    """One TCP (then maybe TLS) connection spoken line by line: ``timeout`` bounds each read,
    :attr:`deadline` (set by each rung) the rung as a whole, :attr:`limits` every answer."""

    sock: socket.socket
    host: str
    timeout: float
    deadline: Deadline | None = None
    limits: Limits = DEFAULT_LIMITS
    #: the verb of the last command sent (named in errors); never its arguments
    command: str = ""
    _lines: LineSplitter = field(init=False)
    _last: bytes = b""

    def __post_init__(self) -> None:
        self._lines = LineSplitter(self.limits.max_line)

    def _waiting(self) -> str:
        return f"the answer to {self.command}" if self.command else "the greeting"

    def _said(self) -> str:
        """What the server said last in this rung (the partial line, else the last line), shortened."""
        words = self._lines.head() or self._last
        text = words[:EXCERPT].decode("utf-8", "replace")
        return text + ("..." if len(words) > EXCERPT or self._lines.pending() > EXCERPT else "")

    def _late(self, deadline: Deadline) -> WireError:
        return WireError(
            "deadline",
            f"the {deadline.step} step (waiting for {self._waiting()}) did not finish "
            f"within its {deadline.seconds:g} s deadline: the server sends too slowly or without end",
            reply=self._said(),
        )

    def _endless(self, what: str) -> WireError:
        return WireError(
            "too-long",
            f"{self._waiting()} ran past the limit of {what}: the server sends without end",
            reply=self._said(),
        )

    @classmethod
    def connect(
        cls,
        address: str,
        port: int,
        host: str,
        timeout: float,
        *,
        deadline: Deadline | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Wire:
        """Open TCP to ``address:port``; ``host`` is kept for TLS server-name checks."""
        if deadline is not None:
            try:
                timeout = deadline.timeout(timeout)
            except DeadlineExceeded:
                raise WireError(
                    "deadline",
                    f"the {deadline.step} step ran out of its {deadline.seconds:g} s deadline before connecting",
                ) from None
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except ConnectionRefusedError as exc:
            raise WireError("refused", f"connection refused by {address}:{port} ({exc.strerror})") from exc
        except TimeoutError as exc:
            raise WireError("timeout", f"no answer from {address}:{port} within {timeout:g} s") from exc
        except OSError as exc:
            raise WireError("unreachable", f"cannot reach {address}:{port}: {exc.strerror or exc}") from exc
        sock.settimeout(timeout)
        return cls(sock=sock, host=host, timeout=timeout, deadline=deadline, limits=limits)

    def _arm(self) -> None:
        """Set the socket timeout for the next read or handshake: ``min(timeout, time left)``."""
        if self.deadline is None:
            return
        try:
            self.sock.settimeout(self.deadline.timeout(self.timeout))
        except DeadlineExceeded:
            raise self._late(self.deadline) from None

    def start_tls(self, *, verify: bool, ca_file: str | None) -> str:
        """TLS handshake on this connection; returns ``"TLSv1.3 <cipher>"``; raises ``WireError``."""
        ctx = client_context(verify=verify, ca_file=ca_file)
        server_name = None if is_ip_literal(self.host) and not verify else self.host
        self._arm()  # the handshake's timeout bounds it as a whole
        try:
            tls = ctx.wrap_socket(self.sock, server_hostname=server_name)
        except (ssl.SSLError, ConnectionResetError) as exc:
            self.close()
            raise WireError(tls_failure_code(exc), str(getattr(exc, "verify_message", "") or exc)) from exc
        except TimeoutError as exc:
            self.close()
            if self.deadline is not None and self.deadline.expired():
                raise self._late(self.deadline) from None
            raise WireError("timeout", f"TLS handshake got no answer within {self.timeout:g} s") from exc
        except OSError as exc:
            self.close()
            raise WireError("tls-closed", f"connection lost during the TLS handshake: {exc}") from exc
        self.sock = tls
        self._lines = LineSplitter(self.limits.max_line)  # nothing sent before the handshake counts
        cipher = tls.cipher()
        return f"{tls.version()} {cipher[0] if cipher else ''}".strip()

    def send(self, line: str) -> None:
        """Send one command line (CRLF added)."""
        verb = line.split(" ", 1)[0].upper()
        if verb in _VERBS:
            self.command = verb
        self._last = b""
        self._arm()  # sendall's timeout bounds the whole call
        try:
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except OSError as exc:
            raise WireError("closed", f"the server closed the connection ({exc})") from exc

    def _read_bytes(self) -> bytes:
        """One complete line as bytes (without its line end), within the limits and the deadline."""
        lines = self._lines
        while True:
            try:
                line = lines.line()
            except LimitExceeded as exc:
                raise self._endless(f"{exc.limit:,} bytes a line") from None
            if line is not None:
                self._last = line
                return line
            self._arm()
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as exc:
                if self.deadline is not None and self.deadline.expired():
                    raise self._late(self.deadline) from None
                raise WireError("timeout", f"the server said nothing within {self.timeout:g} s") from exc
            except ssl.SSLError as exc:
                raise WireError(tls_failure_code(exc), str(exc)) from exc
            except OSError as exc:
                raise WireError("closed", f"the connection was lost ({exc.strerror or exc})") from exc
            if not chunk:
                raise WireError("closed", "the server closed the connection")
            lines.feed(chunk)

    def read_line(self) -> str:
        """One line without its CRLF; ``WireError`` (``timeout``, ``closed``, ``deadline``,
        ``too-long``) when none comes in time or within the limits."""
        return self._read_bytes().decode("utf-8", "replace")

    def read_smtp_reply(self, first: str | None = None) -> tuple[int, list[str]]:
        """An SMTP reply (RFC 5321 §4.2: ``250-`` continues, ``250 `` ends): code and lines.
        ``first`` is a line already read (the greeting's first line)."""
        reader = SmtpReplyReader(self.limits.max_reply_lines)
        line = first.encode("utf-8") if first is not None else self._read_bytes()
        while True:
            try:
                reply = reader.add(line)
            except LimitExceeded as exc:
                raise self._endless(f"{exc.limit:,} lines a reply") from None
            except ProtocolError:
                raise WireError(
                    "bad-reply",
                    f"{self._waiting()} is not an SMTP reply (RFC 5321 §4.2: a three-digit "
                    "code, then a space or a hyphen)",
                    reply=line.decode("utf-8", "replace"),
                ) from None
            if reply is not None:
                code, lines = reply
                return code, [ln.decode("utf-8", "replace") for ln in lines]
            line = self._read_bytes()

    def read_multiline(self) -> list[str]:
        """A POP3 multi-line body up to the lone ``.`` (RFC 1939 §3), dot-unstuffed, of at most
        ``max_reply_lines`` lines (CAPA)."""
        out: list[str] = []
        for line in self._body(self.limits.max_reply_lines):
            text = line.decode("utf-8", "replace")
            out.append(text[1:] if text.startswith("..") else text)
        return out

    def count_multiline(self, *, check: Callable[[bytes], bool] | None = None) -> int:
        """The number of lines of a POP3 multi-line body (UIDL, only counted), at most
        ``max_listing_lines`` lines and ``max_listing_bytes`` bytes; a line that fails
        ``check`` is a malformed answer (``bad-reply``) quoting it."""
        count = 0
        for line in self._body(self.limits.max_listing_lines):
            count += 1
            if check is not None and not check(line):
                raise WireError(
                    "bad-reply",
                    f"line {count} of the answer to {self.command} is malformed",
                    reply=line[:EXCERPT].decode("utf-8", "replace"),
                )
        return count

    def _body(self, most: int):
        """The lines of a multi-line body, bounded in count and bytes (``too-long`` past them)."""
        count = size = 0
        cap = self.limits.max_listing_bytes
        while True:
            line = self._read_bytes()
            if line == b".":
                return
            count += 1
            size += len(line) + 2
            if count > most or size > cap:
                raise self._endless(f"{most:,} lines" if count > most else f"{cap:,} bytes")
            yield line

    def close(self) -> None:
        """Close quietly."""
        try:
            self.sock.close()
        except OSError:
            pass
