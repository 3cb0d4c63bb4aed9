"""The POP3 ladder: DNS, TCP, TLS or STLS, greeting, CAPA, login, STAT + UIDL.

RFC 1939 (POP3), RFC 2449 (CAPA, ``[IN-USE]``/``[LOGIN-DELAY]`` response codes), RFC 2595
§4 (STLS), RFC 3206 (``[AUTH]``, ``[SYS/TEMP]``, ``[SYS/PERM]``), RFC 5034 (``AUTH`` with an
initial response; used for PLAIN and XOAUTH2). Nothing is retrieved or deleted: the last
step is STAT and UIDL, then QUIT (no DELE was sent, so the UPDATE state removes nothing,
RFC 1939 §6). Passwords appear as ``***`` in every rung, and whatever the server echoes is
scrubbed of the password/token in every form. Every rung has a wall-clock deadline and every
answer is bounded (see :mod:`mailsupport.doctor._recorder` and :mod:`mailsupport.doctor._wire`).

Layer 3 (opens sockets). Must not import the sandbox or presentation modules.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ..limits import Deadline
from ..redact import Redactor
from ..sasl import parse_xoauth2_error, xoauth2_initial_response
from ..tenant import ServerSettings, TlsMode
from ._recorder import Outcome, Recorder, Stop, dns_rung
from ._wire import Wire, WireError
from .report import ProbeResult, Rung

__all__ = ["probe_pop3"]


def _ok(line: str) -> bool:
    return line.startswith("+OK")


def _answer(wire: Wire) -> str:
    """A one-line POP3 answer; one that is neither ``+OK`` nor ``-ERR`` (RFC 1939 §3) fails the
    rung as a malformed answer (``bad-reply``) with the server's words."""
    line = wire.read_line()
    if not (line.startswith("+OK") or line.startswith("-ERR")):
        raise WireError(
            "bad-reply",
            f"the answer to {wire.command or 'the connection'} is neither +OK nor -ERR (RFC 1939 §3)",
            reply=line,
        )
    return line


def probe_pop3(
    server: ServerSettings,
    *,
    dns: Any = None,
    on_rung: Callable[[str, Rung], None] | None = None,
    timeout: float | None = None,
) -> ProbeResult:
    """Run the POP3 ladder against ``server`` and return every rung until the first failure.

    ``timeout`` (seconds) overrides ``server.timeout`` for each connect and read; each rung's
    wall-clock deadline is three times it per exchange (:mod:`mailsupport.doctor._recorder`).
    """
    wait = timeout if timeout is not None else server.timeout
    rec = Recorder(on_rung, "pop3", timeout=wait, redact=Redactor.for_settings(server))
    host = server.host or ""
    wire: Wire | None = None
    try:
        address = dns_rung(rec, host, dns)
        wire = rec.wire = rec.run("connect", lambda: connect_step(address, server.port, host, wait, rec.deadline)).value
        if server.tls is TlsMode.IMPLICIT:
            rec.run("tls", lambda: implicit_tls_step(wire, server, address, wait))
        rec.run("greeting", lambda: _greeting(wire, server, address, wait))
        caps = dict(rec.run("capabilities", lambda: _capa(wire)).facts)
        if server.tls is TlsMode.STARTTLS:
            rec.run("starttls", lambda: _stls(wire, server, caps))
            caps = dict(rec.run("capabilities", lambda: _capa(wire)).facts)
        rec.run("auth", lambda: _login(wire, server, caps))
        rec.run("final", lambda: _final(wire))
    except Stop:
        pass
    finally:
        if wire is not None:
            wire.close()
    return ProbeResult(direction="pop3", endpoint=server.endpoint, tls=str(server.tls), rungs=tuple(rec.rungs))


def connect_step(address: str, port: int, host: str, wait: float, deadline: Deadline | None = None) -> Outcome:
    """The TCP rung (shared with the SMTP probe): the open :class:`Wire` is the outcome's value."""
    wire = Wire.connect(address, port, host, wait, deadline=deadline)
    return Outcome(detail=f"TCP connection to {address}:{port} open", value=wire)


def implicit_tls_step(wire: Wire, server: ServerSettings, address: str, wait: float) -> Outcome:
    """TLS from the first byte (POP3S 995, SMTPS 465). When the handshake fails because the
    server is talking plaintext, reconnect and read its plaintext greeting as evidence."""
    try:
        version = wire.start_tls(verify=server.verify_tls, ca_file=server.ca_file)
    except WireError as exc:
        if exc.code in ("tls-on-plaintext", "tls-closed", "timeout"):
            words = _plaintext_greeting(address, server.port, wait, wire.deadline)
            if words:
                raise WireError(
                    "tls-on-plaintext",
                    f"TLS handshake failed ({exc.words}); the server greets in plaintext on "
                    f"port {server.port}, so it expects STARTTLS/STLS or no TLS here",
                    reply=words,
                ) from exc
        raise
    return Outcome(
        detail=f"TLS established ({version}), certificate valid for {wire.host}"
        if server.verify_tls
        else f"TLS established ({version}), certificate NOT checked",
        facts=(("tls_version", version.split()[0]),),
    )


