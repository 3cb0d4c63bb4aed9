"""Seeding the sandbox's mail store from a tenant: mailboxes, POP3 and SMTP logins, OAuth tokens.

Pure bookkeeping on a :class:`~mailsupport.sandbox.mailstore.MailStore` (no socket):
:meth:`Sandbox.add_tenant <mailsupport.sandbox.Sandbox.add_tenant>` calls it.
"""

from __future__ import annotations

from ..tenant import MailboxKind, Tenant
from .mailstore import Account, MailStore

__all__ = ["seed_tenant"]


def seed_tenant(store: MailStore, tenant: Tenant) -> None:
    """Create ``tenant``'s mailboxes, logins and tokens in ``store``.

    The inbound mailbox (with the catch-all's effective domains) and its POP3 login; a mailbox
    for each user not covered by a catch-all; the outbound SMTP login, which reuses the
    mailbox's user name, password and token unless its own are given.
    """
    store.local_domains.update(d.lower() for d in tenant.domains)
    if tenant.matter_domain:
        store.matter_domains.add(tenant.matter_domain)
    covered: set[str] = set()
    inbound = tenant.inbound
    if inbound is not None:
        domains = inbound.effective_catch_all_domains if inbound.kind is MailboxKind.CATCH_ALL else ()
        store.add_mailbox(inbound.address, domains)
        covered.update(domains)
        server = inbound.server
        user = server.username or inbound.address
        store.add_account(
            Account(
                service="pop3",
                username=user,
                password=server.password,
                oauth_token=server.oauth_token,
                mailbox=inbound.address,
            )
        )
        if server.oauth_token:
            store.add_token(server.oauth_token.reveal(), user)
    for u in tenant.users:
        if u.address.lower().rsplit("@", 1)[-1] not in covered and store.resolve(u.address) is None:
            store.add_mailbox(u.address)
    # The Email Setup page has one login for a fetching provider: SMTP reuses the mailbox's
    # user name, password and token unless its own are given (as the doctor's
    # preflight.effective_servers reads the tenant).
    out = tenant.outbound.server
    pop = inbound.server if inbound is not None else None
    user = (
        out.username
        or (pop.username or inbound.address if inbound is not None else None)
        or tenant.outbound.from_address
    )
    password, token = out.password, out.oauth_token
    if pop is not None and not password and not token:
        password, token = pop.password, pop.oauth_token
    if user and not tenant.outbound.use_vendor_relay:
        store.add_account(Account(service="smtp", username=user, password=password, oauth_token=token))
        if token:
            store.add_token(token.reveal(), user)
