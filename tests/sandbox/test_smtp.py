"""The sandbox SMTP listeners through smtplib: MX, submission (STARTTLS/implicit TLS), AUTH, SIZE."""

from __future__ import annotations

import base64
import smtplib
import ssl
import threading

import pytest

from mailsupport.errors import SmtpRejected
from mailsupport.sandbox import Sandbox
from mailsupport.tlsutil import client_context

from .conftest import message

MAILBOX = "matters@smithlaw.example"


def submission(sb: Sandbox, tenant, *, implicit: bool = False) -> smtplib.SMTP:
    """A logged-in submission client."""
    out = tenant.outbound.server
    if implicit:
        client = smtplib.SMTP_SSL(sb.smtp_tls.host, sb.smtp_tls.port, context=sb.client_context(), timeout=10)
    else:
        client = smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10)
        client.starttls(context=sb.client_context())
    client.login(out.username, out.password.reveal())
    return client


def test_mx_delivers_into_the_catch_all(sandbox):
    """Mail from outside to any address of the catch-all domain lands in the catch-all mailbox."""
    reply = sandbox.deliver(message(), "client@outside.example", ["anything@smithlaw.example"])
    assert reply.startswith("250")
    (stored,) = sandbox.mailbox(MAILBOX)
    assert stored.recipients == ("anything@smithlaw.example",)
    assert stored.mail_from == "client@outside.example"


def test_mx_refuses_relay_to_outside(sandbox):
    """The MX does not relay: an outside recipient gets the profile's relay-denied reply."""
    with pytest.raises(SmtpRejected, match="Relay access denied") as info:
        sandbox.deliver(message(), "client@outside.example", ["x@elsewhere.example"])
    assert info.value.stage == "RCPT"


def test_mx_does_not_offer_auth(sandbox):
    """The inbound MX advertises no AUTH, before or after STARTTLS."""
    with smtplib.SMTP(sandbox.mx.host, sandbox.mx.port, timeout=10) as c:
        c.ehlo()
        assert not c.has_extn("auth")
        c.starttls(context=sandbox.client_context())
        c.ehlo()
        assert not c.has_extn("auth")


def test_submission_starttls_auth_plain_then_outbox(sandbox, smithlaw):
    """STARTTLS + AUTH PLAIN; mail to outside lands in the outbox, to the firm in the mailbox."""
    with submission(sandbox, smithlaw) as c:
        refused = c.sendmail(MAILBOX, ["client@outside.example", "jane@smithlaw.example"], message())
    assert refused == {}
    (out,) = sandbox.outbox
    assert out.recipients == ("client@outside.example",)
    assert out.username == MAILBOX
    assert sandbox.mailbox(MAILBOX)[0].recipients == ("jane@smithlaw.example",)


def test_submission_auth_login(sandbox, smithlaw):
    """AUTH LOGIN (user name and password challenges) works."""
    out = smithlaw.outbound.server
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.starttls(context=sandbox.client_context())
        c.ehlo()
        c.user, c.password = out.username, out.password.reveal()
        code, _ = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
        assert code == 235


def test_submission_requires_auth(sandbox):
    """MAIL before AUTH on submission is refused with 530."""
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.starttls(context=sandbox.client_context())
        c.ehlo()
        code, _ = c.mail(MAILBOX)
        assert code == 530


def test_auth_not_offered_before_starttls(sandbox):
    """AUTH appears only after STARTTLS on the submission port (RFC 4954 §4)."""
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls") and not c.has_extn("auth")
        c.starttls(context=sandbox.client_context())
        c.ehlo()
        assert c.esmtp_features["auth"].split() == ["LOGIN", "PLAIN", "XOAUTH2"]


def test_implicit_tls_submission_verifies(sandbox, smithlaw):
    """Implicit TLS submission with certificate verification against the sandbox CA."""
    with submission(sandbox, smithlaw, implicit=True) as c:
        c.sendmail(MAILBOX, ["client@outside.example"], message())
    assert len(sandbox.outbox) == 1


def test_implicit_tls_without_ca_fails(sandbox):
    """The throwaway CA is not in the system store: verification fails without ca_file."""
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(sandbox.smtp_tls.host, sandbox.smtp_tls.port, context=client_context(), timeout=10)


