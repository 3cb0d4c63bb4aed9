"""The local store: a Maildir for message bytes plus a SQLite index, durable before any DELE.

Owns the on-disk layout of one store directory::

    DIR/Maildir/{tmp,new,cur}/   every fetched or ingested message, byte for byte
    DIR/index.sqlite3            which UIDLs were stored, routing decisions with their trace,
                                 Message-IDs we sent (-> matter), the outgoing queue, polls
    DIR/forward.key              the secret that proves a failed-forward marker is ours

Every directory is 0700 and every file 0600 (SQLite's ``-wal``/``-shm`` included); an older
store with looser modes is tightened when opened, with a warning (:mod:`.private`).

A message is durable when :meth:`Store.put_message` returns: written to ``tmp/``, fsynced,
hard-linked into ``new/`` (Maildir's atomic delivery, see https://cr.yp.to/proto/maildir.html),
the ``new/`` directory fsynced, and the index row committed with ``synchronous=FULL`` (WAL).
Only then may the fetcher send DELE.

Crash safety: the Maildir file name is derived from the message key (account, UIDL and the
SHA-256 of the bytes), so re-storing the same message after a crash finds the existing link
(``EEXIST``) instead of writing a second copy; the index row is then (re)created. A rerun
therefore never loses and never duplicates.

Disk full or unwritable: :class:`~mailsupport.errors.StoreError` naming the directory, the
OS reason and what to do; the partially written ``tmp/`` file is removed.

The outgoing queue and the sent-Message-ID index live in :mod:`.outbox` (a mixin of
:class:`Store`). Layer 3 (the only file-system writer of the pipeline). Must not import the network clients,
the pipeline or presentation modules.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..headerblock import header_digest
from .outbox import OutboxMixin, QueuedMessage
from .private import make_private, secret_key

__all__ = ["StoredMessage", "StoredCopy", "QueuedMessage", "Store", "message_key"]

log = logging.getLogger("mailsupport.store")
_INDEX = "index.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    uidl TEXT,
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    source TEXT NOT NULL,
    stored_at REAL NOT NULL,
    deleted_at REAL,
    header_sha256 TEXT,
    newlines INTEGER
);
CREATE INDEX IF NOT EXISTS messages_uidl ON messages(account, uidl);
CREATE TABLE IF NOT EXISTS decisions (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    trace TEXT NOT NULL,
    decided_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sent (
    message_id TEXT PRIMARY KEY,
    matter TEXT NOT NULL,
    sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY,
    mail_from TEXT NOT NULL,
    rcpt_tos TEXT NOT NULL,
    raw BLOB NOT NULL,
    matter TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_reply TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS polls (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    at REAL NOT NULL,
    listed INTEGER NOT NULL,
    left_on_server INTEGER NOT NULL,
    summary TEXT NOT NULL
);
"""


