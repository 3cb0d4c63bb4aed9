"""Tenant configuration: one customer's email set-up, as the product's Email Setup page holds it.

A tenant file is TOML (or JSON, for exported configs). Loading validates every field and
raises :class:`~mailsupport.errors.ConfigError` naming the exact path of the bad field
(``users[2].aliases[0]``) and what was expected. Passwords and tokens become
:class:`~mailsupport.model.Secret` values at once.

Provider presets (:data:`PRESETS`) fill the server settings the product knows and say which
fields the user must type, as the help page lists them: Office 365 and Gmail need address +
password; Exchange also the server; Other needs everything; Outbound-only needs only SMTP.
Ports and TLS modes follow Thunderbird's ISPDB (``shared/facts/providers-auth-spf-size.md``).

A minimal tenant file::

    org_key = "smithlaw"
    domains = ["smithlaw.example"]
    wildcard_domain = "actionstep.example"
    provider = "other"
    failed_email_address = "it@smithlaw.example"

    [inbound]
    address = "matters@smithlaw.example"
    kind = "catch-all"
    catch_all_header = "X-Original-To"
    confirm_download_then_delete = true
    [inbound.server]
    host = "mail.smithlaw.example"
    port = 995
    tls = "implicit"
    username = "matters@smithlaw.example"
    password = "..."

    [[users]]
    address = "jane@smithlaw.example"
    aliases = ["conveyancing@smithlaw.example"]

This module is pure (layer 2): it parses text and values; only :func:`load_tenant` reads a
file. It must not import the network clients, the sandbox or the presentation layers.
"""

from __future__ import annotations

import enum
import json
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError
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
    "User",
    "Matter",
    "Tenant",
    "parse_tenant",
    "load_tenant",
    "tenant_to_dict",
    "iter_tenant_files",
]

#: The product's size advice: "Keep email messages under 10MB" (help page, Email Size Limits).
DEFAULT_SIZE_LIMIT = 10 * 1000 * 1000
#: The vendor's SPF include (help page, Spam Filter Settings).
DEFAULT_VENDOR_INCLUDE = "_spf.actionstep.com"

