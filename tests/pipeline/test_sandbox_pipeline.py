"""The pipeline on the embedded sandbox: the demo run, the wildcard path, and sandbox faults."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from mailsupport.config import load_tenant
from mailsupport.pipeline import poll, wildcard_handler
from mailsupport.pipeline.demo import run_pipeline_demo
from mailsupport.routing import RouteKind
from mailsupport.store import Store

sandbox_mod = pytest.importorskip("mailsupport.sandbox")

TENANT = Path(__file__).resolve().parents[2] / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tenant():
    if not TENANT.exists():
        pytest.skip("sample tenant missing")
    return load_tenant(TENANT, environ={})


def test_demo_run_routes_every_case_and_answers(tenant, tmp_path: Path) -> None:
    """The demo delivers one message per rule; each lands where the rules say; the answer is signed."""
    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], profile="postfix") as sb:
        result = run_pipeline_demo(sb, tenant, store)
        kinds = sorted((r["source"], r["kind"]) for r in result["decisions"])
        assert kinds == [
            ("pop3", "alias"),
            ("pop3", "failed"),
            ("pop3", "failed"),
            ("pop3", "matter"),
            ("pop3", "user"),
            ("wildcard", "matter"),
        ]
        assert result["poll"]["errors"] == [] and result["poll"]["deleted"] == 5
        assert result["send"]["sent"] == 3  # the answer and two failed forwards
        answer = next(m for m in sb.outbox if "client@outside.example" in m.recipients)
        body = email.message_from_bytes(answer.data, policy=policy.default).get_content()
        assert tenant.disclaimer in body and body.count("Smith & Co Lawyers") == 1


def test_wildcard_hook_files_matter_mail_without_polling(tenant, tmp_path: Path) -> None:
    """Mail to <matter>@<orgkey>.<wildcard domain> is routed when it arrives, with RCPT TO as envelope."""
    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], on_wildcard=wildcard_handler(tenant, store)) as sb:
        sb.deliver(
            b"Subject: w\r\nTo: someone@else.example\r\n\r\nx\r\n",
            "c@outside.example",
            [f"1043@{tenant.matter_domain}"],
        )
        [d] = sb.wait_for(lambda: store.decisions(), what="the wildcard decision")
        assert (d["kind"], d["target"], d["source"]) == ("matter", "1043", "wildcard")


def test_sandbox_dele_fault_keeps_message(tenant, tmp_path: Path) -> None:
    """A sandbox -ERR on DELE is reported; the message is stored once and deleted at the next poll."""
    Fault = sandbox_mod.Fault
    try:
        fault = Fault(service="pop3", stage=sandbox_mod.Stage.DELE, match="1", reply="-ERR [SYS/TEMP] try later")
    except TypeError as exc:
        pytest.skip(f"sandbox Fault signature differs: {exc}")
    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], faults=[fault]) as sb:
        local = sb.tenant_settings(tenant)
        sb.deliver(b"Subject: a\r\n\r\nx\r\n", "c@outside.example", ["1042@smithlaw.example"])
        first = poll(local, store)
        assert [e["stage"] for e in first.errors] == ["dele"] and first.deleted == 0
        sb.clear_faults()
        second = poll(local, store)
        assert (second.fetched, second.skipped_as_already_seen, second.deleted) == (0, 1, 1)
        assert [d["kind"] for d in store.decisions()] == [RouteKind.MATTER.value]


def test_stalled_retr_times_out_and_deletes_nothing(tenant, tmp_path: Path) -> None:
    """A server that stops answering mid-poll: a timeout error, the session aborted, nothing deleted."""
    from dataclasses import replace

    stall = sandbox_mod.Fault(
        service="pop3", stage=sandbox_mod.Stage.RETR, match="2", action=sandbox_mod.Action.STALL, seconds=30
    )
    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], faults=[stall]) as sb:
        local = sb.tenant_settings(tenant)
        local = local.with_servers(inbound=replace(local.inbound.server, timeout=1.0))
        for i in range(3):
            sb.deliver(f"Subject: {i}\r\n\r\nx\r\n".encode(), "c@outside.example", ["1042@smithlaw.example"])
        s = poll(local, store)
        assert s.errors[0]["stage"] == "retr" and "timed out" in s.errors[0]["message"]
        assert s.deleted == 0 and s.fetched == 1
        assert len(sb.mailbox(local.inbound.address)) == 3


def test_run_every_polls_repeatedly(tenant, tmp_path: Path) -> None:
    """`mailsupport run --every` prints one JSON summary per poll and keeps going."""
    import json
    import subprocess
    import sys

    from mailsupport.config import tenant_to_dict

    with sandbox_mod.Sandbox([tenant]) as sb:
        tenant_file = tmp_path / "t.json"
        tenant_file.write_text(json.dumps(tenant_to_dict(sb.tenant_settings(tenant), reveal_secrets=True)))
        sb.deliver(b"Subject: a\r\n\r\nx\r\n", "c@outside.example", ["1042@smithlaw.example"])
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailsupport",
                "run",
                "--tenant",
                str(tenant_file),
                "--every",
                "0.2",
                "--store",
                str(tmp_path / "s"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            first = json.loads(proc.stdout.readline())
            second = json.loads(proc.stdout.readline())
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert first["fetched"] == 1 and second["fetched"] == 0


@pytest.mark.parametrize("action", ["PARTIAL", "DROP"])
def test_pipelined_retr_broken_off_mid_message(tenant, tmp_path: Path, action: str) -> None:
    """With PIPELINING, a connection lost in message 3's RETR: 1-2 stored, nothing deleted, rerun completes."""
    act = getattr(sandbox_mod.Action, action)
    fault = sandbox_mod.Fault(service="pop3", stage=sandbox_mod.Stage.RETR, match="3", action=act)
    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], faults=[fault]) as sb:
        local = sb.tenant_settings(tenant)
        for i in range(5):
            sb.deliver(
                f"Subject: {i}\r\nMessage-ID: <p{i}@x>\r\n\r\nbody {i}\r\n".encode(),
                "c@outside.example",
                ["1042@smithlaw.example"],
            )
        s = poll(local, store)
        assert (s.fetched, s.deleted) == (2, 0)
        assert s.errors[0]["stage"] == "retr" and s.kept_on_server == 5  # all stay: no QUIT happened
        assert len(sb.mailbox(local.inbound.address)) == 5
        sb.clear_faults()
        again = poll(local, store)
        assert (again.fetched, again.skipped_as_already_seen, again.deleted) == (3, 2, 5)
        ids = sorted(email.message_from_bytes(store.read(m))["Message-ID"] for m in store.messages())
        assert ids == [f"<p{i}@x>" for i in range(5)]


