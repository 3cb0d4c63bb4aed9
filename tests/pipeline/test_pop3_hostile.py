"""The POP3 client against servers that misbehave at one point: every read ends, clean errors, no secret."""

from __future__ import annotations

import traceback

import pytest

from mailsupport.config import ServerSettings, TlsMode
from mailsupport.errors import (
    AuthError,
    ConfigError,
    ConnectError,
    DeadlineExceeded,
    LimitExceeded,
    OperationError,
    ProtocolError,
)
from mailsupport.limits import Deadline, Limits
from mailsupport.model import Secret
from mailsupport.pop3 import Pop3Client
from mailsupport.testing.hostile import HostileServer

pytestmark = pytest.mark.timeout(60)

PASSWORD = "canary-4b1d-hostile-pw"
MSG = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n.leading dot\r\n"


def settings(port: int, **kw) -> ServerSettings:
    """Plain-TCP settings for the hostile server (0.5 s per read, so a step has 1.5 s)."""
    base = dict(
        host="127.0.0.1",
        port=port,
        tls=TlsMode.NONE,
        username="u",
        password=Secret(PASSWORD),
        allow_plaintext_auth=True,
        timeout=0.5,
    )
    base.update(kw)
    return ServerSettings(**base)


def session(client: Pop3Client) -> None:
    """Everything the fetcher does, in order: CAPA, STAT, LIST+UIDL, TOP, RETR, DELE, QUIT."""
    client.capabilities()
    client.stat()
    [entry] = client.listing()
    client.top(entry.number)
    client.retr(entry.number)
    client.dele(entry.number)
    client.quit()


CASES = [
    ("greeting", "endless-line", LimitExceeded, "greeting"),
    ("greeting", "endless-lines", LimitExceeded, "greeting"),
    ("greeting", "drip", DeadlineExceeded, "greeting did not finish"),
    ("greeting", "malformed", ProtocolError, "'*OK hello'"),
    ("greeting", "close", ProtocolError, "closed the connection during greeting"),
    ("capa", "endless-lines", LimitExceeded, "CAPA answer ran past 1,000 lines"),
    ("capa", "drip", DeadlineExceeded, "CAPA did not finish"),
    ("user", "endless-line", LimitExceeded, "USER"),
    ("stat", "malformed", ProtocolError, "'+OK many'"),
    ("stat", "endless-line", LimitExceeded, "STAT"),
    ("list", "endless-lines", ProtocolError, "a LIST line is 'number size'"),
    ("list", "malformed", ProtocolError, "'1 lots'"),
    ("list", "drip", DeadlineExceeded, "LIST did not finish"),
    ("uidl", "malformed", ProtocolError, "a UIDL line"),
    ("uidl", "endless-line", LimitExceeded, "UIDL"),
    ("top", "endless-lines", LimitExceeded, "TOP 1 0"),
    ("top", "malformed", ProtocolError, "TOP 1 0 timed out"),
    ("retr", "endless-lines", LimitExceeded, "listed as 56 octets) ran past 65,648 bytes"),
    ("retr", "endless-line", LimitExceeded, "RETR 1"),
    ("retr", "drip", DeadlineExceeded, "RETR 1 did not finish"),
    ("retr", "close", ProtocolError, "closed the connection during RETR 1"),
    ("dele", "endless-line", LimitExceeded, "DELE 1"),
    ("quit", "drip", DeadlineExceeded, "QUIT did not finish"),
]


@pytest.mark.parametrize("at,how,error,words", CASES, ids=[f"{a}-{h}" for a, h, _e, _w in CASES])
def test_every_misbehaviour_ends_in_a_clean_error(at, how, error, words):
    """Each hostile point and way ends the session with the right error naming the step, and closes it."""
    with HostileServer("pop3", at=at, how=how, lifetime=30, drip_interval=0.1) as srv:
        srv.deliver(MSG, uidl="one")
        client = Pop3Client(settings(srv.port))
        with pytest.raises(error) as err:
            client.open()
            session(client)
        assert words in str(err.value) and f"127.0.0.1:{srv.port}" in str(err.value)
        assert not client.connected
        assert srv.bytes_sent < srv.max_bytes
        if at != "quit":  # (this server applies the DELE on QUIT before misbehaving)
            assert srv.deleted == []  # no QUIT after a failed step, so no DELE applied


