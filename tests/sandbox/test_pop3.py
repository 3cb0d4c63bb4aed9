"""The sandbox POP3 server through poplib: RFC 1939 states, RFC 2449 CAPA/codes, STLS, TLS."""

from __future__ import annotations

import base64
import poplib
import ssl
import threading

import pytest

from mailsupport.sandbox import Sandbox
from mailsupport.tlsutil import client_context

from .conftest import message

USER = "matters@smithlaw.example"


def login(sb: Sandbox, tenant, *, tls: str = "stls") -> poplib.POP3:
    """A logged-in poplib client (STLS by default)."""
    pw = tenant.inbound.server.password.reveal()
    if tls == "implicit":
        client = poplib.POP3_SSL(sb.pop3_tls.host, sb.pop3_tls.port, context=sb.client_context(), timeout=10)
    else:
        client = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        if tls == "stls":
            client.stls(context=sb.client_context())
    client.user(USER)
    client.pass_(pw)
    return client


def test_plain_login_lists_and_retrieves(sandbox, smithlaw):
    """USER/PASS over a plain connection, then STAT, LIST, RETR of a delivered message."""
    sandbox.deliver(message("one"), "client@outside.example", ["1042@smithlaw.example"])
    pop = login(sandbox, smithlaw, tls="none")
    count, size = pop.stat()
    assert count == 1
    resp, listing, _ = pop.list()
    assert listing == [f"1 {size}".encode()]
    resp, lines, octets = pop.retr(1)
    assert resp.startswith(b"+OK")
    assert b"Subject: one" in lines
    pop.quit()


