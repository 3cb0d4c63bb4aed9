"""One poll against a real Dovecot: store before DELE, UIDL state, and every fault kept safe."""

from __future__ import annotations

import email
import json
import os
from pathlib import Path

import pytest

from mailsupport.errors import AuthError, ConfigError
from mailsupport.pipeline import FetchPolicy, poll
from mailsupport.store import Store
from mailsupport.testing.faultproxy import Fault, FaultProxy
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant
from mailsupport.testing.realservers import write_maildir

pytestmark = [pytest.mark.realservers, pytest.mark.timeout(90)]

RECIPIENTS = [
    "1001@catchall.example",
    "jane@catchall.example",
    "conveyancing@catchall.example",
    "nobody@catchall.example",
    "1002@smithlaw.actionstep.example",
]


def fill(maildir: Path, n: int, start: int = 0) -> list[bytes]:
    msgs = [catchall_message(i, RECIPIENTS[i % len(RECIPIENTS)]) for i in range(start, start + n)]
    write_maildir(maildir, msgs, prefix=f"s{start}-")
    return msgs


def on_server(maildir: Path) -> int:
    return sum(1 for sub in ("new", "cur") for _ in (maildir / sub).iterdir())


def stored_ids(store: Store) -> list[str]:
    return sorted(email.message_from_bytes(store.read(m))["Message-ID"] for m in store.messages())


def test_poll_stores_routes_and_deletes(dovecot, pop_user, store) -> None:
    """Every message is stored once with its decision, then deleted because the tenant confirmed."""
    user, maildir = pop_user
    fill(maildir, 25)
    s = poll(pipeline_tenant(pop_port=dovecot.port, username=user), store)
    assert (s.listed, s.fetched, s.deleted, s.errors) == (25, 25, 25, ())
    assert dict(s.routed) == {"matter": 10, "user": 5, "alias": 5, "failed": 5}
    assert s.forwarded_as_failed == 5 and len(store.queued()) == 5
    assert on_server(maildir) == 0
    assert len(set(stored_ids(store))) == 25
    json.dumps(s.to_dict())


def test_without_confirmation_nothing_is_deleted_and_uidls_skip(dovecot, pop_user, store) -> None:
    """No download-then-delete confirmation: mail stays; the next poll skips it as already seen."""
    user, maildir = pop_user
    fill(maildir, 8)
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, confirm_delete=False)
    first = poll(tenant, store)
    assert (first.fetched, first.deleted, first.kept_on_server) == (8, 0, 8)
    fill(maildir, 2, start=100)
    second = poll(tenant, store)
    assert (second.fetched, second.skipped_as_already_seen, second.deleted) == (2, 8, 0)
    assert on_server(maildir) == 10 and len(stored_ids(store)) == 10


def test_implicit_tls_with_verified_certificate(dovecot, pop_user, store) -> None:
    """POP3S on the TLS port works with the throwaway CA, and fails without it."""
    user, maildir = pop_user
    fill(maildir, 3)
    tenant = pipeline_tenant(pop_port=dovecot.tls_port, username=user, tls="implicit", ca_file=dovecot.ca_file)
    assert poll(tenant, store).fetched == 3
    untrusted = pipeline_tenant(pop_port=dovecot.tls_port, username=user, tls="implicit")
    from mailsupport.errors import ConnectError

    with pytest.raises(ConnectError, match="certificate"):
        poll(untrusted, store)


def test_plaintext_password_refused_unless_allowed(dovecot, pop_user, store) -> None:
    """Over an unencrypted connection the password is not sent unless the tenant allows it."""
    user, _ = pop_user
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user)
    server = tenant.inbound.server.__class__(
        **{
            **{f: getattr(tenant.inbound.server, f) for f in tenant.inbound.server.__dataclass_fields__},
            "allow_plaintext_auth": False,
        }
    )
    with pytest.raises(ConfigError, match="unencrypted"):
        poll(tenant.with_servers(inbound=server), store)


def test_wrong_password_is_auth_error_without_the_password(dovecot, pop_user, store) -> None:
    """A rejected login is an AuthError quoting the server, never the password."""
    user, _ = pop_user
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, password="canary-4b1d-wrong")
    with pytest.raises(AuthError) as info:
        poll(tenant, store)
    assert "[AUTH]" in str(info.value) and "canary" not in str(info.value)


