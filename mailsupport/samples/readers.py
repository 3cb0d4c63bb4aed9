"""Reading a mailbox sample from disk: mbox, Maildir, folder or zip of .eml, single .eml or .msg.

One entry point, :func:`iter_raw`, yields :class:`RawMessage` values one at a time, so memory
stays flat however many messages a sample holds (it grows only with the largest single
message, itself capped). The fast scan reads an mbox through
:func:`~mailsupport.samples.mbox.iter_mbox_spans` (each message looked at where one reused read
buffer holds it, From_ lines and ``>From`` quoting found in one regex pass). Lenient: a message
that cannot be read becomes a ``RawMessage`` with ``problem`` set; only a sample that cannot
be opened at all raises :class:`~mailsupport.errors.SampleError`.

Bounded (:class:`~mailsupport.samples.files.ReadLimits`): only regular files and folders are
read; a FIFO, device or socket is a row saying so (never a read that blocks or never ends); a
message over the per-message cap is a row; a zip is inflated within its caps
(:mod:`~mailsupport.samples.archive`). Symbolic links: the path given is followed, links inside
a folder or Maildir are rows, not followed.

Outlook ``.msg`` files (alone, in a folder or in a zip) are OLE compound documents, read
through extract-msg by :mod:`mailsupport.samples.outlook` (the ``outlook`` extra); without it,
each ``.msg`` is a row saying how to read it.

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import SampleError
from .archive import iter_zip
from .files import DEFAULT_LIMITS, RawMessage, ReadLimits, read_regular, special_problem
from .mbox import CHUNK, MBOX_START_PROBLEM, count_mbox_messages, iter_mbox_data
from .outlook import MSG_PROBLEM, msg_bytes

__all__ = [
    "RawMessage",
    "ReadLimits",
    "DEFAULT_LIMITS",
    "iter_raw",
    "iter_mbox",
    "iter_mbox_data",
    "MBOX_START_PROBLEM",
    "resolve_sample",
    "count_mbox_messages",
    "iter_maildir",
    "iter_folder",
    "iter_zip",
    "sample_kind",
    "MSG_PROBLEM",
    "CHUNK",
]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


#: Signature of a zip file's end-of-central-directory record (APPNOTE.TXT §4.3.16); ``zipfile.is_zipfile``
#: looks for it in the last 64 KiB + 22 bytes of the file (the record and the longest archive comment).
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL = (1 << 16) + 22


def _is_zipfile(path: Path) -> bool:
    """``zipfile.is_zipfile(path)``, importing :mod:`zipfile` only when the file's tail has the zip signature.

    Without the end-of-central-directory signature in the tail ``is_zipfile`` is false, so an
    mbox or .eml is told apart without importing zipfile (a few ms of every scan process).
    """
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(size - _ZIP_TAIL, 0))
            if _ZIP_END not in fh.read():
                return False
    except OSError:
        return False
    import zipfile

    return zipfile.is_zipfile(path)


def sample_kind(path: Path) -> str:
    """``mbox``, ``maildir``, ``folder``, ``zip``, ``msg`` or ``eml`` for a path on disk; ``special``
    for anything that is neither a regular file nor a folder (a FIFO, device or socket: never opened)."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return "maildir"
        return "folder"
    if not stat.S_ISREG(mode):
        return "special"
    with path.open("rb") as fh:
        head = fh.read(8)
    # an OLE file first: a .msg may carry the zip signature inside (an attached .docx or .zip)
    if head == _OLE_MAGIC or path.suffix.lower() == ".msg":
        return "msg"
    if path.suffix.lower() == ".zip" or _is_zipfile(path):
        return "zip"
    if head.startswith(b"From "):
        return "mbox"
    return "eml"


def resolve_sample(path: str | os.PathLike[str]) -> tuple[Path, str]:
    """``(path, kind)`` of a sample on disk (see :func:`sample_kind`); :class:`SampleError` when unreadable."""
    p = Path(path)
    if not p.exists():
        raise SampleError("no such file or folder; give an mbox, Maildir, folder or zip of .eml files", source=str(p))
    try:
        return p, sample_kind(p)
    except OSError as exc:
        raise SampleError(f"cannot read it: {exc.strerror or exc}", source=str(p)) from exc


def iter_raw(path: str | os.PathLike[str], *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[RawMessage]:
    """Every message of the sample at ``path`` (any supported kind), in file order, within ``limits``."""
    p, kind = resolve_sample(path)
    if kind == "mbox":
        yield from iter_mbox(p, max_message_bytes=limits.max_message_bytes)
    elif kind == "maildir":
        yield from iter_maildir(p, limits=limits)
    elif kind == "folder":
        yield from iter_folder(p, limits=limits)
    elif kind == "zip":
        yield from iter_zip(p, limits=limits)
    elif kind == "special":
        yield RawMessage(source=str(p), position=p.name, problem=special_problem(p.stat().st_mode))
    else:
        yield _read_file(p, str(p), p.name, limits, msg=kind == "msg")


def _read_file(
    p: Path, source: str, position: str, limits: ReadLimits, *, msg: bool = False, follow_symlinks: bool = True
) -> RawMessage:
    """One message file (an Outlook ``.msg`` when ``msg``), read within the per-message cap, or its problem."""
    data, problem = read_regular(p, limits.max_message_bytes, follow_symlinks=follow_symlinks)
    if msg and not problem:
        data, problem = msg_bytes(data)
    return RawMessage(source=source, position=position, data=data, problem=problem)


def iter_mbox(
    path: Path,
    *,
    start: int = 0,
    end: int | None = None,
    first_ordinal: int | None = None,
    max_message_bytes: int = DEFAULT_LIMITS.max_message_bytes,
) -> Iterator[RawMessage]:
    """Messages of an mbox file as :class:`RawMessage` values (see :func:`~.mbox.iter_mbox_data`)."""
    source = str(path)
    for position, data in iter_mbox_data(
        path, start=start, end=end, first_ordinal=first_ordinal, max_message_bytes=max_message_bytes
    ):
        if data.__class__ is bytes:
            yield RawMessage(source=source, position=position, data=data)
        else:
            yield RawMessage(source=source, position=position, problem=data)


def iter_maildir(path: Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[RawMessage]:
    """Messages of a Maildir (``new`` then ``cur``), sorted by file name within each.

    Hidden files and folders are passed over; a symbolic link, FIFO, device or socket is a row
    saying so, never followed or opened.
    """
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.name.startswith(".") and not entry.is_dir(follow_symlinks=False):
                yield _read_file(Path(entry.path), str(path), f"{sub}/{entry.name}", limits, follow_symlinks=False)


def iter_folder(path: Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[RawMessage]:
    """Every ``.eml`` (and ``.msg``) file under a folder, sorted by relative path.

    Linked folders are not entered; a symbolic link, FIFO, device or socket named ``.eml`` or
    ``.msg`` is a row saying so, never followed or opened.
    """
    found = []
    for dirpath, _dirs, names in os.walk(path):  # links to folders are listed, not entered
        found.extend(Path(dirpath, name) for name in names if os.path.splitext(name)[1].lower() in (".eml", ".msg"))
    for q in sorted(found):
        yield _read_file(
            q, str(path), str(q.relative_to(path)), limits, msg=q.suffix.lower() == ".msg", follow_symlinks=False
        )
