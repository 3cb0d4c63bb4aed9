"""One poll of a tenant's POP3 mailbox: list, retrieve, route, store durably, then DELE, then QUIT.

Owns :func:`poll`, :class:`FetchPolicy` and :class:`PollSummary`. The order is what makes a
crash at any instant safe (issue #3, "Nothing is lost"):

1. ``LIST`` + ``UIDL``; UIDLs already in the store are *skipped as already seen*.
2. ``RETR`` one message, route it (pure), and store it with its decision (and its failed-mail
   forward, queued in the same transaction) — durable on disk before anything else happens.
3. ``DELE`` it, only when the tenant confirmed download-then-delete; POP3 applies DELE only
   after a successful ``QUIT`` (RFC 1939 §6), so a crash before QUIT deletes nothing.
4. ``QUIT`` after every message is stored; then the store notes what the server deleted.

Throughput without weakening step 3: RETRs go out in pipelined windows, messages are made
durable in batches (files fsynced in parallel, one directory fsync and one index commit per
batch) by a committer thread while the next window is retrieved, and a batch's DELEs are
sent only after its commit returned.

A rerun after a crash re-lists: stored UIDLs are skipped (and deleted if confirmed), a
message stored but not indexed is found again by its deterministic Maildir name, so nothing
is lost and nothing duplicated.

Never deleted, always reported: messages whose UIDL repeats in the listing (the server's
UIDLs are not unique, RFC 1939 §7 says they must be), messages with no readable header,
a RETR that fails. A listing far from what the previous poll left behind (a restored
backup, a switched mailbox) stops the poll before any RETR until accepted
(``FetchPolicy.accept_listing_change``).

Layer 4: uses the POP3 client, the store, the router. ``checkpoint`` is the seam the
reliability test uses to SIGKILL the process at exact points.
"""

from __future__ import annotations

import ssl
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import Tenant
from ..errors import ProtocolError, StoreError
from ..pop3 import Pop3Client
from ..store import Store
from .failed import plan_failed_forward
from .ingest import decide

__all__ = ["FetchPolicy", "PollSummary", "poll", "account_id", "Checkpoint"]

