"""Provider profiles: the headers each system writes on delivery, read back over real POP3."""

from __future__ import annotations

import email
import poplib
from datetime import UTC, datetime

import pytest

from mailsupport.config import TlsMode
from mailsupport.sandbox import Sandbox
from mailsupport.sandbox.profiles import PROFILES, build_deliveries
from mailsupport.tlsutil import client_context

from .conftest import message, tenant

MAILBOX = "matters@smithlaw.example"


def fetch_all(sb: Sandbox, tenant_, *, delete: bool = False) -> list[email.message.Message]:
    """Every message of the tenant's POP3 mailbox, parsed, via STLS with verification."""
    server = sb.tenant_settings(tenant_).inbound.server
    if server.tls is TlsMode.IMPLICIT:
        pop = poplib.POP3_SSL(server.host, server.port, context=client_context(ca_file=server.ca_file), timeout=10)
    else:
        pop = poplib.POP3(server.host, server.port, timeout=10)
        pop.stls(context=client_context(ca_file=server.ca_file))
    pop.user(server.username or tenant_.inbound.address)
    pop.pass_(server.password.reveal())
    out = []
    for i in range(1, pop.stat()[0] + 1):
        out.append(email.message_from_bytes(b"\r\n".join(pop.retr(i)[1])))
        if delete:
            pop.dele(i)
    pop.quit()
    return out


def test_postfix_single_recipient(sandbox, smithlaw):
    """Postfix: Delivered-To = mailbox, X-Original-To = address as given, Received … for <addr>."""
    sandbox.deliver(message(), "client@outside.example", ["Conveyancing@smithlaw.example"])
    (msg,) = fetch_all(sandbox, smithlaw)
    assert msg["X-Original-To"] == "Conveyancing@smithlaw.example"
    assert msg["Delivered-To"] == MAILBOX
    assert "for <Conveyancing@smithlaw.example>" in msg.get_all("Received")[0]
    keys = list(msg.keys())
    assert keys.index("X-Original-To") < keys.index("Delivered-To") < keys.index("Received")


def test_postfix_two_recipients_two_copies_without_for(sandbox, smithlaw):
    """Postfix: a message to two catch-all addresses arrives twice, each with its own X-Original-To, no for."""
    sandbox.deliver(message(), "client@outside.example", ["a@smithlaw.example", "b@smithlaw.example"])
    msgs = fetch_all(sandbox, smithlaw)
    assert sorted(m["X-Original-To"] for m in msgs) == ["a@smithlaw.example", "b@smithlaw.example"]
    assert all(" for <" not in m.get_all("Received")[0] for m in msgs)


def test_exim_envelope_to_comma_list_when_batched(smithlaw):
    """Exim: one copy per mailbox with Envelope-to listing every original recipient."""
    with Sandbox([smithlaw], profile="exim") as sb:
        sb.deliver(message(), "client@outside.example", ["a@smithlaw.example", "b@smithlaw.example"])
        sb.deliver(message(message_id="<2@x>"), "client@outside.example", ["c@smithlaw.example"])
        first, second = fetch_all(sb, smithlaw)
    assert first["Envelope-to"] == "a@smithlaw.example, b@smithlaw.example"
    assert second["Envelope-to"] == "c@smithlaw.example"
    assert first["X-Original-To"] is None and first["Delivered-To"] is None
    assert "for <c@smithlaw.example>" in second.get_all("Received")[0]


def test_received_for_only(smithlaw):
    """received-for: no envelope header, only the for clause of the server's Received line."""
    with Sandbox([smithlaw], profile="received-for") as sb:
        sb.deliver(message(), "client@outside.example", ["a@smithlaw.example", "b@smithlaw.example"])
        msgs = fetch_all(sb, smithlaw)
    assert [m.get_all("Received")[0].split("for <")[1].split(">")[0] for m in msgs] == [
        "a@smithlaw.example",
        "b@smithlaw.example",
    ]
    for m in msgs:
        assert not any(m[h] for h in ("Delivered-To", "X-Original-To", "Envelope-to", "X-Gm-Original-To"))


def test_gmail_delivered_to_first_one_copy_per_message_id():
    """Gmail: Delivered-To first, then Received: by; one copy per Message-ID even over two sends."""
    bax = tenant("baxterlaw-gmail")
    with Sandbox([bax], profile="gmail") as sb:
        sb.set_app_password("matters@baxterlaw.example", bax.inbound.server.password)
        sb.deliver(
            message(message_id="<same@x>"),
            "c@outside.example",
            ["wills@baxterlaw.example", "probate@baxterlaw.example"],
        )
        sb.deliver(message(message_id="<same@x>"), "c@outside.example", ["ann@baxterlaw.example"])
        sb.deliver(message(message_id="<other@x>"), "c@outside.example", ["ann@baxterlaw.example"])
        msgs = fetch_all(sb, bax)
    assert len(msgs) == 2
    assert list(msgs[0].keys())[:2] == ["Delivered-To", "Received"]
    assert msgs[0]["Delivered-To"] == "matters@baxterlaw.example"
    assert msgs[0].get_all("Received")[0].startswith("by 2002:")
    assert msgs[0]["X-Gm-Original-To"] is None


def test_gmail_optional_x_gm_original_to():
    """With Workspace's routing option the address as given survives in X-Gm-Original-To."""
    bax = tenant("baxterlaw-gmail")
    with Sandbox([bax], profile="gmail") as sb:
        sb.set_profile("gmail", x_gm_original_to=True)
        sb.set_app_password("matters@baxterlaw.example", bax.inbound.server.password)
        sb.deliver(message(), "c@outside.example", ["wills@baxterlaw.example"])
        (msg,) = fetch_all(sb, bax)
    assert msg["X-Gm-Original-To"] == "wills@baxterlaw.example"


