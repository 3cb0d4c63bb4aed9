"""Deterministic faults, each through a real client: same input, same failure, every time."""

from __future__ import annotations

import poplib
import smtplib

import pytest

from mailsupport.errors import SmtpRejected
from mailsupport.sandbox import Action, Fault, Sandbox, Stage

from .conftest import message

USER = "matters@smithlaw.example"


def pop_login(sb: Sandbox, tenant, *, timeout: float = 10) -> poplib.POP3:
    pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=timeout)
    pop.user(USER)
    pop.pass_(tenant.inbound.server.password.reveal())
    return pop


def smtp_login(sb: Sandbox, tenant) -> smtplib.SMTP:
    c = smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10)
    c.starttls(context=sb.client_context())
    c.login(tenant.outbound.server.username, tenant.outbound.server.password.reveal())
    return c


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"stage": "retr", "service": "smtp"}, "does not exist in smtp"),
        ({"stage": "rcpt", "service": "pop3"}, "does not exist in pop3"),
        ({"stage": "mail", "action": "partial"}, "only applies to the retr and top"),
        ({"stage": "auth", "action": "wrong-greeting"}, "only applies to the greeting"),
        ({"stage": "auth", "service": "imap"}, "must be 'any', 'smtp' or 'pop3'"),
        ({"stage": "stall", "action": "reply"}, "stall"),
    ],
    ids=["retr-smtp", "rcpt-pop3", "partial-mail", "wrong-greeting-auth", "bad-service", "bad-stage"],
)
def test_invalid_faults_are_refused(kwargs, error):
    """A fault that cannot happen is refused when it is made, with a message saying why."""
    with pytest.raises(ValueError, match=error):
        Fault(**kwargs)


def test_fault_is_frozen_and_hashable():
    """Faults are frozen values: usable in sets, not changeable."""
    f = Fault(stage=Stage.RCPT, match="*@x", reply="450 busy")
    assert f in {f}
    with pytest.raises(AttributeError):
        f.reply = "other"  # type: ignore[misc]


# ------------------------------------------------------------------ SMTP


def test_smtp_connect_drop(sandbox):
    """connect + drop: the client sees the connection close before any greeting."""
    sandbox.add_fault(Fault(stage=Stage.CONNECT, action=Action.DROP, service="smtp", match="mx"))
    for _ in range(2):  # same input, same failure
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP(sandbox.mx.host, sandbox.mx.port, timeout=10)
    smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10).quit()  # other listener unaffected


def test_smtp_greeting_reply(sandbox):
    """greeting + reply: a 554 banner makes smtplib refuse the connection."""
    sandbox.add_fault(
        Fault(stage=Stage.GREETING, service="smtp", reply="554 5.3.2 mx.sandbox.test Service unavailable")
    )
    with pytest.raises(smtplib.SMTPConnectError) as info:
        smtplib.SMTP(sandbox.mx.host, sandbox.mx.port, timeout=10)
    assert info.value.smtp_code == 554


def test_smtp_wrong_greeting_is_a_pop3_banner(sandbox):
    """greeting + wrong-greeting: the SMTP port answers like a POP3 server (wrong port in the settings)."""
    sandbox.add_fault(Fault(stage=Stage.GREETING, action=Action.WRONG_GREETING, service="smtp"))
    with pytest.raises(smtplib.SMTPConnectError) as info:
        smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10)
    assert info.value.smtp_code == -1  # "+OK" is no SMTP reply code
    assert b"POP3 server ready" in info.value.smtp_error


def test_smtp_greeting_stall_until_client_gives_up(sandbox):
    """greeting + stall forever: the client's own timeout is what ends the wait."""
    sandbox.add_fault(Fault(stage=Stage.GREETING, action=Action.STALL, service="smtp"))
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        smtplib.SMTP(sandbox.mx.host, sandbox.mx.port, timeout=0.5)


def test_smtp_starttls_refused(sandbox):
    """starttls + reply: STARTTLS answered 454, the client cannot secure the session."""
    sandbox.add_fault(
        Fault(stage=Stage.STARTTLS, service="smtp", reply="454 4.7.0 TLS not available due to local problem")
    )
    with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port, timeout=10) as c:
        with pytest.raises(smtplib.SMTPResponseException) as info:
            c.starttls(context=sandbox.client_context())
    assert info.value.smtp_code == 454


def test_smtp_auth_fault_matches_the_user_name(sandbox, smithlaw):
    """auth + match on the user name: only that user gets the temporary failure."""
    sandbox.add_fault(Fault(stage=Stage.AUTH, match="matters@*", reply="454 4.7.0 Temporary authentication failure"))
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        smtp_login(sandbox, smithlaw)
    assert info.value.smtp_code == 454
    sandbox.clear_faults()
    smtp_login(sandbox, smithlaw).quit()