def _plaintext_greeting(address: str, port: int, wait: float, deadline: Deadline | None) -> str:
    """What a server says in plaintext right after connect ('' when it says nothing), within
    the rung's ``deadline``."""
    try:
        probe = Wire.connect(address, port, "", min(wait, 3.0), deadline=deadline)
    except WireError:
        return ""
    try:
        return probe.read_line()
    except WireError:
        return ""
    finally:
        probe.close()


def speaks_tls(address: str, port: int, host: str, wait: float, deadline: Deadline | None = None) -> str:
    """The TLS version a server negotiates straight after connect ('' when it does not):
    evidence that a silent server expects implicit TLS (within the rung's ``deadline``)."""
    try:
        probe = Wire.connect(address, port, host, min(wait, 3.0), deadline=deadline)
    except WireError:
        return ""
    try:
        return probe.start_tls(verify=False, ca_file=None).split()[0]
    except WireError:
        return ""
    finally:
        probe.close()


def read_greeting(wire: Wire, server: ServerSettings, address: str, wait: float, *, tls_name: str = "") -> str:
    """The server's first line; when none comes on a plaintext/STARTTLS port, tell whether the
    port speaks implicit TLS instead (``plaintext-on-tls``), the classic wrong-port mistake."""
    try:
        return wire.read_line()
    except WireError as exc:
        if exc.code == "timeout" and server.tls is not TlsMode.IMPLICIT:
            version = speaks_tls(address, server.port, wire.host, wait, wire.deadline)
            if version:
                suffix = f" ({tls_name})" if tls_name else ""
                raise WireError(
                    "plaintext-on-tls",
                    f"no greeting within {wait:g} s, but the server answers a TLS handshake "
                    f"({version}): port {server.port} uses implicit TLS{suffix}",
                ) from exc
        raise


def _greeting(wire: Wire, server: ServerSettings, address: str, wait: float) -> Outcome:
    line = read_greeting(wire, server, address, wait)
    if line.startswith("220"):
        raise WireError("wrong-protocol", "the server greets like an SMTP server, not POP3", reply=line)
    if line.startswith("-ERR"):
        raise WireError("bad-greeting", "the server's greeting is not +OK", reply=line)
    if not _ok(line):
        raise WireError("bad-reply", "the server's greeting is neither +OK nor -ERR (RFC 1939 §4)", reply=line)
    return Outcome(detail="POP3 server ready", reply=line)


def _capa(wire: Wire) -> Outcome:
    # RFC 2449 §5: CAPA is optional; a -ERR means "assume USER/PASS only".
    wire.send("CAPA")
    line = _answer(wire)
    if not _ok(line):
        return Outcome(
            detail="the server does not support CAPA (RFC 2449); assuming USER/PASS",
            reply=line,
            facts=(("capa", "no"),),
        )
    caps = wire.read_multiline()
    names = {c.split()[0].upper(): c for c in caps if c.strip()}
    sasl = " ".join(names.get("SASL", "SASL").split()[1:])
    facts = (
        ("capa", "yes"),
        ("stls", "yes" if "STLS" in names else "no"),
        ("user", "yes" if "USER" in names else "no"),
        ("mechanisms", sasl),
    )
    if "LOGIN-DELAY" in names:
        facts += (("login_delay", names["LOGIN-DELAY"].split()[-1]),)
    return Outcome(
        detail="capabilities: " + ", ".join(c for c in caps if c.strip()), reply="; ".join(caps), facts=facts
    )


def _stls(wire: Wire, server: ServerSettings, caps: dict[str, str]) -> Outcome:
    if caps.get("capa") == "yes" and caps.get("stls") != "yes":
        raise WireError("starttls-not-offered", "the server's CAPA does not list STLS (RFC 2595 §4)")
    wire.send("STLS")
    line = _answer(wire)
    if not _ok(line):
        raise WireError("starttls-not-offered", "the server refused STLS", reply=line)
    version = wire.start_tls(verify=server.verify_tls, ca_file=server.ca_file)
    return Outcome(
        detail=f"STLS upgraded the connection ({version})", reply=line, facts=(("tls_version", version.split()[0]),)
    )


