"""Auth policies per profile (Google app passwords, Office 365 basic auth off) and account states."""

from __future__ import annotations

import base64
import poplib
import smtplib

import pytest

from mailsupport.sandbox import Sandbox
from mailsupport.sasl import parse_xoauth2_error, xoauth2_initial_response

from .conftest import message, tenant

BAX = "matters@baxterlaw.example"
QUAY = "matters@quaylaw.example"
SMITH = "matters@smithlaw.example"


def pop_tls(sb: Sandbox) -> poplib.POP3_SSL:
    return poplib.POP3_SSL(sb.pop3_tls.host, sb.pop3_tls.port, context=sb.client_context(), timeout=10)


def smtp_tls(sb: Sandbox) -> smtplib.SMTP:
    c = smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10)
    c.starttls(context=sb.client_context())
    c.ehlo()
    return c


@pytest.fixture
def gmail():
    bax = tenant("baxterlaw-gmail")
    with Sandbox([bax], profile="gmail") as sb:
        yield sb, bax


@pytest.fixture
def o365():
    quay = tenant("quaylaw-office365")
    with Sandbox([quay], profile="office365") as sb:
        yield sb, quay


# ------------------------------------------------------------------ Google


def test_gmail_account_password_needs_an_app_password(gmail):
    """Gmail POP: the account password is refused with Google's application-specific text."""
    sb, bax = gmail
    pop = pop_tls(sb)
    pop.user(BAX)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Application-specific password required"):
        pop.pass_(bax.inbound.server.password.reveal())


def test_gmail_wrong_password_is_bad_credentials(gmail):
    """Gmail POP: a password that is neither gets 'Username and password not accepted'."""
    sb, _ = gmail
    pop = pop_tls(sb)
    pop.user(BAX)
    with pytest.raises(poplib.error_proto, match="Username and password not accepted"):
        pop.pass_("nope")


def test_gmail_app_password_works_and_account_password_still_refused(gmail):
    """With an app password configured, it logs in; the account password is still refused."""
    sb, bax = gmail
    sb.set_app_password(BAX, "abcdefghijklmnop")
    pop = pop_tls(sb)
    pop.user(BAX)
    assert pop.pass_("abcdefghijklmnop").startswith(b"+OK")
    pop.quit()
    pop = pop_tls(sb)
    pop.user(BAX)
    with pytest.raises(poplib.error_proto, match="Application-specific"):
        pop.pass_(bax.inbound.server.password.reveal())


def test_gmail_smtp_plain_refused_534(gmail):
    """Gmail SMTP AUTH with the account password: 534 5.7.9 application-specific password required."""
    sb, bax = gmail
    with smtp_tls(sb) as c, pytest.raises(smtplib.SMTPAuthenticationError) as info:
        c.login(BAX, bax.outbound.server.password.reveal())
    assert info.value.smtp_code == 534
    assert b"InvalidSecondFactor" in info.value.smtp_error


def test_gmail_xoauth2_expired_token_gets_json_challenge_then_535(gmail):
    """Gmail XOAUTH2 with an expired token: 334 + base64 JSON status 401, then 535 after the empty reply."""
    sb, _ = gmail
    token = sb.issue_token(BAX, expired=True)
    with smtp_tls(sb) as c:
        code, challenge = c.docmd("AUTH", "XOAUTH2 " + xoauth2_initial_response(BAX, token))
        assert code == 334
        assert parse_xoauth2_error(challenge).status == "401"
        code, text = c.docmd("")
        assert code == 535 and b"BadCredentials" in text


def test_gmail_tenant_token_works_for_pop_and_smtp(gmail):
    """The tenant file's OAuth tokens are accepted over XOAUTH2 for POP3 and SMTP."""
    sb, bax = gmail
    pop = pop_tls(sb)
    assert pop._shortcmd("AUTH XOAUTH2 " + xoauth2_initial_response(BAX, bax.inbound.server.oauth_token)).startswith(
        b"+OK"
    )
    pop.quit()
    with smtp_tls(sb) as c:
        code, _ = c.docmd("AUTH", "XOAUTH2 " + xoauth2_initial_response(BAX, bax.outbound.server.oauth_token))
        assert code == 235


# ------------------------------------------------------------------ Office 365


def test_o365_pop_user_pass_refused(o365):
    """Office 365 POP: USER/PASS refused with Exchange's logon-failure text, even with the right password."""
    sb, quay = o365
    pop = pop_tls(sb)
    assert b"Microsoft Exchange" in pop.getwelcome()
    pop.user(QUAY)
    with pytest.raises(poplib.error_proto, match=r"-ERR Logon failure: unknown user name or bad password\."):
        pop.pass_(quay.inbound.server.password.reveal())


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_o365_smtp_basic_auth_disabled(o365, mechanism):
    """Office 365 SMTP AUTH PLAIN/LOGIN: 535 5.7.139 basic authentication is disabled."""
    sb, quay = o365
    with smtp_tls(sb) as c:
        c.user, c.password = QUAY, quay.outbound.server.password.reveal()
        method = c.auth_plain if mechanism == "PLAIN" else c.auth_login
        with pytest.raises(smtplib.SMTPAuthenticationError) as info:
            c.auth(mechanism, method, initial_response_ok=mechanism == "PLAIN")
    assert info.value.smtp_code == 535
    assert b"5.7.139 Authentication unsuccessful, basic authentication is disabled" in info.value.smtp_error


