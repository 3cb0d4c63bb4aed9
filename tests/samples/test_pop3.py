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


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    """Dovecot serving one Maildir holding the generated Postfix catch-all messages."""
    from mailsupport.testing.realservers import Dovecot, require_real_servers, write_maildir
    require_real_servers()
    server = Dovecot(root=tmp_path_factory.mktemp("dovecot"), users={"matters": "canary-4b1d-pop-sample"})
    with server:
        write_maildir(server.maildir("matters"), [raw for _n, raw in catchall_postfix_messages()])
        yield server


def _settings(server, **kw):
    base = dict(host="127.0.0.1", port=server.tls_port, tls=TlsMode.IMPLICIT, username="matters",
                password=Secret("canary-4b1d-pop-sample"), ca_file=server.ca_file, timeout=10)
    base.update(kw)
    return ServerSettings(**base)


def test_reads_every_message_and_deletes_nothing(dovecot):
    """RETR every message over verified TLS; a second read finds them all still there."""
    expected = [raw for _n, raw in catchall_postfix_messages()]
    got = list(iter_pop3(_settings(dovecot)))
    assert [g.data.replace(b"\r\n", b"\n") for g in got] == expected
    assert [g.position for g in got] == [str(i) for i in range(1, len(expected) + 1)]
    again = list(scan_pop3(_settings(dovecot), headers_only=True))
    assert len(again) == len(expected) and again[0].source.startswith("pop3://127.0.0.1:")
    assert again[0].candidates[0].header == "X-Original-To"
    maildir = dovecot.maildir("matters")
    assert len(list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())) == len(expected)


def test_certificate_is_verified(dovecot):
    """Without the sandbox CA the throwaway certificate is refused."""
    with pytest.raises(ConnectError):
        list(iter_pop3(_settings(dovecot, ca_file=None)))


def test_plaintext_login_needs_explicit_consent(dovecot):
    """An unencrypted connection is refused unless allow_plaintext_auth is set."""
    with pytest.raises(ConfigError, match="unencrypted"):
        list(iter_pop3(_settings(dovecot, port=dovecot.port, tls=TlsMode.NONE)))
    got = list(iter_pop3(_settings(dovecot, port=dovecot.port, tls=TlsMode.NONE, allow_plaintext_auth=True),
                         limit=2))
    assert len(got) == 2


def test_wrong_password_is_auth_error_without_the_password(dovecot):
    """A rejected login raises AuthError naming the user, never the password."""
    with pytest.raises(AuthError) as info:
        list(iter_pop3(_settings(dovecot, password=Secret("canary-4b1d-wrong"))))
    assert "matters" in str(info.value) and "canary" not in str(info.value)
