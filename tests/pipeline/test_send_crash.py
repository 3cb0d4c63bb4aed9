"""SIGKILL the sender right after the server accepted a message: nothing lost, few sent twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.config import tenant_to_dict
from mailsupport.pipeline import OutgoingMessage, enqueue_messages
from mailsupport.pipeline.send import OUTCOMES_PER_COMMIT
from mailsupport.signature import compose_message
from mailsupport.store import Store
from mailsupport.testing.lenientsmtp import LenientSmtpServer, ReceivedMessage
from mailsupport.testing.mailgen import pipeline_tenant

pytestmark = pytest.mark.timeout(180)

N = 150
#: Each pass is killed right after the server accepted its k-th message (before the pass recorded it).
KILL_AFTER = (1, 40, 33, 70)


def message_id(received: ReceivedMessage) -> str:
    return next(
        line.split(b":", 1)[1].strip().decode() for line in received.lines if line.lower().startswith(b"message-id:")
    )


def run_send(tenant_file: Path, store_dir: Path, kill_after: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mailsupport.testing.killsend", str(tenant_file), str(store_dir), str(kill_after)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sigkill_while_sending_loses_nothing_and_resends_little(tmp_path: Path) -> None:
    """After kills mid-pass and a final clean pass, every queued message reached the server, no message is
    marked sent that the server did not accept, and each kill sent at most one commit group again."""
    expected = {f"<c{i}@catchall.example>" for i in range(N)}
    store_dir = tmp_path / "store"
    with LenientSmtpServer() as server:
        tenant = pipeline_tenant(smtp_port=server.port)
        tenant_file = tmp_path / "tenant.json"
        tenant_file.write_text(json.dumps(tenant_to_dict(tenant, reveal_secrets=True)))
        with Store(store_dir) as store:
            enqueue_messages(
                tenant,
                store,
                [
                    OutgoingMessage(
                        raw=compose_message(
                            from_addr="jane@catchall.example",
                            to=["client@outside.example"],
                            subject=f"Advice {i}",
                            text="Dear client,\n",
                            message_id=mid,
                            date="Thu, 26 Nov 2026 09:00:00 +0000",
                        ),
                        mail_from="jane@catchall.example",
                        rcpt_tos=("client@outside.example",),
                        matter="1001",
                        message_id=mid,
                    )
                    for i, mid in enumerate(sorted(expected, key=lambda m: int(m[2:].split("@")[0])))
                ],
            )

        for kill_after in KILL_AFTER:
            r = run_send(tenant_file, store_dir, kill_after)
            assert r.returncode == -signal.SIGKILL, r.stderr
            received = {message_id(m) for m in server.messages}
            with Store(store_dir) as st:
                marked = {q.message_id for q in st.queued(state="sent")}
                queued = {q.message_id for q in st.queued()}
            assert marked <= received, f"marked sent but never accepted after kill at {kill_after}"
            assert marked | queued == expected, f"dropped from the queue after kill at {kill_after}"
            assert len(received - marked) <= OUTCOMES_PER_COMMIT, "more accepted messages unrecorded than one group"

        final = run_send(tenant_file, store_dir, 0)
        assert final.returncode == 0, final.stderr
        assert json.loads(final.stdout)["errors"] == []
        ids = [message_id(m) for m in server.messages]
    assert set(ids) == expected
    assert len(ids) - N <= len(KILL_AFTER) * OUTCOMES_PER_COMMIT
    with Store(store_dir) as st:
        assert st.queued() == [] and len(st.queued(state="sent")) == N
        assert st.sent_matters(sorted(expected)) == {m: "1001" for m in expected}
