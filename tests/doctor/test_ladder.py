"""Every cause reproduced on the sandbox (or a loopback socket trick) and diagnosed with the server's words."""

from __future__ import annotations

import json

import pytest

from mailsupport.doctor import check_settings
from mailsupport.sandbox.faults import Action, Fault

from .conftest import PASSWORD, USER, checks, make_tenant, pointed, run, said

pytestmark = pytest.mark.timeout(60)


def test_good_settings_pass_every_rung(sb):
    """Implicit-TLS POP3 and STARTTLS submission pass every rung, nothing sent or deleted."""
    report = run(sb)
    assert report.ok, report.format_text()
    assert [r.step for r in report.inbound.rungs] == [
        "dns",
        "connect",
        "tls",
        "greeting",
        "capabilities",
        "auth",
        "final",
    ]
    assert [r.step for r in report.outbound.rungs] == [
        "dns",
        "connect",
        "greeting",
        "capabilities",
        "starttls",
        "capabilities",
        "auth",
        "final",
    ]
    assert report.inbound.rung("greeting").reply == "+OK Dovecot (Debian) ready."
    assert "RSET" in report.outbound.rung("final").detail
    assert sb.outbox == ()


def test_stls_on_port_110_style_listener_passes(sb):
    """POP3 with tls=starttls on the plain listener upgrades with STLS and logs in."""
    report = run(sb, pop={"port": sb.pop3.port, "tls": _tls("starttls")})
    assert report.inbound.ok, report.format_text()
    assert report.inbound.rung("starttls").ok


def _tls(mode):
    from mailsupport.config import TlsMode

    return TlsMode(mode)


def test_implicit_tls_against_plaintext_pop3_is_a_mode_mismatch(sb):
    """Implicit TLS on the plaintext port: the TLS rung fails and the plaintext greeting is quoted."""
    report = run(sb, pop={"port": sb.pop3.port})
    assert "settings.tls-mode-mismatch" in checks(report, "pop3")
    assert said(report, "settings.tls-mode-mismatch") == "+OK Dovecot (Debian) ready."


def test_plaintext_read_of_implicit_tls_pop3_is_a_mode_mismatch(sb):
    """STLS mode on the implicit-TLS port: no greeting, but the port answers a TLS handshake."""
    report = run(sb, pop={"port": sb.pop3_tls.port, "tls": _tls("starttls")}, timeout=1.0)
    assert "settings.tls-mode-mismatch" in checks(report, "pop3")
    assert report.inbound.failed.code == "plaintext-on-tls"


def test_starttls_against_smtps_and_implicit_against_submission(sb):
    """465-vs-587 both ways: STARTTLS on the SMTPS port, implicit TLS on the submission port."""
    report = run(sb, smtp={"port": sb.smtp_tls.port}, timeout=1.0)
    assert "settings.tls-mode-mismatch" in checks(report, "smtp")
    report = run(sb, smtp={"tls": _tls("implicit")})
    assert "settings.tls-mode-mismatch" in checks(report, "smtp")
    assert said(report, "settings.tls-mode-mismatch").startswith("220 ")


@pytest.mark.parametrize(
    "kind,check",
    [
        ("expired", "settings.certificate-expired"),
        ("wrong-host", "settings.certificate-wrong-host"),
        ("self-signed", "settings.certificate-invalid"),
    ],
)
def test_bad_certificates(sb, kind, check):
    """Each bad certificate is named on both directions."""
    sb.set_certificate(kind)
    report = run(sb)
    assert check in checks(report, "pop3")
    assert check in checks(report, "smtp")


def test_bad_password(sb):
    """A wrong password is auth-failed with the server's [AUTH] words."""
    report = run(sb, pop={"password": _secret("wrong")})
    assert checks(report, "pop3") == ["settings.auth-failed"]
    assert said(report, "settings.auth-failed") == "-ERR [AUTH] Authentication failed."


def _secret(text):
    from mailsupport.model import Secret

    return Secret(text)


