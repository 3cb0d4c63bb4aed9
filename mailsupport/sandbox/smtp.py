"""The sandbox's SMTP listeners, built on aiosmtpd's ``SMTP`` protocol class.

Three kinds of listener (:func:`start_smtp`): ``mx`` (inbound, no AUTH, accepts mail for the
sandbox's domains and matter domains), ``smtp`` (submission: STARTTLS then AUTH PLAIN/LOGIN/
XOAUTH2) and ``smtp_tls`` (submission over implicit TLS). aiosmtpd's ``Controller`` cannot
bind port 0, so each listener is ``loop.create_server`` with a factory.

Behaviour comes from the :class:`~mailsupport.sandbox.world.World`: the profile's greeting,
reply texts and delivery headers (with the world's ``mail_auth``, :mod:`.auth`: DKIM signing of
relayed mail and the receiver's ``Authentication-Results``), the size limit (``SIZE`` advertised per RFC 1870 or not;
``552`` on oversize at MAIL or after DATA, RFC 5321 §4.5.3.1.10), and the faults. While an
:class:`~mailsupport.sandbox.inbound.InboundClient` is open, the MX accepts Postfix's XCLIENT from
loopback clients (the replay names the sample's own client) and reports every filed copy.

Layer 6: imports aiosmtpd and the sandbox modules; no other layer imports it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from email.utils import format_datetime
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException

from .faults import Action, Stage
from .mailstore import OutboxMessage, WildcardMessage
from .profiles import build_deliveries, message_id_of
from .world import AuthOutcome, World, stall
from .xoauth2 import b64, error_challenge, parse_plain, parse_xoauth2

__all__ = ["start_smtp", "SandboxSMTP", "SMTP_LISTENERS"]

log = logging.getLogger("mailsupport.sandbox.smtp")

#: Listener names: inbound MX, submission with STARTTLS, submission with implicit TLS.
SMTP_LISTENERS = ("mx", "smtp", "smtp_tls")
#: The longest line the MX takes while a replay's inbound client is open (bytes).
REPLAY_LINE_LIMIT = 64 << 20


class _Session(Session):
    """aiosmtpd's Session without the deprecation log line on every login (we use auth_data)."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


def _login_of(session: Session) -> str:
    data = getattr(session, "auth_data", None)
    login = getattr(data, "login", None)
    return login.decode("utf-8", "replace") if isinstance(login, bytes) else ""


