"""The store's outgoing side: the durable send queue and the Message-IDs we sent (-> matter).

Owns :class:`QueuedMessage` and :class:`OutboxMixin`, the part of
:class:`~mailsupport.store.Store` that the sender and the router's reply rule use. Queueing is
committed with ``synchronous=FULL`` (a queued message survives a power cut), a batch in one
transaction (one fsync for all); a send outcome with ``NORMAL`` (after a power cut it may be
sent again, never lost). Layer 3; must not import the network clients, the pipeline or
presentation modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["QueuedMessage", "OutboxMixin"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMessage:
    """One outgoing message waiting in (or done with) the send queue."""

    id: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    matter: str
    message_id: str
    state: str
    attempts: int
    next_attempt: float
    last_reply: str


class OutboxMixin:
    """Queue and sent-mail methods of :class:`~mailsupport.store.Store` (which provides
    ``_db``, ``_lock``, ``_write`` and ``_clock``)."""

    _db: Any
    _lock: Any
    _clock: Any

    def _write(self, sql: str, params: Iterable[Any] = ()) -> Any:  # pragma: no cover - Store's
        raise NotImplementedError

    # ------------------------------------------------------------------ sent mail
    def record_sent(self, message_id: str, matter: str) -> None:
        """Remember that we sent ``message_id`` from ``matter`` (replies route back to it)."""
        self._write(
            "INSERT OR REPLACE INTO sent(message_id, matter, sent_at) VALUES (?,?,?)",
            (message_id.strip(), matter, self._clock()),
        )

    def sent_matters(self, message_ids: Iterable[str]) -> dict[str, str]:
        """Message-ID -> matter for those of ``message_ids`` that we sent."""
        ids = [m.strip() for m in message_ids if m.strip()]
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = ",".join("?" * len(chunk))
            with self._lock:
                out.update(
                    self._db.execute(f"SELECT message_id, matter FROM sent WHERE message_id IN ({q})", chunk).fetchall()
                )
        return out

    # ------------------------------------------------------------------ outgoing queue
    def enqueue(
        self, raw: bytes, *, mail_from: str, rcpt_tos: Iterable[str], matter: str = "", message_id: str = ""
    ) -> int:
        """Put a message in the send queue; returns its queue id."""
        cur = self._write(
            "INSERT INTO queue(mail_from, rcpt_tos, raw, matter, message_id, next_attempt) VALUES (?,?,?,?,?,?)",
            (mail_from, json.dumps(list(rcpt_tos)), raw, matter, message_id, 0.0),
        )
        return int(cur.lastrowid)

    def enqueue_batch(self, items: Iterable[Mapping[str, Any]]) -> list[int]:
        """:meth:`enqueue` for several messages (keyword dicts) in one transaction: one
        ``synchronous=FULL`` commit (one WAL fsync) for all of them. Every one is queued durably
        when this returns, or (an error) none is; returns their queue ids in order."""
        with self._lock:
            self._write("BEGIN IMMEDIATE")
            try:
                ids = [self.enqueue(**item) for item in items]
                self._write("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return ids

    def queued(self, *, due_at: float | None = None, state: str = "queued") -> list[QueuedMessage]:
        """Queue entries in ``state`` (due at or before ``due_at`` when given), oldest first."""
        sql = (
            "SELECT id, mail_from, rcpt_tos, raw, matter, message_id, state, attempts, next_attempt, last_reply "
            "FROM queue WHERE state=?"
        )
        params: list[Any] = [state]
        if due_at is not None:
            sql += " AND next_attempt<=?"
            params.append(due_at)
        rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [
            QueuedMessage(
                id=r[0],
                mail_from=r[1],
                rcpt_tos=tuple(json.loads(r[2])),
                raw=r[3],
                matter=r[4],
                message_id=r[5],
                state=r[6],
                attempts=r[7],
                next_attempt=r[8],
                last_reply=r[9],
            )
            for r in rows
        ]

    def update_queued(
        self,
        queue_id: int,
        *,
        state: str,
        attempts: int,
        next_attempt: float,
        last_reply: str,
        sent_matter: str = "",
        message_id: str = "",
    ) -> None:
        """Record the outcome of one send attempt (and, when ``sent_matter`` is given, the sent
        Message-ID -> matter, in the same transaction)."""
        self.record_outcomes(
            [
                {
                    "queue_id": queue_id,
                    "state": state,
                    "attempts": attempts,
                    "next_attempt": next_attempt,
                    "last_reply": last_reply,
                    "sent_matter": sent_matter,
                    "message_id": message_id,
                }
            ]
        )

    def record_outcomes(self, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`update_queued` for several attempts (keyword dicts with ``queue_id``) in one
        transaction (a group commit)."""
        if not outcomes:
            return
        with self._lock:
            # NORMAL: after a power cut these updates may be lost and the messages sent again, but
            # never lost; a process crash keeps them (WAL). Queueing itself stays FULL.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._write("BEGIN IMMEDIATE")
            try:
                for o in outcomes:
                    self._write(
                        "UPDATE queue SET state=?, attempts=?, next_attempt=?, last_reply=? WHERE id=?",
                        (o["state"], o["attempts"], o["next_attempt"], o["last_reply"], o["queue_id"]),
                    )
                    if o.get("sent_matter") and o.get("message_id"):
                        self._write(
                            "INSERT OR REPLACE INTO sent(message_id, matter, sent_at) VALUES (?,?,?)",
                            (o["message_id"].strip(), o["sent_matter"], self._clock()),
                        )
                self._write("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
