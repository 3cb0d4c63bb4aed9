"""Reading a mailbox sample from disk: mbox, Maildir, folder or zip of .eml, single .eml.

One entry point, :func:`iter_raw`, yields :class:`RawMessage` values one at a time, so memory
stays flat however many messages a sample holds (it grows only with the largest single
message). The fast scan reads an mbox through :func:`iter_mbox_data` (plain ``(position,
bytes)`` pairs, one reused read buffer, From_ lines and ``>From`` quoting found in one regex pass). Lenient: a message that cannot be read becomes a ``RawMessage`` with ``problem``
set; only a sample that cannot be opened at all raises :class:`~mailsupport.errors.SampleError`.

Outlook ``.msg`` files (alone, in a folder or in a zip) are OLE compound documents, read
through extract-msg by :mod:`mailsupport.samples.outlook` (the ``outlook`` extra); without it,
each ``.msg`` is a row saying how to read it.

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from ..errors import SampleError
from .outlook import MSG_PROBLEM, msg_bytes

__all__ = ["RawMessage", "iter_raw", "iter_mbox", "iter_mbox_data", "MBOX_START_PROBLEM", "resolve_sample", "count_mbox_messages", "mbox_split_points", "iter_maildir", "iter_folder", "iter_zip",
           "sample_kind", "MSG_PROBLEM"]

CHUNK = 1 << 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FROM_ESCAPE = re.compile(rb"^>(>*From )", re.M)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawMessage:
    """One message as read from a sample: where it came from and its bytes (or its problem)."""

    source: str
    position: str
    data: bytes = b""
    problem: str = ""


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
    """``mbox``, ``maildir``, ``folder``, ``zip``, ``msg`` or ``eml`` for a path on disk."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return "maildir"
        return "folder"
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
        raise SampleError("no such file or folder; give an mbox, Maildir, folder or zip of .eml files",
                          source=str(p))
    try:
        return p, sample_kind(p)
    except OSError as exc:
        raise SampleError(f"cannot read it: {exc.strerror or exc}", source=str(p)) from exc


def iter_raw(path: str | os.PathLike[str]) -> Iterator[RawMessage]:
    """Every message of the sample at ``path`` (any supported kind), in file order."""
    p, kind = resolve_sample(path)
    if kind == "mbox":
        yield from iter_mbox(p)
    elif kind == "maildir":
        yield from iter_maildir(p)
    elif kind == "folder":
        yield from iter_folder(p)
    elif kind == "zip":
        yield from iter_zip(p)
    elif kind == "msg":
        yield _read_msg(p, str(p), p.name)
    else:
        yield _read_file(p, str(p), p.name)


def _read_file(p: Path, source: str, position: str) -> RawMessage:
    try:
        return RawMessage(source=source, position=position, data=p.read_bytes())
    except OSError as exc:
        return RawMessage(source=source, position=position,
                          problem=f"cannot read file: {exc.strerror or exc}")


def _read_msg(msg: Path | bytes, source: str, position: str) -> RawMessage:
    """An Outlook ``.msg`` (path or bytes) as the message it holds, or a row with its problem."""
    data, problem = msg_bytes(msg)
    return RawMessage(source=source, position=position, data=data, problem=problem)


def _unescape(msg: bytes) -> bytes:
    # mboxrd/mboxo quote body lines starting "From " as ">From " (Google Takeout uses mboxrd)
    return _FROM_ESCAPE.sub(rb"\1", msg)


def _cut(buf: bytearray, view: memoryview, line_start: int, stop: int) -> bytes:
    """The message whose ``From_`` line starts at ``line_start`` and which ends at ``stop``: from
    the line after ``From_`` up to ``stop``, less the one blank separator line (LF or CRLF) that
    precedes the next ``From_`` line, in a single copy."""
    eol = buf.find(b"\n", line_start, stop)
    body_start = stop if eol < 0 else eol + 1
    if stop - 4 >= body_start and buf.startswith(b"\r\n\r\n", stop - 4, stop):
        stop -= 2
    elif stop - 2 >= body_start and buf.startswith(b"\n\n", stop - 2, stop):
        stop -= 1
    return view[body_start:stop].tobytes()


