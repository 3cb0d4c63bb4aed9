"""The POP3 and SMTP clients against the sandbox: XOAUTH2, RFC 3206 refusals, STARTTLS verification."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailsupport.config import load_tenant
from mailsupport.errors import AuthError, ConnectError, LoginRefusedError
from mailsupport.model import Secret
from mailsupport.pop3 import Pop3Client
from mailsupport.smtp import SmtpClient

sandbox_mod = pytest.importorskip("mailsupport.sandbox")
TENANT = Path(__file__).resolve().parents[2] / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def world():
    if not TENANT.exists():
        pytest.skip("sample tenant missing")
    tenant = load_tenant(TENANT, environ={})
    with sandbox_mod.Sandbox([tenant]) as sb:
        yield sb, sb.tenant_settings(tenant)


def test_pop3_starttls_login_and_listing(world) -> None:
    """STLS with the sandbox CA verified, USER/PASS, LIST+UIDL of a delivered message."""
    sb, tenant = world
    sb.deliver(b"Subject: x\r\n\r\nbody\r\n", "c@outside.example", ["1042@smithlaw.example"])
    with Pop3Client(tenant.inbound.server) as pop:
        assert pop.encrypted
        [entry] = pop.listing()
        assert pop.retr(entry.number).endswith(b"body\r\n")
        pop.quit()


def test_pop3_without_the_ca_is_refused(world) -> None:
    """Certificate verification is on by default: without the sandbox CA the connection fails."""
    _sb, tenant = world
    with pytest.raises(ConnectError, match="certificate"):
        Pop3Client(replace(tenant.inbound.server, ca_file=None)).open()


def test_pop3_xoauth2_token_accepted_and_expired_refused(world) -> None:
    """XOAUTH2 logs in with a valid token; an expired one is an AuthError without the token."""
    sb, tenant = world
    server = tenant.inbound.server
    good = sb.issue_token(server.username)
    with Pop3Client(replace(server, password=None, oauth_token=good)) as pop:
        assert pop.stat()[0] == 0
        pop.quit()
    expired = sb.issue_token(server.username, expired=True)
    with pytest.raises(AuthError) as info:
        Pop3Client(replace(server, password=None, oauth_token=expired)).open()
    assert expired.reveal() not in str(info.value)


@pytest.mark.parametrize("state, code", [({"in_use": True}, "IN-USE"), ({"locked": True}, "")])
def test_pop3_refusals_are_classified(world, state, code) -> None:
    """[IN-USE] is a LoginRefusedError naming the code; a locked account is at least an AuthError."""
    sb, tenant = world
    sb.set_account_state(tenant.inbound.server.username, **state)
    with pytest.raises(AuthError) as info:
        Pop3Client(tenant.inbound.server).open()
    if code:
        assert isinstance(info.value, LoginRefusedError) and f"[{code}]" in str(info.value)


def test_pop3_wrong_password_never_shows_it(world) -> None:
    """The password is not in the error."""
    _sb, tenant = world
    bad = replace(tenant.inbound.server, password=Secret("canary-4b1d-not-it"))
    with pytest.raises(AuthError) as info:
        Pop3Client(bad).open()
    assert "canary" not in str(info.value) and "canary" not in repr(info.value.args)


def test_smtp_starttls_auth_and_send(world) -> None:
    """Submission with STARTTLS and AUTH; the reply is a frozen SmtpReply."""
    sb, tenant = world
    with SmtpClient(tenant.outbound.server) as smtp:
        assert smtp.encrypted
        reply = smtp.send(b"Subject: out\r\n\r\nx\r\n", "matters@smithlaw.example", ["client@outside.example"])
    assert reply.code == 250 and not reply.temporary
    assert any("client@outside.example" in m.recipients for m in sb.outbox)


def test_smtp_xoauth2(world) -> None:
    """SMTP AUTH XOAUTH2 with a sandbox token."""
    sb, tenant = world
    server = tenant.outbound.server
    token = sb.issue_token(server.username)
    with SmtpClient(replace(server, password=None, oauth_token=token)) as smtp:
        assert smtp.send(b"Subject: o\r\n\r\nx\r\n", server.username, ["client@outside.example"]).code == 250
