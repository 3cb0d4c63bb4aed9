"""Sending through a real Postfix: signature on, Message-ID remembered, 4xx queued, 5xx reported."""

from __future__ import annotations

import email
from email import policy

import pytest

from mailsupport.errors import MessageTooLarge
from mailsupport.pipeline import send_queued, submit
from mailsupport.routing import RouteKind, route_message
from mailsupport.signature import UnsafeHeaderError
from mailsupport.smtp import SmtpClient
from mailsupport.testing.faultproxy import Fault, FaultProxy
from mailsupport.testing.mailgen import pipeline_tenant
from mailsupport.testing.realservers import wait_for_maildir

pytestmark = [pytest.mark.realservers, pytest.mark.timeout(90)]


@pytest.fixture
def outside(postfix):
    """The Maildir of outside.example, emptied."""
    maildir = postfix.mail_root / "outside" / "Maildir"
    for sub in ("new", "cur"):
        for p in (maildir / sub).iterdir():
            p.unlink()
    return maildir


def tenant_for(port: int, **extra):
    return pipeline_tenant(smtp_port=port, **extra)


def test_sent_mail_carries_signature_and_replies_route_back(postfix, outside, store) -> None:
    """A queued message arrives signed once; its Message-ID routes the client's reply to the matter."""
    tenant = tenant_for(postfix.port)
    mid = submit(
        tenant,
        store,
        from_addr="jane@catchall.example",
        to=["client@outside.example"],
        subject="Your purchase",
        text="Dear client,\nsee the contract.\n",
        matter="1001",
        now=0,
    )
    result = send_queued(tenant, store, now=1)
    assert (result.sent, result.errors) == (1, ())
    [path] = wait_for_maildir(outside, 1)
    got = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert got["Message-ID"] == mid
    body = got.get_content()
    assert body.count("Jane Smith\nSolicitor") == 1 and "This email is confidential." in body
    reply = (
        f"X-Original-To: nobody@catchall.example\r\nReceived: by mx\r\nIn-Reply-To: {mid}\r\n"
        f"Subject: Re: Your purchase\r\n\r\nthanks\r\n"
    ).encode()
    d = route_message(tenant, reply, sent_matters=store.sent_matters([mid]))
    assert (d.kind, d.target) == (RouteKind.REPLY, "1001")


def test_permanent_refusal_reported_with_server_reply(postfix, outside, store) -> None:
    """Postfix's 550 marks the message failed and the summary quotes the reply and stage."""
    tenant = tenant_for(postfix.port)
    submit(tenant, store, from_addr="jane@catchall.example", to=["reject@outside.example"], subject="x", text="y")
    result = send_queued(tenant, store, now=1)
    assert (result.sent, result.failed, result.still_queued) == (0, 1, 0)
    err = result.errors[0]
    assert err["stage"] == "RCPT" and "550" in err["message"] and "No such user" in err["message"]
    assert "550" in store.queued(state="failed")[0].last_reply


def test_temporary_refusal_stays_queued_and_is_retried_after_backoff(postfix, outside, store) -> None:
    """A 451 keeps the message queued; before the backoff nothing is sent, after it the retry works."""
    tenant_direct = tenant_for(postfix.port)
    submit(
        tenant_direct,
        store,
        from_addr="jane@catchall.example",
        to=["client@outside.example"],
        subject="retry me",
        text="y",
    )
    with FaultProxy(postfix.port, [Fault(command=r"^RCPT TO:<client@", reply=b"451 4.3.0 busy, try later\r\n")]) as px:
        first = send_queued(tenant_for(px.port), store, now=100)
    assert (first.sent, first.deferred, first.still_queued) == (0, 1, 1)
    queued = store.queued()[0]
    assert queued.attempts == 1 and queued.next_attempt == 160 and "451" in queued.last_reply
    assert send_queued(tenant_direct, store, now=150).sent == 0  # not due yet
    assert send_queued(tenant_direct, store, now=161).sent == 1
    assert len(wait_for_maildir(outside, 1)) == 1


def test_connection_dropped_mid_data_keeps_message_queued(postfix, outside, store) -> None:
    """A connection cut during DATA: Postfix discards the partial message, we keep ours queued."""
    tenant_direct = tenant_for(postfix.port)
    submit(
        tenant_direct,
        store,
        from_addr="jane@catchall.example",
        to=["client@outside.example"],
        subject="cut",
        text="line\n" * 200,
    )
    with FaultProxy(postfix.port, [Fault(command=r"^DATA$", action="drop-request", after_bytes=300)]) as px:
        first = send_queued(tenant_for(px.port), store, now=0)
    assert (first.sent, first.deferred) == (0, 1)
    assert first.errors[0]["stage"] == "connection"
    assert send_queued(tenant_direct, store, now=1000).sent == 1
    got = wait_for_maildir(outside, 1)
    assert len(got) == 1  # exactly one copy arrived


def test_over_tenant_size_limit_refused_before_queueing(store) -> None:
    """The tenant's size limit is checked before anything is queued, with size and limit."""
    tenant = pipeline_tenant(size_limit=5000)
    with pytest.raises(MessageTooLarge) as info:
        submit(
            tenant, store, from_addr="jane@catchall.example", to=["c@outside.example"], subject="big", text="x" * 10_000
        )
    assert info.value.limit == 5000 and info.value.size > 10_000
    assert str(info.value.size) in str(info.value) and store.queued() == []


def test_over_server_size_refused_before_data(postfix, outside, store) -> None:
    """A message over the SIZE Postfix advertises is refused before MAIL FROM with the numbers."""
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 10_300
    store.enqueue(big, mail_from="jane@catchall.example", rcpt_tos=["client@outside.example"])
    result = send_queued(tenant_for(postfix.port, size_limit=50_000_000), store, now=0)
    assert result.failed == 1 and result.errors[0]["stage"] == "size"
    assert str(postfix.message_size_limit) in result.errors[0]["message"]


def test_crlf_in_envelope_address_refused(postfix) -> None:
    """An address with CR/LF never reaches the server as a command."""
    with SmtpClient(tenant_for(postfix.port).outbound.server) as client:
        with pytest.raises(UnsafeHeaderError):
            client.send(b"Subject: x\r\n\r\ny\r\n", "a@b", ["c@outside.example>\r\nRCPT TO:<evil@x"])


def test_outbound_only_tenant_sends_but_never_fetches(postfix, outside, store) -> None:
    """run_once for an outbound-only tenant: no POP3 at all, the queue is sent."""
    from mailsupport.pipeline import run_once

    tenant = tenant_for(postfix.port, provider="outbound-only", inbound=None)
    submit(tenant, store, from_addr="jane@catchall.example", to=["client@outside.example"], subject="o", text="t")
    out = run_once(tenant, store, now=0)
    assert (out["listed"], out["fetched"], out["errors"]) == (0, 0, [])
    assert out["send"]["sent"] == 1
    assert len(wait_for_maildir(outside, 1)) == 1