def iter_mbox(path: Path, *, start: int = 0, end: int | None = None,
              first_ordinal: int | None = None) -> Iterator[RawMessage]:
    """Messages of an mbox file, streamed in 1 MiB chunks (``From `` line dropped, ``>From`` unquoted).

    ``start``/``end`` limit the scan to a byte range whose ends are ``From `` line starts (see
    :func:`mbox_split_points`), so several processes can share one big mbox; ``first_ordinal``
    is the position of the first message there (counted when not given).
    """
    source = str(path)
    for position, data in iter_mbox_data(path, start=start, end=end, first_ordinal=first_ordinal):
        if data is None:
            yield RawMessage(source=source, position=position, problem=MBOX_START_PROBLEM)
        else:
            yield RawMessage(source=source, position=position, data=data)


MBOX_START_PROBLEM = "mbox does not start with a 'From ' line: text before it skipped"
# a From_ line, or a body line quoted as ">From " (mboxrd/mboxo, RFC 4155 §2 and its Appendix)
_FROM_LINE_RE = re.compile(rb"\n>*From ")


def iter_mbox_data(path: Path, *, start: int = 0, end: int | None = None,
                   first_ordinal: int | None = None) -> Iterator[tuple[str, bytes | None]]:
    """``(position, message bytes)`` of every message of an mbox: :func:`iter_mbox` without the objects.

    The fast scan's reader. ``bytes`` is ``None`` for the one problem row of a file that does
    not start with a ``From `` line (:data:`MBOX_START_PROBLEM`, position ``"0"``). Reads
    1 MiB chunks into one reused buffer (doubled while one message is bigger than half of it,
    so a huge message is read in linear time), so memory grows only with the largest message.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise SampleError(f"cannot open mbox: {exc.strerror or exc}", source=str(path)) from exc
    if first_ordinal is None:
        first_ordinal = count_mbox_messages(path, start) + 1 if start else 1
    ordinal = first_ordinal - 1
    with fh:
        remaining = None if end is None else end - start
        if start:
            fh.seek(start)
        # one buffer for the whole file: read into it, move the unfinished message to its front
        # (no new 1 MiB object per chunk); it doubles while one message fills most of it
        buf = bytearray(max(CHUNK, 5))  # at least the 5 bytes of "From " to tell an mbox start
        view = memoryview(buf)

        def fill(at: int) -> int:
            nonlocal remaining
            room = len(buf) - at if remaining is None else min(len(buf) - at, remaining)
            if room <= 0:
                return 0
            got = fh.readinto(view[at:at + room]) or 0
            if remaining is not None:
                remaining -= got
            return got

        filled = fill(0)
        if filled and buf[:5] != b"From ":
            yield "0", None
        pos = 0  # start of the current message's From_ line in buf
        search = 1  # where the next line start may be (earlier bytes were searched already)
        quoted = False  # the current message has a quoted ">From " line (mboxrd/mboxo)
        finder = _FROM_LINE_RE.finditer
        try:
            while filled:
                # one pass finds both the From_ lines and the quoted ">From " body lines
                for match in finder(buf, search, filled):
                    nxt = match.start() + 1
                    if buf[nxt] == 62:  # ">": a quoted body line of the current message
                        quoted = True
                        continue
                    ordinal += 1
                    msg = _cut(buf, view, pos, nxt)
                    yield str(ordinal), (_unescape(msg) if quoted else msg)
                    quoted = False
                    pos = nxt
                # search again from the start of the old buffer's last line: a line start may straddle the end
                search = max(1, buf.rfind(b"\n", pos, filled) - pos)
                tail = filled - pos
                if pos:
                    view[:tail] = view[pos:filled]
                    pos = 0
                filled = tail
                if tail * 2 > len(buf):
                    view.release()
                    buf.extend(bytes(len(buf)))
                    view = memoryview(buf)
                got = fill(tail)
                if got:
                    filled += got
                    continue
                if filled:  # the last message runs to the end of the file
                    ordinal += 1
                    msg = _cut(buf, view, 0, filled)
                    yield str(ordinal), (_unescape(msg) if quoted else msg)
                break
        finally:
            view.release()


_FROM_ONLY_RE = re.compile(rb"\nFrom ")


def count_mbox_messages(path: Path, end: int | None = None) -> int:
    """How many messages start before byte ``end`` of an mbox (all of them without ``end``).

    Reads into one reused buffer keeping the last 5 bytes of each chunk in front of the next
    (a From_ line may straddle two chunks); a worker scanning a later byte range counts the
    messages before it with this.
    """
    n = 0
    buf = bytearray(max(CHUNK, 5) + 5)
    keep = 0  # bytes of the previous chunk kept at the front
    findall = _FROM_ONLY_RE.findall
    with path.open("rb") as fh, memoryview(buf) as view:
        remaining = end
        first = True
        while remaining is None or remaining > 0:
            room = len(buf) - keep if remaining is None else min(len(buf) - keep, remaining)
            got = fh.readinto(view[keep:keep + room])
            if not got:
                break
            if remaining is not None:
                remaining -= got
            filled = keep + got
            if first and buf.startswith(b"From "):
                n += 1
            first = False
            n += len(findall(buf, 0, filled))
            keep = min(5, filled)
            view[:keep] = view[filled - keep:filled]
    return n


def mbox_split_points(path: Path, parts: int, *, count_cost: float = 0.0) -> list[int]:
    """``parts + 1`` byte offsets cutting an mbox into ranges that start at ``From `` lines.

    ``count_cost``: what counting the messages before a range costs per byte, relative to
    scanning a byte (a worker of a later range counts them first, :func:`count_mbox_messages`).
    With it, later ranges are cut shorter so every worker has about the same work: range ``k``
    costs its length plus ``count_cost`` times its start. ``0`` cuts equal byte ranges.
    """
    size = path.stat().st_size
    # fractions b_k with b_1 = C and b_(k+1) = b_k * (1 - count_cost) + C, b_parts = 1
    keep = 1.0 - min(max(count_cost, 0.0), 0.5)
    unit = 1.0 / sum(keep ** j for j in range(parts))
    fractions = [0.0]
    for _k in range(1, parts):
        fractions.append(fractions[-1] * keep + unit)
    points = [0]
    with path.open("rb") as fh:
        for k in range(1, parts):
            target = max(points[-1], min(size, int(size * fractions[k])))
            fh.seek(target)
            found = -1
            offset = target
            while found < 0:
                data = fh.read(CHUNK)
                if not data:
                    break
                found = data.find(b"\nFrom ")
                if found < 0:
                    offset += len(data) - 5
                    fh.seek(offset)
            point = size if found < 0 else offset + found + 1
            if point > points[-1]:
                points.append(point)
    if points[-1] != size:
        points.append(size)
    return points


def iter_maildir(path: Path) -> Iterator[RawMessage]:
    """Messages of a Maildir (``new`` then ``cur``), sorted by file name within each."""
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file() and not entry.name.startswith("."):
                yield _read_file(Path(entry.path), str(path), f"{sub}/{entry.name}")


def iter_folder(path: Path) -> Iterator[RawMessage]:
    """Every ``.eml`` (and ``.msg``) file under a folder, sorted by relative path."""
    files = sorted(q for q in path.rglob("*") if q.suffix.lower() in (".eml", ".msg") and q.is_file())
    for q in files:
        rel = str(q.relative_to(path))
        if q.suffix.lower() == ".msg":
            yield _read_msg(q, str(path), rel)
        else:
            yield _read_file(q, str(path), rel)


def iter_zip(path: Path) -> Iterator[RawMessage]:
    """Every ``.eml`` (and ``.msg``) member of a zip file, one member in memory at a time."""
    import zipfile

    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SampleError(f"cannot open zip: {exc}", source=source) from exc
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            name = info.filename
            low = name.lower()
            if info.is_dir() or not low.endswith((".eml", ".msg")):
                continue
            try:
                data = zf.read(info)
            except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
                yield RawMessage(source=source, position=name, problem=f"cannot read zip member: {exc}")
                continue
            yield _read_msg(data, source, name) if low.endswith(".msg") else RawMessage(
                source=source, position=name, data=data)
