"""One poll of a tenant's POP3 mailbox: list, retrieve, route, store durably, then DELE, then QUIT.

Owns :func:`poll`, :class:`FetchPolicy` and :class:`PollSummary`. The order is what makes a
crash at any instant safe (nothing is lost, nothing is stored twice):

1. ``STAT``, ``LIST`` + ``UIDL``. A listed UIDL already in the store proves nothing by itself:
   a server may give a deleted message's UIDL to a new one (RFC 1939 §7). With
   download-then-delete confirmed, a known UIDL is retrieved again like a new message (step
   2 decides by its bytes: a DELE needs the very bytes stored; known UIDLs are rare there, left
   by an interrupted poll or a refused DELE). Without it (keep on server, where every message
   is known at every poll) ``TOP n 0`` checks it, pipelined: the header block's digest and the
   LIST size against the stored copy (:func:`_verified`); verified messages are *skipped as
   already seen*, every other one is retrieved. A new message with the very header block
   and size of the stored one but another body would be skipped there — it stays on the
   server, nothing is deleted in that mode.
2. ``RETR`` one message, route it (pure), and store it with its decision (and its failed-mail
   forward, queued in the same transaction) — durable on disk before anything else happens.
   A known UIDL whose bytes are the stored copy's (same SHA-256, so the same store key) is not
   stored twice (*already seen*); different bytes are a new message behind a reused UIDL
   (``reused_uidls``), stored under its own key.
3. ``DELE`` it, only when the tenant confirmed download-then-delete; POP3 applies DELE only
   after a successful ``QUIT`` (RFC 1939 §6), so a crash before QUIT deletes nothing. A DELE
   is sent only for a message stored in this session or verified to be the stored copy.
4. ``QUIT`` after every message is stored; then the store notes what the server deleted.

Every read is bounded (``FetchPolicy.limits``, :mod:`mailsupport.limits`): a message listed
over ``max_message_bytes`` is never retrieved nor deleted, and reported with its number, UIDL,
size and what to do; the log-in has a wall-clock deadline, and once ``STAT`` tells the
mailbox's size the rest of the session gets one (:meth:`~mailsupport.limits.Limits.session_seconds`),
each step inside it its own. A step that runs out of time or past a limit closes the
connection without QUIT: nothing is deleted, and the summary names the step.

Throughput without weakening step 3: RETRs go out in pipelined windows, messages are made
durable in batches (files fsynced in parallel, one directory fsync and one index commit per
batch) by a committer thread while the next window is retrieved, and a batch's DELEs are
sent only after its commit returned.

A rerun after a crash re-lists: stored messages are verified (and deleted if confirmed), a
message stored but not indexed is found again by its deterministic Maildir
name, so nothing is lost and nothing duplicated.

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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError, StoreError
from ..headerblock import header_digest
from ..limits import DEFAULT_LIMITS, Deadline, Limits
from ..pop3 import ListingEntry, Pop3Client
from ..pop3parse import listed_size_matches
from ..store import Store, StoredCopy
from ..tenant import Tenant
from .failed import plan_failed_forward
from .ingest import decide

__all__ = ["FetchPolicy", "PollSummary", "poll", "account_id", "Checkpoint"]

#: ``checkpoint(stage, number)``: stages are ``listed``, ``retrieved``, ``stored``, ``deleted``,
#: ``before-quit``, ``after-quit`` (number is the POP3 message number, 0 when not about one).
Checkpoint = Callable[[str, int], None]
#: Steps before the session's own deadline is known: connect, greeting, STLS, USER, PASS, CAPA, STAT.
_LOGIN_STEPS = 8


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
    limits: Limits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSummary:
    """What one poll did; :meth:`to_dict` is the JSON ``mailsupport run --once`` prints.

    ``kept_on_server`` counts messages left on the server on purpose (no confirmation,
    repeated UIDL, unreadable, over the size limit, refused DELE); ``reused_uidls`` the new
    messages found behind a UIDL already stored for another message (stored, never skipped);
    ``errors`` are ``{"stage", "uidl", "message"}`` (stages: ``connect``, ``login``,
    ``session``, ``list``, ``uidl``, ``size``, ``top``, ``retr``, ``parse``, ``dele``,
    ``store``, ``config``, ``internal``).
    """

    account: str
    listed: int = 0
    fetched: int = 0
    routed: tuple[tuple[str, int], ...] = ()
    forwarded_as_failed: int = 0
    deleted: int = 0
    skipped_as_already_seen: int = 0
    kept_on_server: int = 0
    reused_uidls: int = 0
    errors: tuple[dict[str, str], ...] = ()
    decisions: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when the poll met no error."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-message decisions)."""
        return {
            "account": self.account,
            "listed": self.listed,
            "fetched": self.fetched,
            "routed": dict(self.routed),
            "forwarded_as_failed": self.forwarded_as_failed,
            "deleted": self.deleted,
            "skipped_as_already_seen": self.skipped_as_already_seen,
            "kept_on_server": self.kept_on_server,
            "reused_uidls": self.reused_uidls,
            "errors": [dict(e) for e in self.errors],
        }


