"""Cleaning up after a killed test run signals only servers the kit started, never a planted PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mailsupport.testing import realservers
from mailsupport.testing.realservers import _reap_stale, private_root, started_here

pytestmark = pytest.mark.timeout(60)
PREFIX = "mailsupport-real-"
DEAD_OWNER = "999999999 1"  # above any pid_max: a run whose owner is gone


@pytest.fixture
def victim():
    """A live process of this test that nobody may signal (stands for any process on the machine)."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


def _kit_like_server(root: Path) -> subprocess.Popen:
    """A process whose command line names ``root``, as a Dovecot started with ``-c ROOT/dovecot.conf`` does
    (returned once it has exec'd: until then /proc shows the parent's command line)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", f"{root}/dovecot/dovecot.conf"])
    deadline = time.monotonic() + 10
    while not started_here(proc.pid, root) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


def _stale_run(parent: Path, pid: int, where: str = "dovecot/run") -> Path:
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    (root / "owner.pid").write_text(DEAD_OWNER)
    (root / where).mkdir(parents=True)
    (root / where / "master.pid").write_text(f"{pid}\n")
    return root


def test_planted_run_dir_in_the_shared_tmp_is_never_signalled(victim) -> None:
    """A mailsupport-real-* dir anyone can make in the shared temp dir, naming a live PID, is ignored."""
    planted = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tempfile.gettempdir()))
    try:
        (planted / "owner.pid").write_text("999999999")
        for where in ("dovecot/run", "postfix/spool/pid"):
            (planted / where).mkdir(parents=True)
            (planted / where / "master.pid").write_text(f"{victim.pid}\n")
        ours = private_root()
        shutil.rmtree(ours, ignore_errors=True)
        assert victim.poll() is None, "the planted PID was signalled"
        assert ours.parent != planted.parent
        assert planted.exists()
    finally:
        shutil.rmtree(planted, ignore_errors=True)


def test_planted_pid_file_in_our_run_dir_is_not_signalled(tmp_path: Path, victim) -> None:
    """A PID file inside our stale run naming a process that is not our server: not signalled, dir removed."""
    root = _stale_run(tmp_path, victim.pid, where="mail/run")  # e.g. written by the mail user
    _reap_stale(tmp_path, PREFIX)
    assert victim.poll() is None
    assert not root.exists()


def test_leftover_server_of_a_killed_run_is_stopped(tmp_path: Path) -> None:
    """A server the kit started for a run whose owner died is sent SIGTERM and its directory removed."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path))
    server = _kit_like_server(root)
    try:
        (root / "owner.pid").write_text(DEAD_OWNER)
        (root / "dovecot/run").mkdir(parents=True)
        (root / "dovecot/run/master.pid").write_text(f"{server.pid}\n")
        assert started_here(server.pid, root)
        _reap_stale(tmp_path, PREFIX)
        assert server.wait(timeout=10) == -15
        assert not root.exists()
    finally:
        server.kill()
        server.wait(timeout=10)


def test_a_running_session_is_left_alone(tmp_path: Path) -> None:
    """A run whose owner is alive (same PID, same start time) keeps its servers and directory."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path))
    server = _kit_like_server(root)
    try:
        (root / "owner.pid").write_text(f"{os.getpid()} {realservers._start_time(os.getpid())}")
        (root / "dovecot/run").mkdir(parents=True)
        (root / "dovecot/run/master.pid").write_text(f"{server.pid}\n")
        _reap_stale(tmp_path, PREFIX)
        assert server.poll() is None and root.exists()
    finally:
        server.kill()
        server.wait(timeout=10)


def test_pid_file_of_another_user_is_not_read(tmp_path: Path) -> None:
    """Even for a process naming the run dir, a PID file another user owns is not believed."""
    if os.geteuid() != 0:
        pytest.skip("chowning a file to another user needs root")
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path))
    server = _kit_like_server(root)
    try:
        (root / "owner.pid").write_text(DEAD_OWNER)
        (root / "dovecot/run").mkdir(parents=True)
        pidfile = root / "dovecot/run/master.pid"
        pidfile.write_text(f"{server.pid}\n")
        os.chown(pidfile, realservers.MAIL_UID, realservers.MAIL_UID)
        _reap_stale(tmp_path, PREFIX)
        assert server.poll() is None
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.parametrize("kind", ["world-writable", "symlink"])
def test_a_runs_parent_others_control_is_refused(tmp_path: Path, monkeypatch, kind: str) -> None:
    """If the per-user parent is writable by others or a symlink, private_root refuses to use it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parent = tmp_path / f"mailsupport-runs-{os.geteuid()}"
    if kind == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o711)
        parent.symlink_to(tmp_path / "elsewhere")
    else:
        parent.mkdir()
        parent.chmod(0o777)
    with pytest.raises(RuntimeError, match="remove it, or set TMPDIR"):
        private_root()


def test_private_root_lives_in_a_closed_parent(tmp_path: Path, monkeypatch) -> None:
    """The run directory's parent is this user's, mode 0711 (traversable, not listable or writable)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = private_root()
    st = root.parent.stat()
    assert root.parent.name == f"mailsupport-runs-{os.geteuid()}"
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o711
    owner_pid, start = (root / "owner.pid").read_text().split()
    assert int(owner_pid) == os.getpid() and start == realservers._start_time(os.getpid())
