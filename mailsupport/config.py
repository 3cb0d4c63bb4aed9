"""Tenant configuration: one customer's email set-up, as the product's Email Setup page holds it.

A tenant file is TOML (or JSON, for exported configs). Loading validates every field and
raises :class:`~mailsupport.errors.ConfigError` naming the exact path of the bad field
(``users[2].aliases[0]``) and what was expected; the fields are read through
:class:`~mailsupport.fieldreader.FieldReader` (typed values, checks, unknown keys refused).
Passwords and tokens become :class:`~mailsupport.model.Secret` values at once. The file is read by
:mod:`mailsupport.tenantfile` (a regular file, at most 4 MiB, nested at most 32 deep); no
one-line field (address, name, host, id) may hold a control character (NUL, TAB, CR, LF...) or
a Unicode line break (U+0085, U+2028, U+2029), nor a secret a line break or NUL.

Provider presets (:data:`PRESETS`) fill the server settings the product knows and say which
fields the user must type, as the help page lists them: Office 365 and Gmail need address +
password; Exchange also the server; Other needs everything; Outbound-only needs only SMTP.
Ports and TLS modes follow Thunderbird's ISPDB (``docs/provider-facts.md`` §5).

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

An optional ``[sending]`` table says how the product's outgoing mail is authenticated
(:class:`~mailsupport.tenant.SendingAuth`: ``path = "vendor"`` or ``"own"``, the relay's
``relay_mail_from_domain``, ``relay_dkim_domain``, ``relay_dkim_selector``,
``relay_dkim_target``, the own server's ``own_dkim_selectors``, and ``report_address`` for
DMARC reports); ``mailsupport dmarc`` and the audit's dmarc check read it.

The types themselves live in :mod:`mailsupport.tenant` and are re-exported here, so
``from mailsupport.config import Tenant`` keeps working.

This module is pure (layer 2): it parses text and values; only :func:`load_tenant` reads a
file. It must not import the network clients, the sandbox or the presentation layers.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .fieldreader import (
    FieldReader,
    check_address,
    check_domain,
    check_host,
    check_mx_host,
    check_selector,
    shown,
)
from .model import Secret
from .tenant import (
    CATCH_ALL_HEADERS,
    DEFAULT_SIZE_LIMIT,
    DEFAULT_VENDOR_INCLUDE,
    PRESETS,
    Inbound,
    MailboxKind,
    Matter,
    Outbound,
    Preset,
    Provider,
    SendingAuth,
    ServerPreset,
    ServerSettings,
    Tenant,
    TlsMode,
    User,
)
from .tenantfile import parse_tenant_text, read_tenant_text

__all__ = [
    # re-exported from mailsupport.tenant
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
    "User",
    "Matter",
    "Tenant",
    # reading and writing tenant files
    "parse_tenant",
    "load_tenant",
    "tenant_to_dict",
    "iter_tenant_files",
]


# --------------------------------------------------------------------------- parsing

_ORG_KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _check_header(value: str) -> str | None:
    for name in CATCH_ALL_HEADERS:
        if value.lower() == name.lower():
            return None
    return f"expected one of {', '.join(CATCH_ALL_HEADERS)}, got {shown(value)}"


def _canonical_header(value: str) -> str:
    return next(name for name in CATCH_ALL_HEADERS if name.lower() == value.lower())


def _server(r: FieldReader | None, preset: ServerPreset | None, *, default_tls: TlsMode) -> ServerSettings:
    host = preset.host if preset else None
    port = preset.port if preset else 0
    tls = preset.tls if preset else default_tls
    if r is None:
        return ServerSettings(host=host, port=port, tls=tls)
    settings = ServerSettings(
        host=r.string("host", host, check=check_host),
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


def parse_tenant(
    data: Mapping[str, Any], *, source: str = "<tenant>", environ: Mapping[str, str] | None = None
) -> Tenant:
    """Validate a parsed tenant mapping and build a :class:`Tenant`.

    ``environ`` resolves ``password_env``-style references (none resolve when omitted).
    Raises :class:`ConfigError` with the path of the first bad field.
    """
    r = FieldReader(data, "", source, environ or {})
    org_key = r.string(
        "org_key",
        required=True,
        check=lambda v: (
            None
            if _ORG_KEY_RE.match(v)
            else f"expected lower-case letters, digits and hyphens (a DNS label), got {shown(v)}"
        ),
    )
    provider = r.choice("provider", Provider, Provider.OTHER)
    preset = PRESETS[provider]

    inbound = None
    inbound_r = r.table("inbound")
    if inbound_r is not None:
        if not preset.fetches:
            raise r.fail(
                "inbound",
                f"the {preset.label!r} provider does not fetch mail; remove [inbound] or choose another provider",
            )
        kind = inbound_r.choice("kind", MailboxKind, MailboxKind.SINGLE)
        inbound = Inbound(
            address=inbound_r.string("address", required=True, check=check_address),
            kind=kind,
            catch_all_header=_canonical_header(
                inbound_r.string("catch_all_header", "Delivered-To", check=_check_header)
            ),
            catch_all_domains=tuple(d.lower() for d in inbound_r.string_list("catch_all_domains", check=check_domain)),
            mx_hosts=tuple(h.lower() for h in inbound_r.string_list("mx_hosts", check=check_mx_host)),
            confirm_download_then_delete=inbound_r.boolean("confirm_download_then_delete", False),
            server=_server(inbound_r.table("server"), preset.pop3, default_tls=TlsMode.IMPLICIT),
        )
        inbound_r.reject_unknown()

    out_r = r.table("outbound")
    if out_r is not None:
        outbound = Outbound(
            use_vendor_relay=out_r.boolean("use_vendor_relay", False),
            from_address=out_r.string("from_address", check=check_address),
            server=_server(out_r.table("server"), preset.smtp, default_tls=TlsMode.STARTTLS),
        )
        out_r.reject_unknown()
    else:
        outbound = Outbound(server=_server(None, preset.smtp, default_tls=TlsMode.STARTTLS))

    users = []
    seen_addresses: dict[str, str] = {}
    for ur in r.tables("users"):
        user = User(
            address=ur.string("address", required=True, check=check_address),
            name=ur.string("name", ""),
            signature=ur.string("signature", ""),
            aliases=ur.string_list("aliases", check=check_address),
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
        mid = mr.string(
            "id",
            required=True,
            check=lambda v: (
                None
                if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", v)
                else f"expected a matter id usable as an address local part (letters, digits, . _ -), got {shown(v)}"
            ),
        )
        if mid.lower() in seen_matters:
            raise mr.fail("id", f"matter id {mid!r} appears twice")
        seen_matters.add(mid.lower())
        matters.append(Matter(id=mid, name=mr.string("name", "")))
        mr.reject_unknown()

    sending = SendingAuth()
    send_r = r.table("sending")
    if send_r is not None:
        path = send_r.string(
            "path",
            check=lambda v: (
                None
                if v in ("vendor", "own")
                else f"expected 'vendor' (the vendor's relay) or 'own' (the tenant's SMTP server), got {v!r}"
            ),
        )
        sending = SendingAuth(
            path=path,
            relay_mail_from_domain=send_r.string("relay_mail_from_domain", check=check_domain),
            relay_dkim_domain=send_r.string("relay_dkim_domain", check=check_domain),
            relay_dkim_selector=send_r.string("relay_dkim_selector", sending.relay_dkim_selector, check=check_selector),
            relay_dkim_target=send_r.string("relay_dkim_target", sending.relay_dkim_target, check=check_domain),
            own_dkim_selectors=send_r.string_list("own_dkim_selectors", check=check_selector),
            report_address=send_r.string("report_address", check=check_address),
        )
        send_r.reject_unknown()

    relay_r = r.table("vendor_relay")
    vendor_relay = _server(relay_r, None, default_tls=TlsMode.STARTTLS) if relay_r is not None else None

    tenant = Tenant(
        org_key=org_key,
        domains=tuple(d.lower() for d in r.string_list("domains", check=check_domain)),
        wildcard_domain=r.string("wildcard_domain", check=check_domain),
        provider=provider,
        inbound=inbound,
        outbound=outbound,
        users=tuple(users),
        matters=tuple(matters),
        division_signature=r.string("division_signature", ""),
        disclaimer=r.string("disclaimer", ""),
        failed_email_address=r.string("failed_email_address", check=check_address),
        size_limit=r.integer("size_limit", DEFAULT_SIZE_LIMIT, low=1, high=1 << 40),
        vendor_include=r.string("vendor_include", DEFAULT_VENDOR_INCLUDE, check=check_domain),
        vendor_relay=vendor_relay,
        sending=sending,
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
    p = path if isinstance(path, Path) else Path(path)
    source = str(p)
    text = read_tenant_text(p)
    data = parse_tenant_text(text, source=source, json_syntax=p.suffix.lower() == ".json")
    tenant = parse_tenant(data, source=source, environ=environ)
    if not tenant.sample and not tenant.zones:
        # nothing to resolve (most tenants): the copy would equal the tenant (sample None, no zones)
        return tenant if tenant.sample is None else replace(tenant, sample=None)
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
        return {
            f.name: _value_to_plain(getattr(value, f.name), reveal)
            for f in fields(value)
            if getattr(value, f.name) is not None
        }
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
