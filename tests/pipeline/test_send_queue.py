"""Queueing composed mail: one message or a batch, signed, size-checked, all or nothing."""

from __future__ import annotations

import email
import sqlite3
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from mailsupport.errors import MessageTooLarge
from mailsupport.pipeline import OutgoingMessage, enqueue_message, enqueue_messages
from mailsupport.signature import SIGNED_HEADER, compose_message
from mailsupport.store import Store
from mailsupport.testing.mailgen import pipeline_tenant


def composed(i: int, text: str = "Dear client,\nsee the contract.\n", sender: str = "jane@catchall.example") -> bytes:
    return compose_message(
        from_addr=sender,
        to=["client@outside.example"],
        subject=f"Advice {i}",
        text=text,
        message_id=f"<q{i}@catchall.example>",
        date="Thu, 26 Nov 2026 09:00:00 +0000",
    )


def outgoing(i: int, **kw) -> OutgoingMessage:
    sender = kw.pop("sender", "jane@catchall.example")
    return OutgoingMessage(
        raw=composed(i, sender=sender, **kw),
        mail_from=sender,
        rcpt_tos=("client@outside.example",),
        matter="1001",
        message_id=f"<q{i}@catchall.example>",
    )


def test_batch_is_queued_in_order_each_signed_once(store: Store) -> None:
    """A batch comes back as queue ids in order; each entry is signed with its sender's signature."""
    tenant = pipeline_tenant()
    batch = [outgoing(0), outgoing(1, sender="mailbox@catchall.example"), outgoing(2)]
    ids = enqueue_messages(tenant, store, batch)
    queued = store.queued()
    assert [q.id for q in queued] == ids and len(set(ids)) == 3
    assert [q.message_id for q in queued] == ["<q0@catchall.example>", "<q1@catchall.example>", "<q2@catchall.example>"]
    for q, signature in zip(queued, ["Jane Smith\nSolicitor", tenant.division_signature, "Jane Smith\nSolicitor"]):
        msg = email.message_from_bytes(q.raw, policy=policy.default)
        assert msg[SIGNED_HEADER] and q.matter == "1001" and q.rcpt_tos == ("client@outside.example",)
        body = msg.get_content().replace("\r\n", "\n")
        assert body.count(signature) == 1 and body.count(tenant.disclaimer) == 1


def test_one_message_and_a_batch_of_one_queue_the_same_bytes(tmp_path: Path) -> None:
    """enqueue_message is the batch of one: same signed bytes, same envelope."""
    tenant = pipeline_tenant()
    with Store(tmp_path / "a") as a, Store(tmp_path / "b") as b:
        enqueue_message(
            tenant,
            a,
            composed(7),
            mail_from="jane@catchall.example",
            rcpt_tos=["client@outside.example"],
            matter="1001",
            message_id="<q7@catchall.example>",
        )
        enqueue_messages(tenant, b, [outgoing(7)])
        assert [(q.raw, q.rcpt_tos, q.matter, q.message_id) for q in a.queued()] == [
            (q.raw, q.rcpt_tos, q.matter, q.message_id) for q in b.queued()
        ]


def test_batch_with_one_message_over_the_limit_queues_nothing(store: Store) -> None:
    """One message over the tenant's limit refuses the whole batch, naming which one, before queueing any."""
    tenant = pipeline_tenant(size_limit=5000)
    batch = [outgoing(0), outgoing(1, text="x" * 10_000), outgoing(2)]
    with pytest.raises(MessageTooLarge, match="message 2 of 3; none of them was queued") as info:
        enqueue_messages(tenant, store, batch)
    assert info.value.limit == 5000 and info.value.size > 10_000
    assert store.queued() == []


def test_store_batch_is_one_transaction(store: Store) -> None:
    """A row the database refuses rolls back the rows before it: a batch is queued whole or not at all."""
    good = {"raw": b"one", "mail_from": "a@x", "rcpt_tos": ["b@x"]}
    with pytest.raises(sqlite3.IntegrityError):
        store.enqueue_batch([good, {**good, "raw": None}])
    assert store.queued() == []
    assert len(store.enqueue_batch([good, good])) == 2


KILL_AFTER_BATCH = """
import os, signal, sys
from mailsupport.pipeline import OutgoingMessage, enqueue_messages
from mailsupport.store import Store
from mailsupport.testing.mailgen import pipeline_tenant
store = Store(sys.argv[1])
raws = [f"Subject: {i}\\r\\n\\r\\nbody {i}\\r\\n".encode() for i in range(50)]
enqueue_messages(pipeline_tenant(), store, [OutgoingMessage(raw=r, mail_from="jane@catchall.example",
                 rcpt_tos=("client@outside.example",)) for r in raws])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_batch_survives_a_kill_right_after_it_returns(tmp_path: Path) -> None:
    """A process killed (SIGKILL, no close) just after enqueue_messages returned: every message is queued."""
    r = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_BATCH, str(tmp_path / "store")], capture_output=True, timeout=60
    )
    assert r.returncode == -9, r.stderr
    with Store(tmp_path / "store") as st:
        assert [q.raw.split(b"\r\n")[0] for q in st.queued()] == [f"Subject: {i}".encode() for i in range(50)]