def test_dele_refused_keeps_message_and_reports(dovecot, pop_user, store) -> None:
    """-ERR on DELE: the message is stored, stays on the server, and is deleted next poll."""
    user, maildir = pop_user
    fill(maildir, 5)
    # the proxy answers a faulted command itself, so keep replies in order: no PIPELINING in CAPA
    no_pipelining = Fault(command=r"^CAPA$", reply=b"+OK\r\nUIDL\r\nTOP\r\nUSER\r\n.\r\n")
    dele_refused = Fault(command=r"^DELE 3$", reply=b"-ERR [SYS/TEMP] cannot delete now\r\n")
    with FaultProxy(dovecot.port, [no_pipelining, dele_refused]) as px:
        s = poll(pipeline_tenant(pop_port=px.port, username=user), store)
    assert (s.fetched, s.deleted) == (5, 4)
    assert [e["stage"] for e in s.errors] == ["dele"] and "stays on the server" in s.errors[0]["message"]
    assert on_server(maildir) == 1
    with Store(store.directory) as check:
        assert [m.uidl for m in check.messages() if m.uidl in {e["uidl"] for e in s.errors}]
    again = poll(pipeline_tenant(pop_port=dovecot.port, username=user), store)
    assert (again.fetched, again.skipped_as_already_seen, again.deleted) == (0, 1, 1)
    assert on_server(maildir) == 0 and len(stored_ids(store)) == 5


def test_connection_dropped_mid_retr_deletes_nothing(dovecot, pop_user, store) -> None:
    """A RETR cut off half way: no QUIT, so no DELE applies; the rerun fetches the rest."""
    user, maildir = pop_user
    fill(maildir, 6)
    # the proxy counts bytes from the faulted command on, so keep commands unpipelined here
    no_pipelining = Fault(command=r"^CAPA$", reply=b"+OK\r\nUIDL\r\nTOP\r\nUSER\r\n.\r\n")
    cut = Fault(command=r"^RETR 4$", action="drop-response", after_bytes=200)
    with FaultProxy(dovecot.port, [no_pipelining, cut]) as px:
        s = poll(pipeline_tenant(pop_port=px.port, username=user), store)
    assert s.fetched == 3 and s.deleted == 0
    assert s.errors[0]["stage"] == "retr" and "closed the connection" in s.errors[0]["message"]
    assert on_server(maildir) == 6
    again = poll(pipeline_tenant(pop_port=dovecot.port, username=user), store)
    assert (again.fetched, again.skipped_as_already_seen, again.deleted) == (3, 3, 6)
    assert len(set(stored_ids(store))) == 6 == len(stored_ids(store))


def test_repeated_uidls_are_kept_and_reported(dovecot, pop_user, store) -> None:
    """A server listing one UIDL twice: both messages stored, neither deleted, an error names it."""
    user, maildir = pop_user
    fill(maildir, 3)
    fake = b"+OK\r\n1 SAME\r\n2 SAME\r\n3 UNIQUE\r\n.\r\n"
    with FaultProxy(dovecot.port, [Fault(command=r"^UIDL$", reply=fake)]) as px:
        s = poll(pipeline_tenant(pop_port=px.port, username=user), store)
    assert s.fetched == 3 and s.deleted == 1
    assert any(e["stage"] == "uidl" and "SAME" in e["message"] for e in s.errors)
    assert on_server(maildir) == 2


def test_unreadable_message_lands_in_failed_and_stays(dovecot, pop_user, store) -> None:
    """A message with no header at all is stored, failed-forwarded, reported, never deleted."""
    user, maildir = pop_user
    write_maildir(maildir, [b"\x00\x01 this is not a mail at all\n\n\xff\xfe"], prefix="junk")
    s = poll(pipeline_tenant(pop_port=dovecot.port, username=user), store)
    assert s.fetched == 1 and s.forwarded_as_failed == 1 and s.deleted == 0
    assert [e["stage"] for e in s.errors] == ["parse"]
    assert on_server(maildir) == 1


def test_far_fewer_messages_than_expected_stops_the_poll(dovecot, pop_user, store) -> None:
    """When most of the mail left on the server vanished, the poll reports and does nothing."""
    user, maildir = pop_user
    fill(maildir, 20)
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, confirm_delete=False)
    assert poll(tenant, store).fetched == 20
    for p in sorted((maildir / "cur").iterdir())[:15] + sorted((maildir / "new").iterdir())[:15]:
        p.unlink()
    fill(maildir, 1, start=500)
    s = poll(tenant, store)
    assert s.fetched == 0 and s.errors[0]["stage"] == "list" and "were left on the server" in s.errors[0]["message"]
    ok = poll(tenant, store, policy=FetchPolicy(accept_listing_change=True))
    assert ok.fetched == 1 and not ok.errors


