"""Provider profiles: what a real receiving system writes into a message it files in a mailbox.

Each :class:`Profile` carries the delivery behaviour (which envelope headers survive, how a
multi-recipient transaction is split into copies, duplicate suppression, POP "popped"
semantics), the authentication policy and the exact reply texts of that system. The delivery
logic is pure: :func:`build_deliveries` turns one SMTP transaction into the copies each
mailbox receives, so it is testable with tables of bytes.

Facts encoded here (``shared/facts/provider-facts.md`` §1–3,
``shared/facts/providers-auth-spf-size.md``, DESIGN §10):

* **postfix** — local(8)/virtual(8) prepend ``X-Original-To`` (address as given) and
  ``Delivered-To`` (final mailbox) above Postfix's own ``Received``; that ``Received`` has
  ``for <addr>`` only when the transaction had one recipient; a message to two catch-all
  addresses arrives as two copies, each with its own ``X-Original-To`` (measured, DESIGN §10).
  Size refusal ``552 5.3.4 Message size exceeds fixed limit``.
* **exim** — the default ``local_delivery`` transport sets ``envelope_to_add``:
  ``Envelope-to:`` with a comma-separated list when several original recipients were
  batched into one delivery, plus ``Return-path`` and ``Delivery-date`` (Exim spec).
* **received-for** — a server that leaves only the ``for <addr>`` clause of its ``Received``
  line (sendmail style; fetchmail's ``envelope "Received"``); every recipient is relayed in a
  transaction of its own, so each copy carries its own ``for`` clause.
* **gmail** — ``Delivered-To: <the mailbox>`` as the first header, then
  ``Received: by <ipv6> with SMTP id …csp…``; optional ``X-Gm-Original-To`` (Workspace
  routing option); **one copy per Message-ID per mailbox**; POP: messages fetched by ``RETR``
  and ended with ``QUIT`` are "popped" and never offered again, even without ``DELE``, and
  the ``disposition`` setting (keep/trash) decides whether they stay; plain passwords are
  refused ("Application-specific password required") since less-secure-app access ended
  on 30 Sep 2024.
* **office365** — no envelope header reaches the mailbox (``X-MS-Exchange-Organization-*``
  is stripped, MS-OXCMAIL §2.2.3.2.28); basic authentication is refused for POP (since
  1 Oct 2022) and for SMTP AUTH (``535 5.7.139 … basic authentication is disabled``;
  ``office365-2026`` gives ``550 5.7.30 Basic authentication is not supported for Client
  Submission``); XOAUTH2 works.

Pure module: no sockets, no clock (``now`` is passed in).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Mapping, Sequence

__all__ = ["BasicAuth", "Profile", "PROFILES", "Delivery", "build_deliveries", "get_profile",
           "message_id_of", "profile_names"]


class BasicAuth(str, enum.Enum):
    """How a system treats user name + password logins (USER/PASS, AUTH PLAIN/LOGIN)."""

    ALLOWED = "allowed"
    APP_PASSWORD = "app-password"   # Google: only an app password is accepted
    DISABLED = "disabled"           # Office 365: basic auth retired

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """One provider's delivery behaviour, auth policy and reply texts (see the module docstring)."""

    name: str
    host: str
    envelope: str
    smtp_greeting: str
    pop_greeting: str
    basic_auth: BasicAuth = BasicAuth.ALLOWED
    dedupe_message_id: bool = False
    pop_popped: bool = False
    x_gm_original_to: bool = False
    smtp_auth_failed: str = "535 5.7.8 Error: authentication failed: authentication failure"
    smtp_basic_refused: str = ""
    smtp_oauth_failed: str = "535 5.7.8 Error: authentication failed: invalid token"
    smtp_oauth_challenge: bool = False
    smtp_size_exceeded: str = "552 5.3.4 Message size exceeds fixed limit"
    smtp_relay_denied: str = "554 5.7.1 <{rcpt}>: Relay access denied"
    smtp_unknown_user: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
    smtp_locked: str = "535 5.7.8 Error: authentication failed: account locked"
    pop_auth_failed: str = "-ERR [AUTH] Authentication failed."
    pop_basic_refused: str = ""
    pop_oauth_failed: str = "-ERR [AUTH] Authentication failed."
    pop_locked: str = "-ERR [AUTH] Account is locked. Contact your administrator."
    pop_in_use: str = "-ERR [IN-USE] Mailbox is locked by another session. Try again later."
    pop_login_delay: str = "-ERR [LOGIN-DELAY] Logged in too recently; wait {seconds} seconds between logins."

    def refusal(self, service: str) -> str:
        """The reply refusing a basic-auth login under this profile's policy."""
        if service == "smtp":
            return self.smtp_basic_refused or self.smtp_auth_failed
        return self.pop_basic_refused or self.pop_auth_failed