def _login(wire: Wire, server: ServerSettings, caps: dict[str, str]) -> Outcome:
    user = server.username or ""
    mechanisms = caps.get("mechanisms", "").upper().split()
    if server.oauth_token:
        # RFC 5034 §4: an initial response may not make the command line longer than 255
        # octets (RFC 2449 §4), and bearer tokens are much longer, so send it after the
        # server's "+ " continuation (the form Microsoft documents for Exchange Online POP).
        if caps.get("capa") == "yes" and "XOAUTH2" not in mechanisms:
            raise WireError(
                "auth-not-offered",
                "the server's CAPA SASL line does not offer XOAUTH2, so the OAuth token cannot be used here",
                reply=caps.get("mechanisms", ""),
            )
        wire.send("AUTH XOAUTH2")
        line = wire.read_line()
        if line.startswith("-"):
            raise WireError("auth-not-offered", "the server refused the XOAUTH2 mechanism", reply=line)
        if line.startswith("+"):
            wire.send(xoauth2_initial_response(user, server.oauth_token))
            line = wire.read_line()
        if _ok(line):
            return Outcome(detail=f"logged in as {user} with XOAUTH2", reply=line, facts=(("method", "XOAUTH2"),))
        facts: tuple[tuple[str, str], ...] = (("method", "XOAUTH2"),)
        words = line
        if line.startswith("+"):
            err = parse_xoauth2_error(line[1:].strip())
            if err is not None:
                facts += (("oauth_status", err.status), ("oauth_scope", err.scope))
                words = f"{line[1:].strip()} = {base64.b64decode(line[1:].strip()).decode('utf-8', 'replace')}"
            wire.send("")  # the client answers the error challenge with an empty response
            final = wire.read_line()
            words = f"{words} / {final}"
        raise WireError("xoauth2-rejected", f"XOAUTH2 login as {user} refused", reply=words, facts=facts)
    if not server.password:
        raise WireError("no-credentials", "no password or OAuth token is set, so login was not tried")
    if server.tls is TlsMode.NONE and not server.allow_plaintext_auth:
        raise WireError(
            "plaintext-auth-blocked",
            "not sending the password over an unencrypted connection (set TLS, or "
            "allow_plaintext_auth for a trusted network)",
        )
    if caps.get("capa") == "yes" and caps.get("user") != "yes" and "PLAIN" in mechanisms:
        token = base64.b64encode(f"\x00{user}\x00{server.password.reveal()}".encode()).decode()
        wire.send(f"AUTH PLAIN {token}")
        line = _answer(wire)
        if not _ok(line):
            raise WireError("auth-rejected", f"AUTH PLAIN as {user} refused", reply=line, facts=(("method", "PLAIN"),))
        return Outcome(detail=f"logged in as {user} with AUTH PLAIN", reply=line, facts=(("method", "PLAIN"),))
    wire.send(f"USER {user}")
    line = _answer(wire)
    if not _ok(line):
        raise WireError("auth-rejected", f"USER {user} refused", reply=line, facts=(("method", "USER"),))
    wire.send(f"PASS {server.password.reveal()}")
    line = _answer(wire)
    if not _ok(line):
        raise WireError("auth-rejected", f"USER {user} / PASS *** refused", reply=line, facts=(("method", "USER"),))
    return Outcome(detail=f"logged in as {user} with USER/PASS", reply=line, facts=(("method", "USER"),))


def _uidl_line(line: bytes) -> bool:
    """``n uid``: a message number and a unique-id of 1 to 70 printable characters (RFC 1939 §7)."""
    number, _, uid = line.partition(b" ")
    return number.isdigit() and 0 < len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid)


def _final(wire: Wire) -> Outcome:
    wire.send("STAT")
    line = _answer(wire)
    if not _ok(line):
        raise WireError("final-rejected", "STAT refused", reply=line)
    parts = line.split()
    if len(parts) < 3 or not all(p.isascii() and p.isdigit() for p in parts[1:3]):
        raise WireError("bad-reply", "the answer to STAT is not '+OK count size' (RFC 1939 §5)", reply=line)
    count, size = parts[1], parts[2]
    wire.send("UIDL")
    uidl = _answer(wire)
    listed = "UIDL not supported"
    if _ok(uidl):
        listed = f"UIDL lists {wire.count_multiline(check=_uidl_line)}"
    facts: tuple[tuple[str, str], ...] = (("messages", count), ("bytes", size))
    # RFC 2449 §6.5: the per-user LOGIN-DELAY may be announced only after login.
    wire.send("CAPA")
    if _ok(_answer(wire)):
        for cap in wire.read_multiline():
            if cap.upper().startswith("LOGIN-DELAY") and cap.split()[-1].isdigit():
                facts += (("login_delay", cap.split()[-1]),)
    try:  # RFC 1939 §6: no DELE was sent, so QUIT removes nothing
        wire.send("QUIT")
        wire.read_line()
    except WireError:
        pass
    return Outcome(
        detail=f"mailbox holds {count} messages ({size} bytes); {listed}; nothing retrieved or deleted",
        reply=line,
        facts=facts,
    )
