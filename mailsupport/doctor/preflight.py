"""Pre-flight: what is wrong with typed settings before any connection is made.

Checks, each a ``settings.*`` id documented in
:data:`mailsupport.doctor.classify.SETTINGS_CHECKS`: the fields the chosen provider needs
(:data:`mailsupport.tenant.PRESETS`, from the help page's Step 2a), port/TLS pairs that cannot
work (995/465 are implicit TLS from the first byte, RFC 8314 §3; 110/587/25 start in plaintext
and upgrade with STLS/STARTTLS), the download-then-delete confirmation (Step 2b), the
failed-emails address (Step 4) and whether it sits on the catch-all domain (every failure
notice would land back in the mailbox: a loop), aliases that are also real mailbox
addresses, the size limit (the help page advises 10 MB), a password that would travel
without TLS, and Gmail's POP disposition (POP "deletes" only if the account trashes fetched
mail; ``docs/provider-facts.md`` §4).

Pure (layer 2): no sockets, clock or environment. Must not import the probes, the sandbox or
presentation modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import parse_tenant
from ..errors import ConfigError
from ..model import Finding, Severity
from ..tenant import DEFAULT_SIZE_LIMIT, PRESETS, Provider, ServerSettings, Tenant, TlsMode
from .classify import tls_port_advice

__all__ = ["preflight", "preflight_data", "effective_servers", "IMPOSSIBLE_PORT_TLS"]

#: (direction, port) -> TLS modes that cannot work on that port.
IMPOSSIBLE_PORT_TLS: Mapping[tuple[str, int], tuple[TlsMode, ...]] = {
    ("pop3", 995): (TlsMode.STARTTLS, TlsMode.NONE),
    ("pop3", 110): (TlsMode.IMPLICIT,),
    ("smtp", 465): (TlsMode.STARTTLS, TlsMode.NONE),
    ("smtp", 587): (TlsMode.IMPLICIT,),
    ("smtp", 25): (TlsMode.IMPLICIT,),
}

_LABELS = {
    "inbound.address": "login / email address",
    "inbound.kind": "wildcard/catch-all choice",
    "inbound.server.host": "server name",
    "inbound.server.port": "port number",
    "inbound.server.username": "user name",
    "inbound.server.password": "password",
    "outbound.from_address": "email address",
    "outbound.server.host": "SMTP server name",
    "outbound.server.port": "SMTP port number",
    "outbound.server.username": "SMTP user name",
    "outbound.server.password": "SMTP password",
}


def effective_servers(tenant: Tenant) -> tuple[ServerSettings | None, ServerSettings | None]:
    """The POP3 and SMTP settings the doctor will use, with the help page's defaults applied:
    Office 365, Exchange and Gmail ask only for "login/email address and password", so the
    user name defaults to the mailbox address, and SMTP reuses the mailbox's login unless its own
    is given (the page has one user name/password pair for a fetching provider)."""
    from dataclasses import replace

    pop3 = None
    if tenant.inbound is not None:
        pop3 = tenant.inbound.server
        if not pop3.username:
            pop3 = replace(pop3, username=tenant.inbound.address)
    smtp = tenant.outbound.server
    if tenant.outbound.use_vendor_relay:
        smtp = tenant.vendor_relay
    elif pop3 is not None:  # every fetching provider: one login for mailbox and SMTP (help page)
        if not smtp.username:
            smtp = replace(smtp, username=pop3.username)
        if not smtp.password and not smtp.oauth_token:
            smtp = replace(smtp, password=pop3.password, oauth_token=pop3.oauth_token)
        if tenant.provider is Provider.EXCHANGE and not smtp.host:
            smtp = replace(smtp, host=pop3.host)
    elif smtp.username is None and tenant.outbound.from_address:
        smtp = replace(smtp, username=tenant.outbound.from_address)
    return pop3, smtp


def _subject(direction: str, server: ServerSettings | None) -> str:
    return f"{direction} {server.endpoint if server else 'server not set'}"


def _get(tenant: Tenant, path: str) -> Any:
    value: Any = tenant
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


def _finding(
    check: str,
    severity: Severity,
    subject: str,
    summary: str,
    remedy: str,
    *,
    evidence: tuple[tuple[str, str], ...] = (),
    reference: str = "help page: Email Setup",
) -> Finding:
    return Finding(
        check=check,
        severity=severity,
        subject=subject,
        summary=summary,
        remedy=remedy,
        reference=reference,
        evidence=evidence,
    )


def preflight_data(data: Mapping[str, Any], *, source: str = "<settings>") -> tuple[Tenant | None, list[Finding]]:
    """Parse typed settings (tenant-file shape) and pre-flight them; a value that cannot be
    parsed becomes a ``settings.invalid-field`` finding naming the field, not an exception."""
    try:
        tenant = parse_tenant(data, source=source)
    except ConfigError as exc:
        return None, [
            _finding(
                "settings.invalid-field",
                Severity.ERROR,
                f"field {exc.path or 'of the settings'}",
                f"{exc.path or 'settings'}: {exc.reason}",
                "Correct this field and test again; everything else you typed is kept.",
                evidence=(("field", exc.path),),
            )
        ]
    return tenant, preflight(tenant)


def preflight(tenant: Tenant) -> list[Finding]:
    """Every problem visible in ``tenant`` without connecting anywhere."""
    preset = PRESETS[tenant.provider]
    pop3, smtp = effective_servers(tenant)
    out: list[Finding] = []
    for path in preset.required:
        direction = "pop3" if path.startswith("inbound") else "smtp"
        subject = _subject(direction, pop3 if direction == "pop3" else smtp)
        value = _get(tenant, path)
        if path.endswith(".password"):
            value = value or _get(tenant, path.replace(".password", ".oauth_token"))
        if path.endswith(".username") and not value:
            value = (
                (pop3 if direction == "pop3" else smtp).username if (pop3 if direction == "pop3" else smtp) else None
            )
        if value in (None, "", 0):
            if tenant.provider is Provider.EXCHANGE and path == "inbound.server.host":
                out.append(
                    _finding(
                        "settings.exchange-server-missing",
                        Severity.ERROR,
                        subject,
                        "Microsoft Exchange Server needs the server address.",
                        "Type your Exchange server's name (e.g. mail.yourfirm.com) in the server field.",
                        evidence=(("field", path),),
                    )
                )
                continue
            out.append(
                _finding(
                    "settings.required-field-missing",
                    Severity.ERROR,
                    subject,
                    f"The {_LABELS.get(path, path)} is required for {preset.label}.",
                    f"Fill in the {_LABELS.get(path, path)} ({path}).",
                    evidence=(("field", path),),
                )
            )
    for direction, server in (("pop3", pop3), ("smtp", smtp)):
        if server is None or not server.port:
            continue
        if server.tls in IMPOSSIBLE_PORT_TLS.get((direction, server.port), ()):
            out.append(
                _finding(
                    "settings.port-tls-impossible",
                    Severity.ERROR,
                    _subject(direction, server),
                    f"Port {server.port} with tls = {server.tls} cannot work.",
                    tls_port_advice(direction, server.port, server.tls),
                    evidence=(("port", str(server.port)), ("tls", str(server.tls))),
                    reference="RFC 8314 §3",
                )
            )
        if server.tls is TlsMode.NONE and server.password:
            allowed = server.allow_plaintext_auth
            out.append(
                _finding(
                    "settings.plaintext-auth",
                    Severity.WARNING if allowed else Severity.ERROR,
                    _subject(direction, server),
                    "The password would be sent without encryption."
                    + ("" if allowed else " The doctor will not send it."),
                    "Use TLS (implicit or STARTTLS); allow plaintext only on a trusted network.",
                    reference="RFC 8314 §5",
                )
            )
    out.extend(_mailbox_checks(tenant, pop3, smtp))
    return out


def _mailbox_checks(tenant: Tenant, pop3: ServerSettings | None, smtp: ServerSettings | None) -> list[Finding]:
    preset = PRESETS[tenant.provider]
    inbound = tenant.inbound
    who = f"tenant {tenant.org_key}"
    out: list[Finding] = []
    if preset.fetches and inbound is not None and not inbound.confirm_download_then_delete:
        out.append(
            _finding(
                "settings.download-delete-not-confirmed",
                Severity.ERROR,
                _subject("pop3", pop3),
                "The confirmation that every email already in this mailbox will be downloaded "
                "and then deleted is not given.",
                "Tick 'I understand Actionstep will download (then delete) emails in this mailbox' "
                "- and use a new, dedicated mailbox, not someone's existing one.",
            )
        )
    failed = (tenant.failed_email_address or "").lower()
    if not failed:
        out.append(
            _finding(
                "settings.failed-address-missing",
                Severity.ERROR,
                who,
                "No address is set for failed emails.",
                "Choose where failed emails are forwarded to (help page, Step 4).",
            )
        )
    elif inbound is not None:
        # A catch-all receives every address of its domain that has no mailbox of its own
        # (Google "unknown users", the O365 rule's "except members", Postfix's @domain alias):
        # the mailbox itself or an alias certainly loops; a user's own address does not.
        domain = failed.rsplit("@", 1)[-1]
        aliases = tenant.alias_map()
        is_user = tenant.user_by_address(failed) is not None
        if failed == inbound.address.lower() or (
            domain in inbound.effective_catch_all_domains and (failed in aliases or not is_user)
        ):
            certain = failed == inbound.address.lower() or failed in aliases
            out.append(
                _finding(
                    "settings.failed-address-loop",
                    Severity.ERROR if certain else Severity.WARNING,
                    who,
                    f"Failed emails go to {failed}, which is delivered into the fetched mailbox itself"
                    + ("" if certain else " unless it is a real mailbox of its own at the provider")
                    + ": every failure notice would be fetched again (a loop).",
                    "Use a person's own mailbox, or an address outside the catch-all domain.",
                    evidence=(("failed_email_address", failed),),
                )
            )
    mailboxes = {u.address.lower(): f"user {u.address}" for u in tenant.users}
    if inbound is not None:
        mailboxes[inbound.address.lower()] = "the inbound mailbox"
    for user in tenant.users:
        for alias in user.aliases:
            owner = mailboxes.get(alias.lower())
            if owner is not None and owner != f"user {user.address}":
                out.append(
                    _finding(
                        "settings.alias-is-mailbox",
                        Severity.ERROR,
                        who,
                        f"The alias {alias} of {user.address} is also {owner}.",
                        "Remove the alias, or stop using that address as a mailbox: mail to it cannot go to both.",
                        evidence=(("alias", alias), ("user", user.address)),
                    )
                )
    if tenant.size_limit > DEFAULT_SIZE_LIMIT:
        out.append(
            _finding(
                "settings.size-limit",
                Severity.WARNING,
                who,
                f"The size limit {tenant.size_limit:,} bytes is above the 10 MB the help page advises.",
                "Keep messages under 10 MB; many servers refuse larger ones (Postfix default 10,240,000).",
                reference="help page: Email Size Limits",
            )
        )
    elif tenant.size_limit < 1_000_000:
        out.append(
            _finding(
                "settings.size-limit",
                Severity.WARNING,
                who,
                f"The size limit {tenant.size_limit:,} bytes is under 1 MB: most mail with an attachment "
                "would be refused.",
                "Use 10 MB (10000000), the help page's advice.",
                reference="help page: Email Size Limits",
            )
        )
    if tenant.provider is Provider.GMAIL and inbound is not None:
        out.append(
            _finding(
                "settings.gmail-pop-keeps-mail",
                Severity.INFO,
                _subject("pop3", pop3),
                "Gmail keeps fetched mail unless the account's POP setting is 'delete Gmail's copy'.",
                "In Gmail: Settings > Forwarding and POP/IMAP > 'When messages are accessed with POP' "
                "> delete Gmail's copy (disposition trash).",
                reference="Gmail API PopSettings (disposition)",
            )
        )
    if tenant.outbound.use_vendor_relay and tenant.vendor_relay is None:
        out.append(
            _finding(
                "settings.outbound-not-checked",
                Severity.INFO,
                "smtp vendor relay",
                "Outbound mail goes through the vendor's SMTP servers; nothing to test here.",
                "Make sure the domain's SPF record includes the vendor (see the SPF check).",
            )
        )
    return out