_GOOGLE_BAD = ("535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
               "535 5.7.8  https://support.google.com/mail/?p=BadCredentials sandbox - gsmtp")

PROFILES: Mapping[str, Profile] = {
    "postfix": Profile(
        name="postfix", host="mx.sandbox.test", envelope="postfix",
        smtp_greeting="220 mx.sandbox.test ESMTP Postfix (Debian/GNU)",
        pop_greeting="+OK Dovecot (Debian) ready.",
    ),
    "exim": Profile(
        name="exim", host="mx.sandbox.test", envelope="exim",
        smtp_greeting="220 mx.sandbox.test ESMTP Exim 4.96 sandbox",
        pop_greeting="+OK Dovecot (Debian) ready.",
        smtp_auth_failed="535 Incorrect authentication data",
        smtp_oauth_failed="535 Incorrect authentication data",
        smtp_size_exceeded="552 Message size exceeds maximum permitted",
        smtp_relay_denied="550 relay not permitted",
        smtp_unknown_user="550 Unrouteable address",
    ),
    "received-for": Profile(
        name="received-for", host="mx.sandbox.test", envelope="received-for",
        smtp_greeting="220 mx.sandbox.test ESMTP Sendmail 8.17.1/8.17.1; sandbox",
        pop_greeting="+OK POP3 mx.sandbox.test server ready",
        smtp_auth_failed="535 5.7.0 authentication failed",
        smtp_oauth_failed="535 5.7.0 authentication failed",
        smtp_size_exceeded="552 5.2.3 Message size exceeds maximum value",
        smtp_relay_denied="550 5.7.1 <{rcpt}>... Relaying denied",
        smtp_unknown_user="550 5.1.1 <{rcpt}>... User unknown",
    ),
    "gmail": Profile(
        name="gmail", host="mx.google.com", envelope="gmail",
        smtp_greeting="220 smtp.gmail.com ESMTP sandbox - gsmtp",
        pop_greeting="+OK Gpop ready for requests from 127.0.0.1 sandbox",
        basic_auth=BasicAuth.APP_PASSWORD, dedupe_message_id=True, pop_popped=True,
        smtp_auth_failed=_GOOGLE_BAD,
        smtp_basic_refused=("534-5.7.9 Application-specific password required. For more information, go to\r\n"
                            "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor sandbox - gsmtp"),
        smtp_oauth_failed=_GOOGLE_BAD, smtp_oauth_challenge=True,
        smtp_size_exceeded=("552-5.2.3 Your message exceeded Google's message size limits. For more information, go to\r\n"
                            "552 5.2.3  https://support.google.com/mail/?p=MaxSizeError sandbox - gsmtp"),
        smtp_relay_denied=("550-5.7.1 [127.0.0.1] The IP you're using to send mail is not authorized\r\n"
                           "550 5.7.1 to send email directly to our servers. sandbox - gsmtp"),
        smtp_unknown_user=("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                           "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser sandbox - gsmtp"),
        smtp_locked=("535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
                     "535 5.7.8  https://support.google.com/mail/?p=BadCredentials sandbox - gsmtp"),
        pop_auth_failed="-ERR [AUTH] Username and password not accepted.",
        pop_basic_refused=("-ERR [AUTH] Application-specific password required: "
                           "https://support.google.com/accounts/answer/185833"),
        pop_oauth_failed="-ERR [AUTH] Invalid credentials (Failure)",
        pop_locked="-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754",
        pop_in_use="-ERR [IN-USE] Mailbox in use by another session",
        pop_login_delay="-ERR [LOGIN-DELAY] Please wait {seconds} seconds between logins",
    ),
    "office365": Profile(
        name="office365", host="AM0PR01MB1234.eurprd01.prod.exchangelabs.com", envelope="office365",
        smtp_greeting=("220 AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready"),
        pop_greeting="+OK The Microsoft Exchange POP3 service is ready. [QU0wUFIwMUNBMDAwMQ==]",
        basic_auth=BasicAuth.DISABLED,
        smtp_auth_failed="535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
        smtp_basic_refused=("535 5.7.139 Authentication unsuccessful, basic authentication is disabled. "
                            "[AM0PR01CA0001.eurprd01.prod.exchangelabs.com]"),
        smtp_oauth_failed="535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
        smtp_size_exceeded="552 5.3.4 Message size exceeds fixed maximum message size",
        smtp_relay_denied=("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"),
        smtp_unknown_user=("550 5.4.1 Recipient address rejected: Access denied. "
                           "[AM0PR01CA0001.eurprd01.prod.exchangelabs.com]"),
        smtp_locked="535 5.7.139 Authentication unsuccessful, the user account is disabled.",
        pop_auth_failed="-ERR Logon failure: unknown user name or bad password.",
        pop_basic_refused="-ERR Logon failure: unknown user name or bad password.",
        pop_oauth_failed="-ERR Authentication failure: unknown user name or bad password.",
        pop_locked="-ERR Logon failure: the user account is disabled.",
        pop_in_use="-ERR [IN-USE] The mailbox is in use by another session.",
    ),
}
PROFILES = dict(PROFILES)
PROFILES["office365-2026"] = replace(
    PROFILES["office365"], name="office365-2026",
    smtp_basic_refused="550 5.7.30 Basic authentication is not supported for Client Submission")


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r}: expected one of "
                         f"{', '.join(sorted(PROFILES))}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One copy for one mailbox: its final bytes and the recipients (as given) it stands for."""

    mailbox: str
    data: bytes
    recipients: tuple[str, ...] = field(default_factory=tuple)