def message_key(account: str, uidl: str | None, sha256: str) -> str:
    """The stable identity of a stored message: same account, UIDL and bytes -> same key."""
    h = hashlib.sha256(f"{account}\0{uidl or ''}\0{sha256}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:40]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """A message as the index knows it; ``path`` is its Maildir file."""

    id: int
    key: str
    account: str
    uidl: str | None
    sha256: str
    path: str
    size: int
    source: str
    created: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCopy:
    """What identifies a stored message against a server's listing: its SHA-256, its size
    (against LIST) and the digest of its header block (against ``TOP n 0``; see
    :func:`~mailsupport.headerblock.header_digest`). ``header_sha256`` is empty when the
    Maildir file is gone (the copy cannot be checked that way). ``newlines`` (its line ends,
    for servers whose LIST counts LF) is ``None`` until :meth:`Store.newlines` counted them:
    counting costs more than the rest of storing a message, and is rarely needed."""

    key: str
    uidl: str
    sha256: str
    size: int
    header_sha256: str
    newlines: int | None = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store_error(action: str, where: Path, exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space on that file system (or point --store elsewhere) and poll again"
        what = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "make the store directory writable for this user"
        what = f"permission denied ({exc.strerror})"
    else:
        hint = "check the store directory"
        what = exc.strerror or str(exc)
    return StoreError(f"cannot {action} in {where}: {what}; nothing was deleted on the server; {hint}")


class Store(OutboxMixin):
    """A store directory (Maildir + SQLite index). Use as a context manager or call :meth:`close`.

    ``clock`` returns the current time (seconds); injected so tests and replays are exact.
    Directories are 0700 and files 0600; ``tightened`` lists what opening the store had to
    tighten (path, old and new mode; also logged as a warning), empty for a private store.
    """

    def __init__(self, directory: str | os.PathLike[str], *, clock: Any = time.time) -> None:
        self.directory = Path(directory)
        self.maildir = self.directory / "Maildir"
        self._clock = clock
        self._forward_key: bytes | None = None
        try:
            self.tightened = make_private(
                self.directory, ("Maildir", "Maildir/tmp", "Maildir/new", "Maildir/cur"), (_INDEX,)
            )
            if self.tightened:
                log.warning(
                    "the store %s was readable by other users; tightened: %s", self.directory, "; ".join(self.tightened)
                )
            # check_same_thread off: the sandbox's SMTP thread files wildcard mail; _lock serialises
            self._db = sqlite3.connect(self.directory / _INDEX, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed transaction survives power loss in WAL mode (NORMAL would not).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except OSError as exc:
            raise _store_error("create the store", self.directory, exc) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the index {self.directory / 'index.sqlite3'}: {exc}") from exc
        self._seq = itertools.count(1)
        self._lock = threading.RLock()
        self._executor: Any = None

    def forward_key(self) -> bytes:
        """The store's secret key for proving a forward marker is ours (made on first use in
        ``forward.key``, mode 0600; never shown). Raises :class:`StoreError` when unusable."""
        if self._forward_key is None:
            self._forward_key = secret_key(self.directory, "forward.key")
        return self._forward_key

    def _migrate(self) -> None:
        """Columns added since the first stores were written (filled lazily: :meth:`stored_copies`)."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(messages)")}
        for name, kind in (("header_sha256", "TEXT"), ("newlines", "INTEGER")):
            if name not in columns:
                self._db.execute(f"ALTER TABLE messages ADD COLUMN {name} {kind}")

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the index (and the fsync threads)."""
        if self._executor is not None:
            self._executor.shutdown()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.execute(sql, tuple(params))
        except sqlite3.OperationalError as exc:
            full = "full" in str(exc).lower()
            what = "the disk is full" if full else str(exc)
            raise StoreError(
                f"cannot update the index {self.directory / 'index.sqlite3'}: {what}; nothing was deleted on the server"
            ) from exc

    # ------------------------------------------------------------------ messages
    def _write_tmp(self, name: str, raw: bytes) -> Path:
        """Write ``raw`` to a fresh file in tmp/ and fsync it; returns its path."""
        # itertools.count is atomic under the GIL; the store lock is held by put_batch's thread
        tmp = self.maildir / "tmp" / f"{name}.{os.getpid()}.{next(self._seq)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(raw)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        return tmp

    def _link_durably(self, items: list[tuple[str, bytes]]) -> None:
        """tmp -> fsync -> link into new -> fsync new/ for every ``(name, raw)`` not there yet.

        The files are fsynced in parallel threads: the file system then commits its journal
        once for many of them (group commit) instead of once per message.
        """
        todo = [(name, raw) for name, raw in items if not (self.maildir / "new" / name).exists()]
        if not todo:
            return
        tmps: list[Path] = []
        try:
            if len(todo) == 1:
                tmps.append(self._write_tmp(*todo[0]))
            else:
                futures = [self._pool().submit(self._write_tmp, name, raw) for name, raw in todo]
                errors = []
                for f in futures:
                    try:
                        tmps.append(f.result())
                    except OSError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
            for (name, _), tmp in zip(todo, tmps):  # futures were collected in submission order
                try:
                    os.link(tmp, self.maildir / "new" / name)
                except FileExistsError:
                    pass  # an earlier, interrupted run stored these very bytes: keep one copy
            _fsync_dir(self.maildir / "new")
        except OSError as exc:
            raise _store_error("store a message", self.maildir, exc) from exc
        finally:
            for tmp in tmps:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _pool(self):
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="store-fsync")
        return self._executor

    def put_message(
        self,
        raw: bytes,
        *,
        account: str,
        uidl: str | None = None,
        source: str = "pop3",
        decision: Mapping[str, Any] | None = None,
        enqueue: Iterable[Mapping[str, Any]] = (),
    ) -> StoredMessage:
        """Store ``raw`` durably and index it (with its routing ``decision`` if given).

        ``enqueue`` holds outgoing messages caused by this one (the failed-mail forward, as
        :meth:`enqueue` keyword dicts); they are queued in the same transaction, only when the
        message is new, so a crash can neither lose nor repeat them.
        Idempotent: the same account, UIDL and bytes give the same :class:`StoredMessage`
        (``created`` false the second time). Raises :class:`StoreError` when it cannot.
        """
        return self.put_batch(
            [
                {
                    "raw": raw,
                    "account": account,
                    "uidl": uidl,
                    "source": source,
                    "decision": decision,
                    "enqueue": tuple(enqueue),
                }
            ]
        )[0]

    def put_batch(self, items: Iterable[Mapping[str, Any]]) -> list[StoredMessage]:
        """:meth:`put_message` for several messages at once (keyword dicts), with one directory
        fsync and one index commit for all of them; every one is durable when this returns."""
        batch = []
        for item in items:
            raw = item["raw"]
            sha = hashlib.sha256(raw).hexdigest()
            key = message_key(item["account"], item.get("uidl"), sha)
            batch.append((key, sha, item))
        known = {}
        with self._lock:
            for key, _sha, _item in batch:
                row = self._db.execute("SELECT id, filename FROM messages WHERE key=?", (key,)).fetchone()
                if row is not None and (self.maildir / "new" / row[1]).exists():
                    known[key] = row[0]
        # file work outside the index lock, so readers (the router's lookups) never wait on fsync
        self._link_durably([(f"{key}.mailsupport:2,", item["raw"]) for key, _sha, item in batch if key not in known])
        with self._lock:
            ids: list[tuple[int, bool]] = []
            self._write("BEGIN IMMEDIATE")
            try:
                for key, sha, item in batch:
                    if key in known:
                        ids.append((known[key], False))
                        continue
                    existed = self._db.execute("SELECT id FROM messages WHERE key=?", (key,)).fetchone()
                    raw = item["raw"]
                    self._write(
                        "INSERT INTO messages(key, account, uidl, sha256, filename, size, source, stored_at, "
                        "header_sha256, newlines) VALUES (?,?,?,?,?,?,?,?,?,?) "
                        "ON CONFLICT(key) DO UPDATE SET filename=excluded.filename",
                        (
                            key,
                            item["account"],
                            item.get("uidl"),
                            sha,
                            f"{key}.mailsupport:2,",
                            len(raw),
                            item.get("source", "pop3"),
                            self._clock(),
                            header_digest(raw),
                            None,
                        ),
                    )
                    mid = self._db.execute("SELECT id FROM messages WHERE key=?", (key,)).fetchone()[0]
                    if item.get("decision") is not None:
                        self._put_decision(mid, item["decision"])
                    if existed is None:
                        for queued in item.get("enqueue", ()):
                            self.enqueue(**queued)
                    known[key] = mid
                    ids.append((mid, existed is None))
                self._write("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return [self._stored(mid, created=created) for mid, created in ids]

    def _stored(self, mid: int, *, created: bool) -> StoredMessage:
        r = self._db.execute(
            "SELECT id, key, account, uidl, sha256, filename, size, source FROM messages WHERE id=?", (mid,)
        ).fetchone()
        return StoredMessage(
            id=r[0],
            key=r[1],
            account=r[2],
            uidl=r[3],
            sha256=r[4],
            path=str(self.maildir / "new" / r[5]),
            size=r[6],
            source=r[7],
            created=created,
        )

    def _put_decision(self, mid: int, decision: Mapping[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO decisions(message_id, kind, target, reason, trace, decided_at) "
            "VALUES (?,?,?,?,?,?)",
            (
                mid,
                str(decision["kind"]),
                str(decision.get("target", "")),
                str(decision.get("reason", "")),
                json.dumps(decision.get("trace", []), default=str),
                self._clock(),
            ),
        )

    def seen_uidls(self, account: str) -> frozenset[str]:
        """Every UIDL of ``account`` already stored."""
        rows = self._db.execute("SELECT uidl FROM messages WHERE account=? AND uidl IS NOT NULL", (account,))
        return frozenset(r[0] for r in rows)

    def stored_copies(self, account: str, uidls: Iterable[str]) -> dict[str, list[StoredCopy]]:
        """Every stored copy of each of ``uidls`` (those stored at all) for ``account``.

        A UIDL may have several copies: a server may give a deleted message's UIDL to a new
        one (RFC 1939 §7 allows it), which is then stored beside the old. Rows stored before
        the header digest was kept get it now, from their Maildir file.
        """
        wanted = set(uidls)
        rows = self._db.execute(
            "SELECT id, key, uidl, sha256, filename, size, header_sha256, newlines "
            "FROM messages WHERE account=? AND uidl IS NOT NULL",
            (account,),
        ).fetchall()
        out: dict[str, list[StoredCopy]] = {}
        for mid, key, uidl, sha, filename, size, digest, newlines in rows:
            if uidl not in wanted:
                continue
            if digest is None:
                digest, newlines = self._backfill(mid, self.maildir / "new" / filename)
            out.setdefault(uidl, []).append(
                StoredCopy(key=key, uidl=uidl, sha256=sha, size=size, header_sha256=digest, newlines=newlines)
            )
        return out

    def _backfill(self, mid: int, path: Path) -> tuple[str, int | None]:
        """Header digest and line ends of a row stored without them, read from its file."""
        try:
            raw = path.read_bytes()
        except OSError:
            return "", None  # the file is gone: the copy cannot be checked against TOP
        digest, newlines = header_digest(raw), raw.count(b"\n")
        self._write("UPDATE messages SET header_sha256=?, newlines=? WHERE id=?", (digest, newlines, mid))
        return digest, newlines

    def newlines(self, copy: StoredCopy) -> int | None:
        """The line ends of a stored copy (counted from its file once, then kept); ``None`` if the file is gone."""
        if copy.newlines is not None:
            return copy.newlines
        row = self._db.execute("SELECT id, filename, newlines FROM messages WHERE key=?", (copy.key,)).fetchone()
        if row is None:
            return None
        if row[2] is not None:
            return row[2]
        try:
            count = (self.maildir / "new" / row[1]).read_bytes().count(b"\n")
        except OSError:
            return None
        self._write("UPDATE messages SET newlines=? WHERE id=?", (count, row[0]))
        return count

    def mark_deleted(self, account: str, uidls: Iterable[str]) -> None:
        """Record that the server confirmed (by +OK to QUIT) the deletion of these UIDLs."""
        now = self._clock()
        with self._lock:
            self._write("BEGIN")
            self._db.executemany(
                "UPDATE messages SET deleted_at=? WHERE account=? AND uidl=? AND deleted_at IS NULL",
                [(now, account, u) for u in uidls],
            )
            self._write("COMMIT")

    def messages(self) -> Iterator[StoredMessage]:
        """Every stored message, oldest first."""
        for (mid,) in self._db.execute("SELECT id FROM messages ORDER BY id").fetchall():
            yield self._stored(mid, created=False)

    def read(self, message: StoredMessage) -> bytes:
        """The stored bytes of ``message``."""
        return Path(message.path).read_bytes()

    def decisions(self) -> list[dict[str, Any]]:
        """Every routing decision with its message's UIDL, source and file (oldest first)."""
        rows = self._db.execute(
            "SELECT m.id, m.uidl, m.source, m.filename, d.kind, d.target, d.reason, d.trace "
            "FROM decisions d JOIN messages m ON m.id = d.message_id ORDER BY m.id"
        ).fetchall()
        return [
            {
                "message": r[0],
                "uidl": r[1],
                "source": r[2],
                "file": r[3],
                "kind": r[4],
                "target": r[5],
                "reason": r[6],
                "trace": json.loads(r[7]),
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ polls
    def record_poll(self, account: str, *, listed: int, left_on_server: int, summary: Mapping[str, Any]) -> None:
        """Remember how many messages a poll saw and left, so the next one can spot a jump."""
        self._write(
            "INSERT INTO polls(account, at, listed, left_on_server, summary) VALUES (?,?,?,?,?)",
            (account, self._clock(), listed, left_on_server, json.dumps(summary, default=str)),
        )

    def last_poll(self, account: str) -> dict[str, int] | None:
        """``{"listed", "left_on_server"}`` of the previous poll of ``account``, or ``None``."""
        r = self._db.execute(
            "SELECT listed, left_on_server FROM polls WHERE account=? ORDER BY id DESC LIMIT 1", (account,)
        ).fetchone()
        return None if r is None else {"listed": r[0], "left_on_server": r[1]}