def test_wrong_password_refused_with_profile_text(sandbox, smithlaw):
    """A wrong SMTP password gets Postfix's 535 text."""
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.starttls(context=sandbox.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as info:
            c.login(MAILBOX, "wrong")
    assert info.value.smtp_code == 535


def test_xoauth2_submission(sandbox):
    """XOAUTH2 with a sandbox token authenticates; an expired one is refused."""
    good, expired = sandbox.issue_token(MAILBOX), sandbox.issue_token(MAILBOX, expired=True)
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        c.starttls(context=sandbox.client_context())
        c.ehlo()
        blob = f"user={MAILBOX}\x01auth=Bearer {expired.reveal()}\x01\x01"
        code, _ = c.docmd("AUTH", "XOAUTH2 " + base64.b64encode(blob.encode()).decode())
        assert code == 535
        blob = f"user={MAILBOX}\x01auth=Bearer {good.reveal()}\x01\x01"
        code, _ = c.docmd("AUTH", "XOAUTH2 " + base64.b64encode(blob.encode()).decode())
        assert code == 235


@pytest.mark.parametrize("advertise", [True, False], ids=["size-advertised", "size-hidden"])
def test_size_advertised_or_not_and_552_after_data(smithlaw, advertise):
    """SIZE shows in EHLO only when advertised; an oversize message gets 552 either way."""
    with Sandbox([smithlaw], smtp_size_limit=2000, advertise_size=advertise) as sb:
        with smtplib.SMTP(sb.mx.host, sb.mx.port, timeout=10) as c:
            c.ehlo()
            assert c.has_extn("size") is advertise
            if advertise:
                assert c.esmtp_features["size"] == "2000"
        with pytest.raises(SmtpRejected, match="552 5.3.4 Message size exceeds fixed limit") as info:
            sb.deliver(message(body=("x" * 70 + "\r\n") * 40), "c@outside.example", [MAILBOX])
        assert info.value.stage == "DATA"
        assert sb.mailbox(MAILBOX) == ()
        sb.deliver(message(), "c@outside.example", [MAILBOX])
        assert len(sb.mailbox(MAILBOX)) == 1


def test_size_parameter_refused_at_mail_from(smithlaw):
    """A MAIL FROM SIZE= over the limit is refused before DATA (RFC 1870 §6.1)."""
    with Sandbox([smithlaw], smtp_size_limit=2000) as sb, smtplib.SMTP(sb.mx.host, sb.mx.port, timeout=10) as c:
        c.ehlo()
        code, text = c.mail("c@outside.example", ["SIZE=5000"])
        assert (code, text) == (552, b"5.3.4 Message size exceeds fixed limit")


def test_unknown_user_on_a_single_mailbox_domain(smithlaw):
    """On a firm domain without catch-all, an unknown address gets 550 5.1.1 at RCPT."""
    from .conftest import tenant

    quay = tenant("quaylaw-office365")
    with Sandbox([quay], profile="postfix") as sb:
        sb.deliver(message(), "c@outside.example", ["matters@quaylaw.example"])
        with pytest.raises(SmtpRejected, match="550 5.1.1"):
            sb.deliver(message(), "c@outside.example", ["nobody@quaylaw.example"])
        assert len(sb.mailbox("matters@quaylaw.example")) == 1


def test_matter_domain_without_hook_is_kept(sandbox):
    """Mail to <id>@<orgkey>.<wildcard domain> is kept in the per-domain list without a hook."""
    sandbox.deliver(message(), "c@outside.example", ["1042@smithlaw.actionstep.example"])
    (kept,) = sandbox.wildcard_mail("smithlaw.actionstep.example")
    assert kept.recipient == "1042@smithlaw.actionstep.example"
    assert b"for <1042@smithlaw.actionstep.example>" in kept.data


def test_matter_domain_hook_is_called(smithlaw):
    """With on_wildcard the hook gets (rcpt, raw bytes) for each matter address."""
    seen: list[tuple[str, bytes]] = []
    done = threading.Event()

    def hook(rcpt: str, raw: bytes) -> None:
        seen.append((rcpt, raw))
        done.set()

    with Sandbox([smithlaw], on_wildcard=hook) as sb:
        sb.deliver(message(subject="matter"), "c@outside.example", ["1043@smithlaw.actionstep.example"])
        assert done.wait(10)
        assert sb.wildcard_mail() == ()
    assert seen[0][0] == "1043@smithlaw.actionstep.example"
    assert b"Subject: matter" in seen[0][1]


def test_failing_hook_never_loses_mail(smithlaw):
    """When the hook raises, the message is kept in the wildcard list instead."""

    def hook(rcpt: str, raw: bytes) -> None:
        raise RuntimeError("pipeline down")

    with Sandbox([smithlaw], on_wildcard=hook) as sb:
        sb.deliver(message(), "c@outside.example", ["1042@smithlaw.actionstep.example"])
        assert len(sb.wildcard_mail()) == 1


def test_smtp_login_falls_back_to_the_mailbox_login():
    """A fetching tenant without its own SMTP login submits with the mailbox's user name and password."""
    import dataclasses

    from mailsupport.config import ServerSettings, TlsMode

    from .conftest import tenant

    smith = tenant("smithlaw-postfix")
    smith = dataclasses.replace(
        smith, outbound=dataclasses.replace(smith.outbound, server=ServerSettings(tls=TlsMode.STARTTLS))
    )
    with Sandbox([smith]) as sb:
        with smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10) as c:
            c.starttls(context=sb.client_context())
            assert c.login(MAILBOX, smith.inbound.server.password.reveal())[0] == 235