def test_o365_2026_client_submission_text(o365):
    """office365-2026: the SMTP AUTH refusal is 550 5.7.30 Basic authentication is not supported."""
    sb, quay = o365
    sb.set_profile("office365-2026")
    with smtp_tls(sb) as c, pytest.raises(smtplib.SMTPAuthenticationError) as info:
        c.login(QUAY, quay.outbound.server.password.reveal())
    assert info.value.smtp_code == 550
    assert info.value.smtp_error == b"5.7.30 Basic authentication is not supported for Client Submission"


def test_o365_xoauth2_accepted_expired_refused(o365):
    """Office 365 XOAUTH2: the tenant token works; an expired one gets 535 5.7.3 at once."""
    sb, quay = o365
    with smtp_tls(sb) as c:
        expired = sb.issue_token(QUAY, expired=True)
        code, text = c.docmd("AUTH", "XOAUTH2 " + xoauth2_initial_response(QUAY, expired))
        assert code == 535 and text.startswith(b"5.7.3 Authentication unsuccessful")
        code, _ = c.docmd("AUTH", "XOAUTH2 " + xoauth2_initial_response(QUAY, quay.outbound.server.oauth_token))
        assert code == 235
        assert c.sendmail(QUAY, ["client@outside.example"], message()) == {}
    pop = pop_tls(sb)
    assert pop._shortcmd("AUTH XOAUTH2 " + xoauth2_initial_response(QUAY, quay.inbound.server.oauth_token)).startswith(
        b"+OK"
    )
    pop.quit()


def test_token_for_another_user_is_refused(o365):
    """A token is bound to its user: presenting it for someone else fails."""
    sb, quay = o365
    blob = base64.b64encode(
        f"user=tom@quaylaw.example\x01auth=Bearer {quay.inbound.server.oauth_token.reveal()}\x01\x01".encode()
    ).decode()
    pop = pop_tls(sb)
    with pytest.raises(poplib.error_proto, match="Authentication failure"):
        pop._shortcmd("AUTH XOAUTH2 " + blob)


# ------------------------------------------------------------------ account states


def _pop_login(sb, tenant_):
    pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
    pop.user(SMITH)
    pop.pass_(tenant_.inbound.server.password.reveal())
    return pop


def test_locked_account(sandbox, smithlaw):
    """A locked account is refused on POP3 and SMTP with the profile's texts."""
    sandbox.set_account_state(SMITH, locked=True)
    with pytest.raises(poplib.error_proto, match="locked"):
        _pop_login(sandbox, smithlaw)
    with smtp_tls(sandbox) as c, pytest.raises(smtplib.SMTPAuthenticationError, match="locked"):
        c.login(SMITH, smithlaw.outbound.server.password.reveal())


def test_login_delay(sandbox, smithlaw):
    """LOGIN-DELAY: CAPA shows it after login; logging in again at once gets [LOGIN-DELAY]."""
    sandbox.set_account_state(SMITH, login_delay=300)
    pop = _pop_login(sandbox, smithlaw)
    assert pop.capa()["LOGIN-DELAY"] == ["300"]
    pop.quit()
    with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\]"):
        _pop_login(sandbox, smithlaw)


def test_mailbox_in_use_elsewhere(sandbox, smithlaw):
    """in_use: every login gets [IN-USE], as when another client holds the mailbox."""
    sandbox.set_account_state(SMITH, in_use=True)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        _pop_login(sandbox, smithlaw)
    sandbox.set_account_state(SMITH, in_use=False)
    _pop_login(sandbox, smithlaw).quit()


# ------------------------------------------------------------------ TLS-only / plaintext auth modes


def test_tls_only_pop3_refuses_user_before_stls(smithlaw):
    """plaintext_auth=(): USER on a plain connection gets Dovecot's [AUTH] refusal; after STLS it works."""
    with Sandbox([smithlaw], plaintext_auth=()) as sb:
        pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        assert "USER" not in pop.capa()
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext authentication disallowed"):
            pop.user(SMITH)
        pop.stls(context=sb.client_context())
        assert "USER" in pop.capa()
        pop.user(SMITH)
        assert pop.pass_(smithlaw.inbound.server.password.reveal()).startswith(b"+OK")
        pop.quit()


def test_plaintext_smtp_auth_when_allowed(smithlaw):
    """plaintext_auth=('smtp',): AUTH is offered and works without STARTTLS (a legacy server)."""
    with Sandbox([smithlaw], plaintext_auth=("pop3", "smtp")) as sb:
        with smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10) as c:
            c.ehlo()
            assert c.has_extn("auth")
            assert c.login(SMITH, smithlaw.outbound.server.password.reveal())[0] == 235


def test_smtp_auth_before_starttls_is_refused_by_default(sandbox, smithlaw):
    """By default AUTH before STARTTLS is refused with 538 5.7.11 (RFC 4954 §4)."""
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.ehlo()
        code, text = c.docmd("AUTH", "PLAIN")
        assert code == 538 and b"Encryption required" in text


def test_plaintext_auth_rejects_unknown_services(smithlaw):
    """Only 'pop3' and 'smtp' can be named."""
    with pytest.raises(ValueError, match="imap"):
        Sandbox([smithlaw], plaintext_auth=("imap",))