def test_smtp_mail_fault_matches_the_sender(sandbox):
    """mail + sender pattern: the matching sender is refused, another goes through."""
    sandbox.add_fault(Fault(stage=Stage.MAIL, match="*@blocked.example", reply="550 5.7.1 Sender rejected"))
    with pytest.raises(SmtpRejected, match="550 5.7.1 Sender rejected") as info:
        sandbox.deliver(message(), "x@blocked.example", ["a@smithlaw.example"])
    assert info.value.stage == "MAIL"
    sandbox.deliver(message(), "x@fine.example", ["a@smithlaw.example"])


def test_smtp_rcpt_fault_refuses_one_recipient(sandbox):
    """rcpt + recipient pattern: that recipient is refused, the others are delivered."""
    sandbox.add_fault(Fault(stage=Stage.RCPT, match="b@*", reply="450 4.2.0 <b@smithlaw.example>: Mailbox busy"))
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example", "b@smithlaw.example"])
    assert [m.recipients for m in sandbox.mailbox(USER)] == [("a@smithlaw.example",)]


def test_smtp_data_drop_delivers_nothing(sandbox):
    """data + drop: the connection closes after the message is sent, and nothing is filed."""
    sandbox.add_fault(Fault(stage=Stage.DATA, action=Action.DROP))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    assert sandbox.mailbox(USER) == ()


def test_smtp_data_reply(sandbox):
    """data + reply: the end-of-data reply is the fault's 451."""
    sandbox.add_fault(Fault(stage=Stage.DATA, reply="451 4.3.0 Error: queue file write error"))
    with pytest.raises(SmtpRejected, match="451 4.3.0") as info:
        sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    assert info.value.stage == "DATA"


def test_smtp_stall_with_seconds_then_carries_on(sandbox):
    """mail + stall N seconds: the reply comes late but normally."""
    sandbox.add_fault(Fault(stage=Stage.MAIL, action=Action.STALL, seconds=0.2))
    assert sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"]).startswith("250")


def test_smtp_quit_fault(sandbox, smithlaw):
    """quit + reply: QUIT gets the fault's answer and the connection closes."""
    sandbox.add_fault(Fault(stage=Stage.QUIT, service="smtp", reply="421 4.4.2 Timeout exceeded"))
    c = smtp_login(sandbox, smithlaw)
    assert c.quit()[0] == 421


# ------------------------------------------------------------------ POP3


def test_pop3_connect_drop(sandbox):
    """connect + drop on POP3: the client sees EOF instead of a greeting."""
    sandbox.add_fault(Fault(stage=Stage.CONNECT, action=Action.DROP, service="pop3"))
    with pytest.raises((poplib.error_proto, ConnectionError)):
        poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)


def test_pop3_greeting_sys_temp(sandbox):
    """greeting + reply: an -ERR [SYS/TEMP] greeting."""
    sandbox.add_fault(Fault(stage=Stage.GREETING, service="pop3", reply="-ERR [SYS/TEMP] Server busy, try later"))
    with pytest.raises(poplib.error_proto, match=r"SYS/TEMP"):
        poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)


def test_pop3_wrong_greeting_is_an_smtp_banner(sandbox):
    """greeting + wrong-greeting: the POP3 port answers like an SMTP server."""
    sandbox.add_fault(Fault(stage=Stage.GREETING, action=Action.WRONG_GREETING, service="pop3"))
    with pytest.raises(poplib.error_proto, match="220"):
        poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)


def test_pop3_stls_refused(sandbox):
    """starttls + reply on POP3: STLS answered -ERR."""
    sandbox.add_fault(Fault(stage=Stage.STARTTLS, service="pop3", reply="-ERR TLS unavailable"))
    pop = poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10)
    with pytest.raises(poplib.error_proto, match="TLS unavailable"):
        pop.stls(context=sandbox.client_context())
    pop.quit()


def test_pop3_auth_fault(sandbox, smithlaw):
    """auth + user pattern on POP3: PASS answered with the fault's text."""
    sandbox.add_fault(
        Fault(stage=Stage.AUTH, service="pop3", match=USER, reply="-ERR [SYS/TEMP] Authentication service unavailable")
    )
    with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
        pop_login(sandbox, smithlaw)


