"""Accounts and mailboxes of the sandbox world (in memory, thread-safe).

:class:`MailStore` owns the mailboxes (single-address and catch-all), the POP3 and SMTP
accounts, OAuth test tokens, account states for the connection doctor
(:class:`AccountState`: locked, login delay, in use elsewhere, Google app password), the
outbox of mail submitted for outside addresses and the matter-domain ("wildcard") mail.

POP3 view rules live here too: a session sees a snapshot of the messages not deleted (and,
under Gmail's POP semantics, not already "popped"); UIDLs are fixed at delivery, so they are
stable across sessions (RFC 1939 §7). Gmail keeps one copy per Message-ID per mailbox
(``docs/provider-facts.md`` §2).

No sockets; time comes from the caller.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..model import Secret

__all__ = [
    "AccountState",
    "Account",
    "StoredMessage",
    "OutboxMessage",
    "WildcardMessage",
    "Mailbox",
    "MailStore",
    "Disposition",
]

#: Gmail's POP ``disposition`` values the sandbox models (Gmail API PopSettings).
Disposition = str  # "keep" (leaveInInbox/archive/markRead) or "trash"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountState:
    """Account-level conditions for the connection doctor.

    ``locked`` refuses every login; ``login_delay`` (seconds, RFC 2449 §6.5 LOGIN-DELAY)
    refuses a login sooner than that after the previous one ended; ``in_use`` pretends
    another client holds the mailbox ([IN-USE], RFC 2449 §8.1.2); ``app_password`` is the
    Google app password accepted instead of the account password under the ``gmail`` profile.
    """

    locked: bool = False
    login_delay: int | None = None
    in_use: bool = False
    app_password: Secret | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A login: ``service`` (``pop3`` or ``smtp``), user name, password/token, POP mailbox."""

    service: str
    username: str
    password: Secret | None = None
    oauth_token: Secret | None = None
    mailbox: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """A message in a mailbox as the profile delivered it.

    ``recipients`` are the RCPT TO addresses (as given) this copy stands for; ``popped`` is
    Gmail's "already downloaded by POP" mark.
    """

    uid: str
    data: bytes
    message_id: str | None
    mail_from: str
    recipients: tuple[str, ...]
    popped: bool = False

    @property
    def size(self) -> int:
        """The size POP3 reports: octets with CRLF line ends, before dot-stuffing (RFC 1939 §5)."""
        return len(to_crlf(self.data))


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMessage:
    """Mail submitted (authenticated) for an address outside the sandbox's domains."""

    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    username: str | None = None
    listener: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class WildcardMessage:
    """Mail that arrived for a matter-domain address (``<id>@<orgkey>.<wildcard domain>``)."""

    recipient: str
    data: bytes
    mail_from: str