def test_huge_listed_size_is_reported_not_trusted():
    """LIST claiming 10**15 octets: the listing says so, and RETR is bounded by the message limit."""
    with HostileServer("pop3", at="list", how="huge-size") as srv:
        srv.deliver(MSG, uidl="one")
        with Pop3Client(settings(srv.port)) as client:
            [entry] = client.listing()
            assert entry.size == 10**15
            assert client.retr(1) == MSG  # an honest message under a lying size is read whole
            client.quit()


def test_a_message_over_the_limit_is_refused():
    """A message bigger than max_message_bytes is a LimitExceeded naming its size and the limit."""
    with HostileServer("pop3") as srv:
        srv.deliver(MSG + b"x" * 5000 + b"\r\n", uidl="big")
        with Pop3Client(settings(srv.port), limits=Limits(max_message_bytes=2000)) as client:
            client.listing()
            with pytest.raises(LimitExceeded) as err:
                client.retr(1)
    assert err.value.what == "message" and "message 1 is 5,0" in str(err.value)
    assert "over the limit of 2,000" in str(err.value)


def test_refused_command_keeps_the_connection():
    """A -ERR (no such message) is a ProtocolError quoting the server, and the session goes on."""
    with HostileServer("pop3") as srv:
        srv.deliver(MSG, uidl="one")
        with Pop3Client(settings(srv.port)) as client:
            with pytest.raises(ProtocolError, match="RETR 9 failed: '-ERR no such message'"):
                client.retr(9)
            assert client.connected and client.retr(1) == MSG
            client.quit()


def test_echoed_password_is_scrubbed():
    """A server quoting the PASS argument: the AuthError shows *** where the password was."""
    with HostileServer("pop3", at="pass", how="echo-secret") as srv:
        with pytest.raises(AuthError) as err:
            Pop3Client(settings(srv.port)).open()
    shown = "".join(traceback.format_exception(err.value))  # what a traceback would print
    assert "no such password: ***" in str(err.value) and PASSWORD not in shown


def test_session_deadline_names_the_step_that_hit_it():
    """A session deadline shorter than the step's own stops the step and says both."""
    with HostileServer("pop3", at="retr", how="drip", drip_interval=0.1) as srv:
        srv.deliver(MSG, uidl="one")
        client = Pop3Client(settings(srv.port, timeout=5))
        client.open()
        client.listing()
        client.session = Deadline(0.5, "POP3 session", server=client.server)
        with pytest.raises(DeadlineExceeded) as err:
            client.retr(1)
    assert err.value.step == "RETR 1" and "POP3 session deadline of 0.5 s ran out" in str(err.value)


def test_plaintext_refused_for_tokens_too():
    """Neither a password nor an OAuth token is sent unencrypted without allow_plaintext_auth."""
    with HostileServer("pop3") as srv:
        for secret in ({"password": Secret(PASSWORD)}, {"password": None, "oauth_token": Secret(PASSWORD)}):
            with pytest.raises(ConfigError, match="unencrypted"):
                Pop3Client(settings(srv.port, allow_plaintext_auth=False, **secret)).open()
        assert srv.commands_named("PASS") == [] and srv.commands_named("AUTH") == []


def test_connection_refused_is_connect_error():
    """Nothing listening: ConnectError naming the server."""
    with HostileServer("pop3") as srv:
        port = srv.port
    with pytest.raises(ConnectError, match="cannot connect"):
        Pop3Client(settings(port)).open()


def test_errors_are_operation_errors_not_library_ones():
    """Whatever the hostile point, only the kit's OperationError family escapes (never OSError, ValueError)."""
    for at in ("greeting", "capa", "stat", "list", "uidl", "retr"):
        with HostileServer("pop3", at=at, how="close", lifetime=10) as srv:
            srv.deliver(MSG)
            with pytest.raises(OperationError):
                client = Pop3Client(settings(srv.port)).open()
                session(client)


def test_data_after_the_stls_answer_is_refused():
    """Bytes after +OK to STLS, before TLS began (an injection), end the session before any password is sent."""
    from mailsupport.testing.faultproxy import Fault, FaultProxy

    with (
        HostileServer("pop3") as srv,
        FaultProxy(srv.port, [Fault(command=r"^STLS$", reply=b"+OK begin TLS\r\n+OK injected answer\r\n")]) as px,
    ):
        client = Pop3Client(settings(px.port, tls=TlsMode.STARTTLS))
        with pytest.raises(ProtocolError, match="sent data after its STLS answer"):
            client.open()
        assert not client.connected and srv.commands_named("PASS") == []
