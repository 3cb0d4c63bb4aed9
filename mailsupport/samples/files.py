"""What every sample reader shares: the message value, the read limits, and bounded file reads.

* :class:`RawMessage` — one message as read (its bytes) or a row with its problem.
* :class:`ReadLimits` — the caps that keep a hostile sample from taking the machine: bytes per
  message, and for a zip the bytes per member, in total, the inflate ratio and the member
  count. :data:`DEFAULT_LIMITS` is what the scan uses unless told otherwise; docs/limits.md
  explains each default.
* :func:`open_regular` / :func:`read_capped` — only regular files are opened (a FIFO, device or
  socket is a problem text, never a blocking or endless read), and a read stops at the cap.

Symbolic links: the path a user names is followed; inside a folder, Maildir or zip a link is a
row saying so, not followed (a hostile sample could otherwise point at any file).

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from ..limits import DEFAULT_LIMITS as _SERVER_LIMITS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import BinaryIO

__all__ = [
    "RawMessage",
    "ReadLimits",
    "DEFAULT_LIMITS",
    "MIB",
    "open_regular",
    "read_capped",
    "read_regular",
    "special_problem",
    "over_cap_problem",
]

MIB = 1 << 20
#: Bytes asked for per read when a file has to be read in pieces.
READ_CHUNK = MIB


@dataclass(frozen=True, slots=True, kw_only=True)
class RawMessage:
    """One message as read from a sample: where it came from and its bytes (or its problem)."""

    source: str
    position: str
    data: bytes = b""
    problem: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadLimits:
    """Caps on what one sample may make the reader hold or inflate; over a cap is a row, not a crash.

    ``max_message_bytes``: one message (an mbox message, a Maildir or ``.eml`` file, a zip
    member, a ``.msg`` file). The default is the kit's one per-message cap,
    :data:`mailsupport.limits.DEFAULT_LIMITS`' ``max_message_bytes`` (160 MiB: the largest
    limit a real provider allows, Exchange Online's 150 MB, counted as sent, with a margin),
    the same for files and for messages retrieved from a server; an mbox *file* may be any
    size, since it is streamed a message at a time.
    ``max_zip_total_bytes``: everything one zip's members inflate to (16 GiB).
    ``max_zip_ratio``: inflated bytes per compressed byte of one member (100), checked once
    the member passed ``zip_ratio_grace_bytes`` (1 MiB: small, very repetitive messages
    compress well and are harmless). ``max_zip_members``: entries a zip may list (1,000,000;
    its central directory is read whole).
    """

    max_message_bytes: int = _SERVER_LIMITS.max_message_bytes
    max_zip_total_bytes: int = 16 * 1024 * MIB
    max_zip_ratio: float = 100.0
    zip_ratio_grace_bytes: int = MIB
    max_zip_members: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("max_message_bytes", "max_zip_total_bytes", "max_zip_members"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ReadLimits.{name} must be a whole number of at least 1, got {value!r}")
        if not self.max_zip_ratio >= 1:
            raise ValueError(f"ReadLimits.max_zip_ratio must be at least 1, got {self.max_zip_ratio!r}")
        if self.zip_ratio_grace_bytes < 0:
            raise ValueError(
                f"ReadLimits.zip_ratio_grace_bytes must not be negative, got {self.zip_ratio_grace_bytes!r}"
            )


DEFAULT_LIMITS = ReadLimits()

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def special_problem(mode: int) -> str:
    """The problem text for something that is not a regular file (from its ``st_mode``)."""
    what = next((text for test, text in _KINDS if test(mode)), "not a regular file")
    if stat.S_ISLNK(mode):
        return "a symbolic link inside the sample: not followed (it could point anywhere); scan its target by naming it"
    return (
        f"{what}, not a regular file: not read (only regular files and folders are, so a read never "
        "blocks or runs forever); copy the data into a file and scan that"
    )


def over_cap_problem(size: int | str, cap: int, what: str = "message") -> str:
    """The problem text for a message over the per-message cap."""
    shown = f"{size:,} bytes" if isinstance(size, int) else size
    return (
        f"{what} of {shown} is over the per-message cap of {cap:,} bytes: not read; raise it with "
        "ReadLimits(max_message_bytes=...) or --max-message-mb if the message is genuine"
    )


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> tuple[BinaryIO | None, int, str]:
    """``(file, size, "")`` for a regular file opened for reading, else ``(None, 0, problem)``.

    Looks before opening (a FIFO would block the open, a device read forever) and checks the
    opened file again (the path may have changed in between; opened non-blocking, so even
    then nothing blocks). ``follow_symlinks=False`` refuses a symbolic link.
    """
    try:
        st = os.stat(path, follow_symlinks=follow_symlinks)
    except OSError as exc:
        return None, 0, f"cannot read file: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return None, 0, special_problem(st.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return None, 0, f"cannot read file: {exc.strerror or exc}"
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None, 0, special_problem(st.st_mode)
    return os.fdopen(fd, "rb"), st.st_size, ""


def read_capped(fh: BinaryIO, cap: int, size_hint: int) -> bytes:
    """The file's bytes up to ``cap + 1`` of them (more than ``cap`` returned means over the cap).

    ``size_hint`` (the size the file had when opened) sizes the first read, so a small file
    costs one read and no buffer of ``cap`` bytes; a file that grew is read on in 1 MiB reads.
    """
    want = min(size_hint, cap) + 1
    data = fh.read(want)
    if len(data) < want:
        return data
    parts = [data]
    got = len(data)
    while got <= cap:
        more = fh.read(min(READ_CHUNK, cap + 1 - got))
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_regular(path: str | os.PathLike[str], cap: int, *, follow_symlinks: bool = True) -> tuple[bytes, str]:
    """``(bytes, "")`` of a regular file of at most ``cap`` bytes, else ``(b"", problem)``."""
    fh, size, problem = open_regular(path, follow_symlinks=follow_symlinks)
    if fh is None:
        return b"", problem
    with fh:
        if size > cap:
            return b"", over_cap_problem(size, cap, "message file")
        try:
            data = read_capped(fh, cap, size)
        except OSError as exc:
            return b"", f"cannot read file: {exc.strerror or exc}"
    if len(data) > cap:
        return b"", over_cap_problem(f"over {cap:,} bytes (it grew while read)", cap, "message file")
    return data, ""