def message_id_of(data: bytes) -> str | None:
    """The Message-ID header value of raw message bytes (first occurrence), stripped, or ``None``."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    for i, line in enumerate(lines):
        if line[:11].lower() == b"message-id:":
            value = line[11:]
            for cont in lines[i + 1:]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            return value.decode("ascii", "replace").strip() or None
    return None


def _h(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode("utf-8")


def _received(profile: Profile, *, helo: str, peer: str, queue_id: str, date: str,
              rcpt: str | None) -> bytes:
    """The receiving server's own ``Received`` line (RFC 5321 §4.4), ``for`` only when given."""
    for_clause = f"\r\n\tfor <{rcpt}>" if rcpt else ""
    helo = helo or "unknown"
    if profile.envelope == "exim":
        text = (f"from {helo} ([{peer}])\r\n\tby {profile.host} with esmtp (Exim 4.96)\r\n"
                f"\t(envelope-from <{{sender}}>)\r\n\tid {queue_id}{for_clause}; {date}")
    elif profile.envelope == "received-for":
        text = (f"from {helo} (localhost [{peer}])\r\n\tby {profile.host} (8.17.1/8.17.1) with ESMTP id "
                f"{queue_id}{for_clause}; {date}")
    elif profile.envelope == "gmail":
        text = (f"from {helo} ({helo} [{peer}])\r\n\tby {profile.host} with ESMTPS id {queue_id}.sandbox"
                f"{for_clause}; {date}")
    elif profile.envelope == "office365":
        text = (f"from {helo} ({peer}) by {profile.host}\r\n\t(2603:10a6:208:1::1) with Microsoft SMTP Server "
                f"(version=TLS1_2,\r\n\tcipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7891.12; {date}")
    else:
        text = (f"from {helo} (localhost [{peer}])\r\n\tby {profile.host} (Postfix) with ESMTP id "
                f"{queue_id}{for_clause}; {date}")
    return ("Received: " + text + "\r\n").encode("utf-8")


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for a in addresses:
        if a.lower() not in seen:
            seen.add(a.lower())
            out.append(a)
    return out


