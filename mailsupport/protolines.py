"""Bounded protocol lines: a byte stream cut into lines, and SMTP lines gathered into replies.

Owns :class:`LineSplitter` and :class:`SmtpReplyReader`, the two readers every SMTP reply and
every line of the connection doctor go through. They are pure: the caller feeds them what
``recv`` returned (any chunking) and asks for the next line or reply, so the bounds hold however
a server paces its bytes and the parsing is tested over plain bytes:

* a line longer than ``max_line`` bytes (its CRLF or LF not counted) raises
  :class:`~mailsupport.errors.LimitExceeded` (``what="line"``) as soon as the pending bytes
  show it, so memory stays at ``max_line`` plus one chunk;
* an SMTP reply (RFC 5321 §4.2: ``ddd-text`` lines, then ``ddd text``) of more than
  ``max_lines`` lines raises ``LimitExceeded`` (``what="lines"``);
* a line that is not ``ddd``, ``ddd text`` or ``ddd-text`` (three ASCII digits) raises
  :class:`~mailsupport.errors.ProtocolError` quoting the server's words (shortened, and run
  through the caller's ``redact``, as they may echo a secret).

Pure (layer 2): standard library and :mod:`mailsupport.errors` only; no sockets or clock.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import LimitExceeded, ProtocolError

__all__ = ["LineSplitter", "SmtpReplyReader", "excerpt"]

#: Characters of a server's words quoted in an error message.
EXCERPT = 200


def excerpt(line: bytes | str, redact: Callable[[str], str] | None = None) -> str:
    """The server's words for an error message: decoded, scrubbed by ``redact``, then cut to
    :data:`EXCERPT` characters and shown with ``repr`` (control characters visible)."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    if redact is not None:
        text = redact(text)
    return repr(text[:EXCERPT] + ("..." if len(text) > EXCERPT else ""))


class LineSplitter:
    """Cuts fed bytes into lines (CRLF or a bare LF ends a line; the line end is dropped).

    ``feed(chunk)`` then ``line()`` until it returns ``None`` (no complete line yet);
    :meth:`pending` is the number of bytes held after the last complete line.
    """

    __slots__ = ("max_line", "_buf", "_pos", "_scan")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = b""
        self._pos = 0  # start of the next line in _buf
        self._scan = 0  # where to look for the next LF (bytes before it hold none)

    def feed(self, data: bytes) -> None:
        """Add bytes received from the server."""
        if self._pos:
            self._buf = self._buf[self._pos :] + data
            self._scan -= self._pos
            self._pos = 0
        else:
            self._buf += data

    def line(self) -> bytes | None:
        """The next complete line, or ``None``; raises ``LimitExceeded`` for an overlong one."""
        buf, pos = self._buf, self._pos
        end = buf.find(b"\n", self._scan)
        if end < 0:
            self._scan = len(buf)
            # one byte of slack: a CR that is waiting for its LF
            if len(buf) - pos > self.max_line + 1:
                raise LimitExceeded(f"a line of more than {self.max_line} bytes", what="line", limit=self.max_line)
            return None
        stop = end - 1 if end > pos and buf[end - 1] == 13 else end
        if stop - pos > self.max_line:
            raise LimitExceeded(f"a line of more than {self.max_line} bytes", what="line", limit=self.max_line)
        self._pos = self._scan = end + 1
        return buf[pos:stop]

    def pending(self) -> int:
        """Bytes received after the last complete line."""
        return len(self._buf) - self._pos

    def head(self, size: int = EXCERPT) -> bytes:
        """The first ``size`` bytes received after the last complete line (for error messages)."""
        return self._buf[self._pos : self._pos + size]

    def __repr__(self) -> str:
        return f"LineSplitter(max_line={self.max_line}, pending={self.pending()})"


class SmtpReplyReader:
    """Gathers SMTP reply lines (RFC 5321 §4.2) into one reply.

    ``add(line)`` returns ``None`` while the reply continues (``250-...``) and
    ``(code, lines)`` on its last line, ``lines`` being the whole lines as received (code
    included). The code is the last line's, as :mod:`smtplib` reads it. One reader per reply.
    """

    __slots__ = ("max_lines", "_lines", "_redact")

    def __init__(self, max_lines: int, *, redact: Callable[[str], str] | None = None) -> None:
        self.max_lines = max_lines
        self._lines: list[bytes] = []
        self._redact = redact

    def add(self, line: bytes) -> tuple[int, list[bytes]] | None:
        """Take the next line; the reply when it was the last one."""
        code = line[:3]
        sep = line[3:4]
        if len(code) < 3 or not code.isdigit() or sep not in (b"", b" ", b"-", b"\t"):
            where = f" (line {len(self._lines) + 1} of the reply)" if self._lines else ""
            raise ProtocolError(f"not an SMTP reply{where}: {excerpt(line, self._redact)}")
        self._lines.append(line)
        if sep == b"-":
            if len(self._lines) >= self.max_lines:
                raise LimitExceeded(f"a reply of more than {self.max_lines} lines", what="lines", limit=self.max_lines)
            return None
        return int(code), self._lines
