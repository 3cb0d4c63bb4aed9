"""The tenant a sample diagnosis runs against, from a tenant file and/or a few typed values.

:func:`build_tenant` is what ``mailsupport diagnose`` builds from ``--tenant`` and its flags,
and what the sample notebooks call with their parameters: the file's tenant (or an empty
``sample`` one), with the catch-all mailbox, domains and header, extra users and aliases
(``ADDR=USER``) and the provider overridden by the values given.

Layer 4: imports the tenant model and config loader only; must not import clients, the
sandbox or presentation code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..config import load_tenant
from ..errors import ConfigError
from ..tenant import Inbound, MailboxKind, Provider, Tenant, User

__all__ = ["build_tenant"]


def build_tenant(
    *,
    tenant_file: str | None = None,
    domains: Sequence[str] = (),
    mailbox: str | None = None,
    aliases: Sequence[str] = (),
    users: Sequence[str] = (),
    provider: str | None = None,
    header: str | None = None,
    mx_hosts: Sequence[str] = (),
) -> Tenant:
    """A :class:`~mailsupport.tenant.Tenant` from a file and/or typed values (the values win).

    ``aliases`` are ``ADDR=USER`` pairs; ``mailbox``, ``domains`` and ``header`` make the
    inbound mailbox a catch-all with them; an unknown ``provider`` name means ``other``.
    A malformed alias raises :class:`~mailsupport.errors.ConfigError` naming it.
    """
    tenant = load_tenant(tenant_file) if tenant_file else Tenant(org_key="sample")
    alias_pairs = []
    for item in aliases:
        addr, sep, user = item.partition("=")
        if not sep or "@" not in addr or "@" not in user:
            raise ConfigError(f"expected ADDR=USER with two addresses, got {item!r}", path="--alias")
        alias_pairs.append((addr.strip(), user.strip()))
    by_user = {u.address.lower(): u for u in tenant.users}
    for u in users:
        by_user.setdefault(u.strip().lower(), User(address=u.strip()))
    for addr, user in alias_pairs:
        current = by_user.get(user.lower(), User(address=user))
        by_user[user.lower()] = replace(current, aliases=current.aliases + (addr,))
    inbound = tenant.inbound
    if mailbox or domains or header or mx_hosts:
        if inbound is None and not mailbox:
            raise ConfigError(
                "give --catch-all-mailbox (or a tenant file with an inbound mailbox)", path="--catch-all-mailbox"
            )
        base = inbound or Inbound(address=mailbox, kind=MailboxKind.CATCH_ALL)
        inbound = replace(
            base,
            address=mailbox or base.address,
            kind=MailboxKind.CATCH_ALL,
            catch_all_domains=tuple(d.lower() for d in domains) or base.catch_all_domains,
            catch_all_header=header or base.catch_all_header,
            mx_hosts=tuple(dict.fromkeys((*base.mx_hosts, *(h.strip().lower() for h in mx_hosts)))),
        )
    prov = tenant.provider
    if provider:
        try:
            prov = Provider(provider.lower())
        except ValueError:
            prov = Provider.OTHER
    return replace(tenant, users=tuple(by_user.values()), inbound=inbound, provider=prov)
