"""Turn a ladder's rungs into findings a person understands: the cause, and what to change.

Pure (layer 2): reads :class:`~mailsupport.doctor.report.ProbeResult` values and the tenant's
provider and server settings; no sockets, clock or environment. Must not import the probes,
the sandbox or presentation modules.

Every check id is ``settings.<cause>`` and is documented in :data:`SETTINGS_CHECKS`. Login
failures are told apart by the server's words (RFC 3206 response codes for POP3, RFC 2449
``[IN-USE]``/``[LOGIN-DELAY]``, RFC 3463 enhanced status codes for SMTP) and by what the
providers do now (``docs/provider-facts.md`` §4): Exchange Online refuses Basic
authentication for POP since 1 Oct 2022 and answers SMTP AUTH with ``5.7.30``/``5.7.139``;
Google ended "less secure apps" on 30 Sep 2024 (app password or OAuth needed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..model import Finding, Severity
from ..tenant import Provider, ServerSettings, TlsMode

# ProbeResult/Rung (mailsupport.doctor.report) are read duck-typed here, not imported, so this
# layer-2 module depends on nothing above the pure core.
ProbeResult = Any
Rung = Any

__all__ = ["SETTINGS_CHECKS", "POLL_INTERVAL", "classify_probe", "tls_port_advice"]

#: Every check id the doctor (pre-flight and ladder) can report, with its meaning (for docs).
SETTINGS_CHECKS: Mapping[str, str] = {
    # pre-flight (no connection)
    "settings.invalid-field": "A typed value is not valid (the finding names the field); the rest of the input is kept.",
    "settings.required-field-missing": "A field the chosen provider needs is empty (help page, Step 2a).",
    "settings.exchange-server-missing": "Microsoft Exchange Server needs the server address typed in.",
    "settings.port-tls-impossible": "The port and TLS mode cannot work together (995/465 are implicit TLS; 110/587/25 plaintext then STLS/STARTTLS).",
    "settings.download-delete-not-confirmed": "The 'download then delete' confirmation is not ticked (help page, Step 2b).",
    "settings.failed-address-missing": "No address for failed emails is set (help page, Step 4, required).",
    "settings.failed-address-loop": "The failed-emails address is on the catch-all domain, so failures come back into the mailbox (a loop).",
    "settings.alias-is-mailbox": "An alias is also the inbound mailbox address or a real user's address.",
    "settings.size-limit": "The size limit is outside what mail servers accept (the help page advises 10 MB).",
    "settings.plaintext-auth": "A password would travel without TLS.",
    "settings.gmail-pop-keeps-mail": "Gmail POP 'deletes' only if the account's POP setting trashes fetched mail.",
    "settings.outbound-not-checked": "Outbound mail uses the vendor's relay, so no SMTP server of the tenant is checked.",
    # DNS and TCP
    "settings.dns-name-not-found": "The server name does not exist in DNS (NXDOMAIN): usually a typo.",
    "settings.dns-no-address": "The server name exists but has no A/AAAA address.",
    "settings.dns-temporary": "DNS did not answer in time (SERVFAIL or timeout).",
    "settings.connection-refused": "Nothing listens on that port at that server (connection refused).",
    "settings.connection-timeout": "No answer to the TCP connection: a firewall drops it or the host is down.",
    "settings.network-unreachable": "The network path to the server does not exist.",
    # TLS
    "settings.tls-mode-mismatch": "The TLS mode does not match the port (995 vs 110+STLS, 465 vs 587+STARTTLS).",
    "settings.certificate-invalid": "The server's certificate is not trusted (self-signed or unknown issuer).",
    "settings.certificate-expired": "The server's certificate has expired.",
    "settings.certificate-wrong-host": "The certificate is for another name than the server typed.",
    "settings.tls-version": "Client and server share no TLS version (the kit requires TLS 1.2 or later).",
    "settings.tls-failed": "The TLS handshake failed for another reason.",
    "settings.starttls-not-offered": "STARTTLS/STLS was asked for but the server does not offer it.",
    # session
    "settings.no-greeting": "The server accepted the connection but never greeted.",
    "settings.connection-dropped": "The server closed the connection before the check finished.",
    "settings.server-refused-session": "The server's greeting or EHLO answer refuses service.",
    "settings.wrong-protocol": "The port belongs to another protocol (SMTP on a POP3 port or the reverse).",
    "settings.credentials-missing": "No password or OAuth token is set.",
    "settings.auth-not-offered": "The server offers no login mechanism these settings can use (no AUTH, or no XOAUTH2 for a token).",
    # login
    "settings.auth-failed": "The user name or password is wrong (RFC 3206 [AUTH], SMTP 535 5.7.8).",
    "settings.account-locked": "The account is locked or disabled by the provider.",
    "settings.login-refused": "Login refused for a reason other than the password ([SYS/TEMP], [SYS/PERM], 4xx).",
    "settings.o365-basic-auth-retired": "Office 365 refuses password login: POP since Oct 2022, SMTP AUTH with 5.7.30/5.7.139: OAuth2 is needed.",
    "settings.gmail-app-password-required": "Google refuses the account password: an app password or OAuth is needed since 'less secure apps' ended.",
    "settings.gmail-pop-disabled": "POP access is off in the Gmail account's settings.",
    "settings.oauth-token-expired": "The OAuth2 token was refused as expired or invalid (XOAUTH2 status 401).",
    "settings.mailbox-in-use": "Another session holds the mailbox ([IN-USE], RFC 2449 §8.1.1).",
    "settings.login-delay": "The server allows logins only every so often ([LOGIN-DELAY], RFC 2449 §8.1.2).",
    # last step
    "settings.mailbox-unavailable": "Login worked but the mailbox cannot be listed (STAT refused).",
    "settings.sender-rejected": "The SMTP server refuses the sender address (MAIL FROM).",
    "settings.recipient-rejected": "The SMTP server refuses the test recipient (RCPT TO), e.g. relaying denied.",
    "settings.failed-address-unknown": "The failed-emails address does not exist at the SMTP server (550 5.1.1), so failures would bounce.",
    "settings.server-stalled": "The server stopped answering in the middle of the session.",
    "settings.server-too-slow": "A step did not finish within its deadline (a multiple of the timeout): the server answers too slowly or sends without end.",
    "settings.answer-without-end": "An answer ran past the doctor's limits (a line over 8 KiB, a reply of over 1,000 lines, a listing too long): the server sends without end.",
    "settings.malformed-answer": "The server's answer does not follow the protocol (an SMTP reply without its three-digit code, a POP3 line that cannot be read).",
    "settings.size-limit-above-server": "The tenant's size limit is larger than the SMTP server's SIZE.",
    # DNS prerequisites
    "settings.o365-mx-not-protection-outlook": "For the Office 365 catch-all rule, MX must point to *.mail.protection.outlook.com.",
}

_REMEDY = {
    "settings.dns-name-not-found": "Check the server name for typos; copy it from the provider's settings page.",
    "settings.dns-no-address": "Use the provider's mail server name (not the bare domain), or ask the DNS admin to add its A record.",
    "settings.dns-temporary": "Try again in a few minutes; if it persists, the domain's DNS servers are failing.",
    "settings.connection-refused": "Check the port number (POP3 995 or 110, SMTP 587, 465 or 25) and that the server runs that service.",
    "settings.connection-timeout": "A firewall is probably dropping the port: ask the IT provider to allow it, or use another port the provider offers.",
    "settings.network-unreachable": "Check the server address; the network cannot reach it.",
    "settings.certificate-invalid": "Use the provider's real server name (the one on its certificate), or ask the provider to install a trusted certificate.",
    "settings.certificate-expired": "The mail provider must renew the server's certificate; until then the connection cannot be trusted.",
    "settings.certificate-wrong-host": "Type the server name the certificate is issued for (e.g. the provider's host, not your own domain).",
    "settings.tls-version": "The server only speaks an old TLS version: ask the provider to enable TLS 1.2 or 1.3.",
    "settings.tls-failed": "Check the port and TLS mode; if they are right, ask the provider about the server's TLS set-up.",
    "settings.starttls-not-offered": "Use the implicit-TLS port (POP3 995, SMTP 465) or ask the provider to enable STARTTLS.",
    "settings.no-greeting": "The server is overloaded or the port is wrong; check the port and try again later.",
    "settings.connection-dropped": "Try again; if it repeats, the server or a firewall is cutting the session.",
    "settings.server-refused-session": "The server refuses this client: ask the provider whether connections from this address are allowed.",
    "settings.wrong-protocol": "Use the POP3 port (995/110) for incoming mail and the SMTP port (587/465/25) for outgoing.",
    "settings.credentials-missing": "Type the mailbox password (or an app password / OAuth token).",
    "settings.auth-not-offered": "For SMTP use port 587 with STARTTLS or 465 (AUTH is offered only over TLS); for a token, check that the provider supports OAuth2 (XOAUTH2) on this server.",
    "settings.auth-failed": "Retype the user name and password (user name is usually the full email address).",
    "settings.account-locked": "Unlock or re-enable the account in the provider's admin console, then try again.",
    "settings.login-refused": "Ask the provider why logins are refused; try again later for a temporary reason.",
    "settings.o365-basic-auth-retired": "Microsoft retired password (Basic) login: connect with OAuth2 (XOAUTH2) using an app registration, or switch inbound to a forwarding option.",
    "settings.gmail-app-password-required": "Turn on 2-Step Verification and create an app password for this mailbox, or connect with OAuth2.",
    "settings.gmail-pop-disabled": "In Gmail: Settings > Forwarding and POP/IMAP > enable POP, then save.",
    "settings.oauth-token-expired": "Get a fresh OAuth2 access token (refresh it) and test again.",
    "settings.mailbox-in-use": "Another program is reading this mailbox: stop it (only one POP client at a time), then test again.",
    "settings.login-delay": "Wait for the login delay to pass before testing again, and do not poll more often than it allows.",
    "settings.mailbox-unavailable": "Ask the provider to check the mailbox (it may be corrupt or over quota).",
    "settings.sender-rejected": "Use a sender address the SMTP account may send as.",
    "settings.recipient-rejected": "Log in with SMTP AUTH (relaying needs it), or check the failed-emails address.",
    "settings.server-stalled": "Try again later; if it repeats, report the stall to the provider with this report.",
    "settings.server-too-slow": "Try again later; on a very slow link raise the connection test's timeout (each step may take three times it). If it repeats, check that the port is the mail service itself (not a proxy, filter or tarpit) and report the slow step to the provider with this report.",
    "settings.answer-without-end": "Check that the port belongs to the mail service (POP3 995/110, SMTP 587/465/25); if it does, report the endless answer to the provider with this report.",
    "settings.malformed-answer": "Check that the port belongs to this protocol (POP3 995/110, SMTP 587/465/25); if it does, report the server's exact words (below) to the provider.",
    "settings.size-limit-above-server": "Lower the size limit to the server's SIZE, or warn users that larger mail will bounce.",
}

#: The product connects "every 5 minutes (or whenever a user clicks 'check for new mail')" (help page).
POLL_INTERVAL = 300

_SEVERITY = {"settings.size-limit-above-server": Severity.WARNING, "settings.login-delay": Severity.WARNING}

_PORT_TLS = {
    "pop3": {995: TlsMode.IMPLICIT, 110: TlsMode.STARTTLS},
    "smtp": {465: TlsMode.IMPLICIT, 587: TlsMode.STARTTLS, 25: TlsMode.STARTTLS},
}


def tls_port_advice(direction: str, port: int, tls: TlsMode) -> str:
    """One sentence pairing the ports with their TLS modes (995 implicit vs 110 STLS for POP3;
    465 implicit vs 587 STARTTLS for SMTP, RFC 8314 §3)."""
    if direction == "pop3":
        pair = "POP3 uses port 995 with implicit TLS, or port 110 with STLS (tls = starttls)"
    else:
        pair = "SMTP uses port 465 with implicit TLS, or port 587 (or 25) with STARTTLS"
    expected = _PORT_TLS.get(direction, {}).get(port)
    if expected is not None and expected is not tls:
        return f"Port {port} needs tls = {expected}; {pair}."
    return f"Change the port or the TLS mode: {pair}."


_CODE_TO_CHECK = {
    "no-host": "settings.required-field-missing",
    "nxdomain": "settings.dns-name-not-found",
    "dns-no-address": "settings.dns-no-address",
    "dns-temporary": "settings.dns-temporary",
    "refused": "settings.connection-refused",
    "unreachable": "settings.network-unreachable",
    "tls-on-plaintext": "settings.tls-mode-mismatch",
    "plaintext-on-tls": "settings.tls-mode-mismatch",
    "cert-expired": "settings.certificate-expired",
    "cert-wrong-host": "settings.certificate-wrong-host",
    "cert-invalid": "settings.certificate-invalid",
    "tls-version": "settings.tls-version",
    "tls-closed": "settings.tls-failed",
    "tls-failed": "settings.tls-failed",
    "starttls-not-offered": "settings.starttls-not-offered",
    "bad-greeting": "settings.server-refused-session",
    "ehlo-rejected": "settings.server-refused-session",
    "wrong-protocol": "settings.wrong-protocol",
    "plaintext-auth-blocked": "settings.plaintext-auth",
    "no-credentials": "settings.credentials-missing",
    "auth-not-offered": "settings.auth-not-offered",
    "final-rejected": "settings.mailbox-unavailable",
    "mail-from-rejected": "settings.sender-rejected",
    "rcpt-rejected": "settings.recipient-rejected",
    "bad-reply": "settings.malformed-answer",
    "deadline": "settings.server-too-slow",
    "too-long": "settings.answer-without-end",
}

_O365_HOSTS = re.compile(r"(^|\.)(office365\.com|outlook\.com|office\.com)$", re.I)
_GMAIL_HOSTS = re.compile(r"(^|\.)(gmail\.com|googlemail\.com|google\.com)$", re.I)


def _login_cause(rung: Rung, direction: str, provider: Provider, server: ServerSettings) -> str:
    """Which login failure this is, from the server's exact words and the provider."""
    text = f"{rung.reply} {rung.detail}"
    upper = text.upper()
    method = rung.fact("method")
    if "[IN-USE]" in upper:
        return "settings.mailbox-in-use"
    if "[LOGIN-DELAY]" in upper:
        return "settings.login-delay"
    if re.search(r"\b5\.7\.(30|139)\b", text) or "BASIC AUTH" in upper:
        return "settings.o365-basic-auth-retired"
    if "APPLICATION-SPECIFIC PASSWORD" in upper or "APP PASSWORD" in upper or re.search(r"\b5\.7\.9\b", text):
        return "settings.gmail-app-password-required"
    if "NOT ENABLED FOR POP" in upper or "POP ACCESS" in upper and "DISABLED" in upper:
        return "settings.gmail-pop-disabled"
    if rung.code == "xoauth2-rejected":
        if rung.fact("oauth_status") in ("401", "") or "EXPIRED" in upper:
            return "settings.oauth-token-expired"
        return "settings.login-refused"
    is_o365 = provider is Provider.OFFICE365 or _O365_HOSTS.search(server.host or "")
    if is_o365 and method != "XOAUTH2":
        # Exchange Online answers POP password logins with a plain "Logon failure" since
        # Basic auth was switched off (1 Oct 2022): the password may well be right.
        return "settings.o365-basic-auth-retired"
    if "LOCK" in upper or "DISABLED" in upper or "SUSPENDED" in upper:
        return "settings.account-locked"
    if "[SYS/TEMP]" in upper or "[SYS/PERM]" in upper or re.match(r"4\d\d", rung.reply):
        return "settings.login-refused"
    return "settings.auth-failed"


