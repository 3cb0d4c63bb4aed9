"""Sending paths: which identities a receiver checks for mail the product sends for a tenant.

A message the product sends leaves through one of two paths:

* ``vendor`` — the vendor's relay. Receivers see the relay's sending IPs (the vendor
  include's own record lists them), the relay's MAIL FROM (by default the user's own
  address, so SPF is checked against the customer's domain: the help page's
  ``include:_spf.actionstep.com``), and a DKIM signature by the relay with selector
  ``actionstep`` for the From domain, valid once the customer publishes the selector's CNAME
  to the vendor's key (all tenant settings, :class:`~mailsupport.tenant.SendingAuth`).
* ``own`` — the tenant's own SMTP server: MAIL FROM is the user's address; the sending IP
  is the server's (given, or the A/AAAA records of the outbound host); DKIM is whatever
  the provider signs with (Office 365 ``selector1``/``selector2``, Google ``google``, or
  the selectors the tenant file names).

:func:`sending_path` builds the :class:`SendingPath` for a From domain from a tenant (or
from defaults, without one). Pure (layer 2): imports the tenant types only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..tenant import (
    DEFAULT_RELAY_DKIM_SELECTOR,
    DEFAULT_RELAY_DKIM_TARGET,
    DEFAULT_VENDOR_INCLUDE,
    Provider,
    SendingAuth,
    Tenant,
)

__all__ = ["PATHS", "SendingPath", "DkimIdentity", "sending_path", "default_path", "PROVIDER_SELECTORS"]

PATHS = ("vendor", "own")

#: Selectors providers sign with for a customer domain (the tenant may name others).
#: Office 365: ``selector1``/``selector2`` CNAMEs to ``selectorN-<domain>._domainkey.<tenant>.onmicrosoft.com``;
#: Google Workspace: ``google`` TXT generated in the admin console.
PROVIDER_SELECTORS: dict[Provider, tuple[str, ...]] = {
    Provider.OFFICE365: ("selector1", "selector2"),
    Provider.GMAIL: ("google",),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimIdentity:
    """A DKIM key a path signs with: ``selector`` and ``domain`` (``d=``); ``target`` is the
    name the selector record must be a CNAME to (the vendor's key), empty for own keys."""

    selector: str
    domain: str
    target: str = ""

    @property
    def name(self) -> str:
        """``<selector>._domainkey.<domain>``: where verifiers fetch the key (RFC 6376 §3.6.2.1)."""
        return f"{self.selector}._domainkey.{self.domain}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendingPath:
    """One way mail from ``from_domain`` reaches receivers.

    ``ips`` are the client addresses receivers see (empty: read them from ``vendor_include``
    for the relay, or from ``smtp_host``'s address records for an own server);
    ``mail_from_domain`` the envelope sender's domain SPF is checked for; ``dkim`` the keys
    it signs with (empty: unknown).
    """

    kind: str
    from_domain: str
    mail_from_domain: str
    dkim: tuple[DkimIdentity, ...] = ()
    ips: tuple[str, ...] = ()
    vendor_include: str = DEFAULT_VENDOR_INCLUDE
    smtp_host: str = ""
    report_address: str = ""

    @property
    def label(self) -> str:
        """A short human name: ``vendor relay`` or ``own SMTP server (host)``."""
        if self.kind == "vendor":
            return "vendor relay"
        return f"own SMTP server ({self.smtp_host})" if self.smtp_host else "own SMTP server"


def default_path(tenant: Tenant | None) -> str:
    """The tenant's path: ``sending.path`` when set, else ``vendor`` when it uses the relay
    (or has no tenant file), else ``own``."""
    if tenant is None:
        return "vendor"
    if tenant.sending.path:
        return tenant.sending.path
    return "vendor" if tenant.outbound.use_vendor_relay else "own"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``text`` as an IP address, or None when it is not one (a host name)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def sending_path(
    from_domain: str,
    kind: str = "vendor",
    *,
    tenant: Tenant | None = None,
    ips: tuple[str, ...] = (),
    selectors: tuple[str, ...] = (),
) -> SendingPath:
    """The :class:`SendingPath` of ``kind`` for mail from ``from_domain``.

    ``ips`` overrides the client addresses; ``selectors`` the DKIM selectors (for ``own``;
    for ``vendor`` the first replaces the relay's selector).
    """
    if kind not in PATHS:
        raise ValueError(f"unknown sending path {kind!r}: expected one of {', '.join(PATHS)}")
    domain = from_domain.strip().rstrip(".").lower()
    auth = tenant.sending if tenant is not None else SendingAuth()
    include = tenant.vendor_include if tenant is not None else DEFAULT_VENDOR_INCLUDE
    report = auth.report_address or f"dmarc-reports@{domain}"
    if kind == "vendor":
        selector = selectors[0] if selectors else (auth.relay_dkim_selector or DEFAULT_RELAY_DKIM_SELECTOR)
        dkim = DkimIdentity(
            selector=selector,
            domain=(auth.relay_dkim_domain or domain).lower(),
            target=auth.relay_dkim_target or DEFAULT_RELAY_DKIM_TARGET,
        )
        return SendingPath(
            kind=kind,
            from_domain=domain,
            mail_from_domain=(auth.relay_mail_from_domain or domain).lower(),
            dkim=(dkim,),
            ips=tuple(ips),
            vendor_include=include,
            report_address=report,
        )
    provider = tenant.provider if tenant is not None else Provider.OTHER
    chosen = selectors or auth.own_dkim_selectors or PROVIDER_SELECTORS.get(provider, ())
    host = ""
    if tenant is not None and tenant.outbound.server.host:
        host = tenant.outbound.server.host
    address = _ip(host) if host else None  # read once (a failed parse raises three exceptions)
    if address is not None and address.is_loopback:
        host = ""  # an IP literal no receiver could see (e.g. the sandbox's own server)
    addresses = tuple(ips) or ((host,) if host and address is not None else ())
    return SendingPath(
        kind=kind,
        from_domain=domain,
        mail_from_domain=domain,
        dkim=tuple(DkimIdentity(selector=s, domain=domain) for s in chosen),
        ips=addresses,
        vendor_include=include,
        smtp_host=host,
        report_address=report,
    )
