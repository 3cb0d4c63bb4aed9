"""SIGKILL the fetcher at many points of a 200-message poll: nothing lost, nothing duplicated."""

from __future__ import annotations

import email
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.config import tenant_to_dict
from mailsupport.store import Store
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant
from mailsupport.testing.realservers import write_maildir

pytestmark = [pytest.mark.realservers, pytest.mark.timeout(180)]

N = 200
#: Deterministic kill points (``stage:k`` = the k-th time a poll reaches that stage) covering
#: every gap: after RETR (not stored), after store (not deleted), after DELE (not quit), just
#: before QUIT, just after QUIT (deletions not yet noted in the store).
KILL_POINTS = {
    True: [
        "retrieved:1",
        "retrieved:37",
        "stored:20",
        "stored:60",
        "deleted:5",
        "deleted:150",
        "before-quit:1",
        "after-quit:1",
    ],
    False: ["retrieved:1", "retrieved:37", "stored:20", "stored:60", "retrieved:50", "before-quit:1", "after-quit:1"],
}


def message_ids_on_server(maildir: Path) -> list[str]:
    out = []
    for sub in ("new", "cur"):
        for p in (maildir / sub).iterdir():
            out.append(email.message_from_bytes(p.read_bytes())["Message-ID"])
    return out


def message_ids_in_store(store_dir: Path) -> list[str]:
    with Store(store_dir) as st:
        return [email.message_from_bytes(st.read(m))["Message-ID"] for m in st.messages()]


def run_poll(tenant_file: Path, store_dir: Path, point: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mailsupport.testing.killpoll", str(tenant_file), str(store_dir), point],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("confirm_delete", [True, False], ids=["download-then-delete", "keep-on-server"])
def test_sigkill_anywhere_loses_and_duplicates_nothing(dovecot, pop_user, tmp_path: Path, confirm_delete: bool) -> None:
    """After kills at every kind of point and a final clean poll, each message is stored exactly once."""
    user, maildir = pop_user
    recipients = ["1001@catchall.example", "jane@catchall.example", "nobody@catchall.example"]
    write_maildir(maildir, [catchall_message(i, recipients[i % 3]) for i in range(N)])
    expected = sorted(f"<msg{i:06d}@outside.example>" for i in range(N))
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, confirm_delete=confirm_delete)
    tenant_file = tmp_path / "tenant.json"
    tenant_file.write_text(json.dumps(tenant_to_dict(tenant, reveal_secrets=True)))
    store_dir = tmp_path / "store"

    killed = 0
    for point in KILL_POINTS[confirm_delete]:
        r = run_poll(tenant_file, store_dir, point)
        if r.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert r.returncode == 0, r.stderr
        stored = message_ids_in_store(store_dir)
        assert len(stored) == len(set(stored)), f"duplicate in the store after kill at {point}"
        missing = set(expected) - set(stored) - set(message_ids_on_server(maildir))
        assert not missing, f"lost after kill at {point}: {sorted(missing)[:5]}"
    assert killed == len(KILL_POINTS[confirm_delete]), "every kill point must really interrupt a poll"

    final = run_poll(tenant_file, store_dir, "none:0")
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["errors"] == []
    stored = message_ids_in_store(store_dir)
    assert sorted(stored) == expected
    with Store(store_dir) as st:
        assert len(st.decisions()) == N
        assert len(st.queued()) == N // 3 + (1 if N % 3 > 2 else 0)  # one failed forward per "nobody"
    assert len(message_ids_on_server(maildir)) == (0 if confirm_delete else N)
