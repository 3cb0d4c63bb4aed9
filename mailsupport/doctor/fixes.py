"""Fix steps for the connection doctor's findings: the Email Setup field to change and to what.

:func:`settings_fixes` turns ``settings.*`` findings (pre-flight and ladder, and the Office 365
MX check) into :class:`~mailsupport.fixes.FixStep` values:

* a **field** of the Email Setup page (``rtype`` ``setting``, ``host`` its path in the tenant
  file, ``label`` its name on the page) with the value typed now next to the value to type:
  the provider's server name, the port that goes with the TLS mode (POP3 995 implicit or 110
  STLS; SMTP 465 implicit or 587 STARTTLS, RFC 8314 §3), OAuth2 instead of a retired password,
  a failed-emails address that does not loop, the 10 MB size limit or the server's SIZE;
* the domain's **MX record** for the Office 365 catch-all rule (``rtype`` ``MX``);
* else a **provider** step (the account, the server or the firewall) with the doctor's remedy.

Each step is checked the way the product checks: saving the settings runs the connection test,
and settings that fail it vanish. Passwords and tokens are never read: a secret field's current
value is ``(set)`` or ``(empty)``.

Pure (layer 2): imports config, model, fixes and the doctor's pre-flight only.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..fixes import ORDER_CONNECTION, ORDER_DNS, FixStep, dig
from ..model import Finding
from ..tenant import PRESETS, ServerSettings, Tenant, TlsMode
from .preflight import effective_servers

__all__ = ["SETUP_FIELDS", "settings_fixes", "STANDARD_PORTS"]

#: Field path (tenant file) -> its name on the Email Setup page (help page, Steps 2-4).
SETUP_FIELDS = {
    "inbound.address": "Email Setup > Login / email address",
    "inbound.server.host": "Email Setup > Server name (incoming mail, POP3)",
    "inbound.server.port": "Email Setup > Port number (incoming mail, POP3)",
    "inbound.server.tls": "Email Setup > Port number and TLS (incoming mail, POP3)",
    "inbound.server.username": "Email Setup > User name (incoming mail, POP3)",
    "inbound.server.password": "Email Setup > Password (incoming mail, POP3)",
    "inbound.server.oauth_token": "Email Setup > Sign in with (incoming mail, POP3)",
    "inbound.kind": "Email Setup > This is a wildcard/catch-all mailbox",
    "inbound.confirm_download_then_delete": "Email Setup > 'Actionstep will download (then delete) emails' checkbox",
    "outbound.from_address": "Email Setup > Email address (outgoing mail)",
    "outbound.server.host": "Email Setup > SMTP server name (outgoing mail)",
    "outbound.server.port": "Email Setup > SMTP port number (outgoing mail)",
    "outbound.server.tls": "Email Setup > SMTP port number and TLS (outgoing mail)",
    "outbound.server.username": "Email Setup > SMTP user name (outgoing mail)",
    "outbound.server.password": "Email Setup > SMTP password (outgoing mail)",
    "outbound.server.oauth_token": "Email Setup > Sign in with (outgoing mail, SMTP)",
    "failed_email_address": "Email Setup > Forward failed emails to (Step 4)",
    "size_limit": "Email Setup > Size limit",
}
#: The port that goes with each TLS mode (RFC 8314 §3; RFC 2595 §4; RFC 6409).
STANDARD_PORTS = {
    ("pop3", TlsMode.IMPLICIT): 995,
    ("pop3", TlsMode.STARTTLS): 110,
    ("smtp", TlsMode.IMPLICIT): 465,
    ("smtp", TlsMode.STARTTLS): 587,
}
_TLS_FOR_PORT = {
    ("pop3", 995): TlsMode.IMPLICIT,
    ("pop3", 110): TlsMode.STARTTLS,
    ("smtp", 465): TlsMode.IMPLICIT,
    ("smtp", 587): TlsMode.STARTTLS,
    ("smtp", 25): TlsMode.STARTTLS,
}
_VERIFY = (
    "Save the settings in Email Setup (Admin > Email > Email Setup): the connection test runs, and the "
    "settings stay on the page only when it passes."
)
_HOST_CHECKS = (
    "settings.dns-name-not-found",
    "settings.dns-no-address",
    "settings.certificate-wrong-host",
    "settings.certificate-invalid",
)
_PORT_CHECKS = ("settings.connection-refused", "settings.wrong-protocol")
_TLS_CHECKS = (
    "settings.tls-mode-mismatch",
    "settings.port-tls-impossible",
    "settings.starttls-not-offered",
    "settings.plaintext-auth",
    "settings.auth-not-offered",
)
_PASSWORD_CHECKS = ("settings.auth-failed", "settings.credentials-missing")
_OAUTH_CHECKS = (
    "settings.o365-basic-auth-retired",
    "settings.gmail-app-password-required",
    "settings.oauth-token-expired",
)
#: Provider-side causes: what to ask for, in one line.
_PROVIDER_ACTIONS = {
    "settings.account-locked": "Unlock the mailbox account at the provider",
    "settings.mailbox-in-use": "Stop the other program that reads this mailbox",
    "settings.login-delay": "Ask the provider to lower the mailbox's login delay",
    "settings.mailbox-unavailable": "Ask the provider to repair the mailbox",
    "settings.login-refused": "Ask the provider why logins are refused",
    "settings.server-stalled": "Report the stalling server to the provider",
    "settings.server-too-slow": "Check the port and report the slow server to the provider",
    "settings.answer-without-end": "Check the port and report the endless answer to the provider",
    "settings.malformed-answer": "Check the port and report the server's answer to the provider",
    "settings.connection-dropped": "Find what cuts the connection (server or firewall)",
    "settings.no-greeting": "Check the port; the server accepts connections but never greets",
    "settings.server-refused-session": "Ask the provider to accept connections from the practice system",
    "settings.network-unreachable": "Check the server address: the network cannot reach it",
    "settings.connection-timeout": "Open the firewall for the mail port, or use another port the provider offers",
    "settings.dns-temporary": "Check that the domain's DNS servers answer",
    "settings.certificate-expired": "Have the provider renew the server's certificate",
    "settings.tls-version": "Ask the provider to enable TLS 1.2 or 1.3",
    "settings.tls-failed": "Ask the provider about the server's TLS set-up",
    "settings.gmail-pop-disabled": "Turn on POP in the Gmail account",
    "settings.gmail-pop-keeps-mail": "Have Gmail delete its copy of mail fetched over POP",
}


def _direction(f: Finding) -> str:
    word = f.subject.split(" ", 1)[0]
    return word if word in ("pop3", "smtp") else ""


def _field(direction: str, name: str) -> str:
    return f"{'inbound' if direction == 'pop3' else 'outbound'}.server.{name}"


def _evidence(f: Finding, name: str) -> str:
    return next((v for k, v in f.evidence if k == name), "")


def _secret_state(server: ServerSettings | None, name: str) -> str:
    value = getattr(server, name, None) if server is not None else None
    return "(set)" if value else "(empty)"


def _preset_host(tenant: Tenant, direction: str) -> str | None:
    preset = PRESETS[tenant.provider]
    server = preset.pop3 if direction == "pop3" else preset.smtp
    return server.host if server is not None else None


def _step(f: Finding, path: str, current: str, new: str, action: str, **kw) -> FixStep:
    label = kw.pop("label", SETUP_FIELDS.get(path, ""))
    return FixStep(
        host=path,
        rtype="setting",
        label=label,
        current=current,
        new=new,
        action=action,
        why=f.summary,
        verify=kw.pop("verify", _VERIFY),
        resolves=((f.check, f.subject),),
        severity=f.severity,
        order=ORDER_CONNECTION,
        evidence=f.evidence,
        detail=f.detail,
        **kw,
    )


def _port_and_tls(check: str, d: str, server: ServerSettings) -> tuple[int, TlsMode]:
    """The port and TLS mode to type: the mode the port needs, else the standard port of a TLS mode."""
    if check in ("settings.tls-mode-mismatch", "settings.port-tls-impossible"):
        tls = _TLS_FOR_PORT.get((d, server.port))
        if tls is not None and tls is not server.tls:
            return server.port, tls
        tls = server.tls if (d, server.tls) in STANDARD_PORTS else TlsMode.IMPLICIT
    else:  # no TLS, or the upgrade (or login) is not offered on this port
        tls = TlsMode.IMPLICIT if d == "pop3" or check == "settings.starttls-not-offered" else TlsMode.STARTTLS
    port = STANDARD_PORTS[(d, tls)]
    if (port, tls) == (server.port, server.tls):  # already that: the other standard pair
        tls = TlsMode.STARTTLS if tls is TlsMode.IMPLICIT else TlsMode.IMPLICIT
        port = STANDARD_PORTS[(d, tls)]
    return port, tls


def _server_step(f: Finding, tenant: Tenant, server: ServerSettings | None) -> FixStep | None:
    d = _direction(f)
    if not d or server is None:
        return None
    name = "POP3" if d == "pop3" else "SMTP"
    check = f.check
    if check in _HOST_CHECKS:
        known = _preset_host(tenant, d)
        new = (
            known
            if known and known != server.host
            else f"the {name} server name your provider gives (as on its certificate)"
        )
        return _step(f, _field(d, "host"), server.host or "(empty)", new, f"Correct the {name} server name")
    if check in _TLS_CHECKS:
        port, tls = _port_and_tls(check, d, server)
        return _step(
            f,
            _field(d, "tls"),
            f"port {server.port or '(empty)'}, TLS {server.tls}",
            f"port {port}, TLS {tls}",
            f"Set the {name} port and TLS mode to port {port}, TLS {tls}",
        )
    if check in _PORT_CHECKS:
        port = STANDARD_PORTS.get((d, server.tls), 995 if d == "pop3" else 587)
        new = str(port) if port != server.port else f"the {name} port your provider lists for TLS {server.tls}"
        return _step(f, _field(d, "port"), str(server.port or "(empty)"), new, f"Correct the {name} port number")
    if check in _PASSWORD_CHECKS:
        return _step(
            f,
            _field(d, "password"),
            _secret_state(server, "password"),
            "the mailbox's current password (retype it; the user name is usually the full address)",
            f"Retype the {name} password",
        )
    if check in _OAUTH_CHECKS:
        google = check == "settings.gmail-app-password-required"
        new = (
            "an app password (with 2-Step Verification), or an OAuth2 access token"
            if google
            else "a fresh OAuth2 access token"
            if check == "settings.oauth-token-expired"
            else "OAuth2 access token (XOAUTH2), issued for this mailbox"
        )
        current = "OAuth2 access token (expired)" if check == "settings.oauth-token-expired" else "password"
        return _step(
            f,
            _field(d, "oauth_token"),
            current,
            new,
            f"Sign in to {name} with "
            + (
                "an app password or OAuth2"
                if google
                else "a new OAuth2 token"
                if "expired" in current
                else "OAuth2 instead of a password"
            ),
        )
    if check == "settings.sender-rejected":
        return _step(
            f,
            "outbound.from_address",
            tenant.outbound.from_address or "(empty)",
            "an address the SMTP account may send as",
            "Use a sender address the SMTP account may send as",
        )
    return None


def _tenant_step(f: Finding, tenant: Tenant) -> FixStep | None:
    check = f.check
    if check in ("settings.required-field-missing", "settings.exchange-server-missing", "settings.invalid-field"):
        path = _evidence(f, "field") or "inbound.server.host"
        direction = "pop3" if path.startswith("inbound") else "smtp"
        known = _preset_host(tenant, direction) if path.endswith(".host") else None
        new = known or (
            "your Exchange server's name, e.g. mail.yourfirm.com"
            if check.endswith("exchange-server-missing")
            else "a valid value (see why)"
            if check == "settings.invalid-field"
            else "the value your provider gives"
        )
        secret = path.endswith((".password", ".oauth_token"))
        current = "(empty)" if check != "settings.invalid-field" else ("(set)" if secret else "(as typed)")
        label = SETUP_FIELDS.get(path, path).split(" > ", 1)[-1]
        return _step(f, path, current, new, f"Fill in {label}" if current == "(empty)" else f"Correct {label}")
    if check == "settings.download-delete-not-confirmed":
        return _step(
            f,
            "inbound.confirm_download_then_delete",
            "not ticked",
            "ticked, for a new mailbox used only by the practice system",
            "Tick the download-then-delete box",
        )
    if check in ("settings.failed-address-missing", "settings.failed-address-loop", "settings.failed-address-unknown"):
        domains = tenant.inbound.effective_catch_all_domains if tenant.inbound else ()
        aliases = tenant.alias_map()
        own = next((u.address for u in tenant.users if u.address.lower() not in aliases), None)
        new = own or ("a person's own mailbox" + (f", not on {', '.join(domains)}" if domains else ""))
        return _step(
            f,
            "failed_email_address",
            tenant.failed_email_address or "(empty)",
            new,
            "Choose where failed emails go" if check.endswith("missing") else "Change where failed emails go",
        )
    if check == "settings.alias-is-mailbox":
        alias, user = _evidence(f, "alias"), _evidence(f, "user")
        owner = tenant.user_by_address(user) if user else None
        aliases = ", ".join(owner.aliases) if owner is not None else alias
        kept = ", ".join(a for a in aliases.split(", ") if a != alias) or "(none)"
        return _step(
            f,
            f"users[{user}].aliases",
            aliases,
            kept,
            f"Remove the alias {alias} from {user}",
            label=f"the practice system's user {user}: aliases",
        )
    if check == "settings.size-limit":
        return _step(
            f, "size_limit", f"{tenant.size_limit:,} bytes", "10,000,000 bytes (10 MB)", "Set the size limit to 10 MB"
        )
    if check == "settings.size-limit-above-server":
        size = _evidence(f, "SIZE")
        return _step(
            f,
            "size_limit",
            f"{tenant.size_limit:,} bytes",
            f"{int(size):,} bytes (the SMTP server's SIZE)" if size.isascii() and size.isdigit() else size,
            "Lower the size limit to what the SMTP server accepts",
        )
    return None


def _mx_step(f: Finding) -> FixStep:
    domain = f.subject.removeprefix("domain ").strip()
    target = f"{domain.replace('.', '-')}.mail.protection.outlook.com"
    return FixStep(
        host=domain,
        rtype="MX",
        current=_evidence(f, "MX"),
        new=f"0 {target}",
        action=f"Point the MX record of {domain} at Exchange Online Protection",
        label="at the DNS host of the domain; Microsoft 365 admin center > Settings > Domains shows the exact value",
        why=f.summary,
        verify=f"Run `{dig(domain, 'MX')}`: the first host ends in .mail.protection.outlook.com.",
        resolves=((f.check, f.subject),),
        severity=f.severity,
        order=ORDER_DNS,
        evidence=f.evidence,
    )


def _provider_step(f: Finding, server: ServerSettings | None) -> FixStep | None:
    action = _PROVIDER_ACTIONS.get(f.check)
    remedy = f.remedy
    if action is None or not remedy:
        return None
    where = f"the mail provider, for {f.subject}" if _direction(f) else f"the mail provider ({f.subject})"
    if f.check in ("settings.gmail-pop-disabled", "settings.gmail-pop-keeps-mail"):
        where = "the Gmail account's settings"
    verify = _VERIFY
    if f.check == "settings.gmail-pop-keeps-mail":
        verify = (
            "After the next poll (5 minutes), the fetched messages are in the Gmail account's Trash, not its inbox."
        )
    return FixStep(
        host=f.subject,
        rtype="provider",
        label=where,
        current=_evidence(f, "server said"),
        new=remedy,
        action=action,
        why=f.summary,
        verify=verify,
        resolves=((f.check, f.subject),),
        severity=f.severity,
        order=ORDER_CONNECTION,
        evidence=f.evidence,
        detail=f.detail,
    )


def settings_fixes(tenant: Tenant, findings: Iterable[Finding]) -> tuple[FixStep, ...]:
    """The fix steps for the ``settings.*`` findings about ``tenant`` (see the module docstring)."""
    pop3, smtp = effective_servers(tenant)
    out: list[FixStep] = []
    for f in findings:
        if not f.check.startswith("settings."):
            continue
        if f.check == "settings.o365-mx-not-protection-outlook":
            out.append(_mx_step(f))
            continue
        server = pop3 if _direction(f) == "pop3" else smtp if _direction(f) == "smtp" else None
        step = _server_step(f, tenant, server) or _tenant_step(f, tenant) or _provider_step(f, server)
        if step is not None:
            out.append(step)
    return tuple(out)