def _check_for(rung: Rung, direction: str, provider: Provider, server: ServerSettings) -> str:
    if rung.code in ("auth-rejected", "xoauth2-rejected"):
        return _login_cause(rung, direction, provider, server)
    if rung.code in ("mail-from-rejected", "rcpt-rejected") and re.search(r"\b5\.7\.(30|139)\b", rung.reply):
        return "settings.o365-basic-auth-retired"
    if rung.code in ("mail-from-rejected", "rcpt-rejected") and (
        rung.reply.startswith("530") or re.search(r"\b5\.7\.(0|57)\b.*authenticat", rung.reply, re.I)
    ):
        return "settings.credentials-missing"  # RFC 4954 §6: 530 5.7.0 Authentication required
    if rung.code == "timeout":
        return (
            "settings.connection-timeout"
            if rung.step == "connect"
            else ("settings.no-greeting" if rung.step == "greeting" else "settings.server-stalled")
        )
    if rung.code == "closed":
        return "settings.connection-dropped"
    return _CODE_TO_CHECK.get(rung.code, "settings.server-stalled")


def classify_probe(
    probe: ProbeResult, *, provider: Provider, server: ServerSettings, size_limit: int = 0
) -> list[Finding]:
    """Findings for one direction's ladder: the failed rung's cause with its remedy and the
    server's exact words as evidence, plus warnings learnt from passing rungs (SIZE)."""
    subject = f"{probe.direction} {probe.endpoint}"
    out: list[Finding] = []
    failed = probe.failed
    if failed is not None:
        check = _check_for(failed, probe.direction, provider, server)
        remedy = _REMEDY.get(check, "")
        if check == "settings.tls-mode-mismatch":
            remedy = tls_port_advice(probe.direction, server.port, server.tls)
        if check == "settings.auth-failed" and (provider is Provider.GMAIL or _GMAIL_HOSTS.search(server.host or "")):
            remedy += " Google accepts only an app password (or OAuth2) here, not the account password."
        evidence = (("step", failed.step), ("detail", failed.detail))
        if failed.reply:
            evidence += (("server said", failed.reply),)
        summary = SETTINGS_CHECKS[check]
        out.append(
            Finding(
                check=check,
                severity=_SEVERITY.get(check, Severity.ERROR),
                subject=subject,
                summary=f"{probe.direction.upper()} {failed.step} failed: {summary}",
                detail=failed.detail + (f" — server said: {failed.reply}" if failed.reply else ""),
                remedy=remedy,
                reference=_reference(check),
                evidence=evidence,
            )
        )
    delays = [r.fact("login_delay") for r in probe.rungs if r.ok and _number(r.fact("login_delay"))]
    if probe.direction == "pop3" and delays and int(delays[-1]) > POLL_INTERVAL:
        out.append(
            Finding(
                check="settings.login-delay",
                severity=Severity.WARNING,
                subject=subject,
                summary=(
                    f"The server allows one login every {int(delays[-1])} s (LOGIN-DELAY) but the product "
                    f"polls every {POLL_INTERVAL} s, so some polls will be refused; this test was a login too."
                ),
                remedy="Ask the provider to lower the login delay for this mailbox, or expect mail to arrive later.",
                reference="RFC 2449 §6.5; help page: POP Mailbox (every 5 minutes)",
                evidence=(("LOGIN-DELAY", delays[-1]), ("poll interval", str(POLL_INTERVAL))),
            )
        )
    final = probe.rung("final")
    if final is not None and final.ok and final.fact("rcpt_unknown"):
        out.append(
            Finding(
                check="settings.failed-address-unknown",
                severity=Severity.WARNING,
                subject=subject,
                summary=f"The SMTP server says {final.fact('rcpt_unknown')} does not exist, so failed emails sent "
                "there would bounce.",
                detail=final.detail,
                remedy="Create that mailbox, or choose an existing failed-emails address.",
                reference="RFC 3463 §3.2 (X.1.1)",
                evidence=(("server said", final.reply),),
            )
        )
    caps = probe.rung("capabilities")
    if probe.direction == "smtp" and caps is not None and caps.ok and size_limit:
        size = caps.fact("size")
        if _number(size) and 0 < int(size) < size_limit:
            out.append(
                Finding(
                    check="settings.size-limit-above-server",
                    severity=Severity.WARNING,
                    subject=subject,
                    summary=f"The SMTP server accepts at most {int(size):,} bytes (SIZE) but the tenant allows {size_limit:,}.",
                    remedy=_REMEDY["settings.size-limit-above-server"],
                    reference="RFC 1870 §4",
                    evidence=(("SIZE", size), ("size_limit", str(size_limit))),
                )
            )
    return out


def _number(text: str) -> bool:
    """True for ASCII digits only (``str.isdigit`` also accepts ``²``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def _reference(check: str) -> str:
    return {
        "settings.tls-mode-mismatch": "RFC 8314 §3; RFC 2595 §4; RFC 3207",
        "settings.starttls-not-offered": "RFC 2595 §4; RFC 3207 §4",
        "settings.auth-failed": "RFC 3206 §4; RFC 4954 §6",
        "settings.login-refused": "RFC 3206 §4",
        "settings.account-locked": "RFC 3206 §4",
        "settings.mailbox-in-use": "RFC 2449 §8.1.1",
        "settings.login-delay": "RFC 2449 §8.1.2",
        "settings.o365-basic-auth-retired": "facts: Exchange Online Basic auth (POP off 1 Oct 2022; SMTP 5.7.30)",
        "settings.gmail-app-password-required": "facts: Google 'less secure apps' ended 30 Sep 2024",
        "settings.oauth-token-expired": "SASL XOAUTH2 (mailsupport.sasl)",
        "settings.plaintext-auth": "RFC 8314 §5",
        "settings.recipient-rejected": "RFC 5321 §3.6",
    }.get(check, "help page: Email Setup")