def test_capa_advertises_rfc2449_capabilities_and_stls(sandbox):
    """CAPA lists TOP, UIDL, RESP-CODES, SASL mechanisms and STLS before TLS, not after."""
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    caps = pop.capa()
    assert {"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "USER", "STLS"} <= set(caps)
    assert caps["SASL"] == ["PLAIN", "XOAUTH2"]
    pop.stls(context=sandbox.client_context())
    assert "STLS" not in pop.capa()
    pop.quit()


def test_implicit_tls_verifies_against_the_sandbox_ca(sandbox, smithlaw):
    """POP3 over implicit TLS verifies the certificate with the CA file, host name checked."""
    pop = login(sandbox, smithlaw, tls="implicit")
    assert pop.sock.getpeercert()["subjectAltName"]
    pop.quit()


def test_tls_without_the_sandbox_ca_fails_verification(sandbox):
    """A client trusting only the system store refuses the throwaway CA's certificate."""
    with pytest.raises(ssl.SSLCertVerificationError):
        poplib.POP3_SSL(sandbox.pop3_tls.host, sandbox.pop3_tls.port, context=client_context(), timeout=10)


def test_dele_applies_only_at_quit(sandbox, smithlaw):
    """DELE marks; the message goes only in the UPDATE state after QUIT (RFC 1939 §6)."""
    sandbox.deliver(message("a", message_id="<a@x>"), "c@outside.example", ["a@smithlaw.example"])
    sandbox.deliver(message("b", message_id="<b@x>"), "c@outside.example", ["b@smithlaw.example"])
    pop = login(sandbox, smithlaw)
    pop.dele(1)
    assert pop.stat()[0] == 1
    with pytest.raises(poplib.error_proto, match="deleted"):
        pop.retr(1)
    assert len(sandbox.mailbox(USER)) == 2
    pop.quit()
    remaining = sandbox.mailbox(USER)
    assert [m.message_id for m in remaining] == ["<b@x>"]


def test_connection_closed_without_quit_deletes_nothing(sandbox, smithlaw):
    """A session that ends without QUIT never enters UPDATE: DELE'd mail stays."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    pop = login(sandbox, smithlaw)
    pop.dele(1)
    pop.close()  # no QUIT
    pop2 = sandbox.wait_for(lambda: _try_login(sandbox, smithlaw), what="the lock to be released")
    assert pop2.stat()[0] == 1
    pop2.quit()


def _try_login(sb, tenant):
    try:
        return login(sb, tenant)
    except poplib.error_proto:
        return None


def test_rset_undeletes(sandbox, smithlaw):
    """RSET unmarks every DELE of the session."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    pop = login(sandbox, smithlaw)
    pop.dele(1)
    assert pop.rset().startswith(b"+OK")
    assert pop.stat()[0] == 1
    assert pop.noop().startswith(b"+OK")
    pop.quit()
    assert len(sandbox.mailbox(USER)) == 1


def test_uidl_is_stable_across_sessions(sandbox, smithlaw):
    """UIDLs stay the same in later sessions, also after another message is deleted."""
    sandbox.deliver(message("a", message_id="<a@x>"), "c@outside.example", ["a@smithlaw.example"])
    sandbox.deliver(message("b", message_id="<b@x>"), "c@outside.example", ["b@smithlaw.example"])
    pop = login(sandbox, smithlaw)
    first = pop.uidl()[1]
    uid_b = first[1].split()[1]
    assert pop.uidl(2).split()[2] == uid_b
    pop.dele(1)
    pop.quit()
    pop = login(sandbox, smithlaw)
    assert pop.uidl()[1] == [b"1 " + uid_b]
    pop.quit()


def test_top_returns_headers_and_n_body_lines(sandbox, smithlaw):
    """TOP n k gives the header, the blank line and k body lines."""
    sandbox.deliver(message(body="line1\r\nline2\r\nline3\r\n"), "c@outside.example", ["a@smithlaw.example"])
    pop = login(sandbox, smithlaw)
    resp, lines, _ = pop.top(1, 2)
    assert lines[-3:] == [b"", b"line1", b"line2"]
    assert b"Subject: Hello" in lines
    pop.quit()


def test_dot_stuffing_round_trip(sandbox, smithlaw):
    """Lines starting with a dot survive SMTP (unstuffed) and POP3 (stuffed) unchanged."""
    body = ".leading dot\r\n..two dots\r\n.\r\nend\r\n"
    sandbox.deliver(message(body=body), "c@outside.example", ["a@smithlaw.example"])
    stored = sandbox.mailbox(USER)[0].data
    assert stored.endswith(body.encode())
    pop = login(sandbox, smithlaw)
    pop.sock.sendall(b"RETR 1\r\n")
    raw = b""
    while not raw.endswith(b"\r\n.\r\n"):
        raw += pop.sock.recv(65536)
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n" in raw
    assert poplib.POP3.retr(pop, 1)[1][-4:] == [b".leading dot", b"..two dots", b".", b"end"]
    pop.quit()


def test_second_session_gets_in_use(sandbox, smithlaw):
    """The mailbox is locked for one session; a second login gets [IN-USE] (RFC 2449 §8.1.2)."""
    first = login(sandbox, smithlaw)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        login(sandbox, smithlaw)
    first.quit()
    login(sandbox, smithlaw).quit()


def test_wrong_password_gets_auth_code(sandbox):
    """A wrong password is refused with the [AUTH] response code."""
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    pop.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        pop.pass_("wrong")
    pop.quit()


def test_apop_login(smithlaw):
    """APOP with the greeting's timestamp and the shared secret logs in (RFC 1939 §7)."""
    with Sandbox([smithlaw], apop=True) as sb:
        pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        assert b"<" in pop.getwelcome()
        assert pop.apop(USER, smithlaw.inbound.server.password.reveal()).startswith(b"+OK")
        pop.quit()
        pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            pop.apop(USER, "wrong")
        pop.quit()


def test_auth_plain_with_initial_response(sandbox, smithlaw):
    """AUTH PLAIN with an initial response (RFC 5034) logs in."""
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    pop.stls(context=sandbox.client_context())
    blob = base64.b64encode(f"\0{USER}\0{smithlaw.inbound.server.password.reveal()}".encode()).decode()
    assert pop._shortcmd(f"AUTH PLAIN {blob}").startswith(b"+OK")
    assert pop.stat()[0] == 0
    pop.quit()


def test_auth_xoauth2_with_continuation(sandbox):
    """AUTH XOAUTH2 answered after a '+ ' continuation, with a sandbox-issued token."""
    token = sandbox.issue_token(USER)
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    pop.stls(context=sandbox.client_context())
    pop._putcmd("AUTH XOAUTH2")
    assert pop._getline()[0].startswith(b"+")
    blob = base64.b64encode(f"user={USER}\x01auth=Bearer {token.reveal()}\x01\x01".encode()).decode()
    assert pop._shortcmd(blob).startswith(b"+OK")
    pop.quit()


def test_expired_token_refused(sandbox):
    """An expired XOAUTH2 token is refused with [AUTH]."""
    token = sandbox.issue_token(USER, expired=True)
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    blob = base64.b64encode(f"user={USER}\x01auth=Bearer {token.reveal()}\x01\x01".encode()).decode()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        pop._shortcmd(f"AUTH XOAUTH2 {blob}")
    pop.quit()


def test_commands_out_of_state_are_refused(sandbox):
    """TRANSACTION commands before login and PASS without USER are errors, not crashes."""
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    for cmd in ("STAT", "RETR 1", "PASS x", "FOO"):
        with pytest.raises(poplib.error_proto):
            pop._shortcmd(cmd)
    pop.quit()


def test_messages_delivered_after_login_are_not_in_the_session(sandbox, smithlaw):
    """A session works on the snapshot taken at login; new mail shows in the next session."""
    pop = login(sandbox, smithlaw)
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    assert pop.stat()[0] == 0
    pop.quit()
    pop = login(sandbox, smithlaw)
    assert pop.stat()[0] == 1
    pop.quit()


def test_concurrent_logins_exactly_one_wins(sandbox, smithlaw):
    """Of several simultaneous logins to one mailbox exactly one gets the lock."""
    results: list[object] = []

    def attempt():
        try:
            results.append(login(sandbox, smithlaw))
        except poplib.error_proto as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    winners = [r for r in results if isinstance(r, poplib.POP3)]
    assert len(winners) == 1
    assert all("[IN-USE]" in str(r) for r in results if not isinstance(r, poplib.POP3))
    winners[0].quit()
