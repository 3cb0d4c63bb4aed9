"""Reading a live POP3 mailbox (a private Dovecot on 127.0.0.1) without deleting anything."""

from __future__ import annotations

import pytest

from mailsupport.config import ServerSettings, TlsMode
from mailsupport.errors import AuthError, ConfigError, ConnectError
from mailsupport.model import Secret
from mailsupport.samples import scan_pop3
from mailsupport.samples.generate import catchall_postfix_messages
from mailsupport.samples.pop3 import iter_pop3

pytestmark = [pytest.mark.realservers, pytest.mark.timeout(120)]


@pytest.fixture
def mailbox(dovecot, pop_user):
    """A fresh POP3 user of the session's Dovecot holding the generated Postfix catch-all messages."""
    from mailsupport.testing.realservers import write_maildir

    name, maildir = pop_user
    write_maildir(maildir, [raw for _n, raw in catchall_postfix_messages()])
    return dovecot, name, maildir


def _settings(mailbox, **kw):
    server, user, _maildir = mailbox
    base = dict(
        host="127.0.0.1",
        port=server.tls_port,
        tls=TlsMode.IMPLICIT,
        username=user,
        password=Secret(server.password),
        ca_file=server.ca_file,
        timeout=10,
    )
    base.update(kw)
    return ServerSettings(**base)


def test_reads_every_message_and_deletes_nothing(mailbox):
    """RETR every message over verified TLS; a second read finds them all still there."""
    expected = [raw for _n, raw in catchall_postfix_messages()]
    got = list(iter_pop3(_settings(mailbox)))
    assert [g.data.replace(b"\r\n", b"\n") for g in got] == expected
    assert [g.position for g in got] == [str(i) for i in range(1, len(expected) + 1)]
    again = list(scan_pop3(_settings(mailbox), headers_only=True))
    assert len(again) == len(expected) and again[0].source.startswith("pop3://127.0.0.1:")
    assert again[0].candidates[0].header == "X-Original-To"
    maildir = mailbox[2]
    assert len(list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())) == len(expected)


def test_certificate_is_verified(mailbox):
    """Without the sandbox CA the throwaway certificate is refused."""
    with pytest.raises(ConnectError):
        list(iter_pop3(_settings(mailbox, ca_file=None)))


def test_plaintext_login_needs_explicit_consent(mailbox):
    """An unencrypted connection is refused unless allow_plaintext_auth is set."""
    port = mailbox[0].port
    with pytest.raises(ConfigError, match="unencrypted"):
        list(iter_pop3(_settings(mailbox, port=port, tls=TlsMode.NONE)))
    got = list(iter_pop3(_settings(mailbox, port=port, tls=TlsMode.NONE, allow_plaintext_auth=True), limit=2))
    assert len(got) == 2


def test_wrong_password_is_auth_error_without_the_password(mailbox):
    """A rejected login raises AuthError naming the user, never the password."""
    with pytest.raises(AuthError) as info:
        list(iter_pop3(_settings(mailbox, password=Secret("canary-4b1d-wrong"))))
    assert mailbox[1] in str(info.value) and "canary" not in str(info.value)


def test_scan_command_reads_a_live_mailbox(mailbox, tmp_path, capsys):
    """`mailsupport scan --pop3 TENANT_FILE --headers-only` lists the live messages and leaves them there."""
    from mailsupport.cli import main

    server, user, maildir = mailbox
    tenant = tmp_path / "t.toml"
    tenant.write_text(f"""org_key = "livecheck"
[inbound]
address = "matters@smithlaw.example"
kind = "catch-all"
[inbound.server]
host = "127.0.0.1"
port = {server.tls_port}
tls = "implicit"
username = "{user}"
password = "{server.password}"
ca_file = "{server.ca_file}"
""")
    code = main(["scan", "--pop3", str(tenant), "--headers-only", "--format", "csv"])
    out = capsys.readouterr().out
    assert code == 0 and len(out.strip().splitlines()) == 1 + len(catchall_postfix_messages())
    assert "X-Original-To: 1042@smithlaw.example" in out
    assert len(list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())) == len(
        catchall_postfix_messages()
    )
