"""End to end on Debian's Postfix and Dovecot: SMTP in, catch-all Maildir, POP3 fetch, route, answer."""

from __future__ import annotations

import email
import smtplib
from email import policy

import pytest

from mailsupport.pipeline import poll, send_queued, submit
from mailsupport.pop3 import Pop3Client
from mailsupport.routing import RouteKind
from mailsupport.testing.mailgen import pipeline_tenant
from mailsupport.testing.realservers import wait_for_maildir

pytestmark = [pytest.mark.realservers, pytest.mark.timeout(120)]


def send_in(port: int, rcpts: list[str], subject: str, extra: str = "") -> None:
    raw = (
        f"From: Client <client@outside.example>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
        f"{extra}\r\nHello from outside.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail("client@outside.example", rcpts, raw)


def test_catch_all_mail_is_fetched_routed_and_answered(postfix, dovecot, store) -> None:
    """Postfix's real X-Original-To routes each copy; the answer reaches the client; its reply comes back."""
    inbox = postfix.mail_root / "mailbox" / "Maildir"
    outside = postfix.mail_root / "outside" / "Maildir"
    send_in(postfix.port, ["1001@catchall.example"], "matter mail")
    send_in(postfix.port, ["conveyancing@catchall.example"], "alias mail")
    send_in(postfix.port, ["nobody@catchall.example"], "unknown address")
    send_in(postfix.port, ["1002@catchall.example", "jane@catchall.example"], "two recipients")
    assert len(wait_for_maildir(inbox, 5)) == 5, postfix.log()[-2000:]

    tenant = pipeline_tenant(pop_port=dovecot.port, smtp_port=postfix.port, username="mailbox")
    summary = poll(tenant, store)
    assert (summary.fetched, summary.deleted, summary.errors) == (5, 5, ())
    by_subject = {}
    for m in store.messages():
        msg = email.message_from_bytes(store.read(m))
        assert msg["X-Original-To"], "Postfix wrote X-Original-To"
        by_subject.setdefault(msg["Subject"], []).append(m.id)
    decisions = {d["message"]: (d["kind"], d["target"]) for d in store.decisions()}
    assert [decisions[i] for i in by_subject["matter mail"]] == [("matter", "1001")]
    assert [decisions[i] for i in by_subject["alias mail"]] == [("alias", "jane@catchall.example")]
    assert [decisions[i] for i in by_subject["unknown address"]] == [("failed", "it@catchall.example")]
    # two catch-all recipients arrive as two copies, each with its own X-Original-To (measured: docs/architecture.md, Real servers on loopback)
    assert sorted(decisions[i] for i in by_subject["two recipients"]) == [
        ("matter", "1002"),
        ("user", "jane@catchall.example"),
    ]

    # the failed forward goes out to it@catchall.example, which the catch-all delivers back in
    original = email.message_from_bytes(
        store.read(next(m for m in store.messages() if m.id == by_subject["matter mail"][0]))
    )
    mid = submit(
        tenant,
        store,
        from_addr="jane@catchall.example",
        to=["client@outside.example"],
        subject="Re: matter mail",
        text="We have filed your email.",
        matter="1001",
        in_reply_to=original["Message-ID"],
        references=[original["Message-ID"]],
    )
    sent = send_queued(tenant, store)
    assert sent.sent == 2 and not sent.errors  # the answer and the failed forward

    client = pipeline_tenant(pop_port=dovecot.port, username="outside", confirm_delete=False)
    assert len(wait_for_maildir(outside, 1)) >= 1
    with Pop3Client(client.inbound.server) as pop:
        [entry] = pop.listing()
        answer = email.message_from_bytes(pop.retr(entry.number), policy=policy.default)
        pop.quit()
    assert answer["Message-ID"] == mid and answer["In-Reply-To"] == original["Message-ID"]
    assert "This email is confidential." in answer.get_content()

    # the client answers to an address that routes nowhere: In-Reply-To brings it to matter 1001
    send_in(postfix.port, ["someone-else@catchall.example"], "Re: Re: matter mail", extra=f"In-Reply-To: {mid}\r\n")
    assert len(wait_for_maildir(inbox, 2)) == 2  # the reply and the failed forward to it@
    second = poll(tenant, store)
    assert second.fetched == 2
    assert second.forwarded_as_failed == 0  # our own forward coming back is not forwarded again
    kinds = sorted(d["kind"] for d in second.decisions)
    assert kinds == ["failed", "reply"]
    reply = next(d for d in second.decisions if d["kind"] == RouteKind.REPLY.value)
    assert reply["target"] == "1001"
