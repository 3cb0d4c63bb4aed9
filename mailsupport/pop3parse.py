"""POP3 answers parsed from bytes, and answers cut out of a byte stream — without a socket.

Owns the pure half of the POP3 client (RFC 1939, RFC 2449): :func:`parse_status` (``+OK`` /
``-ERR`` and an RFC 2449 §8 / RFC 3206 response code), :func:`parse_stat`,
:func:`parse_list_line`, :func:`parse_uidl_line`, :func:`parse_capa`, :func:`unstuff`,
:func:`retr_budget` and :func:`listed_size_matches` (what a message may weigh against its
``LIST`` size), :func:`shown` (server words made safe to print), and :class:`AnswerReader`, which
cuts status lines, multi-line answers and message blocks out of whatever a ``recv`` callable
returns, every read bounded:

* a line by a byte limit (no line end within it: :class:`~mailsupport.errors.LimitExceeded`);
* a multi-line answer (``CAPA``, ``LIST``, ``UIDL``) by its number of lines and its bytes;
* a message block (``RETR``, ``TOP``) by its bytes and by the length of a line still unended
  between reads (a complete long line inside the byte budget is accepted: the byte budget
  already bounds it).

Unreadable answers raise :class:`AnswerError` carrying the offending bytes *unscrubbed*: the
client (:mod:`mailsupport.pop3`) owns the socket, the deadlines and the secrets, and shows
those bytes only through its redactor and :func:`shown`. The stream ending raises
:class:`EOFError`.

Layer 2 (pure): imports only :mod:`mailsupport.errors`; no sockets, clock or files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import LimitExceeded, ProtocolError

__all__ = [
    "Status",
    "AnswerError",
    "AnswerReader",
    "parse_status",
    "parse_stat",
    "parse_list_line",
    "parse_uidl_line",
    "parse_capa",
    "unstuff",
    "shown",
    "retr_budget",
    "listed_size_matches",
    "RETR_MARGIN",
]

#: Bytes a message may run past twice its LIST size before it is no longer trusted (see :func:`retr_budget`).
RETR_MARGIN = 64 * 1024

_CODE = re.compile(r"^\[([A-Za-z0-9/-]+)\]")
_STAT = re.compile(rb"^(\d{1,18})[ \t]+(\d{1,18})(?:[ \t].*)?$", re.S)
_LIST = re.compile(rb"^(\d{1,18})[ \t]+(\d{1,18})(?:[ \t].*)?$", re.S)
# RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E; up to 255 accepted (lenient)
_UIDL = re.compile(rb"^(\d{1,18})[ \t]+([\x21-\x7e]{1,255})[ \t]*$")
_UNSTUFF = re.compile(rb"(?m)^\.\.")
_TERMINATOR = b"\r\n.\r\n"


class AnswerError(ProtocolError):
    """An answer that does not parse. ``expected`` says what should have come, ``raw`` is what
    came (not scrubbed of secrets: show it only through the client's redactor)."""

    def __init__(self, expected: str, raw: bytes) -> None:
        self.expected = expected
        self.raw = bytes(raw)
        super().__init__(f"{expected}, got {shown(self.raw)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """A status line: ``ok`` for ``+OK``; ``text`` after the indicator; ``code`` the response code
    in brackets (``IN-USE``, ``AUTH``, ``SYS/TEMP``...; upper case, empty when none)."""

    ok: bool
    text: bytes
    code: str = ""


def parse_status(line: bytes) -> Status:
    """A ``+OK ...`` / ``-ERR ...`` line (without its line end); anything else is an :class:`AnswerError`.

    The indicators are matched case-insensitively and may be followed by a space and text
    (RFC 1939 §3); ``-ERR [IN-USE] ...`` carries a response code (RFC 2449 §8).
    """
    head = line[:4].upper()
    if head[:3] == b"+OK":
        ok, rest = True, line[3:]
    elif head == b"-ERR":
        ok, rest = False, line[4:]
    else:
        raise AnswerError("expected a +OK or -ERR answer", line)
    if rest and rest[:1] not in (b" ", b"\t"):
        raise AnswerError("expected a +OK or -ERR answer", line)
    text = rest.strip(b" \t")
    m = _CODE.match(text.decode("ascii", "replace"))
    return Status(ok=ok, text=text, code=m.group(1).upper() if m else "")


def parse_stat(text: bytes) -> tuple[int, int]:
    """``(count, octets)`` from the text of a ``STAT`` answer (``+OK 2 320`` gives ``b"2 320"``)."""
    m = _STAT.match(text)
    if m is None:
        raise AnswerError("a STAT answer is '+OK count octets'", b"+OK " + text)
    return int(m.group(1)), int(m.group(2))


def parse_list_line(line: bytes) -> tuple[int, int]:
    """``(number, size)`` from one scan listing line of ``LIST`` (``1 120``; text after the size allowed)."""
    m = _LIST.match(line)
    if m is None or int(m.group(1)) < 1:
        raise AnswerError("a LIST line is 'number size'", line)
    return int(m.group(1)), int(m.group(2))


def parse_uidl_line(line: bytes) -> tuple[int, str]:
    """``(number, unique id)`` from one line of ``UIDL`` (``1 whqtswO00WBw418f9t5JxYwZ``)."""
    m = _UIDL.match(line)
    if m is None or int(m.group(1)) < 1:
        raise AnswerError("a UIDL line is 'number unique-id' (1-255 visible ASCII characters)", line)
    return int(m.group(1)), m.group(2).decode("ascii")


def parse_capa(lines: list[bytes]) -> dict[str, tuple[str, ...]]:
    """``CAPA`` lines (RFC 2449 §5) as ``{NAME: args}``; unreadable lines are skipped."""
    out: dict[str, tuple[str, ...]] = {}
    for line in lines:
        words = line.decode("ascii", "replace").split()
        if words and words[0].isprintable() and "\ufffd" not in words[0]:
            out[words[0].upper()] = tuple(words[1:])
    return out


def unstuff(data: bytes) -> bytes:
    """Undo the dot-stuffing of a multi-line answer (RFC 1939 §3): ``..x`` at a line start is ``.x``."""
    if b"\n." in data or data.startswith(b"."):
        return _UNSTUFF.sub(b".", data)
    return data


def shown(text: bytes | str, limit: int = 300, *, quote: bool = True) -> str:
    """Server words fit to print: decoded (UTF-8, bad bytes replaced), control characters escaped
    (``\\x1b``, ``\\r``), cut to ``limit`` characters saying how many were left out; in quotes
    unless ``quote`` is false."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    more = f" (and {cut:,} more characters)" if cut > 0 else ""
    return (f"'{text}'" if quote else text) + more


def retr_budget(listed: int | None, max_message_bytes: int) -> int:
    """The most bytes a ``RETR``/``TOP`` answer may take on the wire before it is not trusted.

    A message may run past its ``LIST`` size: servers that count LF line ends list about half
    the CRLF bytes of a message of empty lines, dot-stuffing adds a byte to lines starting with
    ``.``, some servers add a header on RETR. So the budget is twice the listed size plus
    :data:`RETR_MARGIN`; past it the server is lying or broken, and the read stops. Without a
    listed size (``None``) it is twice ``max_message_bytes``.
    """
    base = max_message_bytes if listed is None else min(max(0, listed), max_message_bytes)
    return 2 * base + RETR_MARGIN


def listed_size_matches(listed: int, size: int, newlines: int) -> bool:
    """Whether a ``LIST`` size fits a stored copy of ``size`` CRLF bytes with ``newlines`` line ends.

    RFC 1939 says LIST gives the exact octets (CRLF line ends); servers that store LF count
    one octet less per line, and a message without a final line end gets one on RETR (2 octets,
    or 1 counted as LF). Any of those four counts is the same message's size.
    """
    return listed in (size, size - 2, size - newlines, size - newlines - 1)


class AnswerReader:
    """Cuts POP3 answers out of the bytes ``recv(n)`` returns (``b""`` means the stream ended).

    Buffered: one ``recv`` may hold several pipelined answers; each call consumes exactly its
    own answer. ``recv`` is where the caller bounds time (the client sets the socket timeout
    from the step's deadline before each read).
    """

    __slots__ = ("_recv", "_chunk", "_buf", "_pos")

    def __init__(self, recv: Callable[[int], bytes], *, chunk: int = 1 << 18) -> None:
        self._recv = recv
        self._chunk = chunk
        self._buf = bytearray()
        self._pos = 0

    @property
    def pending(self) -> int:
        """Bytes received but not consumed yet."""
        return len(self._buf) - self._pos

    def _fill(self) -> None:
        """Drop what was consumed, then append one ``recv``; :class:`EOFError` when the stream ended."""
        if self._pos:
            del self._buf[: self._pos]  # bytearray drops a prefix in place, without copying the rest
            self._pos = 0
        chunk = self._recv(self._chunk)
        if not chunk:
            raise EOFError("the server closed the connection")
        self._buf += chunk

    def line(self, limit: int, what: str = "a line") -> bytes:
        """The next line without its CRLF (or LF); :class:`LimitExceeded` past ``limit`` bytes."""
        scanned = 0
        while True:
            i = self._buf.find(b"\n", self._pos + scanned)
            if i >= 0:
                if i - self._pos > limit:
                    break
                line = bytes(self._buf[self._pos : i])
                self._pos = i + 1
                return line[:-1] if line.endswith(b"\r") else line
            scanned = len(self._buf) - self._pos
            if scanned > limit:
                break
            self._fill()
        raise LimitExceeded(f"{what} ran past {limit:,} bytes without a line end", what="line", limit=limit)

    def lines(self, *, max_line: int, max_lines: int, max_bytes: int, what: str = "the answer") -> Iterator[bytes]:
        """The lines of a multi-line answer up to its ``.`` line, dot-unstuffed; bounded by
        ``max_lines`` lines and ``max_bytes`` bytes in all (:class:`LimitExceeded`)."""
        count = total = 0
        while True:
            line = self.line(max_line, f"a line of {what}")
            if line == b".":
                return
            count += 1
            total += len(line) + 2
            if count > max_lines:
                raise LimitExceeded(f"{what} ran past {max_lines:,} lines", what="lines", limit=max_lines)
            if total > max_bytes:
                raise LimitExceeded(f"{what} ran past {max_bytes:,} bytes", what="bytes", limit=max_bytes)
            yield line[1:] if line.startswith(b"..") else line

    def block(self, *, max_bytes: int, max_line: int, what: str = "the message") -> bytes:
        """A multi-line answer's data up to its terminating ``CRLF.CRLF``, still dot-stuffed,
        with CRLF line ends (the last line's included); ``b""`` for an empty answer.

        Reads in blocks, not line by line: each ``recv`` is searched for the terminator from
        where the last search stopped (less its 4-byte overlap), so the cost is linear in the
        message. It relies on RFC 1939 §3 framing, the terminator being exactly ``CRLF.CRLF``:
        one a server writes as ``LF.LF`` is not taken as the end. :class:`LimitExceeded` when
        more than ``max_bytes`` arrive without the terminator, or a line stays unended for more
        than ``max_line`` bytes.
        """
        while self.pending < 3 and b".\r\n".startswith(self._buf[self._pos :]):
            self._fill()  # too few bytes yet to tell an empty answer from a message
        if self._buf.startswith(b".\r\n", self._pos):
            self._pos += 3
            return b""
        scanned = 0  # bytes after _pos already searched for the terminator (less its 4-byte overlap)
        line_start = 0  # offset (from _pos) of the line still unended after the last read
        while True:
            i = self._buf.find(_TERMINATOR, self._pos + scanned)
            if i >= 0:
                data = bytes(self._buf[self._pos : i + 2])
                self._pos = i + 5
                return data
            have = len(self._buf) - self._pos
            if have > max_bytes:
                raise LimitExceeded(
                    f"{what} ran past {max_bytes:,} bytes without its end", what="bytes", limit=max_bytes
                )
            nl = self._buf.rfind(b"\n", self._pos + line_start)
            if nl >= 0:
                line_start = nl + 1 - self._pos
            if have - line_start > max_line:
                raise LimitExceeded(
                    f"a line of {what} ran past {max_line:,} bytes without a line end", what="line", limit=max_line
                )
            scanned = max(0, have - 4)
            self._fill()  # drops only bytes before _pos: offsets from _pos stay valid
