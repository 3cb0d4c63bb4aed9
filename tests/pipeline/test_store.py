"""The store: durable, idempotent, and clear when the disk is full."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from pathlib import Path

import pytest

from mailsupport.errors import StoreError
from mailsupport.store import Store
from mailsupport.store.private import DIR_MODE, FILE_MODE


def test_put_is_durable_and_indexed(tmp_path: Path) -> None:
    """A stored message is in Maildir/new with its bytes, indexed with UIDL and decision."""
    with Store(tmp_path) as st:
        m = st.put_message(
            b"Subject: a\r\n\r\nx\r\n",
            account="acct",
            uidl="U1",
            decision={"kind": "matter", "target": "1001", "reason": "r", "trace": ["t"]},
        )
        assert m.created and Path(m.path).parent.name == "new"
        assert Path(m.path).read_bytes() == b"Subject: a\r\n\r\nx\r\n"
        assert st.seen_uidls("acct") == {"U1"}
        assert st.decisions()[0]["target"] == "1001"
        assert not list((tmp_path / "Maildir" / "tmp").iterdir())
    with Store(tmp_path) as again:  # reopened: still there
        assert again.seen_uidls("acct") == {"U1"}


def test_same_message_twice_is_stored_once(tmp_path: Path) -> None:
    """Storing the same account/UIDL/bytes again creates nothing new."""
    with Store(tmp_path) as st:
        first = st.put_message(b"x", account="a", uidl="U")
        second = st.put_message(b"x", account="a", uidl="U")
        assert first.id == second.id and not second.created
        assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 1


def test_crash_between_link_and_index_leaves_one_copy(tmp_path: Path) -> None:
    """A file linked into new/ whose index row was never committed is adopted, not duplicated."""
    with Store(tmp_path) as st:
        m = st.put_message(b"hello", account="a", uidl="U")
        st._db.execute("DELETE FROM messages")  # as if the process died before COMMIT
        again = st.put_message(b"hello", account="a", uidl="U")
        assert again.path == m.path
        assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 1
        assert len(list(st.messages())) == 1


def test_same_uidl_different_bytes_both_kept(tmp_path: Path) -> None:
    """A server that reuses a UIDL for another message does not make us drop either."""
    with Store(tmp_path) as st:
        st.put_message(b"one", account="a", uidl="U")
        st.put_message(b"two", account="a", uidl="U")
        assert sorted(st.read(m) for m in st.messages()) == [b"one", b"two"]


def test_failed_forward_queued_once(tmp_path: Path) -> None:
    """Queue entries caused by a message are queued only when the message is new."""
    item = {"raw": b"fwd", "mail_from": "a@x", "rcpt_tos": ["it@x"], "message_id": "<f@x>"}
    with Store(tmp_path) as st:
        st.put_message(b"m", account="a", uidl="U", enqueue=[item])
        st.put_message(b"m", account="a", uidl="U", enqueue=[item])
        assert [q.raw for q in st.queued()] == [b"fwd"]


def test_sent_message_ids_map_to_matters(tmp_path: Path) -> None:
    """record_sent/sent_matters is the memory the reply rule uses."""
    with Store(tmp_path) as st:
        st.record_sent("<s1@x>", "1001")
        assert st.sent_matters(["<s1@x>", "<other@x>"]) == {"<s1@x>": "1001"}


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    """A store that cannot be created names the directory and the reason."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the store"):
        Store(blocker / "store")


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A 1 MiB tmpfs mounted for this test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_is_a_clear_error_and_keeps_what_was_stored(tiny_tmpfs: Path) -> None:
    """On a full disk put_message raises StoreError saying so; earlier messages stay intact."""
    big = b"x" * 200_000
    stored = []
    with Store(tiny_tmpfs) as st:
        with pytest.raises(StoreError, match="disk is full") as info:
            for i in range(50):
                stored.append(st.put_message(big + str(i).encode(), account="a", uidl=f"U{i}"))
        assert "nothing was deleted on the server" in str(info.value)
        assert stored, "some messages fit before the disk filled"
        for m in stored:
            assert Path(m.path).stat().st_size == len(big) + len(str(stored.index(m)))
        assert st.seen_uidls("a") == {f"U{i}" for i in range(len(stored))}
        assert not list((tiny_tmpfs / "Maildir" / "tmp").iterdir())


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


def _use(st: Store) -> None:
    """Write every kind of file a store has: a message, a queued mail (WAL) and the forward key."""
    st.put_message(b"Subject: private\r\n\r\nbody\r\n", account="a", uidl="U1")
    st.enqueue(b"queued raw mail", mail_from="a@x", rcpt_tos=["b@x"])
    st.forward_key()


def test_new_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """With umask 000 the store directories are still 0700 and every file (WAL and SHM too) 0600."""
    old = os.umask(0)
    try:
        with Store(tmp_path / "store") as st:
            _use(st)
            modes = _modes(tmp_path / "store")
            assert st.tightened == ()
    finally:
        os.umask(old)
    assert {"index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm", "forward.key"} <= set(modes)
    assert any(name.startswith("Maildir/new/") for name in modes)
    for name, mode in modes.items():
        is_dir = (tmp_path / "store" / name).is_dir()
        assert mode == (DIR_MODE if is_dir else FILE_MODE), name


def test_loose_store_is_tightened_on_open_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An older store (0755 directories, 0644 files) is made private when opened, with a warning naming it."""
    root = tmp_path / "store"
    with Store(root) as st:
        _use(st)
        message = Path(next(st.messages()).path)
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    with caplog.at_level(logging.WARNING, logger="mailsupport.store"):
        with Store(root) as again:
            tightened = again.tightened
            assert again.read(next(again.messages())) == b"Subject: private\r\n\r\nbody\r\n"
    assert any(str(root) in r.getMessage() and "index.sqlite3" in r.getMessage() for r in caplog.records)
    assert any(t.startswith(f"{message} (was 0644") for t in tightened)
    for name, mode in _modes(root).items():
        assert mode == (DIR_MODE if (root / name).is_dir() else FILE_MODE), name
    with Store(root) as third:  # private now: nothing more to say
        assert third.tightened == ()


def test_forward_key_is_private_and_stable(tmp_path: Path) -> None:
    """The forward key is 32 random bytes in a 0600 file, the same after reopening, different per store."""
    with Store(tmp_path / "one") as one, Store(tmp_path / "two") as two:
        key = one.forward_key()
        assert len(key) == 32 and key != two.forward_key()
    assert stat.S_IMODE((tmp_path / "one" / "forward.key").stat().st_mode) == FILE_MODE
    with Store(tmp_path / "one") as again:
        assert again.forward_key() == key


def test_damaged_forward_key_is_a_clear_error(tmp_path: Path) -> None:
    """A truncated key file is a StoreError that names it and says to remove it."""
    with Store(tmp_path) as st:
        (tmp_path / "forward.key").write_bytes(b"short")
        with pytest.raises(StoreError, match="forward.key is damaged.*remove it"):
            st.forward_key()
