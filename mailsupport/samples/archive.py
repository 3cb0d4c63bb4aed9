"""Reading a zip of ``.eml`` (and ``.msg``) files without letting it inflate past its caps.

A zip's sizes are claims, not facts: each member is inflated as a stream, 1 MiB at a time,
counting what comes out, and stops at the first cap it passes (:class:`ReadLimits`: bytes
per member, bytes for the whole zip, inflated bytes per compressed byte); the member is then
a row naming it, the cap and the numbers, and the scan goes on with the next member. Only
stored and deflated members are read (zipfile hands a bzip2 or LZMA member's output over in
pieces it does not bound). Refused as rows too: symbolic-link members, names that are
absolute or climb out with ``..``, zips inside the zip, mbox files inside it (extract and
scan those), and a zip listing more members than the cap (its central directory is read
whole before anything else). Encrypted or damaged members are rows with zipfile's reason.

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..errors import SampleError
from .files import DEFAULT_LIMITS, MIB, RawMessage, ReadLimits, open_regular
from .outlook import msg_bytes

__all__ = ["iter_zip"]

_READ = MIB


def _damage() -> tuple[type[BaseException], ...]:
    """What zipfile and zlib raise on a damaged archive (a bad header, CRC, version, length, name...)."""
    import struct
    import zipfile
    import zlib

    return (
        OSError,
        zipfile.BadZipFile,
        RuntimeError,
        ValueError,
        NotImplementedError,
        EOFError,
        zlib.error,
        struct.error,
        LookupError,
    )


def _member_count(fh) -> int | None:
    """How many entries the zip's end record lists (``None`` when zipfile cannot tell)."""
    import zipfile

    end_record = getattr(zipfile, "_EndRecData", None)  # zipfile's own reader of the (zip64) end record
    if end_record is None:  # pragma: no cover - every CPython since 2.6 has it
        return None
    try:
        rec = end_record(fh)
    except _damage():
        return None
    return None if rec is None else int(rec[zipfile._ECD_ENTRIES_TOTAL])


def _unsafe_name(name: str) -> bool:
    """A member name that is absolute, starts with a drive (``C:``) or climbs out with ``..`` (with ``/``
    or, as some Windows tools write them, ``\\`` between its parts)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in PurePosixPath(name.replace("\\", "/")).parts


def _inflate(zf, info, limits: ReadLimits, total_left: int, packed_cap: int) -> tuple[bytes, int, str]:
    """``(bytes, inflated, "")`` of a member, inflated as a stream, or ``(b"", inflated, problem)`` at the
    first cap it passes; ``inflated`` counts what came out either way."""
    cap = limits.max_message_bytes
    if info.file_size > cap:  # it says so itself: nothing to inflate
        return (
            b"",
            0,
            (
                f"zip member says it inflates to {info.file_size:,} bytes, over the per-message cap of "
                f"{cap:,} bytes: not read; raise ReadLimits(max_message_bytes=...) or --max-message-mb "
                "if it is a genuine message"
            ),
        )
    packed = max(1, min(info.compress_size, packed_cap))
    out = bytearray()
    with zf.open(info) as member:
        while True:
            piece = member.read(_READ)
            if not piece:
                return bytes(out), len(out), ""
            out += piece
            got = len(out)
            if got > cap:
                return (
                    b"",
                    got,
                    (
                        f"zip member inflates to over {cap:,} bytes (the per-message cap; it claimed "
                        f"{info.file_size:,}): stopped there, not read"
                    ),
                )
            if got > total_left:
                return (
                    b"",
                    got,
                    (
                        f"zip's members inflate to over {limits.max_zip_total_bytes:,} bytes in total (the "
                        "cap for one zip): stopped in this member; split the archive"
                    ),
                )
            if got > limits.zip_ratio_grace_bytes and got > packed * limits.max_zip_ratio:
                return (
                    b"",
                    got,
                    (
                        f"zip member inflates {got / packed:,.0f} times its compressed size ({got:,} bytes "
                        f"from {packed:,} so far; the cap is {limits.max_zip_ratio:g}x): a zip bomb, not read"
                    ),
                )


def _refusal(info, name: str, low: str, zipfile) -> str:
    """Why a member is not read at all, or ``""`` when it may be inflated."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link member: not followed (it could point anywhere); links are never read from a zip"
    if _unsafe_name(name):
        return "member name is absolute or climbs out with '..': refused (a hostile archive)"
    if low.endswith(".zip"):
        return (
            "a zip inside the zip: not opened (nested archives multiply what a bomb can inflate to); "
            "extract it and scan it"
        )
    if low.endswith(".mbox"):
        return "an mbox inside the zip: not read from the archive; extract it and scan the mbox file (it is streamed)"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return (
            f"zip member compressed with method {info.compress_type} (not stored or deflated): not read, as "
            "its inflated size cannot be bounded; re-create the zip with the usual (deflate) compression"
        )
    return ""


def iter_zip(path: Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[RawMessage]:
    """Every ``.eml`` (and ``.msg``) member of a zip file, one member in memory at a time, within ``limits``.

    Other members (notes, JSON, folders) are passed over silently; every refusal is a row.
    """
    import zipfile

    source = str(path)
    fh, size, problem = open_regular(path)
    if fh is None:
        raise SampleError(f"cannot open zip: {problem}", source=source)
    with fh:
        listed = _member_count(fh)
        if listed is not None and listed > limits.max_zip_members:
            yield RawMessage(
                source=source,
                position="",
                problem=(
                    f"zip lists {listed:,} members, over the cap of {limits.max_zip_members:,} for one zip: not read; "
                    "split the archive or raise ReadLimits(max_zip_members=...)"
                ),
            )
            return
        damage = _damage()
        try:
            zf = zipfile.ZipFile(fh)
        except damage as exc:
            raise SampleError(f"cannot open zip: {type(exc).__name__}: {exc}", source=source) from exc
        total_left = limits.max_zip_total_bytes
        with zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                name = info.filename
                low = name.lower()
                if info.is_dir() or not low.endswith((".eml", ".msg", ".zip", ".mbox")):
                    continue
                refused = _refusal(info, name, low, zipfile)
                if not refused and total_left <= 0:
                    refused = (
                        f"not read: the zip's members already inflated to {limits.max_zip_total_bytes:,} "
                        "bytes, the cap for one zip; split the archive"
                    )
                if refused:
                    yield RawMessage(source=source, position=name, problem=refused)
                    continue
                try:
                    data, inflated, problem = _inflate(zf, info, limits, total_left, size)
                except damage as exc:
                    yield RawMessage(
                        source=source, position=name, problem=f"cannot read zip member: {type(exc).__name__}: {exc}"
                    )
                    continue
                total_left -= inflated
                if problem:
                    yield RawMessage(source=source, position=name, problem=problem)
                    continue
                if low.endswith(".msg"):
                    data, problem = msg_bytes(data)
                yield RawMessage(source=source, position=name, data=data, problem=problem)