class SandboxSMTP(SMTP):
    """aiosmtpd's protocol plus the sandbox's connect/greeting/STARTTLS/QUIT faults."""

    def __init__(self, handler: SandboxHandler, *, implicit_tls: bool = False, **kwargs: Any) -> None:
        self.world = handler.world
        self.listener = handler.listener
        if self.listener == "mx" and self.world.xclient:
            # A replayed message was accepted by the customer's server with whatever lines it has (Postfix's
            # smtpd chops long lines and joins them again on delivery); RFC 5321's 1,000 stays for the rest.
            self.line_length_limit = REPLAY_LINE_LIMIT
        super().__init__(handler, **kwargs)
        if implicit_tls or "smtp" in self.world.plaintext_auth:
            # Implicit TLS: the whole connection is TLS already (RFC 8314 §3.3), so AUTH needs no
            # STARTTLS. Plaintext AUTH allowed: a server configured to accept it. aiosmtpd only
            # knows STARTTLS and would warn about auth_require_tls=False, hence set afterwards.
            self._auth_require_tls = False

    def _create_session(self) -> Session:
        return _Session(self.loop)

    async def apply_fault(self, stage: Stage, *subjects: str) -> str | None:
        """Run the fault for ``stage``: ``None`` to carry on, a reply text to send instead.

        ``drop`` closes the connection and ends the session task.
        """
        fault = self.world.fault("smtp", stage, *subjects)
        if fault is None:
            return None
        if fault.action is Action.DROP:
            if self.transport is not None:
                self.transport.abort()
            raise asyncio.CancelledError()
        if fault.action is Action.STALL:
            await stall(fault.seconds)
            return None
        return fault.reply_for("smtp")

    async def _handle_client(self) -> None:  # greeting stage (RFC 5321 §4.3.1)
        for stage in (Stage.CONNECT, Stage.GREETING):
            fault = self.world.fault("smtp", stage, self.listener)
            if fault is None:
                continue
            if fault.action is Action.DROP:
                self.transport.abort()
                return
            if fault.action is Action.STALL:
                await stall(fault.seconds)
                break
            if fault.action is Action.WRONG_GREETING:
                await self._wrong_greeting(fault.reply or "+OK POP3 server ready")
                return
            await self.push(fault.reply_for("smtp"))
            self.transport.close()
            return
        await super()._handle_client()

    async def _wrong_greeting(self, greeting: str) -> None:
        """Behave like a POP3 server on the SMTP port (a wrong port in the settings)."""
        await self.push(greeting)
        while self.transport is not None:
            line = await self._reader.readline()
            if not line:
                break
            if line.strip().upper() == b"QUIT":
                await self.push("+OK Bye")
                break
            await self.push("-ERR Unknown command.")
        if self.transport is not None:
            self.transport.close()

    async def smtp_STARTTLS(self, arg: str) -> None:
        """STARTTLS (RFC 3207) with the ``starttls`` fault stage in front."""
        reply = await self.apply_fault(Stage.STARTTLS, self.listener)
        if reply is not None:
            await self.push(reply)
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_XCLIENT(self, arg: str) -> None:
        """Postfix's XCLIENT (``XCLIENT ADDR=192.0.2.10 HELO=out.example.net``), on the MX listener only,
        for loopback clients only, and only while the world allows it (``World.xclient``): the rest of
        the session is handled as if that client had connected, so the profile's ``Received`` line
        records its address; the reply is a fresh greeting, and the client says EHLO again
        (Postfix ``XCLIENT_README``)."""
        from .inbound import parse_xclient

        real = self.transport.get_extra_info("peername") if self.transport is not None else None
        peer = real[0] if real else ""  # the connection's own peer: an earlier XCLIENT changed session.peer
        if self.listener != "mx" or not self.world.xclient or peer not in ("127.0.0.1", "::1"):
            await self.push("550 5.7.0 Error: insufficient authorization")
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: MAIL transaction in progress")
            return
        parsed = parse_xclient(arg or "")
        if isinstance(parsed, str):
            await self.push(parsed)
            return
        if "addr" in parsed:
            self.session.peer = (parsed["addr"], 0)
        self.session.host_name = parsed.get("helo") or None
        self._set_rset_state()
        await self.push(self.world.profile.smtp_greeting)

    async def smtp_QUIT(self, arg: str) -> None:
        """QUIT with the ``quit`` fault stage in front."""
        reply = await self.apply_fault(Stage.QUIT, _login_of(self.session) if self.session else "")
        if reply is not None:
            await self.push(reply)
            self._handler_coroutine.cancel()
            self.transport.close()
            return
        await super().smtp_QUIT(arg)


