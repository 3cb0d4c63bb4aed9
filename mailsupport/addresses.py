"""Email addresses: normalising them and deciding what an address means for a tenant.

:func:`classify_address` is the one place that knows the product's address rules, shared by
the router (what to file a message to) and the catch-all diagnosis (what a header choice would
file it to):

* ``<matterID>@<orgkey>.<wildcard domain>`` is a matter address (the wildcard path);
* ``<matterID>@<catch-all domain>`` is a matter address too (numeric local parts on a
  catch-all domain); when the tenant lists its matters, the id must be one of them;
* an alias address resolves to its user; a user's own address is that user;
* the inbound mailbox's own address is the mailbox (nothing more specific is known);
* anything else is unknown (it would be forwarded as failed mail).

Pure (layer 2): no I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from email.utils import getaddresses

from .tenant import Tenant

__all__ = ["normalize_address", "extract_addresses", "TargetKind", "AddressTarget", "classify_address"]

_ANGLE = re.compile(r"<([^<>]*)>")


def normalize_address(value: str) -> str:
    """``'"Jane" <Jane@Example.COM>'`` -> ``'Jane@example.com'``: strip name/brackets, lower the domain.

    Local parts keep their case (RFC 5321 §2.4 says they may be case-sensitive), but
    :func:`classify_address` compares them case-insensitively as real mail systems do.
    Returns ``""`` when there is no address.
    """
    value = value.strip()
    m = _ANGLE.search(value)
    if m:
        value = m.group(1).strip()
    value = value.strip().strip(";,").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if "@" not in value:
        return value
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower().rstrip('.')}"


def extract_addresses(header_value: str) -> tuple[str, ...]:
    """Every address in a To/Cc/Envelope-To style value (comma lists, groups, brackets)."""
    out = []
    for _name, addr in getaddresses([header_value]):
        addr = normalize_address(addr)
        if "@" in addr:
            out.append(addr)
    return tuple(out)


class TargetKind(str, enum.Enum):
    """What an address files mail to."""

    MATTER = "matter"
    ALIAS = "alias"
    USER = "user"
    MAILBOX = "mailbox"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def is_real_target(self) -> bool:
        """True for a matter, alias or user: a place the message can really be filed."""
        return self in (TargetKind.MATTER, TargetKind.ALIAS, TargetKind.USER)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressTarget:
    """The meaning of one address for a tenant: the kind, the target id and why."""

    address: str
    kind: TargetKind
    target: str = ""
    reason: str = ""


def classify_address(tenant: Tenant, address: str) -> AddressTarget:
    """Decide what ``address`` means for ``tenant`` (see the module docstring for the rules)."""
    addr = normalize_address(address)
    if "@" not in addr:
        return AddressTarget(address=addr, kind=TargetKind.UNKNOWN, reason=f"{addr!r} is not an email address")
    local, _, domain = addr.rpartition("@")
    lower = addr.lower()
    known_matters = {m.id.lower(): m for m in tenant.matters}

    def matter(where: str) -> AddressTarget | None:
        key = local.lower()
        if key in known_matters:
            m = known_matters[key]
            name = f" ({m.name})" if m.name else ""
            return AddressTarget(
                address=addr, kind=TargetKind.MATTER, target=m.id, reason=f"matter {m.id}{name}: {where}"
            )
        if not known_matters and local.isdigit():
            return AddressTarget(
                address=addr, kind=TargetKind.MATTER, target=local, reason=f"matter {local}: numeric local part {where}"
            )
        return None

    if tenant.matter_domain and domain == tenant.matter_domain:
        found = matter(f"address on the matter domain {tenant.matter_domain}")
        if found:
            return found
        return AddressTarget(
            address=addr,
            kind=TargetKind.UNKNOWN,
            reason=f"{local!r} is not a known matter id on {tenant.matter_domain}",
        )

    aliases = tenant.alias_map()
    if lower in aliases:
        owner = aliases[lower]
        return AddressTarget(address=addr, kind=TargetKind.ALIAS, target=owner, reason=f"alias of user {owner}")
    user = tenant.user_by_address(addr)
    if user is not None:
        return AddressTarget(address=addr, kind=TargetKind.USER, target=user.address, reason="a user's own address")
    inbound = tenant.inbound
    if inbound is not None and domain in inbound.effective_catch_all_domains:
        found = matter(f"on the catch-all domain {domain}")
        if found:
            return found
    if inbound is not None and lower == inbound.address.lower():
        return AddressTarget(
            address=addr,
            kind=TargetKind.MAILBOX,
            target=inbound.address,
            reason="the inbound mailbox's own address: no matter or user in it",
        )
    if inbound is not None and domain in inbound.effective_catch_all_domains:
        return AddressTarget(
            address=addr,
            kind=TargetKind.UNKNOWN,
            reason=f"no matter, alias or user is {addr} (catch-all domain {domain})",
        )
    return AddressTarget(address=addr, kind=TargetKind.UNKNOWN, reason=f"{addr} is not one of the tenant's addresses")
