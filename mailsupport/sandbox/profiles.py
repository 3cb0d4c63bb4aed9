"""Provider profiles: what a real receiving system writes into a message it files in a mailbox.

Each :class:`Profile` carries the delivery behaviour (which envelope headers survive, how a
multi-recipient transaction is split into copies, duplicate suppression, POP "popped"
semantics), the authentication policy and the exact reply texts of that system. The delivery
logic is pure: :func:`build_deliveries` turns one SMTP transaction into the copies each
mailbox receives, so it is testable with tables of bytes. The trace headers each profile
writes are copied from a real message in ``data/samples/real/`` (:mod:`.traces` cites it for
each profile): the same chain of hops, header order and clause forms.

Facts encoded here (``docs/provider-facts.md`` §1–4 and §7; Postfix and Exim as measured on
loopback, ``docs/architecture.md``, "Real servers on loopback"):

* **postfix** (``sa__BOUNCE_MESSAGE__10.eml``) — local(8)/virtual(8) prepend ``X-Original-To``
  (address as given) and ``Delivered-To`` (final mailbox) above Postfix's own ``Received``;
  that ``Received`` has ``for <addr>`` only when the transaction had one recipient; a message
  to two catch-all addresses arrives as two copies, each with its own ``X-Original-To``
  (measured on Postfix 3.7). Routes by ``X-Original-To``. Size refusal ``552 5.3.4 Message size
  exceeds fixed limit``.
* **exim** (``sa__nice__007.eml``) — the default ``local_delivery`` transport sets
  ``envelope_to_add``: ``Envelope-to:`` with a comma-separated list when several original
  recipients were batched into one delivery, plus ``Return-path`` and ``Delivery-date`` (Exim
  spec). Routes by ``Envelope-To``.
* **received-for** (hop 3 of ``sa__nice__002.eml``) — a sendmail-style server that leaves only
  the ``for <addr>`` clause of its ``Received`` line (fetchmail's ``envelope "Received"``); every
  recipient is relayed in a transaction of its own, so each copy carries its own ``for``
  clause. Routes by ``Received-for``.
* **gmail** (``mailpit__testdata__plain-text.eml``) — ``Delivered-To: <the mailbox>`` as the
  first header, Google's internal ``Received: by 2002:… with SMTP id …csp…`` and ``X-Received``,
  then the entry hop ``by mx.google.com`` with ``for <addr>`` when the transaction had one
  recipient; optional ``X-Gm-Original-To`` (Workspace routing option). Routes by
  ``Received-for`` (single-recipient mail) or ``X-Gm-Original-To`` (with the option);
  **one copy per Message-ID per mailbox**; POP: messages fetched by ``RETR``
  and ended with ``QUIT`` are "popped" and never offered again, even without ``DELE``, and
  the ``disposition`` setting (keep/trash) decides whether they stay; plain passwords are
  refused ("Application-specific password required") since less-secure-app access ended
  on 30 Sep 2024.
* **office365** (``parsedmarc__aggregate__mimecast-weird-gzip.eml``) — four hops through
  ``*.prod.outlook.com`` and ``*.mail.protection.outlook.com``, no ``for`` clause, and no
  envelope header reaches the mailbox (``X-MS-Exchange-Organization-OriginalEnvelopeRecipients``
  is stripped, MS-OXCMAIL §2.2.3.2.28): no header routes a catch-all; basic authentication is
  refused for POP (since 1 Oct 2022) and for SMTP AUTH (``535 5.7.139 … basic authentication
  is disabled``; ``office365-2026`` gives ``550 5.7.30 Basic authentication is not supported for
  Client Submission``); XOAUTH2 works.
* **exchange** (``mikel__error_emails__header_fields_with_empty_values.eml``) — Exchange
  on-premises behind the firm's filtering MX: two hops (the MX, then Exchange from its private
  address), no ``for`` clause, no envelope header: no header routes a catch-all; basic
  authentication allowed.

Pure module: no sockets, no clock (``now`` is passed in).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import format_datetime

from .traces import trace, with_tail

__all__ = [
    "BasicAuth",
    "Profile",
    "PROFILES",
    "Delivery",
    "build_deliveries",
    "get_profile",
    "message_id_of",
    "profile_names",
]


class BasicAuth(str, enum.Enum):
    """How a system treats user name + password logins (USER/PASS, AUTH PLAIN/LOGIN)."""

    ALLOWED = "allowed"
    APP_PASSWORD = "app-password"  # Google: only an app password is accepted
    DISABLED = "disabled"  # Office 365: basic auth retired

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


_GOOGLE_BAD = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials sandbox - gsmtp"
)

PROFILES: Mapping[str, Profile] = {
    "postfix": Profile(
        name="postfix",
        host="mx.sandbox.test",
        envelope="postfix",
        smtp_greeting="220 mx.sandbox.test ESMTP Postfix (Debian/GNU)",
        pop_greeting="+OK Dovecot (Debian) ready.",
    ),
    "exim": Profile(
        name="exim",
        host="mx.sandbox.test",
        envelope="exim",
        smtp_greeting="220 mx.sandbox.test ESMTP Exim 4.96 sandbox",
        pop_greeting="+OK Dovecot (Debian) ready.",
        smtp_auth_failed="535 Incorrect authentication data",
        smtp_oauth_failed="535 Incorrect authentication data",
        smtp_size_exceeded="552 Message size exceeds maximum permitted",
        smtp_relay_denied="550 relay not permitted",
        smtp_unknown_user="550 Unrouteable address",
    ),
    "received-for": Profile(
        name="received-for",
        host="mx.sandbox.test",
        envelope="received-for",
        smtp_greeting="220 mx.sandbox.test ESMTP Sendmail 8.17.1/8.17.1; sandbox",
        pop_greeting="+OK POP3 mx.sandbox.test server ready",
        smtp_auth_failed="535 5.7.0 authentication failed",
        smtp_oauth_failed="535 5.7.0 authentication failed",
        smtp_size_exceeded="552 5.2.3 Message size exceeds maximum value",
        smtp_relay_denied="550 5.7.1 <{rcpt}>... Relaying denied",
        smtp_unknown_user="550 5.1.1 <{rcpt}>... User unknown",
    ),
    "gmail": Profile(
        name="gmail",
        host="mx.google.com",
        envelope="gmail",
        smtp_greeting="220 smtp.gmail.com ESMTP sandbox - gsmtp",
        pop_greeting="+OK Gpop ready for requests from 127.0.0.1 sandbox",
        basic_auth=BasicAuth.APP_PASSWORD,
        dedupe_message_id=True,
        pop_popped=True,
        smtp_auth_failed=_GOOGLE_BAD,
        smtp_basic_refused=(
            "534-5.7.9 Application-specific password required. For more information, go to\r\n"
            "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor sandbox - gsmtp"
        ),
        smtp_oauth_failed=_GOOGLE_BAD,
        smtp_oauth_challenge=True,
        smtp_size_exceeded=(
            "552-5.2.3 Your message exceeded Google's message size limits. For more information, go to\r\n"
            "552 5.2.3  https://support.google.com/mail/?p=MaxSizeError sandbox - gsmtp"
        ),
        smtp_relay_denied=(
            "550-5.7.1 [127.0.0.1] The IP you're using to send mail is not authorized\r\n"
            "550 5.7.1 to send email directly to our servers. sandbox - gsmtp"
        ),
        smtp_unknown_user=(
            "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
            "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser sandbox - gsmtp"
        ),
        smtp_locked=(
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials sandbox - gsmtp"
        ),
        pop_auth_failed="-ERR [AUTH] Username and password not accepted.",
        pop_basic_refused=(
            "-ERR [AUTH] Application-specific password required: https://support.google.com/accounts/answer/185833"
        ),
        pop_oauth_failed="-ERR [AUTH] Invalid credentials (Failure)",
        pop_locked="-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754",
        pop_in_use="-ERR [IN-USE] Mailbox in use by another session",
        pop_login_delay="-ERR [LOGIN-DELAY] Please wait {seconds} seconds between logins",
    ),
    "office365": Profile(
        name="office365",
        host="AM0PR01MB1234.eurprd01.prod.exchangelabs.com",
        envelope="office365",
        smtp_greeting=("220 AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready"),
        pop_greeting="+OK The Microsoft Exchange POP3 service is ready. [QU0wUFIwMUNBMDAwMQ==]",
        basic_auth=BasicAuth.DISABLED,
        smtp_auth_failed="535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
        smtp_basic_refused=(
            "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. "
            "[AM0PR01CA0001.eurprd01.prod.exchangelabs.com]"
        ),
        smtp_oauth_failed="535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
        smtp_size_exceeded="552 5.3.4 Message size exceeds fixed maximum message size",
        smtp_relay_denied=("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"),
        smtp_unknown_user=(
            "550 5.4.1 Recipient address rejected: Access denied. [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]"
        ),
        smtp_locked="535 5.7.139 Authentication unsuccessful, the user account is disabled.",
        pop_auth_failed="-ERR Logon failure: unknown user name or bad password.",
        pop_basic_refused="-ERR Logon failure: unknown user name or bad password.",
        pop_oauth_failed="-ERR Authentication failure: unknown user name or bad password.",
        pop_locked="-ERR Logon failure: the user account is disabled.",
        pop_in_use="-ERR [IN-USE] The mailbox is in use by another session.",
    ),
}
PROFILES = dict(PROFILES)
PROFILES["exchange"] = Profile(
    name="exchange",
    host="exchange.sandbox.test",
    envelope="exchange",
    smtp_greeting="220 exchange.sandbox.test Microsoft ESMTP MAIL Service ready",
    pop_greeting="+OK The Microsoft Exchange POP3 service is ready.",
    smtp_auth_failed="535 5.7.3 Authentication unsuccessful",
    smtp_oauth_failed="535 5.7.3 Authentication unsuccessful",
    smtp_size_exceeded="552 5.3.4 Message size exceeds fixed maximum message size",
    smtp_relay_denied="550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
    smtp_unknown_user="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    smtp_locked="535 5.7.3 Authentication unsuccessful",
    pop_auth_failed="-ERR Logon failure: unknown user name or bad password.",
    pop_oauth_failed="-ERR Logon failure: unknown user name or bad password.",
    pop_locked="-ERR Logon failure: the user account is disabled.",
    pop_in_use="-ERR [IN-USE] The mailbox is in use by another session.",
)
PROFILES["office365-2026"] = replace(
    PROFILES["office365"],
    name="office365-2026",
    smtp_basic_refused="550 5.7.30 Basic authentication is not supported for Client Submission",
)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r}: expected one of {', '.join(sorted(PROFILES))}") from None


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
            for cont in lines[i + 1 :]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            return value.decode("ascii", "replace").strip() or None
    return None


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for a in addresses:
        if a.lower() not in seen:
            seen.add(a.lower())
            out.append(a)
    return out


def build_deliveries(
    profile: Profile,
    *,
    data: bytes,
    mail_from: str,
    recipients: Sequence[tuple[str, str]],
    helo: str,
    peer: str,
    now: datetime,
    queue_id: str,
) -> list[Delivery]:
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
    kind = profile.envelope

    def copy(mailbox: str, stands_for: Sequence[str], rcpt: str | None) -> Delivery:
        head, tail = trace(
            kind,
            host=profile.host,
            helo=helo,
            peer=peer,
            queue_id=queue_id,
            date=date,
            sender=sender,
            rcpt=rcpt,
            mailbox=mailbox,
            givens=stands_for,
            x_gm_original_to=profile.x_gm_original_to,
        )
        return Delivery(mailbox=mailbox, data=head + with_tail(data, tail), recipients=tuple(stands_for))

    by_mailbox: dict[str, list[str]] = {}
    for given, mailbox in pairs:
        lst = by_mailbox.setdefault(mailbox, [])
        if given.lower() not in (x.lower() for x in lst):
            lst.append(given)

    if kind in ("postfix", "received-for"):
        # local(8)/virtual(8): one delivery per original recipient; received-for relays each on its own
        return [
            copy(mailbox, (given,), single if kind == "postfix" else given) for given, mailbox in _unique_pairs(pairs)
        ]
    # one copy per mailbox: Exim batches the originals into Envelope-to, Google and Exchange keep one
    return [copy(mailbox, given_list, single) for mailbox, given_list in by_mailbox.items()]


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
