"""Secrets stay secret: the sandbox's reprs, endpoints and logs never show tenant passwords or tokens."""

from __future__ import annotations

import logging
import poplib
import smtplib

from mailsupport.sandbox import Fault, Sandbox, Stage

from .conftest import message, tenant

CANARY = "canary-4b1d-"


def test_reprs_endpoints_and_logs_never_show_passwords(caplog):
    """A full session at DEBUG (aiosmtpd's logger included) leaves no canary in any output."""
    tenants = [tenant("smithlaw-postfix"), tenant("baxterlaw-gmail"), tenant("quaylaw-office365")]
    smith = tenants[0]
    caplog.set_level(logging.DEBUG)
    with Sandbox(tenants, faults=[Fault(stage=Stage.RETR, match="99", reply="-ERR x")]) as sb:
        texts = [repr(sb), str(sb.endpoints()), repr(sb.store), repr(sb.world), repr(sb.faults), repr(sb.tls)]
        sb.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
        pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        pop.stls(context=sb.client_context())
        pop.user("matters@smithlaw.example")
        pop.pass_(smith.inbound.server.password.reveal())
        pop.retr(1)
        pop.quit()
        pop = poplib.POP3(sb.pop3.host, sb.pop3.port, timeout=10)
        pop.user("matters@smithlaw.example")
        try:
            pop.pass_(smith.outbound.server.password.reveal())  # wrong password: refusal is logged
        except poplib.error_proto as exc:
            texts.append(str(exc))
        with smtplib.SMTP(sb.smtp.host, sb.smtp.port, timeout=10) as c:
            c.set_debuglevel(0)
            c.starttls(context=sb.client_context())
            c.login(smith.outbound.server.username, smith.outbound.server.password.reveal())
            c.sendmail("matters@smithlaw.example", ["x@outside.example"], message())
        for box in sb.mailboxes():
            texts.append(repr(sb.mailbox(box)))
        texts.append(repr(sb.outbox))
        texts.extend(
            repr(sb.store.account(s, u))
            for s, u in (("pop3", "matters@smithlaw.example"), ("smtp", "matters@baxterlaw.example"))
        )
    texts.append(caplog.text)
    assert caplog.text  # the servers did log the sessions
    leaks = [t for t in texts if CANARY in t]
    assert leaks == []
