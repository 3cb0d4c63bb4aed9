"""The hostile servers behave honestly except at their one point, and stay bounded themselves."""

from __future__ import annotations

import base64
import poplib
import smtplib
import socket
import time

import pytest

from mailsupport.testing.hostile import HOWS, POP3_POINTS, SMTP_POINTS, HostileServer

MSG = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n.leading dot\r\n"


def _drain(port: int, send: bytes = b"", *, limit: float = 10.0) -> bytes:
    """Read everything the server sends (after ``send``) until it closes; bounded by ``limit`` seconds."""
    out = bytearray()
    deadline = time.monotonic() + limit
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        if send:
            s.sendall(send)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(1 << 16)
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
    return bytes(out)


def test_honest_pop3_keeps_the_maildrop_across_sessions_and_applies_dele_at_quit():
    """An honest session lists, retrieves (dot-stuffed) and deletes at QUIT; the next session sees the rest."""
    with HostileServer("pop3", username="u", password="pw") as srv:
        srv.deliver(MSG, uidl="one")
        srv.deliver(MSG.replace(b"hi", b"two"), uidl="two")
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u")
        p.pass_("pw")
        assert p.uidl()[1] == [b"1 one", b"2 two"]
        lines = p.retr(1)[1]
        assert b".leading dot" in lines
        p.dele(1)
        p.quit()
        assert srv.deleted == ["one"]
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u")
        p.pass_("pw")
        assert p.uidl()[1] == [b"1 two"]
        p.quit()
        assert "PASS ***" in srv.commands_named("PASS")


def test_a_reused_uidl_is_reproduced_by_delivering_under_a_deleted_messages_id():
    """deliver() with a UIDL that was deleted before lists the new message under the old id."""
    with HostileServer("pop3") as srv:
        srv.deliver(MSG, uidl="same")
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u"), p.pass_("x"), p.dele(1), p.quit()
        srv.deliver(MSG.replace(b"body", b"ydob"), uidl="same")
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u"), p.pass_("x")
        assert p.uidl()[1] == [b"1 same"]
        assert b"ydob" in b"\n".join(p.retr(1)[1])
        p.quit()


def test_wrong_password_is_refused_with_auth_code():
    """Credentials other than the configured ones get -ERR [AUTH]."""
    with HostileServer("pop3", username="u", password="pw") as srv:
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u")
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            p.pass_("nope")
        p.close()


@pytest.mark.parametrize("how", ["endless-lines", "endless-line"])
@pytest.mark.parametrize("at", ["greeting", "uidl", "retr"])
def test_endless_answers_stop_at_the_servers_byte_budget(at, how):
    """An endless answer ends when max_bytes is spent, so an unbounded client cannot hang the suite."""
    script = {"greeting": b"", "uidl": b"USER u\r\nPASS p\r\nUIDL\r\n", "retr": b"USER u\r\nPASS p\r\nRETR 1\r\n"}[at]
    with HostileServer("pop3", at=at, how=how, max_bytes=1 << 20) as srv:
        srv.deliver(MSG)
        data = _drain(srv.port, script)
    assert len(data) >= 1 << 20
    assert data.count(b"\n") > 1000 if how == "endless-lines" and at != "greeting" else data.count(b"\n") <= 3


@pytest.mark.parametrize("at,line", [("list", b"4097 100"), ("uidl", b"4097 hostile-4097")])
def test_endless_listing_sends_numbered_well_formed_lines(at, line):
    """endless-listing goes on with valid, numbered LIST/UIDL lines, never the final dot, up to the budget."""
    script = b"USER u\r\nPASS p\r\n" + at.upper().encode() + b"\r\n"
    with HostileServer("pop3", at=at, how="endless-listing", max_bytes=1 << 20) as srv:
        srv.deliver(MSG)
        data = _drain(srv.port, script)
    lines = data.split(b"\r\n")
    assert len(data) >= 1 << 20 and line in lines and b"." not in lines
    start = lines.index(b"+OK listing follows")
    assert [int(x.split()[0]) for x in lines[start + 1 : start + 6]] == [1, 2, 3, 4, 5]


def test_drip_sends_one_byte_per_interval():
    """drip gives the client data in time for every read, and only slowly."""
    with HostileServer("pop3", at="greeting", how="drip", drip_interval=0.05) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=2) as s:
            got = bytearray()
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                got += s.recv(100)
    assert got.startswith(b"+OK")
    assert 3 <= len(got) <= 30