#: ``checkpoint(stage, number)``: stages are ``listed``, ``retrieved``, ``stored``, ``deleted``,
#: ``before-quit``, ``after-quit`` (number is the POP3 message number, 0 when not about one).
Checkpoint = Callable[[str, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPolicy:
    """When a listing is "far" from the previous poll's: fewer than ``shrink_ratio`` of the
    expected count (once at least ``min_expected`` were expected), or more than
    ``max(grow_min, grow_ratio * expected)`` new messages. ``accept_listing_change`` acts anyway.

    Messages are made durable in batches of up to ``batch_messages`` / ``batch_bytes`` (one
    group commit each; still every message durable before its DELE)."""

    shrink_ratio: float = 0.5
    min_expected: int = 10
    grow_ratio: float = 10.0
    grow_min: int = 1000
    accept_listing_change: bool = False
    batch_messages: int = 32
    batch_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSummary:
    """What one poll did; :meth:`to_dict` is the JSON ``mailsupport run --once`` prints.

    ``kept_on_server`` counts messages left on the server on purpose (no confirmation,
    repeated UIDL, unreadable, refused DELE); ``errors`` are ``{"stage", "uidl", "message"}``.
    """

    account: str
    listed: int = 0
    fetched: int = 0
    routed: tuple[tuple[str, int], ...] = ()
    forwarded_as_failed: int = 0
    deleted: int = 0
    skipped_as_already_seen: int = 0
    kept_on_server: int = 0
    errors: tuple[dict[str, str], ...] = ()
    decisions: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when the poll met no error."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-message decisions)."""
        return {"account": self.account, "listed": self.listed, "fetched": self.fetched,
                "routed": dict(self.routed), "forwarded_as_failed": self.forwarded_as_failed,
                "deleted": self.deleted, "skipped_as_already_seen": self.skipped_as_already_seen,
                "kept_on_server": self.kept_on_server, "errors": [dict(e) for e in self.errors]}


def account_id(tenant: Tenant) -> str:
    """The store's name for the tenant's mailbox (UIDLs are unique only within one mailbox)."""
    inbound = tenant.inbound
    if inbound is None:
        return f"{tenant.org_key}:outbound-only"
    return f"{tenant.org_key}:{(inbound.server.username or inbound.address).lower()}@{inbound.server.host or ''}"


class _Tally:
    def __init__(self, account: str) -> None:
        self.account = account
        self.listed = self.fetched = self.failed = self.deleted = self.seen = self.kept = 0
        self.routed: Counter[str] = Counter()
        self.errors: list[dict[str, str]] = []
        self.decisions: list[dict[str, Any]] = []

    def error(self, stage: str, uidl: str, message: str) -> None:
        self.errors.append({"stage": stage, "uidl": uidl, "message": message})

    def freeze(self) -> PollSummary:
        return PollSummary(account=self.account, listed=self.listed, fetched=self.fetched,
                           routed=tuple(sorted(self.routed.items())), forwarded_as_failed=self.failed,
                           deleted=self.deleted, skipped_as_already_seen=self.seen, kept_on_server=self.kept,
                           errors=tuple(self.errors), decisions=tuple(self.decisions))


def _listing_anomaly(store: Store, account: str, listed: int, policy: FetchPolicy) -> str:
    last = store.last_poll(account)
    if last is None or policy.accept_listing_change:
        return ""
    expected = last["left_on_server"]
    if expected >= policy.min_expected and listed < expected * policy.shrink_ratio:
        return (f"the mailbox lists {listed} messages but {expected} were left on the server by the last poll; "
                "someone else may be deleting mail or the account changed")
    if listed - expected > max(policy.grow_min, policy.grow_ratio * expected):
        return (f"the mailbox lists {listed} messages but {expected} were left by the last poll; a restored "
                "backup or a different mailbox would be filed twice")
    return ""


def poll(tenant: Tenant, store: Store, *, policy: FetchPolicy = FetchPolicy(),
         checkpoint: Checkpoint | None = None, ssl_context: ssl.SSLContext | None = None,
         message_domain: str | None = None) -> PollSummary:
    """Check the tenant's mailbox once (see the module docstring). Never raises for one bad
    message; raises :class:`OperationError` when the server cannot be reached or logged in to."""
    cp = checkpoint or (lambda stage, number: None)
    account = account_id(tenant)
    tally = _Tally(account)
    inbound = tenant.inbound
    if inbound is None:
        tally.error("config", "", "outbound-only tenant: there is no mailbox to fetch")
        return tally.freeze()
    confirm = inbound.confirm_download_then_delete
    deleted: list[str] = []
    client = Pop3Client(inbound.server, ssl_context=ssl_context).open()
    quit_ok = False
    try:
        client.capabilities()  # PIPELINING lets a window of RETRs, and a batch's DELEs, share a round trip
        listing = client.listing()
        tally.listed = len(listing)
        cp("listed", 0)
        anomaly = _listing_anomaly(store, account, len(listing), policy)
        if anomaly:
            tally.error("list", "", anomaly + "; nothing fetched or deleted: check the mailbox, then poll with "
                                              "accept_listing_change (--accept-listing-change)")
            tally.kept = len(listing)
            client.quit()
            return tally.freeze()
        counts = Counter(e.uidl for e in listing)
        repeated = {u for u, n in counts.items() if n > 1}
        for uidl in sorted(repeated):
            tally.error("uidl", uidl, f"the server lists UIDL {uidl!r} {counts[uidl]} times (UIDLs must be unique, "
                                      "RFC 1939 §7); those messages are stored but never deleted")
        seen = store.seen_uidls(account)
        batch: list[tuple[Any, bytes, Any, bool, list]] = []
        batch_bytes = 0
        in_flight: list[tuple[Future, list]] = []
        committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-commit")

        def submit_batch() -> None:
            # the group commit runs in a thread while RETR goes on; DELE waits for it (finish)
            items = [{"raw": raw, "account": account, "uidl": e.uidl, "source": "pop3", "decision": d.to_dict(),
                      "enqueue": q} for e, raw, d, _u, q in batch]
            in_flight.append((committer.submit(store.put_batch, items), list(batch)))
            batch.clear()

        def finish(dele: bool, wait: bool) -> None:
            while in_flight and (wait or in_flight[0][0].done() or len(in_flight) > 4):
                future, done = in_flight.pop(0)
                stored = future.result()  # StoreError propagates: the session is aborted, nothing deleted
                for (e, _raw, d, unreadable, q), sm in zip(done, stored):
                    cp("stored", e.number)
                    if sm.created:
                        tally.fetched += 1
                        tally.routed[d.kind.value] += 1
                        tally.failed += 1 if q else 0
                        tally.decisions.append({"uidl": e.uidl, **d.to_dict()})
                    if unreadable:
                        tally.error("parse", e.uidl, "the message has no readable header; stored and forwarded "
                                                     "as failed, left on the server")
                to_delete = []
                for e, _raw, _d, unreadable, _q in done:
                    if e.uidl in repeated or unreadable or not confirm or not dele:
                        tally.kept += 1
                    else:  # durable now, so DELE is safe (and applies only at QUIT anyway)
                        to_delete.append(e)
                _dele_many(client, to_delete, tally, deleted, cp)

        try:
            known = [e for e in listing if e.uidl in seen and e.uidl not in repeated]
            fresh = [e for e in listing if not (e.uidl in seen and e.uidl not in repeated)]
            tally.seen = len(known)
            if confirm:  # stored by an earlier (interrupted) poll: safe to delete now
                _dele_many(client, known, tally, deleted, cp)
            else:
                tally.kept += len(known)
            by_number = {e.number: e for e in fresh}
            window = max(1, policy.batch_messages)
            for start in range(0, len(fresh), window):
                finish(dele=True, wait=False)  # between windows no RETR is outstanding, so DELE may go
                for position, (number, result) in enumerate(
                        client.retr_many([e.number for e in fresh[start:start + window]]), start):
                    entry = by_number[number]
                    if isinstance(result, ProtocolError):
                        tally.error("retr", entry.uidl, f"{result}; the message stays on the server")
                        tally.kept += 1
                        if not client.connected:  # the connection is gone: keep what we have, stop here
                            tally.kept += len(fresh) - position - 1
                            submit_batch()
                            finish(dele=False, wait=True)
                            return tally.freeze()
                        continue
                    raw = result
                    cp("retrieved", entry.number)
                    decision, unreadable = decide(tenant, raw, store)
                    decision, forwards = plan_failed_forward(tenant, raw, decision, message_domain,
                                                             key=store.forward_key)
                    batch.append((entry, raw, decision, unreadable, forwards))
                    batch_bytes += len(raw)
                    if len(batch) >= policy.batch_messages or batch_bytes >= policy.batch_bytes:
                        submit_batch()
                        batch_bytes = 0
            if batch:
                submit_batch()
            finish(dele=True, wait=True)
        finally:
            committer.shutdown(wait=True)
        cp("before-quit", 0)
        client.quit()
        quit_ok = True
        cp("after-quit", 0)
    except StoreError as exc:
        tally.error("store", "", str(exc))
        deleted.clear()  # the session is aborted below: the server applies no DELE
    except _SessionLost:
        deleted.clear()  # no QUIT, so no DELE of this session is applied
    except ProtocolError as exc:  # LIST/UIDL/QUIT failed: no deletion is known to be applied
        tally.error("session", "", f"{exc}; nothing deleted this poll")
        deleted.clear()
    finally:
        if not quit_ok:
            client.abort()
    if quit_ok:
        tally.deleted = len(deleted)
        store.mark_deleted(account, deleted)
        store.record_poll(account, listed=tally.listed, left_on_server=tally.listed - len(deleted),
                          summary=tally.freeze().to_dict())
    return tally.freeze()


def _dele_many(client: Pop3Client, entries: list, tally: _Tally, deleted: list[str], cp: Checkpoint) -> None:
    if not entries:
        return
    try:
        refused = client.dele_many([e.number for e in entries])
    except ProtocolError as exc:
        tally.error("dele", "", f"{exc}; the messages are stored and stay on the server")
        raise _SessionLost from exc
    for e in entries:
        if e.number in refused:
            tally.error("dele", e.uidl, f"{refused[e.number]}; the message is stored and stays on the server "
                                        "(deleted at a later poll)")
            tally.kept += 1
        else:
            deleted.append(e.uidl)
            cp("deleted", e.number)


class _SessionLost(Exception):
    """The POP3 connection died; the poll ends without QUIT (so without deletions)."""


def _dele(client: Pop3Client, number: int, uidl: str, tally: _Tally, deleted: list[str], cp: Checkpoint) -> None:
    try:
        client.dele(number)
    except ProtocolError as exc:
        tally.error("dele", uidl, f"{exc}; the message is stored and stays on the server (deleted at a later poll)")
        tally.kept += 1
        if not client.connected:
            raise _SessionLost from exc
        return
    deleted.append(uidl)
    cp("deleted", number)
