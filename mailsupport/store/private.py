"""The store's privacy on disk: directories 0700, every file 0600, and the per-store secret key.

Owns :func:`make_private` (create a store's directories and index file with private modes, and
tighten an existing store whose modes are looser, saying what it changed) and
:func:`secret_key` (the store's random key, created once, kept in a 0600 file, never shown).

Why files are private: the store holds customer mail (Maildir), the queued outgoing mail and
the forwarded originals (the index). SQLite creates its ``-wal`` and ``-shm`` files with the
mode of the database file, so the index is created 0600 *before* SQLite opens it (no process
umask is changed: other threads may be creating files at the same time).

A store made by an older version (directories 0755, index 0644) is tightened when opened: the
store's directories and top-level files always, and when a directory was found open, every
Maildir file too (a 0700 store directory already keeps other users out of everything inside,
so the per-file walk is only needed once, for a store that was open).

Layer 3. Must not import the network clients, the pipeline or presentation modules.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import StoreError

__all__ = ["DIR_MODE", "FILE_MODE", "make_private", "secret_key"]

#: Mode of every store directory.
DIR_MODE = 0o700
#: Mode of every store file.
FILE_MODE = 0o600
_KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _tighten(path: Path, st: os.stat_result, mode: int, changed: list[str]) -> None:
    loose = stat.S_IMODE(st.st_mode)
    if loose & 0o077:
        os.chmod(path, mode)
        changed.append(f"{path} (was {loose:04o}, now {mode:04o})")


def make_private(directory: Path, subdirs: Iterable[str], files: Iterable[str]) -> tuple[str, ...]:
    """Create ``directory`` and its ``subdirs`` (mode 0700) and the ``files`` (empty, 0600) when
    missing; tighten every store directory, top-level file and (if a directory was open) Maildir
    file readable or writable by others. Returns what was tightened (path, old and new mode).

    Raises :class:`OSError` (the caller turns it into a :class:`StoreError` naming the store).
    """
    changed: list[str] = []
    dirs = [directory, *(directory / s for s in subdirs)]
    directory.parent.mkdir(parents=True, exist_ok=True)
    for d in dirs:
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            pass
        st = os.stat(d)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(d))
        _tighten(d, st, DIR_MODE, changed)
    dirs_were_open = bool(changed)
    for name in files:
        fd = os.open(directory / name, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, FILE_MODE)
        os.close(fd)
    walk = [directory, *(d for d in dirs[1:] if dirs_were_open)]
    for d in walk:
        with os.scandir(d) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    _tighten(Path(entry.path), entry.stat(follow_symlinks=False), FILE_MODE, changed)
    return tuple(changed)


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise StoreError(
                f"the store key {path} is not a regular file owned by this user; remove it "
                "(a new one is made; forward markers written with the old key are no longer "
                "recognised)"
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, FILE_MODE)
        data = os.read(fd, _KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != _KEY_BYTES:
        raise StoreError(
            f"the store key {path} is damaged ({len(data)} bytes, expected {_KEY_BYTES}); remove "
            "it (a new one is made; forward markers written with the old key are no longer "
            "recognised)"
        )
    return data


def secret_key(directory: Path, name: str) -> bytes:
    """The store's secret key in ``directory/name``: 32 random bytes from :mod:`secrets`, made on
    first use in a 0600 file (written aside, fsynced, then linked in place, so two processes
    racing agree on one key). Never logged or shown; raises :class:`StoreError` when unusable."""
    path = directory / name
    try:
        key = _read_key(path)
        if key is not None:
            return key
        tmp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
        try:
            os.write(fd, secrets.token_bytes(_KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(tmp)
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)  # the key's name is durable before any marker made with it is queued
        finally:
            os.close(dfd)
        key = _read_key(path)
    except OSError as exc:
        raise StoreError(
            f"cannot make or read the store key {path}: {exc.strerror or exc}; check the store directory's permissions"
        ) from exc
    if key is None:
        raise StoreError(f"the store key {path} vanished while it was being made; try again")
    return key
