"""POP3 AUTHORIZATION state of the sandbox server: STLS, USER/PASS, APOP, AUTH, and the login.

A mixin for :class:`~mailsupport.sandbox.pop3.Pop3Session` (RFC 1939 §4 and §7, RFC 2595 §4
STLS, RFC 5034 AUTH with PLAIN and XOAUTH2). The credential policy is the profile's
(:meth:`~mailsupport.sandbox.world.World.check_password`); the refusal texts are the
profile's; account states give ``[IN-USE]`` and ``[LOGIN-DELAY]`` (RFC 2449 §8.1).

Layer 6: imports the sandbox modules only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from .faults import Stage
from .world import AuthOutcome
from .xoauth2 import b64, error_challenge, parse_plain, parse_xoauth2

__all__ = ["Authorization"]

log = logging.getLogger("mailsupport.sandbox.pop3")


class Authorization:
    """The AUTHORIZATION-state commands of a POP3 session (mixed into ``Pop3Session``)."""

    async def cmd_STLS(self, arg: str) -> None:
        """STLS (RFC 2595 §4): upgrade to TLS with the sandbox certificate."""
        if self.tls:
            await self.send("-ERR TLS already active.")
            return
        if await self.fault(Stage.STARTTLS, self.listener):
            return
        await self.send("+OK Begin TLS negotiation now.")
        await self.writer.start_tls(self.world.tls.server_context)
        self.tls = True
        self.user = None  # RFC 2595 §4: forget what was said before TLS

    def plaintext_allowed(self) -> bool:
        """True when passwords/tokens may be sent on this connection (TLS, or the sandbox allows it)."""
        return self.tls or "pop3" in self.world.plaintext_auth

    async def _refuse_plaintext(self) -> bool:
        if self.plaintext_allowed():
            return False
        # Dovecot's disable_plaintext_auth = yes (its default)
        await self.send("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
        return True

    async def cmd_USER(self, arg: str) -> None:
        """USER (RFC 1939 §7): remember the name for PASS."""
        if await self._refuse_plaintext():
            return
        if not arg:
            await self.send("-ERR No username given.")
            return
        self.user = arg.strip()
        await self.send("+OK")

    async def cmd_PASS(self, arg: str) -> None:
        """PASS (RFC 1939 §7): check the password under the profile's policy."""
        if self.user is None:
            await self.send("-ERR No username given.")
            return
        user, self.user = self.user, None
        if await self.fault(Stage.AUTH, user):
            return
        await self._login(user, self.world.check_password("pop3", user, arg), basic=True)

    async def cmd_APOP(self, arg: str) -> None:
        """APOP (RFC 1939 §7): MD5 of the greeting timestamp and the shared secret."""
        parts = arg.split()
        if not self.stamp or len(parts) != 2:
            await self.send("-ERR [AUTH] APOP not available." if not self.stamp else "-ERR Syntax: APOP name digest")
            return
        user, digest = parts
        if await self.fault(Stage.AUTH, user):
            return
        secret = self.world.password_for_apop(user)
        outcome = AuthOutcome.BAD
        if self.world.store.state(user).locked:
            outcome = AuthOutcome.LOCKED
        elif secret is not None:
            expected = hashlib.md5((self.stamp + secret).encode("utf-8")).hexdigest()
            if hmac.compare_digest(expected, digest.lower()):
                outcome = AuthOutcome.OK
        await self._login(user, outcome, basic=True)

    async def _continuation(self, initial: str | None) -> bytes | None:
        """The SASL client response: the initial one, or after a ``+ `` continuation (RFC 5034 §4)."""
        if initial is not None:
            return b"" if initial == "=" else b64(initial)
        await self.send("+ ")
        line = (await self.reader.readline()).strip()
        if line == b"*":
            return None
        return b64(line.decode("ascii", "replace"))

    async def cmd_AUTH(self, arg: str) -> None:
        """AUTH (RFC 5034): PLAIN (RFC 4616) or XOAUTH2; without arguments, list the mechanisms."""
        parts = arg.split()
        if not parts:
            await self.send("+OK\r\nPLAIN\r\nXOAUTH2\r\n.")
            return
        if await self._refuse_plaintext():
            return
        mech, initial = parts[0].upper(), (parts[1] if len(parts) > 1 else None)
        if mech not in ("PLAIN", "XOAUTH2"):
            await self.send("-ERR Unsupported authentication mechanism.")
            return
        blob = await self._continuation(initial)
        if blob is None:
            await self.send("-ERR [AUTH] Authentication cancelled or malformed.")
            return
        parsed = parse_plain(blob) if mech == "PLAIN" else parse_xoauth2(blob)
        if parsed is None:
            await self.send("-ERR [AUTH] Malformed authentication response.")
            return
        user, credential = parsed
        if await self.fault(Stage.AUTH, user):
            return
        if mech == "PLAIN":
            await self._login(user, self.world.check_password("pop3", user, credential), basic=True)
            return
        outcome = self.world.check_token("pop3", user, credential)
        if outcome not in (AuthOutcome.OK, AuthOutcome.LOCKED) and self.world.profile.smtp_oauth_challenge:
            await self.send(f"+ {error_challenge()}")  # Google: JSON challenge, client answers empty
            await self.reader.readline()
        await self._login(user, outcome, basic=False)

    async def _login(self, user: str, outcome: AuthOutcome, *, basic: bool) -> None:
        profile, store = self.world.profile, self.world.store
        if outcome is not AuthOutcome.OK:
            log.info("POP3 login refused for %s: %s", user, outcome.value)
            if outcome is AuthOutcome.LOCKED:
                await self.send(profile.pop_locked)
            elif outcome is AuthOutcome.BASIC_REFUSED:
                await self.send(profile.refusal("pop3"))
            elif basic:
                await self.send(profile.pop_auth_failed)
            else:
                await self.send(profile.pop_oauth_failed)
            return
        account = store.account("pop3", user)
        box = store.mailbox(account.mailbox) if account and account.mailbox else None
        if box is None:
            await self.send("-ERR [SYS/PERM] No mailbox for this account.")
            return
        state = store.state(user)
        now = self.world.monotonic()
        if state.in_use:
            await self.send(profile.pop_in_use)
            return
        if state.login_delay and box.last_login_end is not None and now - box.last_login_end < state.login_delay:
            await self.send(profile.pop_login_delay.format(seconds=state.login_delay))
            return
        if not store.acquire(box, self):
            await self.send(profile.pop_in_use)
            return
        self.box, self.username = box, user
        self.messages = store.snapshot(box, hide_popped=profile.pop_popped)
        await self.send("+OK Logged in.")