def account_id(tenant: Tenant) -> str:
    """The store's name for the tenant's mailbox (UIDLs are unique only within one mailbox)."""
    inbound = tenant.inbound
    if inbound is None:
        return f"{tenant.org_key}:outbound-only"
    return f"{tenant.org_key}:{(inbound.server.username or inbound.address).lower()}@{inbound.server.host or ''}"


class _Tally:
    def __init__(self, account: str) -> None:
        self.account = account
        self.listed = self.fetched = self.failed = self.deleted = self.seen = self.kept = self.reused = 0
        self.routed: Counter[str] = Counter()
        self.errors: list[dict[str, str]] = []
        self.decisions: list[dict[str, Any]] = []

    def error(self, stage: str, uidl: str, message: str) -> None:
        self.errors.append({"stage": stage, "uidl": uidl, "message": message})

    def freeze(self) -> PollSummary:
        return PollSummary(
            account=self.account,
            listed=self.listed,
            fetched=self.fetched,
            routed=tuple(sorted(self.routed.items())),
            forwarded_as_failed=self.failed,
            deleted=self.deleted,
            skipped_as_already_seen=self.seen,
            kept_on_server=self.kept,
            reused_uidls=self.reused,
            errors=tuple(self.errors),
            decisions=tuple(self.decisions),
        )


def _listing_anomaly(store: Store, account: str, listed: int, policy: FetchPolicy) -> str:
    last = store.last_poll(account)
    if last is None or policy.accept_listing_change:
        return ""
    expected = last["left_on_server"]
    if expected >= policy.min_expected and listed < expected * policy.shrink_ratio:
        return (
            f"the mailbox lists {listed} messages but {expected} were left on the server by the last poll; "
            "someone else may be deleting mail or the account changed"
        )
    if listed - expected > max(policy.grow_min, policy.grow_ratio * expected):
        return (
            f"the mailbox lists {listed} messages but {expected} were left by the last poll; a restored "
            "backup or a different mailbox would be filed twice"
        )
    return ""


