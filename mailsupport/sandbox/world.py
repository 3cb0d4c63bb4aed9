"""The state every sandbox server shares: store, faults, profile, TLS, limits, clock.

:class:`World` is what a listener consults on each command, so changing the profile,
the faults or the certificate applies to the next connection (or command) at once. It also
holds the credential checks (:func:`World.check_password`, :func:`World.check_token`) that
SMTP AUTH and POP3 share, so both refuse a login with the same policy.

Layer 6; imports the sandbox's own modules and ``mailsupport.model``.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import itertools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .faults import Fault, FaultSet, Stage
from .mailstore import MailStore
from .profiles import BasicAuth, Profile, get_profile
from .tls import SandboxTls

__all__ = ["World", "AuthOutcome", "stall"]

log = logging.getLogger("mailsupport.sandbox")


class AuthOutcome(str, enum.Enum):
    """The result of a credential check."""

    OK = "ok"
    BAD = "bad"
    BASIC_REFUSED = "basic-refused"
    LOCKED = "locked"
    TOKEN_EXPIRED = "token-expired"
    TOKEN_INVALID = "token-invalid"


async def stall(seconds: float | None) -> None:
    """Wait ``seconds``, or until cancelled (the connection closes) when ``None``."""
    if seconds is None:
        await asyncio.Event().wait()
    else:
        await asyncio.sleep(seconds)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class World:
    """Shared, mutable sandbox state (set-up from the façade; read by the servers)."""

    def __init__(
        self,
        *,
        store: MailStore,
        tls: SandboxTls,
        profile: str = "postfix",
        faults: FaultSet | None = None,
        size_limit: int | None = None,
        advertise_size: bool = True,
        apop: bool = False,
        plaintext_auth: tuple[str, ...] = ("pop3",),
        on_wildcard: Callable[[str, bytes], object] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.tls = tls
        self.profile: Profile = get_profile(profile)
        self.faults = faults or FaultSet()
        self.size_limit = size_limit
        self.advertise_size = advertise_size
        self.apop = apop
        self.plaintext_auth = tuple(plaintext_auth)
        self.on_wildcard = on_wildcard
        self.mail_auth: Any = None  # a mailsupport.sandbox.auth.MailAuth: DKIM signing and Authentication-Results
        # Postfix's XCLIENT on the MX listener for loopback clients (the replay names the sample's SMTP client)
        self.xclient = False
        # on_stored(queue_id, delivery, stored or None): told of every copy the MX files (None: duplicate dropped)
        self.on_stored: Callable[[str, Any, Any], None] | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.monotonic: Callable[[], float] = time.monotonic
        self._queue_ids = itertools.count(1)
        self._sessions = itertools.count(1)

    def __repr__(self) -> str:
        return f"World(profile={self.profile.name!r}, faults={len(self.faults.faults)}, size_limit={self.size_limit})"

    def next_queue_id(self) -> str:
        """A deterministic, increasing queue id (``4A0000001`` style)."""
        return f"4S{next(self._queue_ids):07X}"

    def next_session(self) -> int:
        """A deterministic session number (for APOP timestamps and logs)."""
        return next(self._sessions)

    def fault(self, service: str, stage: Stage, *subjects: str) -> Fault | None:
        """The fault in force for this point of a session, if any."""
        found = self.faults.find(service, stage, *subjects)
        if found is not None:
            log.info("sandbox fault fires: %s %s %s", service, stage.value, found.action.value)
        return found

    def check_password(self, service: str, username: str, password: str) -> AuthOutcome:
        """Check a user name + password login under the current profile's policy.

        Office 365 refuses basic auth before looking at the password; Google accepts only an
        app password and says so when the account password is tried
        (``docs/provider-facts.md`` §4).
        """
        state = self.store.state(username)
        if state.locked:
            return AuthOutcome.LOCKED
        policy = self.profile.basic_auth
        if policy is BasicAuth.DISABLED:
            return AuthOutcome.BASIC_REFUSED
        account = self.store.account(service, username)
        real = account.password.reveal() if account and account.password else None
        if policy is BasicAuth.APP_PASSWORD:
            if state.app_password and account and _same(password, state.app_password.reveal()):
                return AuthOutcome.OK
            if real is not None and _same(password, real):
                return AuthOutcome.BASIC_REFUSED
            return AuthOutcome.BAD
        if real is not None and _same(password, real):
            return AuthOutcome.OK
        return AuthOutcome.BAD

    def check_token(self, service: str, username: str, token: str) -> AuthOutcome:
        """Check an XOAUTH2 bearer token for ``username``."""
        if self.store.state(username).locked:
            return AuthOutcome.LOCKED
        if self.store.account(service, username) is None:
            return AuthOutcome.TOKEN_INVALID
        verdict = self.store.check_token(username, token)
        if verdict == "ok":
            return AuthOutcome.OK
        return AuthOutcome.TOKEN_EXPIRED if verdict == "expired" else AuthOutcome.TOKEN_INVALID

    def password_for_apop(self, username: str) -> str | None:
        """The shared secret APOP digests are made with (RFC 1939 §7), if APOP can work."""
        if self.profile.basic_auth is not BasicAuth.ALLOWED:
            return None
        account = self.store.account("pop3", username)
        if account is None or account.password is None:
            return None
        return account.password.reveal()