@pytest.mark.parametrize("disposition, left", [("keep", 1), ("trash", 0)])
def test_gmail_popped_messages_are_not_offered_again(disposition, left):
    """Gmail POP: RETR + QUIT without DELE hides the message; disposition decides if it stays."""
    bax = tenant("baxterlaw-gmail")
    with Sandbox([bax], profile="gmail", disposition=disposition) as sb:
        sb.set_app_password("matters@baxterlaw.example", bax.inbound.server.password)
        sb.deliver(message(), "c@outside.example", ["wills@baxterlaw.example"])
        assert len(fetch_all(sb, bax)) == 1
        assert fetch_all(sb, bax) == []
        assert len(sb.mailbox("matters@baxterlaw.example")) == left


def test_gmail_dele_does_not_delete_with_keep():
    """Gmail POP: download-then-delete leaves the message on the server when disposition is keep."""
    bax = tenant("baxterlaw-gmail")
    with Sandbox([bax], profile="gmail") as sb:
        sb.set_app_password("matters@baxterlaw.example", bax.inbound.server.password)
        sb.deliver(message(), "c@outside.example", ["wills@baxterlaw.example"])
        fetch_all(sb, bax, delete=True)
        (kept,) = sb.mailbox("matters@baxterlaw.example")
        assert kept.popped


def test_office365_no_envelope_header():
    """Office 365: four Microsoft hops ending at the EOP edge, no for clause, no envelope header; the
    X-MS-Exchange-Organization fields come after the sender's own (as in the real mimecast report)."""
    from mailsupport.chain import receiving_chain

    quay = tenant("quaylaw-office365")
    with Sandbox([quay], profile="office365") as sb:
        sb.deliver(message(), "c@outside.example", ["matters@quaylaw.example"])
        (stored,) = sb.mailbox("matters@quaylaw.example")
    msg = email.message_from_bytes(stored.data)
    received = msg.get_all("Received")
    assert len(received) == 4 and all("for <" not in r for r in received)
    assert "Microsoft SMTP Server" in received[1] and ".mail.protection.outlook.com" in received[3]
    assert not any(msg[h] for h in ("Delivered-To", "X-Original-To", "Envelope-to", "X-Gm-Original-To"))
    keys = list(msg.keys())
    assert keys.index("Subject") < keys.index("X-MS-Exchange-Organization-AuthAs")
    chain = receiving_chain(stored.data)
    assert chain.entry == 4 and chain.entry_hop.by_host.endswith(".mail.protection.outlook.com")


def test_exchange_on_premises_behind_its_mx():
    """Exchange on-premises: the firm's MX hop and Exchange's hop from its private address, nothing else."""
    from mailsupport.chain import receiving_chain

    with Sandbox([tenant("smithlaw-postfix")], profile="exchange") as sb:
        sb.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
        (stored,) = sb.mailbox(MAILBOX)
    msg = email.message_from_bytes(stored.data)
    received = msg.get_all("Received")
    assert len(received) == 2 and "Microsoft SMTP Server id 8.1.393.1" in received[0]
    assert msg["X-MS-Exchange-Organization-AuthAs"] == "Anonymous"
    assert [h.verdict for h in receiving_chain(stored.data).hops] == ["inside", "inside"]  # loopback client


def test_switching_profile_changes_the_next_delivery(sandbox):
    """set_profile applies to the next delivery; earlier mail keeps its headers."""
    sandbox.deliver(message(message_id="<1@x>"), "c@outside.example", ["a@smithlaw.example"])
    sandbox.set_profile("exim")
    sandbox.deliver(message(message_id="<2@x>"), "c@outside.example", ["a@smithlaw.example"])
    first, second = (email.message_from_bytes(m.data) for m in sandbox.mailbox(MAILBOX))
    assert first["X-Original-To"] and not first["Envelope-to"]
    assert second["Envelope-to"] and not second["X-Original-To"]


def test_unknown_profile_names_the_choices(sandbox):
    """An unknown profile name is refused with the list of known ones."""
    with pytest.raises(ValueError, match="expected one of .*gmail"):
        sandbox.set_profile("sendmail")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_prepends_above_the_original_header(name):
    """Every profile prepends its trace above the original message; the Microsoft ones also append their
    organisation fields after the sender's last field. The sender's fields and body stay byte for byte."""
    data = message()
    copies = build_deliveries(
        PROFILES[name],
        data=data,
        mail_from="c@o.example",
        recipients=[("a@x.example", "m@x.example")],
        helo="h",
        peer="127.0.0.1",
        now=datetime(2026, 11, 26, tzinfo=UTC),
        queue_id="Q1",
    )
    assert copies and all(c.mailbox == "m@x.example" for c in copies)
    for c in copies:
        at = c.data.index(data.split(b"\r\n", 1)[0])  # where the sender's first field starts
        assert c.data[:at].count(b"Received:") >= 1
        appended = [
            line
            for line in c.data[at:].split(b"\r\n")
            if line.startswith(b"X-MS-Exchange-Organization-")
            or (line.startswith(b"Return-Path: ") and name.startswith("office365"))
        ]
        assert bool(appended) == name.startswith(("office365", "exchange"))
        kept = b"\r\n".join(line for line in c.data[at:].split(b"\r\n") if line not in appended)
        assert kept == data
