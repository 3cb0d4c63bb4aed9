"""The :class:`Sandbox` façade: start every server, seed accounts from tenants, inspect mail.

One :class:`~mailsupport.sandbox.loop.BackgroundLoop` runs the MX, submission (STARTTLS and
implicit TLS), POP3 (plain/STLS and implicit TLS) and DNS servers, all on ``127.0.0.1:0``.
Tenants give the accounts: the inbound mailbox (single or catch-all over the inbound's
effective catch-all domains) with its POP3 login, the outbound SMTP login, a mailbox for each
user address no catch-all covers, and the matter domain ``<orgkey>.<wildcard domain>``.

Layer 6: may import every layer; only tests, the demo and the CLI import it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import load_tenant
from ..model import Secret
from ..tenant import ServerSettings, Tenant, TlsMode
from ..tlsutil import client_context
from .faults import Fault, FaultSet
from .inbound import inbound_client
from .loop import BackgroundLoop
from .mailstore import AccountState, MailStore, OutboxMessage, StoredMessage, WildcardMessage
from .outside import send_as_outside_server
from .pop3 import start_pop3
from .profiles import Profile, get_profile
from .seeding import seed_tenant
from .smtp import start_smtp
from .tls import CertKind, SandboxTls
from .world import World

__all__ = ["Sandbox", "Endpoint", "DEFAULT_SMTP_SIZE_LIMIT", "LISTENERS"]

log = logging.getLogger("mailsupport.sandbox")

#: Postfix's default ``message_size_limit`` (postconf(5)): the "10 MB" most servers keep.
DEFAULT_SMTP_SIZE_LIMIT = 10_240_000

#: Listener name -> how a client secures it.
LISTENERS: Mapping[str, TlsMode] = {
    "mx": TlsMode.STARTTLS,
    "smtp": TlsMode.STARTTLS,
    "smtp_tls": TlsMode.IMPLICIT,
    "pop3": TlsMode.STARTTLS,
    "pop3_tls": TlsMode.IMPLICIT,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where one sandbox server listens and how it is secured (``dns`` has ``tls=none``)."""

    name: str
    host: str
    port: int
    tls: TlsMode

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` for socket-level clients."""
        return (self.host, self.port)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"host": self.host, "port": self.port, "tls": self.tls.value}


class Sandbox:
    """Real SMTP, POP3 and DNS servers on loopback for tests, notebooks and the demo.

    ``tenants`` are :class:`~mailsupport.tenant.Tenant` objects or tenant file paths;
    ``zones`` are zone file paths or :class:`~mailsupport.zones.ZoneData` (the tenants' own
    ``zones`` are added); ``faults`` are :class:`~mailsupport.sandbox.faults.Fault`;
    ``smtp_size_limit`` defaults to Postfix's 10 240 000 bytes (0 = no limit);
    ``advertise_size`` says whether EHLO shows ``SIZE``. ``on_wildcard(rcpt, raw_bytes)`` is
    called (in a worker thread) for mail to a matter-domain address; without it such mail is
    kept and listed by :meth:`wildcard_mail`. ``certificate`` picks a good or deliberately
    bad server certificate (:class:`~mailsupport.sandbox.tls.CertKind`). ``plaintext_auth``
    names the services that accept a login on an unencrypted connection: by default POP3
    does and SMTP submission wants STARTTLS first (RFC 4954 §4); ``()`` refuses both, as
    Dovecot's ``disable_plaintext_auth`` and most providers do.
    """

    def __init__(
        self,
        tenants: Iterable[Tenant | str | Path] = (),
        *,
        profile: str = "postfix",
        zones: Iterable[Any] = (),
        faults: Iterable[Fault] = (),
        smtp_size_limit: int | None = None,
        advertise_size: bool = True,
        apop: bool = False,
        certificate: CertKind | str = CertKind.GOOD,
        disposition: str = "keep",
        on_wildcard: Callable[[str, bytes], object] | None = None,
        app_passwords: Mapping[str, Secret] | None = None,
        plaintext_auth: Iterable[str] = ("pop3",),
    ) -> None:
        get_profile(profile)  # fail early with the list of names
        plaintext_auth = tuple(plaintext_auth)
        for service in plaintext_auth:
            if service not in ("pop3", "smtp"):
                raise ValueError(f"plaintext_auth names services 'pop3' and/or 'smtp', got {service!r}")
        self.tenants: tuple[Tenant, ...] = tuple(
            t if isinstance(t, Tenant) else load_tenant(t, environ={}) for t in tenants
        )
        self._zone_sources = tuple(zones)
        self.store = MailStore()
        self._dir = tempfile.mkdtemp(prefix="mailsupport-sandbox-")
        # the certificate folder goes when stop() runs, or when the object is collected unstarted
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self.tls = SandboxTls(Path(self._dir) / "tls", kind=certificate)
        limit = DEFAULT_SMTP_SIZE_LIMIT if smtp_size_limit is None else (smtp_size_limit or None)
        self.world = World(
            store=self.store,
            tls=self.tls,
            profile=profile,
            faults=FaultSet(faults),
            size_limit=limit,
            advertise_size=advertise_size,
            apop=apop,
            on_wildcard=on_wildcard,
            plaintext_auth=tuple(plaintext_auth),
        )
        self.set_disposition(disposition)
        for tenant in self.tenants:
            self.add_tenant(tenant)
        for user, password in (app_passwords or {}).items():
            self.set_app_password(user, password)
        self._loop: BackgroundLoop | None = None
        self._servers: dict[str, Any] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._dns: Any = None

    def __repr__(self) -> str:
        state = "running" if self._loop else "stopped"
        return (
            f"Sandbox({state}, profile={self.world.profile.name!r}, tenants="
            f"{[t.org_key for t in self.tenants]!r}, mailboxes={list(self.store.mailboxes())!r})"
        )

    # ------------------------------------------------------------------ life cycle
    def start(self) -> Sandbox:
        """Start the loop and every server. Returns ``self``."""
        if self._loop is not None:
            raise RuntimeError("this Sandbox is already running")
        if not self._cleanup.alive:
            raise RuntimeError("this Sandbox was stopped and cannot start again: make a new Sandbox")
        self._loop = BackgroundLoop(name="mailsupport-sandbox").start()
        try:
            for name in ("mx", "smtp", "smtp_tls"):
                self._serve(name, self._loop.run(start_smtp(self.world, name)))
            for name in ("pop3", "pop3_tls"):
                self._serve(name, self._loop.run(start_pop3(self.world, name)))
            self._start_dns()
        except BaseException:
            self.stop()
            raise
        log.info("sandbox started: %s", {k: v.port for k, v in self._endpoints.items()})
        return self

    def _serve(self, name: str, server: Any) -> None:
        host, port = server.sockets[0].getsockname()[:2]
        self._servers[name] = server
        self._endpoints[name] = Endpoint(name=name, host=host, port=port, tls=LISTENERS[name])

    def _start_dns(self) -> None:
        from ..zones import ZoneData, load_zone_files
        from .dns import DnsServer

        data = ZoneData()
        paths = [z for t in self.tenants for z in t.zones]
        for source in self._zone_sources:
            if isinstance(source, ZoneData):
                data = data.merged(source)
            else:
                paths.append(source)
        paths = list(dict.fromkeys(str(p) for p in paths))  # tenants share vendor zone files
        data = data.merged(load_zone_files(paths)) if paths else data
        self._dns = DnsServer(data)
        host, port = self._loop.run(self._dns.start("127.0.0.1", 0))
        self._endpoints["dns"] = Endpoint(name="dns", host=host, port=port, tls=TlsMode.NONE)

    def stop(self) -> None:
        """Close every server and the loop; remove the certificate files. Idempotent."""
        loop, self._loop = self._loop, None
        if loop is not None:
            servers = list(self._servers.values())

            async def close() -> None:  # on the loop's thread: asyncio servers are not thread-safe
                for server in servers:
                    server.close()
                if self._dns is not None:
                    await self._dns.stop()

            try:
                loop.run(close(), timeout=10)
            except Exception:  # pragma: no cover - best effort at shutdown
                log.exception("the sandbox servers did not close cleanly")
            loop.stop()
        self._servers.clear()
        self._cleanup()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` (its servers answer)."""
        return self._loop is not None

    def __enter__(self) -> Sandbox:
        return self.start() if self._loop is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ endpoints
    def _endpoint(self, name: str) -> Endpoint:
        try:
            return self._endpoints[name]
        except KeyError:
            raise RuntimeError(
                f"the sandbox is not running: no {name} endpoint yet (use 'with Sandbox(...)')"
            ) from None

    mx = property(lambda self: self._endpoint("mx"), doc="Inbound MX listener (no AUTH, STARTTLS offered).")
    smtp = property(lambda self: self._endpoint("smtp"), doc="Submission with STARTTLS + AUTH.")
    smtp_tls = property(lambda self: self._endpoint("smtp_tls"), doc="Submission over implicit TLS.")
    pop3 = property(lambda self: self._endpoint("pop3"), doc="POP3, plain with STLS.")
    pop3_tls = property(lambda self: self._endpoint("pop3_tls"), doc="POP3 over implicit TLS.")
    dns = property(lambda self: self._endpoint("dns"), doc="DNS (UDP and TCP) answering the zones.")
    inbound_client = inbound_client

    @property
    def ca_file(self) -> str:
        """The throwaway CA certificate (PEM) clients must trust to verify the sandbox."""
        return self.tls.ca_file

    def endpoints(self) -> dict[str, Any]:
        """Every endpoint plus ``ca_file``, ``profile`` and the mailboxes, as plain data (no secrets)."""
        out: dict[str, Any] = {name: ep.to_dict() for name, ep in self._endpoints.items()}
        out.update(ca_file=self.ca_file, profile=self.world.profile.name, mailboxes=list(self.store.mailboxes()))
        return out

    def client_context(self):
        """An :class:`ssl.SSLContext` that verifies the sandbox's certificates for real."""
        return client_context(ca_file=self.ca_file)

    # ------------------------------------------------------------------ accounts
    def add_tenant(self, tenant: Tenant) -> None:
        """Create the tenant's mailboxes, logins and tokens (see the module docstring)."""
        if tenant not in self.tenants:
            self.tenants = self.tenants + (tenant,)
        seed_tenant(self.store, tenant)

    def tenant_settings(self, tenant: Tenant) -> Tenant:
        """A copy of ``tenant`` whose inbound/outbound servers point at this sandbox.

        The TLS mode is kept (implicit → the ``*_tls`` port, STARTTLS/none → the plain port)
        and certificates are verified against :attr:`ca_file`.
        """

        def point(settings: ServerSettings, plain: str, implicit: str) -> ServerSettings:
            ep = self._endpoint(implicit if settings.tls is TlsMode.IMPLICIT else plain)
            return replace(
                settings,
                host=ep.host,
                port=ep.port,
                ca_file=self.ca_file,
                verify_tls=True,
                allow_plaintext_auth=settings.allow_plaintext_auth or settings.tls is TlsMode.NONE,
            )

        inbound = point(tenant.inbound.server, "pop3", "pop3_tls") if tenant.inbound else None
        outbound = point(tenant.outbound.server, "smtp", "smtp_tls")
        return tenant.with_servers(inbound=inbound, outbound=outbound)

    def set_account_state(self, username: str, **changes: Any) -> AccountState:
        """Set ``locked``, ``login_delay``, ``in_use`` or ``app_password`` for ``username``."""
        return self.store.set_state(username, **changes)

    def set_app_password(self, username: str, password: Secret | str) -> None:
        """Give ``username`` a Google app password (accepted under the ``gmail`` profile)."""
        self.store.set_state(username, app_password=Secret(password))

    def issue_token(self, username: str, *, expired: bool = False) -> Secret:
        """A fresh XOAUTH2 test token for ``username`` (one the servers refuse as expired if asked)."""
        token = ("expired-" if expired else "ya29.sandbox-") + secrets.token_urlsafe(24)
        self.store.add_token(token, username, expired=expired)
        return Secret(token)

    # ------------------------------------------------------------------ knobs
    @property
    def profile(self) -> Profile:
        """The provider profile in force."""
        return self.world.profile

    def set_profile(self, name: str, **options: Any) -> Profile:
        """Switch the provider profile for the next connection and delivery.

        ``options`` override fields of the :class:`~mailsupport.sandbox.profiles.Profile`,
        e.g. ``set_profile("gmail", x_gm_original_to=True)`` (Workspace's "Add
        X-Gm-Original-To header" routing option). Returns the profile now in force.
        """
        profile = get_profile(name)
        if options:
            unknown = sorted(set(options) - set(Profile.__dataclass_fields__))
            if unknown:
                raise ValueError(
                    f"unknown profile option {unknown[0]!r}: expected fields of Profile "
                    f"such as x_gm_original_to, basic_auth, pop_popped"
                )
            profile = replace(profile, **options)
        self.world.profile = profile
        return profile

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults in force."""
        return self.world.faults.faults

    def add_fault(self, fault: Fault) -> None:
        """Add a deterministic fault (first matching one wins)."""
        self.world.faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.world.faults.clear()

    def set_certificate(self, kind: CertKind | str) -> None:
        """Serve a good or deliberately bad certificate from the next handshake on."""
        kind = CertKind(kind)
        if self._loop is not None:

            async def swap() -> None:
                self.tls.use(kind)

            self._loop.run(swap())
        else:
            self.tls.use(kind)

    def set_size_limit(self, limit: int | None, *, advertise: bool | None = None) -> None:
        """Change the SMTP size limit (``None``/0 = none) and whether EHLO advertises it."""
        self.world.size_limit = limit or None
        if advertise is not None:
            self.world.advertise_size = advertise

    def set_on_wildcard(self, hook: Callable[[str, bytes], object] | None) -> None:
        """Set (or clear, with ``None``) the hook called for matter-domain mail, e.g. the
        pipeline's ``wildcard_handler``; it takes effect for the next delivery."""
        self.world.on_wildcard = hook

    def set_disposition(self, disposition: str) -> None:
        """Gmail POP disposition after a message is popped: ``keep`` or ``trash``."""
        if disposition not in ("keep", "trash"):
            raise ValueError(f"disposition must be 'keep' or 'trash', got {disposition!r}")
        self.store.disposition = disposition

    def enable_mail_auth(self, **options: Any) -> Any:
        """Sign relayed mail with DKIM and have receivers write ``Authentication-Results``
        (:mod:`mailsupport.sandbox.auth`); the fresh key is served by the sandbox DNS server.
        ``options`` go to :class:`~mailsupport.sandbox.auth.DkimSigner` (``selector``,
        ``key_host``, ``domain``) and ``relay_ip``. Returns the signer."""
        from .auth import DEFAULT_RELAY_IP, DkimSigner, MailAuth

        if self._dns is None:
            raise RuntimeError("start the sandbox before enabling mail authentication")
        relay_ip = options.pop("relay_ip", DEFAULT_RELAY_IP)
        signer = DkimSigner(**options)
        self._dns.set_zone_data(self._dns.zone_data.merged(signer.zone_data()))
        self.world.mail_auth = MailAuth(signer=signer, zone_data=lambda: self._dns.zone_data, relay_ip=relay_ip)
        return signer

    def set_zone_data(self, zone_data: Any) -> None:
        """Answer DNS from ``zone_data`` (a :class:`~mailsupport.zones.ZoneData`) from now on."""
        if self._dns is None:
            raise RuntimeError("the sandbox is not running")
        self._dns.set_zone_data(zone_data)

    # ------------------------------------------------------------------ mail
    def deliver(
        self,
        raw: bytes | str,
        mail_from: str,
        rcpt_tos: Iterable[str],
        *,
        helo: str = "sender.example.org",
        timeout: float = 30.0,
    ) -> str:
        """Send ``raw`` through the MX listener with smtplib, as an outside server would.

        Returns the final reply text (``250 2.0.0 Ok: queued as ...``); raises
        :class:`~mailsupport.errors.SmtpRejected` when the sandbox refuses the sender,
        every recipient, or the data.
        """
        return send_as_outside_server(self.mx.host, self.mx.port, raw, mail_from, rcpt_tos, helo=helo, timeout=timeout)

    def mailbox(self, address: str) -> tuple[StoredMessage, ...]:
        """The messages now stored in the mailbox ``address`` lands in (``KeyError`` if none)."""
        return self.store.messages(address)

    def mailboxes(self) -> tuple[str, ...]:
        """Every mailbox address."""
        return self.store.mailboxes()

    @property
    def outbox(self) -> tuple[OutboxMessage, ...]:
        """Mail submitted for addresses outside the sandbox, oldest first."""
        return tuple(self.store.outbox)

    def wildcard_mail(self, domain: str | None = None) -> tuple[WildcardMessage, ...]:
        """Matter-domain mail kept for lack of an ``on_wildcard`` hook (all domains, or one)."""
        if domain is not None:
            return tuple(self.store.wildcard.get(domain.lower(), ()))
        return tuple(m for msgs in self.store.wildcard.values() for m in msgs)

    def wait_for(self, condition: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
        """Poll ``condition`` until it returns something truthy; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sandbox did not reach {what} within {timeout} s")
            time.sleep(0.01)