def test_account_locked(sb):
    """A locked account is told apart from a bad password."""
    sb.set_account_state(USER, locked=True)
    report = run(sb)
    assert "settings.account-locked" in checks(report, "pop3")
    assert "locked" in said(report, "settings.account-locked").lower()


def test_mailbox_in_use(sb):
    """[IN-USE] (RFC 2449) becomes mailbox-in-use."""
    sb.set_account_state(USER, in_use=True)
    report = run(sb)
    assert "settings.mailbox-in-use" in checks(report, "pop3")
    assert "[IN-USE]" in said(report, "settings.mailbox-in-use")


def test_login_delay():
    """A second test within the account's LOGIN-DELAY (RFC 2449) is login-delay, not a bad password."""
    from mailsupport.sandbox.sandbox import Sandbox

    with Sandbox([make_tenant()]) as sb:  # a fresh mailbox: no login in this period yet
        _login_delay_story(sb)


def _login_delay_story(sb):
    sb.set_account_state(USER, login_delay=900)
    first = run(sb)  # the first login of the period works, and learns the per-user delay after login
    assert first.inbound.ok
    assert first.inbound.rung("final").fact("login_delay") == "900"
    (warning,) = [f for f in first.findings if f.check == "settings.login-delay"]
    assert "every 900 s" in warning.summary and "300 s" in warning.summary
    report = run(sb)
    assert checks(report, "pop3") == ["settings.login-delay"]
    assert "[LOGIN-DELAY]" in said(report, "settings.login-delay")


@pytest.mark.parametrize(
    "reply",
    ["-ERR [SYS/TEMP] Mailbox temporarily unavailable", "-ERR [SYS/PERM] Login not permitted from this network"],
)
def test_login_refused_for_other_reasons(sb, reply):
    """RFC 3206 SYS/TEMP and SYS/PERM are login-refused, not a bad password."""
    sb.add_fault(Fault(stage="auth", service="pop3", match=USER, reply=reply))
    report = run(sb)
    assert "settings.login-refused" in checks(report, "pop3")
    assert said(report, "settings.login-refused") == reply


def test_office365_basic_auth_retired_on_pop3_and_smtp(sb):
    """Office 365 refuses password login on POP3 and answers SMTP AUTH with 5.7.139."""
    sb.set_profile("office365")
    report = run(sb, make_tenant("office365"))
    assert "settings.o365-basic-auth-retired" in checks(report, "pop3")
    assert "settings.o365-basic-auth-retired" in checks(report, "smtp")
    words = [dict(f.evidence)["server said"] for f in report.findings if f.check == "settings.o365-basic-auth-retired"]
    assert "-ERR Logon failure: unknown user name or bad password." in words
    assert any("5.7.139" in w for w in words)


def test_office365_2026_smtp_5_7_30(sb):
    """The 2026 SMTP AUTH text 5.7.30 is recognised even without the provider preset."""
    sb.set_profile("office365-2026")
    report = run(sb)
    assert "settings.o365-basic-auth-retired" in checks(report, "smtp")
    assert "5.7.30 Basic authentication is not supported" in said(report, "settings.o365-basic-auth-retired") or any(
        "5.7.30" in dict(f.evidence).get("server said", "") for f in report.findings
    )


def test_office365_xoauth2_works_and_expired_token_is_named(sb):
    """XOAUTH2 with a test token logs in on both; an expired token is oauth-token-expired."""
    sb.set_profile("office365")
    good = sb.issue_token(USER)
    report = run(
        sb,
        make_tenant("office365"),
        pop={"oauth_token": good, "password": None},
        smtp={"oauth_token": good, "password": None},
    )
    assert report.inbound.rung("auth").ok and report.inbound.rung("auth").fact("method") == "XOAUTH2"
    assert report.outbound.rung("auth").ok, report.format_text()
    expired = sb.issue_token(USER, expired=True)
    report = run(
        sb,
        make_tenant("office365"),
        pop={"oauth_token": expired, "password": None},
        smtp={"oauth_token": expired, "password": None},
    )
    assert "settings.oauth-token-expired" in checks(report, "pop3")
    assert "settings.oauth-token-expired" in checks(report, "smtp")