@pytest.mark.parametrize(
    "at,script,expect",
    [
        ("list", b"USER u\r\nPASS p\r\nLIST\r\n", b"1 lots"),
        ("uidl", b"USER u\r\nPASS p\r\nUIDL\r\n", b"seven x"),
        ("stat", b"USER u\r\nPASS p\r\nSTAT\r\n", b"+OK many"),
    ],
    ids=["list", "uidl", "stat"],
)
def test_malformed_answers(at, script, expect):
    """malformed sends a broken answer at its point."""
    with HostileServer("pop3", at=at, how="malformed", lifetime=3) as srv:
        srv.deliver(MSG)
        assert expect in _drain(srv.port, script, limit=1.0)


def test_huge_size_lists_every_message_as_a_petabyte():
    """huge-size makes LIST claim 10**15 octets."""
    with HostileServer("pop3", at="list", how="huge-size") as srv:
        srv.deliver(MSG)
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u"), p.pass_("x")
        assert p.list()[1] == [b"1 1000000000000000"]
        p.quit()


def test_pop3_echo_secret_quotes_the_password():
    """echo-secret at PASS puts the password into the server's words (clients must scrub it)."""
    with HostileServer("pop3", at="pass", how="echo-secret") as srv:
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("u")
        with pytest.raises(poplib.error_proto) as err:
            p.pass_("s3cret-pw")
        p.close()
    assert b"s3cret-pw" in err.value.args[0]
    assert all("s3cret" not in line for _s, line in srv.commands)


def test_honest_smtp_accepts_mail_and_auth():
    """An honest SMTP session authenticates and records the message."""
    with HostileServer("smtp", username="u", password="pw") as srv:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=5) as s:
            s.login("u", "pw")
            s.sendmail("a@example.org", ["b@example.org"], MSG)
    assert srv.received[0][:2] == ("a@example.org", ("b@example.org",))
    assert b".leading dot" in srv.received[0][2]


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_smtp_echo_secret_quotes_the_credentials(mech):
    """echo-secret at AUTH answers 535 with the credentials in it, plain or base64."""
    with HostileServer("smtp", at="auth", how="echo-secret") as srv:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=5) as s:
            s.ehlo()
            s.user, s.password = "u", "s3cret-pw"
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                s.auth(mech, getattr(s, f"auth_{mech.lower()}"))
    words = err.value.smtp_error
    assert b"s3cret-pw" in words or base64.b64encode(b"\0u\0s3cret-pw") in words


def test_smtp_login_only_is_offered_and_its_echo_quotes_the_real_user_and_password():
    """Offering only LOGIN makes smtplib use it (user as initial response); the echo shows both as sent."""
    with HostileServer("smtp", at="auth", how="echo-secret", auth_mechanisms="LOGIN") as srv:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=5) as s:
            s.ehlo()
            assert s.esmtp_features["auth"].split() == ["LOGIN"]
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                s.login("u@example.org", "s3cret-pw")
    assert b"user u@example.org password s3cret-pw" in err.value.smtp_error
    assert srv.commands_named("AUTH") == ["AUTH ***"]


def test_smtp_unoffered_mechanism_is_refused():
    """AUTH with a mechanism the server did not offer gets 504."""
    with HostileServer("smtp", auth_mechanisms="LOGIN") as srv:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=5) as s:
            s.ehlo()
            assert s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0u\0p").decode())[0] == 504


def test_smtp_endless_ehlo_stops_at_budget():
    """250- lines forever end at max_bytes."""
    with HostileServer("smtp", at="ehlo", how="endless-lines", max_bytes=1 << 20) as srv:
        data = _drain(srv.port, b"EHLO me\r\n")
    assert len(data) >= 1 << 20 and data.count(b"250-") > 1000


def test_every_point_and_way_is_accepted_and_unknown_ones_refused():
    """The tables list what the constructor accepts; anything else is a ValueError naming the choices."""
    for at in POP3_POINTS:
        for how in HOWS:
            HostileServer("pop3", at=at, how=how).close()
    for at in SMTP_POINTS:
        HostileServer("smtp", at=at).close()
    with pytest.raises(ValueError, match="choose one of"):
        HostileServer("pop3", at="nowhere")
    with pytest.raises(ValueError, match="pop3"):
        HostileServer("imap")


def test_lifetime_ends_a_session_that_would_go_on_forever():
    """After its lifetime the server stops even an endless drip and accepts no more sessions."""
    with HostileServer("pop3", at="greeting", how="drip", drip_interval=0.01, lifetime=0.5) as srv:
        started = time.monotonic()
        data = _drain(srv.port, limit=10.0)
        assert time.monotonic() - started < 5
        assert data.startswith(b"+OK")
        assert srv._stop.wait(5)