def to_crlf(data: bytes) -> bytes:
    """``data`` with every line ending as CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


class Mailbox:
    """One mailbox: an address, the domains it catches all mail for, and its messages."""

    def __init__(self, address: str, catch_all_domains: Iterable[str] = ()) -> None:
        self.address = address
        self.catch_all_domains = tuple(d.lower() for d in catch_all_domains)
        self.messages: list[StoredMessage] = []
        self.seen_message_ids: set[str] = set()
        self.seq = 0
        self.holder: object | None = None
        self.last_login_end: float | None = None

    def __repr__(self) -> str:
        return f"Mailbox({self.address!r}, catch_all={self.catch_all_domains!r}, messages={len(self.messages)})"


class MailStore:
    """Mailboxes, accounts, tokens and captured mail; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._mailboxes: dict[str, Mailbox] = {}
        self._accounts: dict[tuple[str, str], Account] = {}
        self._states: dict[str, AccountState] = {}
        self._tokens: dict[str, tuple[str, bool]] = {}
        self.matter_domains: set[str] = set()
        self.local_domains: set[str] = set()
        self.outbox: list[OutboxMessage] = []
        self.wildcard: dict[str, list[WildcardMessage]] = {}
        self.disposition: Disposition = "keep"

    def __repr__(self) -> str:
        return (
            f"MailStore(mailboxes={sorted(self._mailboxes)!r}, "
            f"accounts={sorted(f'{s}:{u}' for s, u in self._accounts)!r})"
        )

    # ---------------------------------------------------------------- set-up
    def add_mailbox(self, address: str, catch_all_domains: Iterable[str] = ()) -> Mailbox:
        """Create (or widen) the mailbox for ``address``; its domain becomes local."""
        with self._lock:
            key = address.lower()
            box = self._mailboxes.get(key)
            if box is None:
                box = self._mailboxes[key] = Mailbox(address, catch_all_domains)
            else:
                box.catch_all_domains = tuple(
                    dict.fromkeys(box.catch_all_domains + tuple(d.lower() for d in catch_all_domains))
                )
            self.local_domains.add(key.rsplit("@", 1)[-1])
            self.local_domains.update(box.catch_all_domains)
            return box

    def add_account(self, account: Account) -> None:
        """Register a POP3 or SMTP login (the latest registration of a user name wins)."""
        with self._lock:
            self._accounts[(account.service, account.username.lower())] = account

    def account(self, service: str, username: str) -> Account | None:
        """The account for ``service``/``username`` (case-insensitive), else ``None``."""
        with self._lock:
            return self._accounts.get((service, username.lower()))

    def set_state(self, username: str, **changes: object) -> AccountState:
        """Change the :class:`AccountState` of ``username`` (for every service)."""
        with self._lock:
            state = replace(self._states.get(username.lower(), AccountState()), **changes)
            self._states[username.lower()] = state
            return state

    def state(self, username: str) -> AccountState:
        """The :class:`AccountState` of ``username``."""
        with self._lock:
            return self._states.get(username.lower(), AccountState())

    def add_token(self, token: str, username: str, *, expired: bool = False) -> None:
        """Accept ``token`` as an XOAUTH2 bearer token for ``username`` (or refuse it as expired)."""
        with self._lock:
            self._tokens[token] = (username.lower(), expired)

    def check_token(self, username: str, token: str) -> str:
        """``"ok"``, ``"expired"`` or ``"invalid"`` for ``token`` presented by ``username``."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[0] != username.lower():
            return "invalid"
        return "expired" if entry[1] else "ok"

    # ---------------------------------------------------------------- routing
    def resolve(self, address: str) -> Mailbox | None:
        """The mailbox ``address`` lands in: its own, else a catch-all for its domain."""
        key = address.lower()
        domain = key.rsplit("@", 1)[-1]
        with self._lock:
            box = self._mailboxes.get(key)
            if box is not None:
                return box
            for box in self._mailboxes.values():
                if domain in box.catch_all_domains:
                    return box
        return None

    def is_matter_address(self, address: str) -> bool:
        """True when ``address`` is on a tenant's matter domain."""
        return address.lower().rsplit("@", 1)[-1] in self.matter_domains

    def is_local(self, address: str) -> bool:
        """True when ``address``'s domain is served by the sandbox (mailboxes or matter domains)."""
        domain = address.lower().rsplit("@", 1)[-1]
        return domain in self.local_domains or domain in self.matter_domains

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox object for ``address`` (exact or by catch-all); ``KeyError`` otherwise."""
        box = self.resolve(address)
        if box is None:
            raise KeyError(f"the sandbox has no mailbox for {address!r}; known: {', '.join(sorted(self._mailboxes))}")
        return box

    def mailboxes(self) -> tuple[str, ...]:
        """The addresses of every mailbox."""
        with self._lock:
            return tuple(box.address for box in self._mailboxes.values())

    # ---------------------------------------------------------------- delivery
    def store(
        self,
        box: Mailbox,
        data: bytes,
        *,
        message_id: str | None,
        mail_from: str,
        recipients: tuple[str, ...],
        dedupe: bool,
    ) -> StoredMessage | None:
        """File one copy; ``None`` when ``dedupe`` and the Message-ID was already delivered."""
        with self._lock:
            if dedupe and message_id:
                if message_id in box.seen_message_ids:
                    return None
            if message_id:
                box.seen_message_ids.add(message_id)
            box.seq += 1
            uid = f"{box.seq}.{hashlib.sha256(data).hexdigest()[:16]}"
            msg = StoredMessage(uid=uid, data=data, message_id=message_id, mail_from=mail_from, recipients=recipients)
            box.messages.append(msg)
            return msg

    def record_outbox(self, message: OutboxMessage) -> None:
        """Keep a message submitted for outside addresses."""
        with self._lock:
            self.outbox.append(message)

    def record_wildcard(self, message: WildcardMessage) -> None:
        """Keep a matter-domain message (used when the sandbox has no ``on_wildcard`` hook)."""
        with self._lock:
            domain = message.recipient.lower().rsplit("@", 1)[-1]
            self.wildcard.setdefault(domain, []).append(message)

    # ---------------------------------------------------------------- POP3 sessions
    def acquire(self, box: Mailbox, holder: object) -> bool:
        """Take the exclusive POP3 lock of ``box`` (RFC 1939 §8); False when held by another."""
        with self._lock:
            if box.holder is not None and box.holder is not holder:
                return False
            box.holder = holder
            return True

    def release(self, box: Mailbox, holder: object, *, now: float | None = None) -> None:
        """Give the lock back (and note when, for LOGIN-DELAY)."""
        with self._lock:
            if box.holder is holder:
                box.holder = None
                if now is not None:
                    box.last_login_end = now

    def snapshot(self, box: Mailbox, *, hide_popped: bool) -> list[StoredMessage]:
        """The messages a new POP3 session sees, in delivery order."""
        with self._lock:
            return [m for m in box.messages if not (hide_popped and m.popped)]

    def update(self, box: Mailbox, *, deleted: Iterable[str], retrieved: Iterable[str], popped_semantics: bool) -> None:
        """RFC 1939 §6 UPDATE state: remove DELE'd messages (Gmail: mark popped, trash or keep)."""
        deleted, retrieved = set(deleted), set(retrieved)
        with self._lock:
            if popped_semantics:
                done = deleted | retrieved
                kept = []
                for m in box.messages:
                    if m.uid in done:
                        if self.disposition == "trash":
                            continue
                        m = replace(m, popped=True)
                    kept.append(m)
                box.messages = kept
            else:
                box.messages = [m for m in box.messages if m.uid not in deleted]

    def messages(self, address: str) -> tuple[StoredMessage, ...]:
        """The messages now in the mailbox ``address`` lands in."""
        box = self.mailbox(address)
        with self._lock:
            return tuple(box.messages)

    def for_each_mailbox(self, fn: Callable[[Mailbox], None]) -> None:
        """Apply ``fn`` to every mailbox under the lock."""
        with self._lock:
            for box in self._mailboxes.values():
                fn(box)
