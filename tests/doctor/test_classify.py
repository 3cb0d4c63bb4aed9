"""The classifier as a table: a failed rung (code + the server's words) and a provider give one check id."""

from __future__ import annotations

import pytest

from mailsupport.config import Provider, ServerSettings, TlsMode
from mailsupport.doctor import SETTINGS_CHECKS, classify_probe
from mailsupport.doctor.report import ProbeResult, Rung

ROWS = [
    # id, direction, provider, step, code, reply, facts, expected
    (
        "pop-auth",
        "pop3",
        "other",
        "auth",
        "auth-rejected",
        "-ERR [AUTH] Authentication failed.",
        (),
        "settings.auth-failed",
    ),
    ("pop-no-code", "pop3", "other", "auth", "auth-rejected", "-ERR invalid password", (), "settings.auth-failed"),
    (
        "smtp-535",
        "smtp",
        "other",
        "auth",
        "auth-rejected",
        "535 5.7.8 Error: authentication failed",
        (),
        "settings.auth-failed",
    ),
    (
        "pop-locked",
        "pop3",
        "other",
        "auth",
        "auth-rejected",
        "-ERR [AUTH] Account is locked.",
        (),
        "settings.account-locked",
    ),
    (
        "o365-disabled",
        "pop3",
        "other",
        "auth",
        "auth-rejected",
        "-ERR Logon failure: the user account is disabled.",
        (),
        "settings.account-locked",
    ),
    ("sys-temp", "pop3", "other", "auth", "auth-rejected", "-ERR [SYS/TEMP] try later", (), "settings.login-refused"),
    (
        "smtp-454",
        "smtp",
        "other",
        "auth",
        "auth-rejected",
        "454 4.7.0 Temporary authentication failure",
        (),
        "settings.login-refused",
    ),
    (
        "in-use",
        "pop3",
        "other",
        "auth",
        "auth-rejected",
        "-ERR [IN-USE] Mailbox locked by another session",
        (),
        "settings.mailbox-in-use",
    ),
    ("login-delay", "pop3", "other", "auth", "auth-rejected", "-ERR [LOGIN-DELAY] wait", (), "settings.login-delay"),
    (
        "o365-pop",
        "pop3",
        "office365",
        "auth",
        "auth-rejected",
        "-ERR Logon failure: unknown user name or bad password.",
        (("method", "USER"),),
        "settings.o365-basic-auth-retired",
    ),
    (
        "o365-host",
        "pop3",
        "other",
        "auth",
        "auth-rejected",
        "-ERR Logon failure: unknown user name or bad password.",
        (("method", "USER"),),
        "settings.o365-basic-auth-retired",
    ),
    (
        "o365-139",
        "smtp",
        "other",
        "auth",
        "auth-rejected",
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        (),
        "settings.o365-basic-auth-retired",
    ),
    (
        "o365-30",
        "smtp",
        "other",
        "auth",
        "auth-rejected",
        "550 5.7.30 Basic authentication is not supported for Client Submission",
        (),
        "settings.o365-basic-auth-retired",
    ),
    (
        "gmail-534",
        "smtp",
        "gmail",
        "auth",
        "auth-rejected",
        "534-5.7.9 Application-specific password required. / 534 5.7.9 https://support.google.com",
        (),
        "settings.gmail-app-password-required",
    ),
    (
        "gmail-pop",
        "pop3",
        "gmail",
        "auth",
        "auth-rejected",
        "-ERR [SYS/PERM] Your account is not enabled for POP access.",
        (),
        "settings.gmail-pop-disabled",
    ),
    (
        "oauth-401",
        "smtp",
        "gmail",
        "auth",
        "xoauth2-rejected",
        "334 eyJ... / 535 5.7.8",
        (("method", "XOAUTH2"), ("oauth_status", "401")),
        "settings.oauth-token-expired",
    ),
    (
        "oauth-400",
        "smtp",
        "gmail",
        "auth",
        "xoauth2-rejected",
        "334 eyJ... / 535 5.7.8",
        (("method", "XOAUTH2"), ("oauth_status", "400")),
        "settings.login-refused",
    ),
    (
        "auth-required",
        "smtp",
        "other",
        "final",
        "mail-from-rejected",
        "530 5.7.0 Authentication required",
        (),
        "settings.credentials-missing",
    ),
    (
        "o365-57",
        "smtp",
        "office365",
        "final",
        "mail-from-rejected",
        "530 5.7.57 Client not authenticated to send mail.",
        (),
        "settings.credentials-missing",
    ),
    (
        "relay",
        "smtp",
        "other",
        "final",
        "rcpt-rejected",
        "554 5.7.1 Relay access denied",
        (),
        "settings.recipient-rejected",
    ),
    ("stat", "pop3", "other", "final", "final-rejected", "-ERR mailbox corrupt", (), "settings.mailbox-unavailable"),
    ("connect-timeout", "pop3", "other", "connect", "timeout", "", (), "settings.connection-timeout"),
    ("greeting-timeout", "pop3", "other", "greeting", "timeout", "", (), "settings.no-greeting"),
    ("auth-timeout", "pop3", "other", "auth", "timeout", "", (), "settings.server-stalled"),
    (
        "no-xoauth2",
        "pop3",
        "office365",
        "auth",
        "auth-not-offered",
        "-ERR Unsupported authentication mechanism.",
        (),
        "settings.auth-not-offered",
    ),
    ("tls-version", "smtp", "other", "tls", "tls-version", "", (), "settings.tls-version"),
]


@pytest.mark.parametrize(
    "direction,provider,step,code,reply,facts,expected", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_classify_table(direction, provider, step, code, reply, facts, expected):
    """Each failure reads as the cause a person would name."""
    host = "outlook.office365.com" if "o365-host" in reply or provider == "office365" else "mail.example.com"
    if reply.startswith("-ERR Logon failure: unknown") and provider == "other":
        host = "outlook.office365.com"
    server = ServerSettings(host=host, port=995, tls=TlsMode.IMPLICIT)
    rung = Rung(step=step, ok=False, ms=1.0, detail="x", reply=reply, code=code, facts=facts)
    probe = ProbeResult(direction=direction, endpoint=server.endpoint, tls="implicit", rungs=(rung,))
    (finding,) = classify_probe(probe, provider=Provider(provider), server=server)
    assert finding.check == expected
    assert expected in SETTINGS_CHECKS
    assert finding.remedy
    if reply:
        assert dict(finding.evidence)["server said"] == reply


def test_every_check_has_a_meaning_and_ids_are_namespaced():
    """SETTINGS_CHECKS documents every id under settings.*."""
    assert all(k.startswith("settings.") and v for k, v in SETTINGS_CHECKS.items())


def test_every_id_the_doctor_can_emit_is_documented():
    """Any settings.* id written anywhere in the doctor's code is in SETTINGS_CHECKS."""
    import re
    from pathlib import Path

    import mailsupport.doctor as doctor

    ids = set()
    for path in Path(doctor.__file__).parent.glob("*.py"):
        ids.update(re.findall(r"\"(settings\.[a-z0-9-]+)\"", path.read_text()))
    assert ids and ids <= set(SETTINGS_CHECKS), sorted(ids - set(SETTINGS_CHECKS))