def test_store_error_aborts_without_deleting(dovecot, pop_user, tmp_path) -> None:
    """If the store fails mid-poll, the session is aborted so the server deletes nothing."""
    if os.geteuid() != 0:
        pytest.skip("needs root for the tmpfs")
    import subprocess

    user, maildir = pop_user
    write_maildir(maildir, [catchall_message(i, "1001@catchall.example", body="y" * 150_000) for i in range(12)])
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs")
    try:
        with Store(mnt) as st:
            s = poll(pipeline_tenant(pop_port=dovecot.port, username=user), st)
            assert s.errors[-1]["stage"] == "store" and "disk is full" in s.errors[-1]["message"]
            assert s.deleted == 0
            assert on_server(maildir) == 12
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


MALFORMED = {
    "no-blank-line": b"Subject: only headers\r\nX-Original-To: 1001@catchall.example\r\n",
    "binary-garbage": bytes(range(1, 256)) * 4 + b"\r\n",
    "very-long-line": b"X-Original-To: 1001@catchall.example\r\nSubject: long\r\n\r\n" + b"A" * 50_000 + b"\r\n",
    "8bit-headers": "X-Original-To: jane@catchall.example\r\nSubject: Grüße\r\n\r\nbody\r\n".encode("latin-1"),
    "broken-encoded-word": b"X-Original-To: x@catchall.example\r\nSubject: =?utf-8?B?!!!?=\r\n\r\nb\r\n",
    "dots-at-line-starts": (
        b"X-Original-To: 1002@catchall.example\r\nSubject: dots\r\n\r\n.\r\n..\r\n.hidden\r\nend\r\n"
    ),
    "bare-lf-and-nul": b"X-Original-To: 1003@catchall.example\nSubject: lf\n\nnul \x00 here\n",
}


def test_malformed_generated_messages_all_land_somewhere(dovecot, pop_user, store) -> None:
    """Generated broken messages are all stored byte for byte and routed or failed-forwarded."""
    user, maildir = pop_user
    write_maildir(maildir, list(MALFORMED.values()), prefix="bad")
    s = poll(pipeline_tenant(pop_port=dovecot.port, username=user), store)
    assert s.fetched == len(MALFORMED)
    assert sum(dict(s.routed).values()) == len(MALFORMED)
    stored = {store.read(m) for m in store.messages()}
    for name, raw in MALFORMED.items():
        crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert crlf in stored or crlf + b"\r\n" in stored, name
    kinds = {d["kind"] for d in store.decisions()}
    assert {"matter", "user", "failed"} <= kinds
    failed = sum(1 for d in store.decisions() if d["kind"] == "failed")
    assert len(store.queued()) == failed == s.forwarded_as_failed


def test_far_more_messages_than_expected_stops_the_poll(dovecot, pop_user, store) -> None:
    """A sudden flood (a restored backup) is reported and not fetched until accepted."""
    user, maildir = pop_user
    fill(maildir, 3)
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, confirm_delete=False)
    policy = FetchPolicy(grow_min=5, grow_ratio=1.0)
    assert poll(tenant, store, policy=policy).fetched == 3
    fill(maildir, 12, start=300)
    s = poll(tenant, store, policy=policy)
    assert s.fetched == 0 and "restored backup" in s.errors[0]["message"]
    assert poll(tenant, store, policy=FetchPolicy(accept_listing_change=True)).fetched == 12


def test_retr_refused_keeps_that_message_and_fetches_the_rest(dovecot, pop_user, store) -> None:
    """-ERR to one RETR (connection alive): that message stays, the others are stored and deleted."""
    user, maildir = pop_user
    fill(maildir, 4)
    no_pipelining = Fault(command=r"^CAPA$", reply=b"+OK\r\nUIDL\r\nTOP\r\nUSER\r\n.\r\n")
    refused = Fault(command=r"^RETR 2$", reply=b"-ERR [SYS/TEMP] cannot read message\r\n")
    with FaultProxy(dovecot.port, [no_pipelining, refused]) as px:
        s = poll(pipeline_tenant(pop_port=px.port, username=user), store)
    assert (s.fetched, s.deleted, s.kept_on_server) == (3, 3, 1)
    assert s.errors[0]["stage"] == "retr" and "cannot read message" in s.errors[0]["message"]
    assert on_server(maildir) == 1