def poll(
    tenant: Tenant,
    store: Store,
    *,
    policy: FetchPolicy = FetchPolicy(),
    checkpoint: Checkpoint | None = None,
    ssl_context: ssl.SSLContext | None = None,
    message_domain: str | None = None,
) -> PollSummary:
    """Check the tenant's mailbox once (see the module docstring). Never raises for one bad
    message or a session that goes wrong after log-in (the summary says what happened);
    raises :class:`OperationError` when the server cannot be reached or logged in to, and
    :class:`ConfigError` for settings that cannot work."""
    cp = checkpoint or (lambda stage, number: None)
    account = account_id(tenant)
    tally = _Tally(account)
    inbound = tenant.inbound
    if inbound is None:
        tally.error("config", "", "outbound-only tenant: there is no mailbox to fetch")
        return tally.freeze()
    server = inbound.server
    limits = policy.limits
    confirm = inbound.confirm_download_then_delete
    deleted: list[str] = []
    client = Pop3Client(
        server,
        ssl_context=ssl_context,
        limits=limits,
        session=Deadline(
            limits.session_seconds(server.timeout, steps=_LOGIN_STEPS), "POP3 log-in", server=server.endpoint
        ),
    ).open()
    quit_ok = False
    try:
        client.capabilities()  # PIPELINING lets a window of RETRs, and a batch's DELEs, share a round trip
        count, octets = client.stat()
        # the rest of the session: LIST, UIDL, then at most TOP, RETR and DELE per message
        client.session = Deadline(
            limits.session_seconds(server.timeout, steps=3 * count + 4, expected_bytes=octets + count * 80),
            "POP3 session",
            server=server.endpoint,
        )
        listing = client.listing()
        tally.listed = len(listing)
        cp("listed", 0)
        anomaly = _listing_anomaly(store, account, len(listing), policy)
        if anomaly:
            tally.error(
                "list",
                "",
                anomaly + "; nothing fetched or deleted: check the mailbox, then poll with "
                "accept_listing_change (--accept-listing-change)",
            )
            tally.kept = len(listing)
            client.quit()
            return tally.freeze()
        counts = Counter(e.uidl for e in listing)
        repeated = {u for u, n in counts.items() if n > 1}
        for uidl in sorted(repeated):
            tally.error(
                "uidl",
                uidl,
                f"the server lists UIDL {uidl!r} {counts[uidl]} times (UIDLs must be unique, "
                "RFC 1939 §7); those messages are stored but never deleted",
            )
        usable = []
        for e in listing:
            if e.size > limits.max_message_bytes:
                tally.error(
                    "size",
                    e.uidl,
                    f"message {e.number} (UIDL {e.uidl!r}) is listed as {e.size:,} octets, "
                    f"over the limit of {limits.max_message_bytes:,}; not retrieved, left "
                    "on the server: if it is genuine, raise the limit (mailsupport run "
                    "--max-message-mb) or fetch it with a mail client",
                )
                tally.kept += 1
            else:
                usable.append(e)
        copies = store.stored_copies(account, {e.uidl for e in usable if e.uidl not in repeated})
        # confirm: a known UIDL is retrieved again and its SHA-256 decides (the DELE needs the very
        # bytes); keep: TOP n 0 against the stored copy decides (nothing is deleted either way)
        known = (
            {}
            if confirm
            else _verified(
                client,
                store,
                [e for e in usable if e.uidl in copies],
                copies,
                tally,
                window=max(1, policy.batch_messages),
            )
        )
        batch: list[tuple[Any, bytes, Any, bool, list]] = []
        batch_bytes = 0
        in_flight: list[tuple[Future, list]] = []
        committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-commit")

        def submit_batch() -> None:
            # the group commit runs in a thread while RETR goes on; DELE waits for it (finish)
            items = [
                {
                    "raw": raw,
                    "account": account,
                    "uidl": e.uidl,
                    "source": "pop3",
                    "decision": d.to_dict(),
                    "enqueue": q,
                }
                for e, raw, d, _u, q in batch
            ]
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
                        tally.reused += 1 if e.uidl in copies else 0
                    else:  # a known UIDL retrieved again: the very bytes are stored (same SHA-256)
                        tally.seen += 1
                    if unreadable:
                        tally.error(
                            "parse",
                            e.uidl,
                            "the message has no readable header; stored and forwarded as failed, left on the server",
                        )
                to_delete = []
                for e, _raw, _d, unreadable, _q in done:
                    if e.uidl in repeated or unreadable or not confirm or not dele:
                        tally.kept += 1
                    else:  # durable now, so DELE is safe (and applies only at QUIT anyway)
                        to_delete.append(e)
                _dele_many(client, to_delete, tally, deleted, cp)

        try:
            fresh = [e for e in usable if e.number not in known]
            tally.seen += len(known)
            tally.kept += len(known)
            by_number = {e.number: e for e in fresh}
            window = max(1, policy.batch_messages)
            for start in range(0, len(fresh), window):
                finish(dele=True, wait=False)  # between windows no RETR is outstanding, so DELE may go
                for position, (number, result) in enumerate(
                    client.retr_many([e.number for e in fresh[start : start + window]]), start
                ):
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
                    decision, forwards = plan_failed_forward(
                        tenant, raw, decision, message_domain, key=store.forward_key
                    )
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
    except ProtocolError as exc:  # STAT/LIST/UIDL/QUIT failed: no deletion is known to be applied
        tally.error("session", "", f"{exc}; nothing deleted this poll")
        deleted.clear()
    except Exception as exc:  # noqa: BLE001 - a fault of the kit itself: report it with what was done
        tally.error(
            "internal",
            "",
            f"the poll stopped on an internal error ({type(exc).__name__}: {exc}); the "
            "session was aborted, nothing deleted this poll",
        )
        deleted.clear()
    finally:
        if not quit_ok:
            client.abort()
    if quit_ok:
        tally.deleted = len(deleted)
        try:
            store.mark_deleted(account, deleted)
            store.record_poll(
                account,
                listed=tally.listed,
                left_on_server=tally.listed - len(deleted),
                summary=tally.freeze().to_dict(),
            )
        except StoreError as exc:
            tally.error(
                "store",
                "",
                f"{exc}; the server deleted {len(deleted)} message(s), all stored before; the store could not note it",
            )
    return tally.freeze()