def test_gmail_app_password_required_then_app_password_works(sb):
    """Gmail refuses the account password ("Application-specific password required"); an app password works."""
    sb.set_profile("gmail")
    report = run(sb, make_tenant("gmail"))
    assert "settings.gmail-app-password-required" in checks(report, "pop3")
    assert "Application-specific password required" in said(report, "settings.gmail-app-password-required")
    assert "settings.gmail-pop-keeps-mail" in checks(report)
    sb.set_app_password(USER, "abcd efgh ijkl mnop")
    report = run(sb, make_tenant("gmail"), pop={"password": _secret("abcd efgh ijkl mnop")})
    assert report.inbound.ok, report.format_text()


def test_gmail_pop_disabled(sb):
    """Gmail's 'not enabled for POP access' answer becomes gmail-pop-disabled."""
    sb.set_profile("gmail")
    words = (
        "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail "
        "settings page and enable your account for POP access."
    )
    sb.add_fault(Fault(stage="auth", service="pop3", match=USER, reply=words))
    report = run(sb, make_tenant("gmail"))
    assert "settings.gmail-pop-disabled" in checks(report, "pop3")
    assert said(report, "settings.gmail-pop-disabled") == words


def test_dns_name_missing_and_no_address(sb, dns):
    """A typo'd name is NXDOMAIN in the sandbox DNS; a name without A/AAAA is told apart; a real one resolves."""
    report = run(sb, dns=dns, pop={"host": "mial.smithlaw.example"}, smtp={"host": "notes.smithlaw.example"})
    assert checks(report, "pop3") == ["settings.dns-name-not-found"]
    assert checks(report, "smtp") == ["settings.dns-no-address"]
    report = run(
        sb,
        dns=dns,
        pop={"host": "mail.smithlaw.example", "port": sb.pop3.port, "tls": _tls("none"), "allow_plaintext_auth": True},
    )
    assert report.inbound.ok, report.format_text()
    assert report.inbound.rung("dns").detail == "mail.smithlaw.example resolves to 127.0.0.1"


def test_connection_refused(sb, closed_port):
    """A closed port is connection-refused."""
    report = run(sb, pop={"port": closed_port})
    assert checks(report, "pop3") == ["settings.connection-refused"]


def test_connection_timeout(sb, full_backlog_port):
    """A port whose SYNs are dropped (full accept queue) is connection-timeout (firewall-like)."""
    report = run(sb, pop={"port": full_backlog_port}, timeout=0.5)
    assert checks(report, "pop3") == ["settings.connection-timeout"]


def test_silent_server_is_no_greeting(sb, silent_port):
    """A server that accepts but never greets (and is not TLS) is no-greeting."""
    report = run(sb, pop={"port": silent_port, "tls": _tls("starttls")}, timeout=0.5)
    assert checks(report, "pop3") == ["settings.no-greeting"]


def test_starttls_not_offered(sb):
    """A refused STARTTLS is starttls-not-offered with the server's 454 words."""
    sb.add_fault(Fault(stage="starttls", service="smtp", reply="454 4.7.0 TLS not available due to local problem"))
    report = run(sb)
    assert "settings.starttls-not-offered" in checks(report, "smtp")
    assert said(report, "settings.starttls-not-offered") == "454 4.7.0 TLS not available due to local problem"


def test_wrong_greeting_and_dropped_connection(sb):
    """An SMTP banner on the POP3 port is wrong-protocol; a silent drop is connection-dropped."""
    sb.add_fault(Fault(stage="greeting", service="pop3", action=Action.WRONG_GREETING))
    report = run(sb)
    assert "settings.wrong-protocol" in checks(report, "pop3")
    sb.clear_faults()
    sb.add_fault(Fault(stage="greeting", service="smtp", action=Action.DROP))
    report = run(sb)
    assert "settings.connection-dropped" in checks(report, "smtp")