def test_wildcard_mail_during_a_poll_shares_the_store_safely(tenant, tmp_path: Path) -> None:
    """Wildcard deliveries (sandbox thread) while a poll commits batches: every message stored once."""
    import threading

    with Store(tmp_path) as store, sandbox_mod.Sandbox([tenant], on_wildcard=wildcard_handler(tenant, store)) as sb:
        local = sb.tenant_settings(tenant)
        for i in range(60):
            sb.deliver(
                f"Subject: p{i}\r\nMessage-ID: <poll{i}@x>\r\n\r\nx\r\n".encode(),
                "c@outside.example",
                ["1042@smithlaw.example"],
            )

        def wildcard() -> None:
            for i in range(20):
                sb.deliver(
                    f"Subject: w{i}\r\nMessage-ID: <wild{i}@x>\r\n\r\nx\r\n".encode(),
                    "c@outside.example",
                    [f"1043@{tenant.matter_domain}"],
                )

        t = threading.Thread(target=wildcard)
        t.start()
        summary = poll(local, store)
        t.join()
        sb.wait_for(lambda: len(store.decisions()) >= 80, what="all 80 decisions")
        assert summary.fetched == 60 and not summary.errors
        sources = sorted(d["source"] for d in store.decisions())
        assert sources == ["pop3"] * 60 + ["wildcard"] * 20