def test_pop3_retr_fault_by_number_and_by_uidl(sandbox, smithlaw):
    """retr + match: by message number, and by UIDL pattern."""
    for i in range(2):
        sandbox.deliver(message(message_id=f"<{i}@x>"), "c@outside.example", [f"a{i}@smithlaw.example"])
    uid2 = sandbox.mailbox(USER)[1].uid
    sandbox.add_fault(Fault(stage=Stage.RETR, match="2", reply="-ERR [SYS/TEMP] Message temporarily unavailable"))
    pop = pop_login(sandbox, smithlaw)
    assert pop.retr(1)[0].startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="temporarily"):
        pop.retr(2)
    pop.quit()
    sandbox.clear_faults()
    sandbox.add_fault(Fault(stage=Stage.RETR, match=uid2, action=Action.DROP))
    pop = pop_login(sandbox, smithlaw)
    pop.retr(1)
    with pytest.raises((poplib.error_proto, ConnectionError)):
        pop.retr(2)


def test_pop3_partial_retr_then_drop_changes_nothing(sandbox, smithlaw):
    """retr + partial: half the message arrives, the connection drops, and nothing is deleted."""
    sandbox.deliver(message(body="line\r\n" * 50), "c@outside.example", ["a@smithlaw.example"])
    sandbox.add_fault(Fault(stage=Stage.RETR, action=Action.PARTIAL))
    pop = pop_login(sandbox, smithlaw)
    with pytest.raises(poplib.error_proto, match="EOF"):
        pop.retr(1)
    assert len(sandbox.mailbox(USER)) == 1


def test_pop3_dele_fault(sandbox, smithlaw):
    """dele + reply: DELE refused, the message stays after QUIT."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    sandbox.add_fault(Fault(stage=Stage.DELE, reply="-ERR [SYS/TEMP] Cannot delete now"))
    pop = pop_login(sandbox, smithlaw)
    with pytest.raises(poplib.error_proto, match="Cannot delete"):
        pop.dele(1)
    pop.quit()
    assert len(sandbox.mailbox(USER)) == 1


def test_pop3_quit_drop_skips_update(sandbox, smithlaw):
    """quit + drop: the DELE'd message survives because UPDATE never ran."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    sandbox.add_fault(Fault(stage=Stage.QUIT, service="pop3", action=Action.DROP))
    pop = pop_login(sandbox, smithlaw)
    pop.dele(1)
    with pytest.raises((poplib.error_proto, ConnectionError)):
        pop.quit()
    sandbox.wait_for(lambda: sandbox.store.mailbox(USER).holder is None, what="the session to end")
    assert len(sandbox.mailbox(USER)) == 1


@pytest.mark.parametrize(
    "stage, call",
    [
        (Stage.STAT, lambda p: p.stat()),
        (Stage.LIST, lambda p: p.list()),
        (Stage.UIDL, lambda p: p.uidl()),
        (Stage.TOP, lambda p: p.top(1, 0)),
    ],
    ids=["stat", "list", "uidl", "top"],
)
def test_pop3_listing_faults(sandbox, smithlaw, stage, call):
    """stat/list/uidl/top + reply: the command gets the fault's -ERR."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    sandbox.add_fault(Fault(stage=stage, reply="-ERR [SYS/TEMP] busy"))
    pop = pop_login(sandbox, smithlaw)
    with pytest.raises(poplib.error_proto, match="busy"):
        call(pop)
    pop.quit()


def test_faults_given_at_construction(smithlaw):
    """Faults passed to Sandbox(...) are in force from the first connection."""
    fault = Fault(stage=Stage.GREETING, service="pop3", reply="-ERR [SYS/TEMP] maintenance")
    with Sandbox([smithlaw], faults=[fault]) as sb:
        assert sb.faults == (fault,)
        with pytest.raises(poplib.error_proto, match="maintenance"):
            poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)


def test_pop3_stall_forever_ends_when_the_client_hangs_up(sandbox, smithlaw):
    """greeting + stall forever on POP3: no greeting ever; after the client leaves the session ends."""
    sandbox.add_fault(Fault(stage=Stage.GREETING, action=Action.STALL, service="pop3"))
    with pytest.raises(TimeoutError):
        poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=0.5)
    sandbox.clear_faults()
    pop_login(sandbox, smithlaw).quit()


def test_pop3_overlong_line_is_refused(sandbox):
    """A command line far over any POP3 limit gets -ERR and the connection closes, the server lives on."""
    import socket

    with socket.create_connection(sandbox.pop3.address, timeout=10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"USER " + b"x" * 70000 + b"\r\n")
        assert f.readline().startswith(b"-ERR")
    poplib.POP3(sandbox.pop3.host, sandbox.pop3.port, timeout=10).quit()
