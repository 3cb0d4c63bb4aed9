"""Line-level socket plumbing shared by the doctor's POP3 and SMTP probes.

Owns: the system-resolver fallback for the DNS rung, opening TCP, wrapping TLS (implicit or after
STLS/STARTTLS) and translating every socket/SSL failure into a short machine code plus the
library's words, and reading CRLF lines and multi-line replies with a deadline.

The probes use this instead of :mod:`poplib`/:mod:`smtplib` because the doctor needs to stop
and report after each rung (DNS, TCP, TLS, greeting, ...), which those libraries fold into
one constructor call. Timings are taken by the rung recorder (``_recorder``), also layer 3.
Must not import the sandbox, the CLI or any presentation module.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass

from ..tlsutil import client_context

__all__ = ["SystemResolver", "WireError", "Wire", "tls_failure_code", "is_ip_literal"]

#: Longest line we accept from a server (RFC 5321 §4.5.3.1.5 says 512 for SMTP replies;
#: POP3 CAPA lines are shorter). Anything longer is a protocol problem, not a crash.
MAX_LINE = 8192


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

    def __init__(self, code: str, words: str, *, reply: str = "",
                 facts: tuple[tuple[str, str], ...] = ()) -> None:
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
    if "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER_FAILURE" in text or "PACKET_LENGTH_TOO_LONG" in text \
            or "HTTP_REQUEST" in text:
        return "tls-on-plaintext"
    if "UNSUPPORTED_PROTOCOL" in text or "PROTOCOL_VERSION" in text or "NO_PROTOCOLS_AVAILABLE" in text \
            or "VERSION_TOO_LOW" in text:
        return "tls-version"
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError)) or "EOF" in text:
        return "tls-closed"
    return "tls-failed"


@dataclass(slots=True)
class Wire:
    """One TCP (then maybe TLS) connection spoken line by line, with a per-read deadline."""

    sock: socket.socket
    host: str
    timeout: float
    _buf: bytes = b""

    @classmethod
    def connect(cls, address: str, port: int, host: str, timeout: float) -> "Wire":
        """Open TCP to ``address:port``; ``host`` is kept for TLS server-name checks."""
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except ConnectionRefusedError as exc:
            raise WireError("refused", f"connection refused by {address}:{port} ({exc.strerror})") from exc
        except (socket.timeout, TimeoutError) as exc:
            raise WireError("timeout", f"no answer from {address}:{port} within {timeout:g} s") from exc
        except OSError as exc:
            raise WireError("unreachable", f"cannot reach {address}:{port}: {exc.strerror or exc}") from exc
        sock.settimeout(timeout)
        return cls(sock=sock, host=host, timeout=timeout)

    def start_tls(self, *, verify: bool, ca_file: str | None) -> str:
        """TLS handshake on this connection; returns ``"TLSv1.3 <cipher>"``; raises ``WireError``."""
        ctx = client_context(verify=verify, ca_file=ca_file)
        server_name = None if is_ip_literal(self.host) and not verify else self.host
        try:
            tls = ctx.wrap_socket(self.sock, server_hostname=server_name)
        except (ssl.SSLError, ConnectionResetError) as exc:
            self.close()
            raise WireError(tls_failure_code(exc), str(getattr(exc, "verify_message", "") or exc)) from exc
        except (socket.timeout, TimeoutError) as exc:
            self.close()
            raise WireError("timeout", f"TLS handshake got no answer within {self.timeout:g} s") from exc
        except OSError as exc:
            self.close()
            raise WireError("tls-closed", f"connection lost during the TLS handshake: {exc}") from exc
        self.sock = tls
        self._buf = b""
        cipher = tls.cipher()
        return f"{tls.version()} {cipher[0] if cipher else ''}".strip()

    def send(self, line: str) -> None:
        """Send one command line (CRLF added)."""
        try:
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except OSError as exc:
            raise WireError("closed", f"the server closed the connection ({exc})") from exc

    def read_line(self) -> str:
        """One line without its CRLF; ``WireError('timeout'|'closed')`` when none comes."""
        while b"\n" not in self._buf:
            if len(self._buf) > MAX_LINE:
                raise WireError("bad-reply", f"line longer than {MAX_LINE} bytes")
            try:
                chunk = self.sock.recv(4096)
            except (socket.timeout, TimeoutError) as exc:
                raise WireError("timeout", f"the server said nothing within {self.timeout:g} s") from exc
            except ssl.SSLError as exc:
                raise WireError(tls_failure_code(exc), str(exc)) from exc
            except OSError as exc:
                raise WireError("closed", f"the connection was lost ({exc.strerror or exc})") from exc
            if not chunk:
                raise WireError("closed", "the server closed the connection")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_smtp_reply(self) -> tuple[int, list[str]]:
        """An SMTP reply (RFC 5321 §4.2: ``250-`` continues, ``250 `` ends): code and lines."""
        lines: list[str] = []
        while True:
            line = self.read_line()
            lines.append(line)
            if len(line) < 3 or not line[:3].isdigit():
                raise WireError("bad-reply", f"not an SMTP reply: {line!r}")
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), lines

    def read_multiline(self) -> list[str]:
        """A POP3 multi-line body up to the lone ``.`` (RFC 1939 §3), dot-unstuffed."""
        out = []
        while True:
            line = self.read_line()
            if line == ".":
                return out
            out.append(line[1:] if line.startswith("..") else line)

    def close(self) -> None:
        """Close quietly."""
        try:
            self.sock.close()
        except OSError:
            pass
