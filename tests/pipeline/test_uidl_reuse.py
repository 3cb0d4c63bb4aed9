"""A UIDL already stored proves nothing: a new message behind a reused UIDL is stored, never deleted unread."""

from __future__ import annotations

import email
import poplib
import sqlite3

import pytest

from mailsupport.pipeline import poll
from mailsupport.store import Store
from mailsupport.testing.faultproxy import Fault, FaultProxy
from mailsupport.testing.hostile import HostileServer
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant

pytestmark = pytest.mark.timeout(60)


def message(subject: bytes, body: bytes = b"the body\r\n") -> bytes:
    """A small catch-all message with ``subject`` (same length subjects give same size messages)."""
    return (
        b"From: client@outside.example\r\nX-Original-To: 1001@catchall.example\r\n"
        b"Message-ID: <" + subject + b"@outside.example>\r\nSubject: " + subject + b"\r\n\r\n" + body
    )


OLD, NEW = message(b"first-A"), message(b"first-B")


def tenant(port: int, *, confirm: bool):
    """The pipeline test tenant on the hostile server's port."""
    return pipeline_tenant(pop_port=port, username="u", password="canary-4b1d-reuse", confirm_delete=confirm)


def delete_on_server(port: int) -> None:
    """Another mail client deletes every message (so its UIDL may be reused)."""
    p = poplib.POP3("127.0.0.1", port, timeout=5)
    p.user("u"), p.pass_("x")
    for n in range(1, p.stat()[0] + 1):
        p.dele(n)
    p.quit()


def subjects(store: Store) -> list[str]:
    return sorted(email.message_from_bytes(store.read(m))["Subject"] for m in store.messages())


def test_same_size_new_message_behind_reused_uidl_is_stored_then_deleted(store):
    """Download-then-delete: the reused UIDL's message is retrieved and stored before its DELE."""
    assert len(OLD) == len(NEW) and OLD != NEW
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="same")
        first = poll(tenant(srv.port, confirm=True), store)
        assert (first.fetched, first.deleted) == (1, 1) and srv.deleted == ["same"]
        srv.deliver(NEW, uidl="same")
        second = poll(tenant(srv.port, confirm=True), store)
        assert (second.fetched, second.deleted, second.reused_uidls, second.errors) == (1, 1, 1, ())
        assert srv.deleted == ["same", "same"]
        assert len(srv.commands_named("RETR")) == 2  # the second message was read before its DELE
    assert subjects(store) == ["first-A", "first-B"]


def test_reused_uidl_in_keep_mode_is_fetched_and_then_skipped(store):
    """Keep on server: TOP shows a different header behind the known UIDL, so it is fetched; next poll skips it."""
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="same")
        assert poll(tenant(srv.port, confirm=False), store).fetched == 1
        delete_on_server(srv.port)
        srv.deliver(NEW, uidl="same")
        second = poll(tenant(srv.port, confirm=False), store)
        assert (second.fetched, second.reused_uidls, second.skipped_as_already_seen, second.deleted) == (1, 1, 0, 0)
        retrs = len(srv.commands_named("RETR"))
        third = poll(tenant(srv.port, confirm=False), store)
        assert (third.fetched, third.skipped_as_already_seen, third.errors) == (0, 1, ())
        assert len(srv.commands_named("RETR")) == retrs  # verified by TOP n 0, not retrieved again
        assert srv.commands_named("TOP")[-1] == "TOP 1 0"
        assert srv.deleted == ["same"]  # only the other client's deletion
    assert subjects(store) == ["first-A", "first-B"]


def test_genuine_stored_copy_is_deleted_in_confirm_mode(store):
    """A message stored by an earlier poll (kept then) is deleted once confirmed: its bytes match the store."""
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="u1")
        assert poll(tenant(srv.port, confirm=False), store).fetched == 1
        again = poll(tenant(srv.port, confirm=True), store)
        assert (again.fetched, again.skipped_as_already_seen, again.deleted, again.errors) == (0, 1, 1, ())
        assert srv.deleted == ["u1"]
    assert subjects(store) == ["first-A"]


