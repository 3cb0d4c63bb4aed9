"""The tenant data model: one customer's email set-up, as frozen values, and the provider presets.

Types only (no parsing): :class:`Tenant` and its parts (:class:`Inbound`, :class:`Outbound`,
:class:`ServerSettings`, :class:`User`, :class:`Matter`), the closed sets
(:class:`Provider`, :class:`TlsMode`, :class:`MailboxKind`), and :data:`PRESETS`: what
choosing a provider on the Email Setup page fills in and which fields the user must still
type (help page; ports and TLS modes from Thunderbird's ISPDB, see
``docs/provider-facts.md`` §5). Reading and validating tenant files is
:mod:`mailsupport.config`, which re-exports every name here.

Pure (layer 2): imports only the standard library, :mod:`mailsupport.model` and
:mod:`mailsupport.headerblock` (the envelope header names).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .headerblock import ENVELOPE_HEADERS
from .model import Secret

__all__ = [
    "Provider",
    "TlsMode",
    "MailboxKind",
    "CATCH_ALL_HEADERS",
    "DEFAULT_SIZE_LIMIT",
    "DEFAULT_VENDOR_INCLUDE",
    "ServerPreset",
    "Preset",
    "PRESETS",
    "ServerSettings",
    "Inbound",
    "Outbound",
    "SendingAuth",
    "DEFAULT_RELAY_DKIM_SELECTOR",
    "DEFAULT_RELAY_DKIM_TARGET",
    "User",
    "Matter",
    "Tenant",
]

#: The product's size advice: "Keep email messages under 10MB" (help page, Email Size Limits).
DEFAULT_SIZE_LIMIT = 10 * 1000 * 1000
#: The vendor's SPF include (help page, Spam Filter Settings).
DEFAULT_VENDOR_INCLUDE = "_spf.actionstep.com"
#: The vendor relay's DKIM selector and the vendor-held key record a tenant's selector CNAME
#: points at (``actionstep._domainkey.<domain> CNAME dkim.actionstep.com``, as Mailchimp's
#: ``k1`` → ``dkim.mcsv.net``). Sandbox stand-ins: the help page names no DKIM set-up.
DEFAULT_RELAY_DKIM_SELECTOR = "actionstep"
DEFAULT_RELAY_DKIM_TARGET = "dkim.actionstep.com"

#: Headers a catch-all mailbox can carry the real recipient in: the envelope headers
#: (:data:`mailsupport.headerblock.ENVELOPE_HEADERS`) and ``Received-for``, the ``for <addr>``
#: clause of the receiving server's ``Received`` line.
CATCH_ALL_HEADERS = (*ENVELOPE_HEADERS, "Received-for")


class Provider(str, enum.Enum):
    """The provider dropdown of the Email Setup page (plus ``sandbox`` for the kit's own)."""

    OUTBOUND_ONLY = "outbound-only"
    OFFICE365 = "office365"
    EXCHANGE = "exchange"
    GMAIL = "gmail"
    OTHER = "other"
    SANDBOX = "sandbox"

    def __str__(self) -> str:
        return self.value


class TlsMode(str, enum.Enum):
    """How a connection is secured: TLS from the first byte, upgraded by STARTTLS/STLS, or not at all."""

    IMPLICIT = "implicit"
    STARTTLS = "starttls"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


class MailboxKind(str, enum.Enum):
    """A mailbox is a single address, or a catch-all receiving every address of its domain."""

    SINGLE = "single"
    CATCH_ALL = "catch-all"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPreset:
    """A server the product knows for a provider: host (``None`` = the user types it), port, TLS."""

    host: str | None
    port: int
    tls: TlsMode


@dataclass(frozen=True, slots=True, kw_only=True)
class Preset:
    """What choosing a provider fills in, and which fields the user must still give.

    ``required`` names fields as dotted paths of the tenant file
    (``inbound.server.host``); the pre-flight check reports each one missing.
    """

    provider: Provider
    label: str
    pop3: ServerPreset | None
    smtp: ServerPreset | None
    required: tuple[str, ...]
    fetches: bool = True
    asks_catch_all: bool = False


# Sources: the help page (which fields each provider needs) and Thunderbird's ISPDB
# (googlemail.com.xml, office365.com) for hosts, ports and TLS modes.
PRESETS: Mapping[Provider, Preset] = {
    Provider.OUTBOUND_ONLY: Preset(
        provider=Provider.OUTBOUND_ONLY,
        label="Outbound only",
        pop3=None,
        smtp=ServerPreset(host=None, port=25, tls=TlsMode.STARTTLS),
        required=(
            "outbound.from_address",
            "outbound.server.host",
            "outbound.server.port",
            "outbound.server.username",
            "outbound.server.password",
        ),
        fetches=False,
    ),
    Provider.OFFICE365: Preset(
        provider=Provider.OFFICE365,
        label="Microsoft Office 365",
        pop3=ServerPreset(host="outlook.office365.com", port=995, tls=TlsMode.IMPLICIT),
        smtp=ServerPreset(host="smtp.office365.com", port=587, tls=TlsMode.STARTTLS),
        required=("inbound.address", "inbound.server.password"),
    ),
    Provider.EXCHANGE: Preset(
        provider=Provider.EXCHANGE,
        label="Microsoft Exchange Server",
        pop3=ServerPreset(host=None, port=995, tls=TlsMode.IMPLICIT),
        smtp=ServerPreset(host=None, port=587, tls=TlsMode.STARTTLS),
        required=("inbound.address", "inbound.server.host", "inbound.server.password"),
    ),
    Provider.GMAIL: Preset(
        provider=Provider.GMAIL,
        label="Gmail/Google Apps",
        pop3=ServerPreset(host="pop.gmail.com", port=995, tls=TlsMode.IMPLICIT),
        smtp=ServerPreset(host="smtp.gmail.com", port=587, tls=TlsMode.STARTTLS),
        required=("inbound.address", "inbound.server.password", "inbound.kind"),
        asks_catch_all=True,
    ),
    Provider.OTHER: Preset(
        provider=Provider.OTHER,
        label="Other email provider",
        pop3=ServerPreset(host=None, port=995, tls=TlsMode.IMPLICIT),
        smtp=ServerPreset(host=None, port=587, tls=TlsMode.STARTTLS),
        required=(
            "inbound.address",
            "inbound.server.host",
            "inbound.server.port",
            "inbound.server.username",
            "inbound.server.password",
            "inbound.kind",
        ),
        asks_catch_all=True,
    ),
    Provider.SANDBOX: Preset(
        provider=Provider.SANDBOX,
        label="Embedded sandbox",
        pop3=ServerPreset(host="127.0.0.1", port=0, tls=TlsMode.NONE),
        smtp=ServerPreset(host="127.0.0.1", port=0, tls=TlsMode.NONE),
        required=("inbound.address",),
        asks_catch_all=True,
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """How to reach and log in to one server (POP3 or SMTP).

    ``port = 0`` means "not known yet": the sandbox fills it in when it starts.
    Certificates are verified unless ``verify_tls`` is false; ``ca_file`` adds a CA to trust
    (the sandbox's throwaway CA). Plaintext login over an unencrypted connection happens only
    when ``allow_plaintext_auth`` is true.
    """

    host: str | None = None
    port: int = 0
    tls: TlsMode = TlsMode.IMPLICIT
    username: str | None = None
    password: Secret | None = None
    oauth_token: Secret | None = None
    allow_plaintext_auth: bool = False
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: float = 30.0

    @property
    def endpoint(self) -> str:
        """``host:port`` for messages; a part not set yet is said in words, never as a placeholder
        (``server name not set, port 995``; ``mail.example.com, port not set``)."""
        if self.host and self.port:
            return f"{self.host}:{self.port}"
        if self.host:
            return f"{self.host}, port not set"
        return f"server name not set, port {self.port}" if self.port else "server name and port not set"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """The POP3 mailbox the product polls every 5 minutes, downloading then deleting everything.

    ``catch_all_domains`` are the domains whose every address lands in this mailbox (default:
    the domain of ``address`` when ``kind`` is catch-all). ``confirm_download_then_delete``
    is the help page's checkbox: without it nothing is ever deleted from the server.
    ``mx_hosts`` are the tenant's own MX or gateway hosts in front of the mailbox (host names,
    domain suffixes, IP addresses or networks, e.g. a filtering service): hops received from
    them belong to the receiving chain (:mod:`mailsupport.chain`). Empty by default.
    """

    address: str
    kind: MailboxKind = MailboxKind.SINGLE
    catch_all_header: str = "Delivered-To"
    catch_all_domains: tuple[str, ...] = ()
    mx_hosts: tuple[str, ...] = ()
    confirm_download_then_delete: bool = False
    server: ServerSettings = field(default_factory=ServerSettings)

    @property
    def effective_catch_all_domains(self) -> tuple[str, ...]:
        """The catch-all domains, defaulting to the mailbox's own domain for a catch-all."""
        if self.catch_all_domains:
            return self.catch_all_domains
        if self.kind is MailboxKind.CATCH_ALL and "@" in self.address:
            return (self.address.rsplit("@", 1)[1].lower(),)
        return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbound:
    """Outgoing SMTP: the vendor's relay, or the tenant's own server."""

    use_vendor_relay: bool = False
    from_address: str | None = None
    server: ServerSettings = field(default_factory=lambda: ServerSettings(tls=TlsMode.STARTTLS, port=587))


@dataclass(frozen=True, slots=True, kw_only=True)
class SendingAuth:
    """How mail the product sends for the tenant is authenticated (SPF, DKIM, DMARC alignment).

    ``path`` is ``vendor`` (the vendor's relay) or ``own`` (the tenant's SMTP server); None
    follows ``outbound.use_vendor_relay``. For the relay: ``relay_mail_from_domain`` is the
    envelope sender's domain (None: the From address's own domain, which is why the help page
    asks for the vendor include in the customer's SPF record), ``relay_dkim_domain`` the ``d=``
    it signs with (None: the From domain, once the selector record is published),
    ``relay_dkim_selector`` its selector and ``relay_dkim_target`` where that selector's CNAME
    must point. ``own_dkim_selectors`` are the selectors the tenant's own server signs with
    (empty: the provider's usual ones, e.g. Office 365's ``selector1``/``selector2``).
    ``report_address`` receives DMARC aggregate reports in suggested records (None:
    ``dmarc-reports@<domain>``).
    """

    path: str | None = None
    relay_mail_from_domain: str | None = None
    relay_dkim_domain: str | None = None
    relay_dkim_selector: str = DEFAULT_RELAY_DKIM_SELECTOR
    relay_dkim_target: str = DEFAULT_RELAY_DKIM_TARGET
    own_dkim_selectors: tuple[str, ...] = ()
    report_address: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A user of the practice system: address, own signature (else the division's), aliases."""

    address: str
    name: str = ""
    signature: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Matter:
    """A matter (action): mail to ``<id>@<orgkey>.<wildcard domain>`` is filed to it."""

    id: str
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """One customer's complete email set-up."""

    org_key: str
    domains: tuple[str, ...] = ()
    wildcard_domain: str | None = None
    provider: Provider = Provider.OTHER
    inbound: Inbound | None = None
    outbound: Outbound = field(default_factory=Outbound)
    users: tuple[User, ...] = ()
    matters: tuple[Matter, ...] = ()
    division_signature: str = ""
    disclaimer: str = ""
    failed_email_address: str | None = None
    size_limit: int = DEFAULT_SIZE_LIMIT
    vendor_include: str = DEFAULT_VENDOR_INCLUDE
    vendor_relay: ServerSettings | None = None
    sending: SendingAuth = field(default_factory=SendingAuth)
    sample: str | None = None
    zones: tuple[str, ...] = ()
    source: str = ""

    @property
    def matter_domain(self) -> str | None:
        """``<orgkey>.<wildcard domain>``: where matter addresses live, if the tenant has one."""
        if not self.wildcard_domain:
            return None
        return f"{self.org_key}.{self.wildcard_domain}".lower()

    @property
    def preset(self) -> Preset:
        """The provider preset of this tenant."""
        return PRESETS[self.provider]

    def alias_map(self) -> dict[str, str]:
        """Alias address (lower case) -> the user address it belongs to."""
        out: dict[str, str] = {}
        for user in self.users:
            for alias in user.aliases:
                out[alias.lower()] = user.address
        return out

    def user_by_address(self, address: str) -> User | None:
        """The user whose own address this is (case-insensitive), else ``None``."""
        wanted = address.lower()
        for user in self.users:
            if user.address.lower() == wanted:
                return user
        return None

    def with_servers(self, *, inbound: ServerSettings | None = None, outbound: ServerSettings | None = None) -> Tenant:
        """A copy with the inbound and/or outbound server settings replaced (e.g. sandbox ports)."""
        t = self
        if inbound is not None and t.inbound is not None:
            t = replace(t, inbound=replace(t.inbound, server=inbound))
        if outbound is not None:
            t = replace(t, outbound=replace(t.outbound, server=outbound))
        return t