class SandboxHandler:
    """aiosmtpd hooks: EHLO features, AUTH mechanisms, routing at RCPT, delivery at DATA."""

    def __init__(self, world: World, listener: str) -> None:
        self.world = world
        self.listener = listener

    def __repr__(self) -> str:
        return f"SandboxHandler(listener={self.listener!r})"

    @property
    def submission(self) -> bool:
        """True for the submission listeners (AUTH, relaying to outside allowed)."""
        return self.listener != "mx"

    async def handle_exception(self, error: Exception) -> str:
        """A failed STARTTLS handshake is the client's verdict on our certificate: log it quietly."""
        if isinstance(error, TLSSetupException):
            log.info("STARTTLS handshake failed on %s: %s", self.listener, error.__cause__ or error)
        else:
            log.exception("SMTP session error on %s", self.listener)
        return "451 4.3.0 Sandbox internal error; try again"

    # ------------------------------------------------------------ EHLO (RFC 5321 §4.1.1.1)
    async def handle_EHLO(
        self, server: SandboxSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """EHLO: hide AUTH on the MX, add SIZE when advertised (RFC 1870 §4)."""
        session.host_name = hostname
        out = [r for r in responses if self.submission or not r.startswith("250-AUTH")]
        limit = self.world.size_limit
        if self.world.advertise_size and limit:
            out.insert(1, f"250-SIZE {limit}")  # RFC 1870 §4
        if self.world.xclient and not self.submission:
            out.insert(1, "250-XCLIENT ADDR HELO NAME PROTO")
        return out

    # ------------------------------------------------------------ AUTH (RFC 4954)
    async def _auth_fault(self, server: SandboxSMTP, user: str) -> AuthResult | None:
        reply = await server.apply_fault(Stage.AUTH, user)
        if reply is not None:
            return AuthResult(success=False, handled=False, message=reply)
        return None

    def _basic(self, user: str, password: str) -> AuthResult:
        outcome = self.world.check_password("smtp", user, password)
        profile = self.world.profile
        if outcome is AuthOutcome.OK:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        log.info("SMTP AUTH refused for %s: %s", user, outcome.value)
        if outcome is AuthOutcome.BASIC_REFUSED:
            return AuthResult(success=False, handled=False, message=profile.refusal("smtp"))
        if outcome is AuthOutcome.LOCKED:
            return AuthResult(success=False, handled=False, message=profile.smtp_locked)
        return AuthResult(success=False, handled=False, message=profile.smtp_auth_failed)

    async def _initial(self, server: SandboxSMTP, args: list[str]) -> bytes | None:
        if len(args) == 2:
            if args[1] == "=":
                return b""
            blob = b64(args[1])
            if blob is None:
                await server.push("501 5.5.2 Can't decode base64")
            return blob
        blob = await server.challenge_auth("")
        return None if not isinstance(blob, bytes) else blob

    async def auth_PLAIN(self, server: SandboxSMTP, args: list[str]) -> AuthResult:
        """SASL PLAIN (RFC 4616)."""
        blob = await self._initial(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        parsed = parse_plain(blob)
        if parsed is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Malformed PLAIN response")
        return await self._auth_fault(server, parsed[0]) or self._basic(*parsed)

    async def auth_LOGIN(self, server: SandboxSMTP, args: list[str]) -> AuthResult:
        """The LOGIN mechanism (draft-murchison-sasl-login): user name, then password."""
        if len(args) == 2:
            user_blob = b64(args[1])
        else:
            got = await server.challenge_auth("Username:")
            user_blob = got if isinstance(got, bytes) else None
        if user_blob is None:
            return AuthResult(success=False, handled=True)
        got = await server.challenge_auth("Password:")
        if not isinstance(got, bytes):
            return AuthResult(success=False, handled=True)
        user = user_blob.decode("utf-8", "replace")
        return await self._auth_fault(server, user) or self._basic(user, got.decode("utf-8", "replace"))

    async def auth_XOAUTH2(self, server: SandboxSMTP, args: list[str]) -> AuthResult:
        """XOAUTH2 (Google/Microsoft): bearer token; refusal with a JSON challenge where Google does."""
        blob = await self._initial(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        parsed = parse_xoauth2(blob)
        if parsed is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Malformed XOAUTH2 response")
        user, token = parsed
        faulted = await self._auth_fault(server, user)
        if faulted is not None:
            return faulted
        outcome = self.world.check_token("smtp", user, token)
        profile = self.world.profile
        if outcome is AuthOutcome.OK:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        log.info("SMTP XOAUTH2 refused for %s: %s", user, outcome.value)
        if outcome is AuthOutcome.LOCKED:
            return AuthResult(success=False, handled=False, message=profile.smtp_locked)
        if profile.smtp_oauth_challenge:
            await server.challenge_auth(error_challenge(), encode_to_b64=False)
        return AuthResult(success=False, handled=False, message=profile.smtp_oauth_failed)

    # ------------------------------------------------------------ envelope
    async def handle_MAIL(
        self, server: SandboxSMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        """MAIL FROM: faults, then the SIZE= parameter against the limit (RFC 1870 §6.1)."""
        reply = await server.apply_fault(Stage.MAIL, address)
        if reply is not None:
            return reply
        limit = self.world.size_limit
        for option in mail_options:
            if option.startswith("SIZE=") and option[5:].isdigit() and limit and int(option[5:]) > limit:
                return self.world.profile.smtp_size_exceeded  # RFC 1870 §6.1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SandboxSMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """RCPT TO: faults, then routing (mailbox, matter domain, unknown user, relay)."""
        reply = await server.apply_fault(Stage.RCPT, address)
        if reply is not None:
            return reply
        store, profile = self.world.store, self.world.profile
        if "@" not in address:
            return "501 5.1.3 Bad recipient address syntax"
        if store.is_matter_address(address) or store.resolve(address) is not None:
            pass
        elif store.is_local(address):
            return profile.smtp_unknown_user.format(rcpt=address)
        elif not self.submission:
            return profile.smtp_relay_denied.format(rcpt=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SandboxSMTP, session: Session, envelope: Envelope) -> str:
        """End of DATA: faults, size limit, then delivery per profile (RFC 5321 §4.1.1.4)."""
        data = envelope.original_content or b""
        reply = await server.apply_fault(Stage.DATA, ",".join(envelope.rcpt_tos))
        if reply is not None:
            return reply
        limit = self.world.size_limit
        if limit and len(data) > limit:
            return self.world.profile.smtp_size_exceeded
        queue_id = self.world.next_queue_id()
        await self.deliver(session, envelope, data, queue_id)
        return f"250 2.0.0 Ok: queued as {queue_id}"

    async def deliver(self, session: Session, envelope: Envelope, data: bytes, queue_id: str) -> None:
        """File the message: mailboxes per profile, matter domains to the hook, the rest to the outbox."""
        world, store = self.world, self.world.store
        mail_from = envelope.mail_from or ""
        helo = session.host_name or "unknown"
        peer = session.peer[0] if session.peer else "127.0.0.1"
        pairs, outside = [], []
        for rcpt in envelope.rcpt_tos:
            if store.is_matter_address(rcpt):
                await self._wildcard(rcpt, data, mail_from, helo, peer, queue_id)
                continue
            box = store.resolve(rcpt)
            if box is not None:
                pairs.append((rcpt, box.address))
            else:
                outside.append(rcpt)
        auth, loop = world.mail_auth, asyncio.get_running_loop()
        if pairs:
            profile = world.profile
            if auth is not None:  # the receiver's Authentication-Results, from a real evaluation
                data = await loop.run_in_executor(
                    None,
                    functools.partial(
                        auth.stamp, data, mail_from=mail_from, helo=helo, peer=peer, authserv_id=profile.host
                    ),
                )
            for copy in build_deliveries(
                profile,
                data=data,
                mail_from=mail_from,
                recipients=pairs,
                helo=helo,
                peer=peer,
                now=world.clock(),
                queue_id=queue_id,
            ):
                stored = store.store(
                    store.mailbox(copy.mailbox),
                    copy.data,
                    message_id=message_id_of(data),
                    mail_from=mail_from,
                    recipients=copy.recipients,
                    dedupe=profile.dedupe_message_id,
                )
                log.info(
                    "delivered %s to %s (%s)",
                    queue_id,
                    copy.mailbox,
                    "kept" if stored else "duplicate Message-ID suppressed",
                )
                if world.on_stored is not None:
                    world.on_stored(queue_id, copy, stored)
        if outside:
            if auth is not None and self.submission:  # the relay signs what it sends out
                data = await loop.run_in_executor(None, auth.sign, envelope.original_content or b"", mail_from)
            user = _login_of(session) or None
            store.record_outbox(
                OutboxMessage(
                    mail_from=mail_from, recipients=tuple(outside), data=data, username=user, listener=self.listener
                )
            )

    async def _wildcard(self, rcpt: str, data: bytes, mail_from: str, helo: str, peer: str, queue_id: str) -> None:
        world = self.world
        received = (
            f"Received: from {helo} (localhost [{peer}])\r\n\tby {world.profile.host} (sandbox) "
            f"with ESMTP id {queue_id}\r\n\tfor <{rcpt}>; "
            f"{format_datetime(world.clock())}\r\n"
        ).encode()
        raw = received + data
        hook = world.on_wildcard
        if hook is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, hook, rcpt, raw)
                return
            except Exception:  # never lose mail: keep it when the hook fails
                log.exception("on_wildcard hook failed for %s; message kept in the wildcard list", rcpt)
        world.store.record_wildcard(WildcardMessage(recipient=rcpt, data=raw, mail_from=mail_from))


def _greeting_parts(greeting: str) -> tuple[str, str]:
    parts = greeting.split(" ", 2)
    return (parts[1] if len(parts) > 1 else "sandbox"), (parts[2] if len(parts) > 2 else "ESMTP")


async def start_smtp(world: World, listener: str, host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """Start one SMTP listener (``mx``, ``smtp`` or ``smtp_tls``) on ``host:port`` (0 = any free port)."""
    if listener not in SMTP_LISTENERS:
        raise ValueError(f"unknown SMTP listener {listener!r}: expected one of {', '.join(SMTP_LISTENERS)}")
    handler = SandboxHandler(world, listener)
    implicit = listener == "smtp_tls"

    def factory() -> SandboxSMTP:
        hostname, ident = _greeting_parts(world.profile.smtp_greeting)
        return SandboxSMTP(
            handler,
            hostname=hostname,
            ident=ident,
            data_size_limit=None,  # the handler enforces the world's limit with profile texts
            tls_context=None if implicit else world.tls.server_context,
            auth_required=listener != "mx",
            auth_require_tls=True,
            implicit_tls=implicit,
            auth_exclude_mechanism=("PLAIN", "LOGIN", "XOAUTH2") if listener == "mx" else (),
            loop=asyncio.get_running_loop(),
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host, port, ssl=world.tls.server_context if implicit else None)