def _fits(store: Store, listed: int, copy: StoredCopy) -> bool:
    """Whether a LIST size fits a stored copy (the copy's line ends counted only if they matter)."""
    if listed in (copy.size, copy.size - 2):
        return True
    newlines = store.newlines(copy)
    return newlines is not None and listed_size_matches(listed, copy.size, newlines)


def _verified(
    client: Pop3Client,
    store: Store,
    candidates: list[ListingEntry],
    copies: dict[str, list[StoredCopy]],
    tally: _Tally,
    *,
    window: int,
) -> dict[int, ListingEntry]:
    """Of ``candidates`` (listed messages whose UIDL is stored), those whose header matches a stored copy.

    A server may give a deleted message's UIDL to a new one (RFC 1939 §7), so a known UIDL
    alone proves nothing. ``TOP n 0`` (pipelined when the server allows) gives the header
    block: its digest equal to a stored copy's, and the LIST size fitting that copy
    (:func:`~mailsupport.pop3parse.listed_size_matches`), verify it. Every other candidate —
    a different header, a server without TOP, a refused TOP — is retrieved like a new message:
    the store then tells by the full SHA-256 whether it was the stored copy after all.
    Used where nothing is deleted (keep on server). Raises :class:`_SessionLost` (with the
    error in the tally) when the connection is lost.
    """
    known: dict[int, ListingEntry] = {}
    if not candidates or (client.capa and "TOP" not in client.capa):
        return known
    by_number = {e.number: e for e in candidates}
    refused = False
    for start in range(0, len(candidates), window):
        # every answer of a pipelined window is read, even after a refusal, to keep in step
        for number, result in client.top_many([e.number for e in candidates[start : start + window]]):
            entry = by_number[number]
            if isinstance(result, ProtocolError):
                if not client.connected:
                    tally.error("top", entry.uidl, f"{result}; nothing deleted this poll")
                    raise _SessionLost from result
                refused = True  # a server without TOP: the rest are checked by retrieving them
            elif not refused and any(
                c.header_sha256 == header_digest(result) and _fits(store, entry.size, c) for c in copies[entry.uidl]
            ):
                known[number] = entry
        if refused:
            break
    return known


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
            tally.error(
                "dele",
                e.uidl,
                f"{refused[e.number]}; the message is stored and stays on the server (deleted at a later poll)",
            )
            tally.kept += 1
        else:
            deleted.append(e.uidl)
            cp("deleted", e.number)


class _SessionLost(Exception):
    """The POP3 connection died; the poll ends without QUIT (so without deletions)."""