def build_deliveries(profile: Profile, *, data: bytes, mail_from: str,
                     recipients: Sequence[tuple[str, str]], helo: str, peer: str,
                     now: datetime, queue_id: str) -> list[Delivery]:
    """Split one accepted transaction into the copies each mailbox receives, headers prepended.

    ``recipients`` pairs each RCPT TO address (as given) with the mailbox it resolved to,
    in RCPT order. The receiving server's ``Received`` line carries ``for <addr>`` only when
    the transaction had exactly one recipient (Postfix, Exim, Google), except in the
    ``received-for`` profile, where every recipient has a relay transaction of its own.
    Duplicate suppression by Message-ID is the mail store's job (it needs history).
    """
    date = format_datetime(now)
    sender = mail_from or ""
    pairs = [(g, m) for g, m in recipients]
    givens = _unique([g for g, _ in pairs])
    single = givens[0] if len(givens) == 1 else None

    def received(rcpt: str | None) -> bytes:
        return _received(profile, helo=helo, peer=peer, queue_id=queue_id, date=date,
                         rcpt=rcpt).replace(b"{sender}", sender.encode("utf-8"))

    by_mailbox: dict[str, list[str]] = {}
    for given, mailbox in pairs:
        lst = by_mailbox.setdefault(mailbox, [])
        if given.lower() not in (x.lower() for x in lst):
            lst.append(given)

    out: list[Delivery] = []
    kind = profile.envelope
    if kind == "postfix":
        # local(8)/virtual(8): one delivery per original recipient, X-Original-To above Delivered-To
        rec = received(single)
        for given, mailbox in _unique_pairs(pairs):
            head = (_h("Return-Path", f"<{sender}>") + _h("X-Original-To", given)
                    + _h("Delivered-To", mailbox) + rec)
            out.append(Delivery(mailbox=mailbox, data=head + data, recipients=(given,)))
    elif kind == "exim":
        # envelope_to_add on local_delivery: batched originals as a comma list (Exim spec)
        rec = received(single)
        for mailbox, given_list in by_mailbox.items():
            head = (_h("Return-path", f"<{sender}>") + _h("Envelope-to", ", ".join(given_list))
                    + _h("Delivery-date", date) + rec)
            out.append(Delivery(mailbox=mailbox, data=head + data, recipients=tuple(given_list)))
    elif kind == "received-for":
        for given, mailbox in _unique_pairs(pairs):
            out.append(Delivery(mailbox=mailbox, data=received(given) + data, recipients=(given,)))
    elif kind == "gmail":
        rec = received(single)
        for mailbox, given_list in by_mailbox.items():
            digest = hashlib.sha256(f"{queue_id}{mailbox}".encode()).hexdigest()
            head = (_h("Delivered-To", mailbox)
                    + f"Received: by 2002:a05:7108:{digest[:4]}:b0:{digest[4:8]}:{digest[8:12]} "
                      f"with SMTP id {digest[12:20]}csp{int(digest[20:26], 16)};\r\n        {date}\r\n".encode())
            if profile.x_gm_original_to:
                head += _h("X-Gm-Original-To", given_list[0])
            head += _h("Return-Path", f"<{sender}>")
            out.append(Delivery(mailbox=mailbox, data=head + rec + data, recipients=tuple(given_list)))
    elif kind == "office365":
        rec = received(None)
        for mailbox, given_list in by_mailbox.items():
            out.append(Delivery(mailbox=mailbox, data=rec + data, recipients=tuple(given_list)))
    else:  # pragma: no cover - PROFILES is closed
        raise ValueError(f"unknown envelope style {kind!r}")
    return out


def _unique_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for given, mailbox in pairs:
        if given.lower() not in seen:
            seen.add(given.lower())
            out.append((given, mailbox))
    return out


def profile_names() -> tuple[str, ...]:
    """The names :meth:`~mailsupport.sandbox.Sandbox.set_profile` accepts."""
    return tuple(sorted(PROFILES))
