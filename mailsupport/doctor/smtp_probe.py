"""The SMTP ladder: DNS, TCP, TLS or STARTTLS, greeting, EHLO, AUTH, MAIL FROM + RCPT TO + RSET.

RFC 5321 (SMTP; §4.1.4 EHLO with an address literal, §4.1.1.5 RSET), RFC 3207 (STARTTLS,
EHLO again after the upgrade), RFC 1870 (SIZE), RFC 4954 (AUTH; §4 initial response, ``334``
continuations, ``235`` success, ``535 5.7.8`` bad credentials), RFC 8314 (465 implicit TLS).
XOAUTH2 per Google/Microsoft's SASL XOAUTH2 description (see :mod:`mailsupport.sasl`).
No message is ever sent: the last step resets the transaction with RSET and QUITs. Every rung
has a wall-clock deadline, every reply is bounded (lines and line length), and the server's
words are scrubbed of the password/token in every form (:mod:`mailsupport.doctor._recorder`).

Layer 3 (opens sockets). Must not import the sandbox or presentation modules.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ..redact import Redactor
from ..sasl import parse_xoauth2_error, xoauth2_initial_response
from ..tenant import ServerSettings, TlsMode
from ._recorder import Outcome, Recorder, Stop, dns_rung
from ._wire import Wire, WireError
from .pop3_probe import connect_step, implicit_tls_step, read_greeting
from .report import ProbeResult, Rung

__all__ = ["probe_smtp"]


def probe_smtp(
    server: ServerSettings,
    *,
    mail_from: str,
    rcpt_to: str,
    dns: Any = None,
    on_rung: Callable[[str, Rung], None] | None = None,
    timeout: float | None = None,
) -> ProbeResult:
    """Run the SMTP ladder against ``server``; the final step tries ``mail_from`` → ``rcpt_to``
    and resets (RSET) without sending a message. Returns every rung until the first failure."""
    wait = timeout if timeout is not None else server.timeout
    rec = Recorder(on_rung, "smtp", timeout=wait, redact=Redactor.for_settings(server))
    host = server.host or ""
    wire: Wire | None = None
    try:
        address = dns_rung(rec, host, dns)
        wire = rec.wire = rec.run("connect", lambda: connect_step(address, server.port, host, wait, rec.deadline)).value
        if server.tls is TlsMode.IMPLICIT:
            rec.run("tls", lambda: implicit_tls_step(wire, server, address, wait))
        rec.run("greeting", lambda: _greeting(wire, server, address, wait))
        caps = dict(rec.run("capabilities", lambda: _ehlo(wire)).facts)
        if server.tls is TlsMode.STARTTLS:
            rec.run("starttls", lambda: _starttls(wire, server, caps))
            caps = dict(rec.run("capabilities", lambda: _ehlo(wire)).facts)
        rec.run("auth", lambda: _auth(wire, server, caps))
        rec.run("final", lambda: _final(wire, mail_from, rcpt_to))
    except Stop:
        pass
    finally:
        if wire is not None:
            wire.close()
    return ProbeResult(direction="smtp", endpoint=server.endpoint, tls=str(server.tls), rungs=tuple(rec.rungs))


def _words(lines: list[str]) -> str:
    return " / ".join(lines)


def _greeting(wire: Wire, server: ServerSettings, address: str, wait: float) -> Outcome:
    line = read_greeting(wire, server, address, wait, tls_name="SMTPS, RFC 8314")
    if line.startswith("+OK") or line.startswith("-ERR"):
        raise WireError("wrong-protocol", "the server greets like a POP3 server, not SMTP", reply=line)
    _code, lines = wire.read_smtp_reply(first=line)
    if not lines[0].startswith("220"):
        raise WireError("bad-greeting", "the server's greeting is not 220 (ready)", reply=_words(lines))
    return Outcome(detail="SMTP server ready", reply=_words(lines))


def _ehlo(wire: Wire) -> Outcome:
    local = wire.sock.getsockname()[0]
    name = f"[IPv6:{local}]" if ":" in local else f"[{local}]"  # RFC 5321 §4.1.3 address literal
    wire.send(f"EHLO {name}")
    code, lines = wire.read_smtp_reply()
    if code != 250:
        raise WireError("ehlo-rejected", "EHLO refused", reply=_words(lines))
    keywords = {ln[4:].split()[0].upper(): ln[4:] for ln in lines[1:] if len(ln) > 4 and ln[4:].split()}
    auth = keywords.get("AUTH", "AUTH")
    size = keywords.get("SIZE", "")
    facts = (
        ("starttls", "yes" if "STARTTLS" in keywords else "no"),
        ("mechanisms", " ".join(auth.split()[1:])),
        ("size", size.split()[1] if len(size.split()) > 1 else ("0" if size else "")),
    )
    return Outcome(detail="EHLO: " + ", ".join(ln[4:] for ln in lines[1:]), reply=_words(lines), facts=facts)


def _starttls(wire: Wire, server: ServerSettings, caps: dict[str, str]) -> Outcome:
    if caps.get("starttls") != "yes":
        raise WireError("starttls-not-offered", "the server's EHLO reply does not offer STARTTLS (RFC 3207)")
    wire.send("STARTTLS")
    code, lines = wire.read_smtp_reply()
    if code != 220:
        raise WireError("starttls-not-offered", "the server refused STARTTLS", reply=_words(lines))
    version = wire.start_tls(verify=server.verify_tls, ca_file=server.ca_file)
    return Outcome(
        detail=f"STARTTLS upgraded the connection ({version})",
        reply=_words(lines),
        facts=(("tls_version", version.split()[0]),),
    )


def _auth(wire: Wire, server: ServerSettings, caps: dict[str, str]) -> Outcome:
    user = server.username or ""
    mechanisms = caps.get("mechanisms", "").upper().split()
    if not server.oauth_token and not server.password:
        return Outcome(
            detail="no password or token set: continuing without login (relay by address)", facts=(("method", "none"),)
        )
    if server.tls is TlsMode.NONE and not server.allow_plaintext_auth:
        raise WireError(
            "plaintext-auth-blocked",
            "not sending the password over an unencrypted connection (set TLS, or "
            "allow_plaintext_auth for a trusted network)",
        )
    if not mechanisms:
        raise WireError("auth-not-offered", "the server's EHLO reply offers no AUTH mechanism (RFC 4954)")
    if server.oauth_token:
        if "XOAUTH2" not in mechanisms:
            raise WireError(
                "auth-not-offered",
                "the server's EHLO AUTH line does not offer XOAUTH2, so the OAuth token cannot be used here",
                reply=caps.get("mechanisms", ""),
            )
        # RFC 4954 §4: initial response on the AUTH line.
        wire.send(f"AUTH XOAUTH2 {xoauth2_initial_response(user, server.oauth_token)}")
        code, lines = wire.read_smtp_reply()
        if code == 235:
            return Outcome(
                detail=f"logged in as {user} with XOAUTH2", reply=_words(lines), facts=(("method", "XOAUTH2"),)
            )
        facts: tuple[tuple[str, str], ...] = (("method", "XOAUTH2"),)
        words = _words(lines)
        if code == 334:
            challenge = lines[0][4:].strip()
            err = parse_xoauth2_error(challenge)
            if err is not None:
                facts += (("oauth_status", err.status), ("oauth_scope", err.scope))
                words = f"{lines[0]} = {base64.b64decode(challenge).decode('utf-8', 'replace')}"
            wire.send("")  # answer the error challenge with an empty response
            _, final = wire.read_smtp_reply()
            words = f"{words} / {_words(final)}"
        raise WireError("xoauth2-rejected", f"XOAUTH2 login as {user} refused", reply=words, facts=facts)
    secret = server.password.reveal() if server.password else ""
    if "PLAIN" in mechanisms or "LOGIN" not in mechanisms:
        token = base64.b64encode(f"\x00{user}\x00{secret}".encode()).decode()
        wire.send(f"AUTH PLAIN {token}")
        code, lines = wire.read_smtp_reply()
        method = "PLAIN"
    else:
        wire.send("AUTH LOGIN")
        code, lines = wire.read_smtp_reply()
        if code == 334:
            wire.send(base64.b64encode(user.encode()).decode())
            code, lines = wire.read_smtp_reply()
        if code == 334:
            wire.send(base64.b64encode(secret.encode()).decode())
            code, lines = wire.read_smtp_reply()
        method = "LOGIN"
    if code != 235:
        raise WireError(
            "auth-rejected", f"AUTH {method} as {user} refused", reply=_words(lines), facts=(("method", method),)
        )
    return Outcome(detail=f"logged in as {user} with AUTH {method}", reply=_words(lines), facts=(("method", method),))


def _unknown_user(lines: list[str]) -> bool:
    """True for a permanent "no such mailbox" refusal (550 5.1.1 and its common wordings)."""
    text = " ".join(lines).lower()
    # Exchange Online's Directory-Based Edge Blocking answers an unknown recipient with
    # "550 5.4.1 Recipient address rejected: Access denied" (facts: Office 365 catch-all).
    dbeb = " 5.4.1" in text and "recipient address rejected" in text
    return lines[0][:1] == "5" and (" 5.1.1" in text or "user unknown" in text or "does not exist" in text or dbeb)


def _final(wire: Wire, mail_from: str, rcpt_to: str) -> Outcome:
    wire.send(f"MAIL FROM:<{mail_from}>")
    code, lines = wire.read_smtp_reply()
    if code != 250:
        raise WireError("mail-from-rejected", f"MAIL FROM:<{mail_from}> refused", reply=_words(lines))
    wire.send(f"RCPT TO:<{rcpt_to}>")
    code, rcpt = wire.read_smtp_reply()
    wire.send("RSET")  # RFC 5321 §4.1.1.5: abandon the transaction, nothing is sent
    wire.read_smtp_reply()
    try:
        wire.send("QUIT")
        wire.read_smtp_reply()
    except WireError:
        pass
    if code not in (250, 251) and _unknown_user(rcpt):
        # RFC 3463 X.1.1 "bad destination mailbox": the login and submission work; it is the
        # test recipient (the failed-emails address) that does not exist. Classified as a warning.
        return Outcome(
            detail=f"MAIL FROM:<{mail_from}> accepted; RCPT TO:<{rcpt_to}> refused as an unknown "
            "mailbox, then RSET (no message sent)",
            reply=_words(rcpt),
            facts=(("rcpt_unknown", rcpt_to),),
        )
    if code not in (250, 251):
        raise WireError("rcpt-rejected", f"RCPT TO:<{rcpt_to}> refused", reply=_words(rcpt))
    return Outcome(
        detail=f"MAIL FROM:<{mail_from}> and RCPT TO:<{rcpt_to}> accepted, then RSET (no message sent)",
        reply=_words(rcpt),
    )