@pytest.mark.parametrize(
    "faults",
    [
        [Fault(command=r"^CAPA$", reply=b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", times=None)],
        [
            Fault(command=r"^CAPA$", reply=b"-ERR unknown command\r\n", times=None),
            Fault(command=r"^TOP ", reply=b"-ERR unknown command\r\n", times=None),
        ],
    ],
    ids=["capa-without-top", "no-capa-top-refused"],
)
def test_without_top_the_full_message_decides(store, faults):
    """A server without TOP: known UIDLs are retrieved, the same bytes skipped, a new message stored."""
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="same")
        srv.deliver(message(b"second"), uidl="other")
        with FaultProxy(srv.port, faults) as px:
            assert poll(tenant(px.port, confirm=False), store).fetched == 2
            delete_on_server(srv.port)
            srv.deliver(message(b"second"), uidl="other")
            srv.deliver(NEW, uidl="same")
            again = poll(tenant(px.port, confirm=False), store)
    assert (again.fetched, again.reused_uidls, again.skipped_as_already_seen, again.errors) == (1, 1, 1, ())
    assert subjects(store) == ["first-A", "first-B", "second"]


def test_rows_stored_before_the_header_digest_are_verified_from_their_file(store):
    """An index row without a header digest gets it from the Maildir file when a UIDL needs checking."""
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="u1")
        poll(tenant(srv.port, confirm=False), store)
        with sqlite3.connect(store.directory / "index.sqlite3") as db:
            db.execute("UPDATE messages SET header_sha256=NULL, newlines=NULL")
        retrs = len(srv.commands_named("RETR"))
        again = poll(tenant(srv.port, confirm=False), store)
        assert (again.fetched, again.skipped_as_already_seen) == (0, 1)
        assert len(srv.commands_named("RETR")) == retrs
    with sqlite3.connect(store.directory / "index.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM messages WHERE header_sha256 IS NULL").fetchone()[0] == 0


@pytest.mark.realservers
@pytest.mark.parametrize("confirm", [False, True], ids=["keep-on-server", "download-then-delete"])
def test_reused_uidl_on_dovecot_with_pipelined_top(dovecot, pop_user, store, confirm):
    """Dovecot (PIPELINING): a new message given a deleted message's UIDL is fetched; the others are not."""
    from mailsupport.testing.realservers import write_maildir

    user, maildir = pop_user
    write_maildir(maildir, [catchall_message(i, "1001@catchall.example") for i in range(3)], prefix="a")
    keep = pipeline_tenant(pop_port=dovecot.port, username=user, confirm_delete=False)
    assert poll(keep, store).fetched == 3
    uidl = {email.message_from_bytes(store.read(m))["Message-ID"]: m.uidl for m in store.messages()}
    middle = sorted((maildir / "cur").iterdir())[1] if any((maildir / "cur").iterdir()) else None
    victim = middle or sorted((maildir / "new").iterdir())[1]
    gone = email.message_from_bytes(victim.read_bytes())["Message-ID"]
    victim.unlink()
    write_maildir(maildir, [catchall_message(7, "1002@catchall.example")], prefix="z")
    # the server now lists the two old messages and the new one (last); the new one gets the gone UIDL
    olds = [uidl[mid] for mid in sorted(uidl) if mid != gone]
    fake = f"+OK\r\n1 {olds[0]}\r\n2 {olds[1]}\r\n3 {uidl[gone]}\r\n.\r\n".encode()
    with FaultProxy(dovecot.port, [Fault(command=r"^UIDL$", reply=fake)]) as px:
        s = poll(pipeline_tenant(pop_port=px.port, username=user, confirm_delete=confirm), store)
    assert (s.fetched, s.reused_uidls, s.skipped_as_already_seen, s.errors) == (1, 1, 2, ())
    assert s.deleted == (3 if confirm else 0)
    assert "<msg000007@outside.example>" in {
        email.message_from_bytes(store.read(m))["Message-ID"] for m in store.messages()
    }


@pytest.mark.parametrize(
    "listed,retrieved_again",
    [
        (len(OLD) - OLD.count(b"\n"), False),
        (len(OLD) - 3, True),
    ],
    ids=["lf-counted-size-fits", "unfitting-size-retrieves"],
)
def test_listed_size_against_the_stored_copy(store, listed, retrieved_again):
    """A LIST size counting LF line ends still verifies the copy; a size that fits no count means RETR again."""
    with HostileServer("pop3") as srv:
        srv.deliver(OLD, uidl="u1", listed_size=listed)
        assert poll(tenant(srv.port, confirm=False), store).fetched == 1
        again = poll(tenant(srv.port, confirm=False), store)
        assert (again.fetched, again.skipped_as_already_seen, again.errors) == (0, 1, ())
        assert len(srv.commands_named("RETR")) == (2 if retrieved_again else 1)