def test_stalled_server(sb):
    """A server that stops answering mid-session is server-stalled."""
    sb.add_fault(Fault(stage="auth", service="pop3", action=Action.STALL, match=USER))
    report = run(sb, timeout=0.5)
    assert checks(report, "pop3") == ["settings.server-stalled"]


def test_recipient_rejected(sb):
    """A refused RCPT TO in the last step is recipient-rejected, with the reply quoted."""
    sb.add_fault(Fault(stage="rcpt", reply="554 5.7.1 <it@elsewhere.example>: Relay access denied"))
    report = run(sb)
    assert checks(report, "smtp") == ["settings.recipient-rejected"]
    assert "Relay access denied" in said(report, "settings.recipient-rejected")


def test_unknown_failed_address_is_a_warning_not_a_failure(sb):
    """A 550 5.1.1 for the failed-emails address warns; login and submission still pass."""
    sb.add_fault(
        Fault(stage="rcpt", reply="550 5.1.1 <it@elsewhere.example>: Recipient address rejected: User unknown")
    )
    report = run(sb)
    assert report.outbound.ok
    assert checks(report, "smtp") == ["settings.failed-address-unknown"]
    assert report.ok  # a warning does not fail the settings


def test_size_limit_above_server(sb):
    """A tenant limit above the server's SIZE is a warning learnt from EHLO."""
    from dataclasses import replace

    tenant = replace(make_tenant(), size_limit=20_000_000)
    report = run(sb, tenant)
    assert "settings.size-limit-above-server" in checks(report, "smtp")


def test_o365_mx_check(sb, dns):
    """MX at *.mail.protection.outlook.com passes; a gateway MX is named."""
    from mailsupport.config import parse_tenant

    def tenant(domain):
        return parse_tenant(
            {
                "org_key": "o",
                "provider": "office365",
                "failed_email_address": "a@b.example",
                "inbound": {
                    "address": f"matters@{domain}",
                    "kind": "catch-all",
                    "confirm_download_then_delete": True,
                    "server": {"password": "p"},
                },
            }
        )

    from mailsupport.doctor import check_o365_mx

    assert check_o365_mx(tenant("o365firm.example"), dns) == []
    (finding,) = check_o365_mx(tenant("gatewayfirm.example"), dns)
    assert finding.check == "settings.o365-mx-not-protection-outlook"
    assert "mimecast" in finding.summary


def test_rungs_are_reported_live_and_json_has_the_shape(sb):
    """on_rung sees every rung as it ends; JSON has step/ok/ms/detail per rung and findings."""
    seen = []
    report = check_settings(pointed(sb), timeout=3, on_rung=lambda d, r: seen.append((d, r.step)))
    assert seen[0] == ("pop3", "dns") and seen[-1] == ("smtp", "final")
    data = json.loads(json.dumps(report.to_dict()))
    rung = data["inbound"]["rungs"][0]
    assert {"step", "ok", "ms", "detail"} <= set(rung)
    assert data["ok"] is True and data["findings"] == []


def test_no_secret_in_any_output(sb):
    """Neither the text nor the JSON report ever carries the password."""
    report = run(sb, pop={"password": _secret(PASSWORD + "-wrong")})
    assert PASSWORD not in report.format_text()
    assert PASSWORD not in json.dumps(report.to_dict())


def test_tls_version_too_old(sb, old_tls_port):
    """A server that offers only TLS 1.1 or older is tls-version."""
    port, ca_file = old_tls_port
    report = run(sb, pop={"port": port, "ca_file": ca_file})
    assert checks(report, "pop3") == ["settings.tls-version"], report.format_text()


def test_gmail_expired_token_challenge_is_decoded(sb):
    """Gmail's XOAUTH2 refusal is a 334 base64 JSON challenge: its status is decoded into the report."""
    sb.set_profile("gmail")
    expired = sb.issue_token(USER, expired=True)
    report = run(sb, make_tenant("gmail"), pop={"oauth_token": expired}, smtp={"oauth_token": expired})
    assert "settings.oauth-token-expired" in checks(report, "smtp")
    auth = report.outbound.rung("auth")
    assert auth.fact("oauth_status") == "401"
    assert '"status"' in auth.reply
