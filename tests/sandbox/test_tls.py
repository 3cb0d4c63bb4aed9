"""The throwaway CA and the deliberately bad certificates, seen by verifying clients."""

from __future__ import annotations

import poplib
import smtplib
import ssl

import pytest

from mailsupport.sandbox import CertKind, Sandbox


@pytest.mark.parametrize(
    "kind, reason",
    [
        (CertKind.EXPIRED, "certificate has expired"),
        (CertKind.WRONG_HOST, "mismatch"),
        (CertKind.SELF_SIGNED, "self.signed certificate"),
    ],
    ids=["expired", "wrong-host", "self-signed"],
)
def test_bad_certificates_fail_verification_on_every_listener(sandbox, kind, reason):
    """Each bad certificate fails verification for implicit TLS, STLS and STARTTLS alike."""
    sandbox.set_certificate(kind)
    ctx = sandbox.client_context()
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        poplib.POP3_SSL(sandbox.pop3_tls.host, sandbox.pop3_tls.port, context=ctx, timeout=10)
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        pop.stls(context=ctx)
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        with pytest.raises(ssl.SSLCertVerificationError, match=reason):
            c.starttls(context=ctx)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        smtplib.SMTP_SSL(sandbox.smtp_tls.host, sandbox.smtp_tls.port, context=ctx, timeout=10)


def test_switching_back_to_the_good_certificate(sandbox):
    """After a bad certificate, set_certificate('good') makes verification pass again."""
    sandbox.set_certificate("expired")
    sandbox.set_certificate("good")
    poplib.POP3_SSL(sandbox.pop3_tls.host, sandbox.pop3_tls.port, context=sandbox.client_context(), timeout=10).quit()


def test_certificate_chosen_at_construction(smithlaw):
    """Sandbox(certificate=...) serves that certificate from the start."""
    with Sandbox([smithlaw], certificate="self-signed") as sb:
        with pytest.raises(ssl.SSLCertVerificationError):
            smtplib.SMTP_SSL(sb.smtp_tls.host, sb.smtp_tls.port, context=sb.client_context(), timeout=10)


def test_good_certificate_names_localhost_too(sandbox):
    """The good certificate verifies for 'localhost' as well as 127.0.0.1."""
    pop = poplib.POP3_SSL("localhost", sandbox.pop3_tls.port, context=sandbox.client_context(), timeout=10)
    pop.quit()


def test_ca_file_is_removed_when_the_sandbox_stops(smithlaw):
    """The throwaway CA lives only as long as the sandbox."""
    import os

    with Sandbox([smithlaw]) as sb:
        path = sb.ca_file
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_a_stopped_sandbox_cannot_restart(smithlaw):
    """start() after stop() says to make a new Sandbox instead of serving without its CA file."""
    sb = Sandbox([smithlaw]).start()
    sb.stop()
    with pytest.raises(RuntimeError, match="make a new Sandbox"):
        sb.start()