#: Headers a catch-all mailbox can carry the real recipient in; ``Received-for`` means the
#: ``for <addr>`` clause of the receiving server's ``Received`` line.
CATCH_ALL_HEADERS = (
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-Gm-Original-To",
    "Received-for",
)


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
        required=("outbound.from_address", "outbound.server.host", "outbound.server.port",
                  "outbound.server.username", "outbound.server.password"),
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
        required=("inbound.address", "inbound.server.host", "inbound.server.port",
                  "inbound.server.username", "inbound.server.password", "inbound.kind"),
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
        """``host:port`` for messages."""
        return f"{self.host or '?'}:{self.port or '?'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """The POP3 mailbox the product polls every 5 minutes, downloading then deleting everything.

    ``catch_all_domains`` are the domains whose every address lands in this mailbox (default:
    the domain of ``address`` when ``kind`` is catch-all). ``confirm_download_then_delete``
    is the help page's checkbox: without it nothing is ever deleted from the server.
    """

    address: str
    kind: MailboxKind = MailboxKind.SINGLE
    catch_all_header: str = "Delivered-To"
    catch_all_domains: tuple[str, ...] = ()
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

    def with_servers(self, *, inbound: ServerSettings | None = None,
                     outbound: ServerSettings | None = None) -> "Tenant":
        """A copy with the inbound and/or outbound server settings replaced (e.g. sandbox ports)."""
        t = self
        if inbound is not None and t.inbound is not None:
            t = replace(t, inbound=replace(t.inbound, server=inbound))
        if outbound is not None:
            t = replace(t, outbound=replace(t.outbound, server=outbound))
        return t


# --------------------------------------------------------------------------- parsing

_ADDRESS_RE = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_ORG_KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CRLF = re.compile(r"[\r\n]")


class _Reader:
    """Walks a parsed mapping, tracking the path of each field for error messages."""

    def __init__(self, data: Mapping[str, Any], path: str, source: str,
                 environ: Mapping[str, str]) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a table, got {type(data).__name__}", path=path, source=source)
        self.data = data
        self.path = path
        self.source = source
        self.environ = environ
        self.used: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.sub(key), source=self.source)

    def raw(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    def string(self, key: str, default: str | None = None, *, check: Callable[[str], str | None] | None = None,
               required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__} {value!r}")
        if _CRLF.search(value) and key not in ("signature", "division_signature", "disclaimer"):
            raise self.fail(key, "must not contain line breaks (CR/LF would let it inject headers)")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(key, problem)
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"expected a whole number from {low} to {high}, got {value}")
        return value

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.fail(key, f"expected a number from {low} to {high}, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def choice(self, key: str, enum_type: type[enum.Enum], default: Any) -> Any:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return enum_type(value)
        except ValueError:
            options = ", ".join(repr(m.value) for m in enum_type)
            raise self.fail(key, f"expected one of {options}, got {value!r}") from None

    def string_list(self, key: str, *, check: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {type(value).__name__}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {type(item).__name__} {item!r}")
            if check is not None:
                problem = check(item)
                if problem:
                    raise self.fail(f"{key}[{i}]", problem)
            out.append(item)
        return tuple(out)

    def table(self, key: str) -> "_Reader | None":
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        return _Reader(value, self.sub(key), self.source, self.environ)

    def tables(self, key: str) -> list["_Reader"]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of tables, got {type(value).__name__}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{key}[{i}]", f"expected a table, got {type(item).__name__}")
            out.append(_Reader(item, self.sub(f"{key}[{i}]"), self.source, self.environ))
        return out

    def secret(self, key: str) -> Secret | None:
        """A secret given inline (``password = "..."``) or by name (``password_env = "VAR"``)."""
        env_key = f"{key}_env"
        value = self.raw(key)
        env_name = self.raw(env_key)
        if value is not None and env_name is not None:
            raise self.fail(key, f"give either {key} or {env_key}, not both")
        if env_name is not None:
            if not isinstance(env_name, str) or not env_name:
                raise self.fail(env_key, "expected the name of an environment variable")
            if env_name not in self.environ:
                raise self.fail(env_key, f"environment variable {env_name} is not set")
            return Secret(self.environ[env_name])
        if value is None:
            return None
        if not isinstance(value, str):
            # never echo the value: it may be a mistyped password
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        return Secret(value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "is not a known field (check the spelling; see mailsupport.config)")


def _check_address(value: str) -> str | None:
    if not _ADDRESS_RE.match(value.strip()):
        return f"expected an email address like name@example.com, got {value!r}"
    return None


def _check_domain(value: str) -> str | None:
    if not _DOMAIN_RE.match(value.strip().rstrip(".")):
        return f"expected a domain name like example.com, got {value!r}"
    return None


def _check_host(value: str) -> str | None:
    if _check_domain(value) is None:
        return None
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        return f"expected a host name or IP address, got {value!r}"


def _check_header(value: str) -> str | None:
    for name in CATCH_ALL_HEADERS:
        if value.lower() == name.lower():
            return None
    return f"expected one of {', '.join(CATCH_ALL_HEADERS)}, got {value!r}"


def _canonical_header(value: str) -> str:
    return next(name for name in CATCH_ALL_HEADERS if name.lower() == value.lower())


def _server(r: _Reader | None, preset: ServerPreset | None, *, default_tls: TlsMode) -> ServerSettings:
    host = preset.host if preset else None
    port = preset.port if preset else 0
    tls = preset.tls if preset else default_tls
    if r is None:
        return ServerSettings(host=host, port=port, tls=tls)
    settings = ServerSettings(
        host=r.string("host", host, check=_check_host),
        port=r.integer("port", port, low=0, high=65535),
        tls=r.choice("tls", TlsMode, tls),
        username=r.string("username"),
        password=r.secret("password"),
        oauth_token=r.secret("oauth_token"),
        allow_plaintext_auth=r.boolean("allow_plaintext_auth", False),
        verify_tls=r.boolean("verify_tls", True),
        ca_file=r.string("ca_file"),
        timeout=r.number("timeout", 30.0, low=0.1, high=600),
    )
    r.reject_unknown()
    return settings


def parse_tenant(data: Mapping[str, Any], *, source: str = "<tenant>",
                 environ: Mapping[str, str] | None = None) -> Tenant:
    """Validate a parsed tenant mapping and build a :class:`Tenant`.

    ``environ`` resolves ``password_env``-style references (none resolve when omitted).
    Raises :class:`ConfigError` with the path of the first bad field.
    """
    r = _Reader(data, "", source, environ or {})
    org_key = r.string("org_key", required=True,
                       check=lambda v: None if _ORG_KEY_RE.match(v) else
                       f"expected lower-case letters, digits and hyphens (a DNS label), got {v!r}")
    provider = r.choice("provider", Provider, Provider.OTHER)
    preset = PRESETS[provider]

    inbound = None
    inbound_r = r.table("inbound")
    if inbound_r is not None:
        if not preset.fetches:
            raise r.fail("inbound", f"the {preset.label!r} provider does not fetch mail; remove [inbound] "
                                    "or choose another provider")
        kind = inbound_r.choice("kind", MailboxKind, MailboxKind.SINGLE)
        inbound = Inbound(
            address=inbound_r.string("address", required=True, check=_check_address),
            kind=kind,
            catch_all_header=_canonical_header(inbound_r.string("catch_all_header", "Delivered-To",
                                                                check=_check_header)),
            catch_all_domains=tuple(d.lower() for d in inbound_r.string_list("catch_all_domains", check=_check_domain)),
            confirm_download_then_delete=inbound_r.boolean("confirm_download_then_delete", False),
            server=_server(inbound_r.table("server"), preset.pop3, default_tls=TlsMode.IMPLICIT),
        )
        inbound_r.reject_unknown()

    out_r = r.table("outbound")
    if out_r is not None:
        outbound = Outbound(
            use_vendor_relay=out_r.boolean("use_vendor_relay", False),
            from_address=out_r.string("from_address", check=_check_address),
            server=_server(out_r.table("server"), preset.smtp, default_tls=TlsMode.STARTTLS),
        )
        out_r.reject_unknown()
    else:
        outbound = Outbound(server=_server(None, preset.smtp, default_tls=TlsMode.STARTTLS))

    users = []
    seen_addresses: dict[str, str] = {}
    for ur in r.tables("users"):
        user = User(
            address=ur.string("address", required=True, check=_check_address),
            name=ur.string("name", ""),
            signature=ur.string("signature", ""),
            aliases=ur.string_list("aliases", check=_check_address),
        )
        ur.reject_unknown()
        for i, addr in enumerate((user.address, *user.aliases)):
            key = addr.lower()
            where = ur.sub("address") if i == 0 else ur.sub(f"aliases[{i - 1}]")
            if key in seen_addresses:
                raise ConfigError(f"{addr!r} is already used at {seen_addresses[key]}", path=where, source=source)
            seen_addresses[key] = where
        users.append(user)

    matters = []
    seen_matters: set[str] = set()
    for mr in r.tables("matters"):
        mid = mr.string("id", required=True,
                        check=lambda v: None if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", v) else
                        f"expected a matter id usable as an address local part (letters, digits, . _ -), got {v!r}")
        if mid.lower() in seen_matters:
            raise mr.fail("id", f"matter id {mid!r} appears twice")
        seen_matters.add(mid.lower())
        matters.append(Matter(id=mid, name=mr.string("name", "")))
        mr.reject_unknown()

    relay_r = r.table("vendor_relay")
    vendor_relay = _server(relay_r, None, default_tls=TlsMode.STARTTLS) if relay_r is not None else None

    tenant = Tenant(
        org_key=org_key,
        domains=tuple(d.lower() for d in r.string_list("domains", check=_check_domain)),
        wildcard_domain=r.string("wildcard_domain", check=_check_domain),
        provider=provider,
        inbound=inbound,
        outbound=outbound,
        users=tuple(users),
        matters=tuple(matters),
        division_signature=r.string("division_signature", ""),
        disclaimer=r.string("disclaimer", ""),
        failed_email_address=r.string("failed_email_address", check=_check_address),
        size_limit=r.integer("size_limit", DEFAULT_SIZE_LIMIT, low=1, high=1 << 40),
        vendor_include=r.string("vendor_include", DEFAULT_VENDOR_INCLUDE, check=_check_domain),
        vendor_relay=vendor_relay,
        sample=r.string("sample"),
        zones=r.string_list("zones"),
        source=source,
    )
    r.raw("description")  # free text, allowed
    r.reject_unknown()
    return tenant


def load_tenant(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Tenant:
    """Read and validate a tenant file (``.toml`` or ``.json``).

    Relative ``sample`` and ``zones`` paths are resolved against the file's folder.
    ``environ`` resolves ``*_env`` secret references; the command line passes the process
    environment, library callers pass what they want (none resolve when omitted: this module
    never reads the environment itself).
    """
    p = Path(path)
    source = str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the tenant file ({exc.strerror})", source=source) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                          source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=source) from None
    tenant = parse_tenant(data, source=source, environ=environ)
    base = p.parent
    sample = str((base / tenant.sample).resolve()) if tenant.sample else None
    zones = tuple(str((base / z).resolve()) for z in tenant.zones)
    return replace(tenant, sample=sample, zones=zones)


def iter_tenant_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of ``.toml``/``.json`` tenant files."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".toml", ".json") and q.is_file()))
        else:
            out.append(p)
    return out


def _value_to_plain(value: Any, reveal: bool) -> Any:
    if isinstance(value, Secret):
        return value.reveal() if reveal else "***"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_value_to_plain(v, reveal) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _value_to_plain(getattr(value, f.name), reveal)
                for f in fields(value) if getattr(value, f.name) is not None}
    return value


def tenant_to_dict(tenant: Tenant, *, reveal_secrets: bool = False) -> dict[str, Any]:
    """The tenant as plain data (for JSON export and diffs). Secrets show as ``***`` unless revealed.

    Users and their aliases are written in the file's shape, so the output loads again.
    """
    d = _value_to_plain(tenant, reveal_secrets)
    d.pop("source", None)
    for key in ("sample",):
        if d.get(key) is None:
            d.pop(key, None)
    if not d.get("zones"):
        d.pop("zones", None)
    return d
