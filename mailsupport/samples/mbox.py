"""Reading mbox files: From_ lines, ``>From`` quoting, the per-message cap, byte ranges for workers.

A message starts at a *From_ line*: at the start of the file, or after a blank line, a line
``From <sender> <date>`` (RFC 4155), as mboxo/mboxrd readers take it. The sender is anything
on the line (an address, ``MAILER-DAEMON``, Thunderbird's ``-``, Google Takeout's
``<id>@xxx``); the date is what real writers put there: asctime (``Mon Nov  3 09:00:00 2025``,
seconds optional) with or without a zone name or offset before or after the year (Google
Takeout writes ``Sun Nov 27 09:31:05 +0000 2022``), or an RFC 5322 date; Postfix ``local``
puts two spaces before it, UUCP a trailing ``remote from HOST``. Any other line starting
``From `` is body text. Body lines quoted as ``>From `` (``>>From `` ...) lose one ``>``
(mboxrd; Google Takeout writes mboxrd).

:func:`iter_mbox_spans` is the fast scan's reader: one reused buffer, and one search for the
literal ``From `` that finds both the From_ lines and the quoted lines; each message is handed
over where the buffer holds it (:func:`iter_mbox_data` copies it out). A message over the
per-message cap (:class:`~mailsupport.samples.files.ReadLimits`) is a problem row: its bytes are
dropped as they are read, never held, and the reader goes on at the next From_ line; the file
itself may be any size. A byte range ``start:end`` gives the messages whose From_ line starts in it, the
last read on past ``end``: cut a file anywhere and each message belongs to exactly one range.

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import SampleError
from .files import DEFAULT_LIMITS, open_regular, over_cap_problem

__all__ = ["FROM_LINE", "MBOX_START_PROBLEM", "iter_mbox_data", "iter_mbox_spans", "count_mbox_messages", "unescape"]

#: Bytes read at a time.
CHUNK = 1 << 20
MBOX_START_PROBLEM = "mbox does not start with a 'From ' line: text before it skipped"

_SP = rb" {1,16}"
_ZONE = rb"(?:" + _SP + rb"(?:[A-Z]{1,5}|[+-]\d{4}))?"
_TIME = rb"\d{1,2}:\d{2}(?::\d{2})?"
#: The date of a From_ line: asctime (zone before or after the year, or none), or RFC 5322.
_DATE = (
    rb"(?:[A-Z][a-z]{2}"
    + _SP
    + rb"[A-Z][a-z]{2}"
    + _SP
    + rb"\d{1,2}"
    + _SP
    + _TIME
    + _ZONE
    + _SP
    + rb"\d{4}"
    + _ZONE
    + rb"|[A-Z][a-z]{2},"
    + _SP
    + rb"\d{1,2}"
    + _SP
    + rb"[A-Z][a-z]{2}"
    + _SP
    + rb"\d{4}"
    + _SP
    + _TIME
    + _ZONE
    + rb")"
)
#: What most writers put there, tried first as it is quicker to match (a subset of _DATE).
_USUAL_DATE = rb"[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ \d]\d \d\d:\d\d:\d\d(?: [+-]\d{4})? \d{4}(?=\r?\n)"
#: A From_ line without its line end (it must follow: ``\r?\n``); at most about 1,400 bytes. The
#: sender is tried as one word first (every writer above), then as any text.
FROM_LINE = (
    rb"From (?:\S{0,1000}|[^\r\n]{0,1000}?)"
    + _SP
    + rb"(?:"
    + _USUAL_DATE
    + rb"|"
    + _DATE
    + rb"(?:"
    + _SP
    + rb"remote from [^\r\n]{1,255})? {0,16}(?=\r?\n))"
)
_from_line = re.compile(FROM_LINE).match
# The reader's one pass: the first "From " of each line that has one, by a plain literal search (faster
# than a pattern starting with a line break, which stops at every line end); what comes before it tells
# a line start (then _from_line checks the blank line before it, sender and date), a quoted ">From "
# body line (only ">"s back to the line start), or text within a line.
_SCAN_RE = re.compile(rb"From ")
_FROM_ESCAPE = re.compile(rb"^>(>*From )", re.M)
#: How far back a search must start again after a read: longer than any blank line + From_ line.
_LOOKBACK = 4096


def unescape(msg: bytes) -> bytes:
    """The message with one ``>`` taken from every ``>From `` line (mboxrd quoting undone)."""
    return _FROM_ESCAPE.sub(rb"\1", msg)


def _span(buf: bytearray, line_start: int, stop: int) -> tuple[int, int]:
    """Where the message whose ``From_`` line starts at ``line_start`` and which ends at ``stop`` lies
    in ``buf``: from the line after ``From_`` up to ``stop``, less the one blank separator line (LF
    or CRLF) that precedes the next ``From_`` line. The From_ line's own line end may be the first
    half of that pair: a message of nothing but the separator is empty."""
    eol = buf.find(b"\n", line_start, stop)
    if eol < 0:
        return stop, stop
    body_start = eol + 1
    if stop - 4 >= body_start - 2 and buf.startswith(b"\r\n\r\n", stop - 4, stop):
        stop -= 2
    elif stop - 2 >= body_start - 1 and buf.startswith(b"\n\n", stop - 2, stop):
        stop -= 1
    return body_start, max(body_start, stop)


def _message(
    buf: bytearray, view: memoryview, line_start: int, stop: int, quoted: bool, cap: int
) -> tuple[bytes | bytearray | str, int, int]:
    """``(data, begin, stop)`` of the message at ``buf[line_start:stop]`` (see :func:`iter_mbox_spans`)."""
    begin, stop = _span(buf, line_start, stop)
    if stop - begin > cap:
        return over_cap_problem(stop - begin, cap), 0, 0
    if quoted:
        msg = unescape(view[begin:stop].tobytes())
        return msg, 0, len(msg)
    return buf, begin, stop


def _skipped(size: int, cap: int) -> str:
    return over_cap_problem(f"about {size:,} bytes", cap)


def _open(path: Path):
    fh, _size, problem = open_regular(path)
    if fh is None:
        raise SampleError(f"cannot open mbox: {problem}", source=str(path))
    return fh


def iter_mbox_data(
    path: Path,
    *,
    start: int = 0,
    end: int | None = None,
    first_ordinal: int | None = None,
    max_message_bytes: int = DEFAULT_LIMITS.max_message_bytes,
) -> Iterator[tuple[str, bytes | str]]:
    """``(position, message bytes)`` of every message of an mbox, or ``(position, problem text)``.

    :func:`iter_mbox_spans` with each message copied out of the reader's buffer.
    """
    for position, data, begin, stop in iter_mbox_spans(
        path, start=start, end=end, first_ordinal=first_ordinal, max_message_bytes=max_message_bytes
    ):
        yield position, (data if data.__class__ is not bytearray else bytes(memoryview(data)[begin:stop]))


def iter_mbox_spans(
    path: Path,
    *,
    start: int = 0,
    end: int | None = None,
    first_ordinal: int | None = None,
    max_message_bytes: int = DEFAULT_LIMITS.max_message_bytes,
) -> Iterator[tuple[str, bytes | bytearray | str, int, int]]:
    """``(position, data, begin, stop)`` of every message of an mbox: the message is ``data[begin:stop]``.

    ``data`` is the reader's own buffer (a ``bytearray``, valid only until the next item: look,
    do not keep), or ``bytes`` for a message whose ``>From`` quoting was undone, or a problem
    text (``begin == stop == 0``): :data:`MBOX_START_PROBLEM` (position ``"0"``) for a file that
    does not start with ``From ``, and a message over ``max_message_bytes`` (dropped while
    read, so memory stays bounded). No message is copied: the fast scan summarizes it where it
    was read.

    ``start``/``end``: only the messages whose From_ line starts at a byte offset in
    ``[start, end)``, read whole (the last one runs past ``end`` to the next From_ line), so
    any cut of a file into byte ranges gives each message to exactly one range: worker
    processes share a big mbox without anyone finding the boundaries first. ``first_ordinal``
    is the position of the range's first message (counted when not given). Reads 1 MiB chunks
    into one reused buffer, doubled while one message fills most of it (so a big message is
    read in linear time) up to the cap.
    """
    fh = _open(path)
    if first_ordinal is None:
        first_ordinal = count_mbox_messages(path, start) + 1 if start else 1
    ordinal = first_ordinal - 1
    cap = max_message_bytes
    # a message taking more of the buffer than this (its From_ line and separator included) is over the cap
    limit = cap + _LOOKBACK
    with fh:
        # from 3 bytes before start: a From_ line there needs the blank line (LF or CRLF) before it
        base = max(0, start - 3)  # the file offset of buf[0]
        fh.seek(base)
        # one buffer for the whole file: read into it, move the unfinished message to its front
        # (no new 1 MiB object per chunk); it doubles while one message fills most of it
        buf = bytearray(max(CHUNK, 5))  # at least the 5 bytes of "From " to tell an mbox start
        view = memoryview(buf)
        filled = fh.readinto(view) or 0
        if not start and filled and buf[:5] != b"From ":
            yield "0", MBOX_START_PROBLEM, 0, 0
        # start of the current message's From_ line in buf; -1 while looking for the range's first one
        pos = 0 if not start else -1
        search = max(1, start - 1 - base)  # where the next line start may be (earlier bytes were searched)
        quoted = False  # the current message may have a quoted ">From " line (mboxrd/mboxo)
        skipped = -1  # bytes of the current message dropped so far (it is over the cap); -1: kept
        finder = _SCAN_RE.search
        try:
            while filled:
                # one pass finds the "From " lines and the quoted ">From " body lines; after each hit it goes
                # on at the next line (nothing further along a line can start either), so a line full of
                # "From " costs one hit
                match = finder(buf, search + 1, filled)
                while match is not None:
                    nxt = match.start()
                    eol = buf.find(b"\n", nxt, filled)
                    match = finder(buf, eol + 1, filled) if eol >= 0 else None
                    at = nxt - 1
                    if buf[at] != 10:  # not at a line start: a quoted body line when only ">"s lead back to one
                        while buf[at] == 62 and at > 0:
                            at -= 1
                        if buf[at] == 10:
                            quoted = True
                        continue
                    # a From_ line only after a blank line (LF or CRLF) and with a sender and date; a
                    # line not complete yet is looked at again after the next read (search restarts there)
                    if not (
                        (buf[at - 1] == 10 or (buf[at - 1] == 13 and at >= 2 and buf[at - 2] == 10))
                        and _from_line(buf, nxt, filled)
                    ):
                        continue
                    if pos < 0:  # looking for the range's first message
                        if base + nxt < start:
                            continue
                        if end is not None and base + nxt >= end:
                            return
                    else:
                        ordinal += 1
                        if skipped < 0:
                            yield (str(ordinal), *_message(buf, view, pos, nxt, quoted, cap))
                        else:
                            yield str(ordinal), _skipped(skipped + nxt - pos, cap), 0, 0
                            skipped = -1
                        if end is not None and base + nxt >= end:  # the next range's first message
                            return
                    quoted = False
                    pos = nxt
                if pos < 0:
                    # before the range's first message: keep only the last line start and the two bytes
                    # before it (they tell a blank line); a line longer than _LOOKBACK is no From_ line
                    last = buf.rfind(b"\n", max(search, filled - _LOOKBACK), filled)
                    cut = max(0, (last if last >= 0 else filled) - 2)
                    search = max(1, last - cut) if last >= 0 else 1
                    if end is not None and base + cut + search + 1 >= end:
                        return  # every From_ line still to come starts at or after end: the range has none
                    tail = filled - cut
                else:
                    tail = filled - pos
                    if skipped < 0 and tail > limit:
                        skipped = 0
                    if skipped >= 0:
                        # over the cap: keep only what may hold the start of the next From_ line (and the two
                        # bytes before it that tell a blank line)
                        keep = min(tail, _LOOKBACK)
                        skipped += tail - keep
                        pos = filled - keep
                        tail = keep
                        search = 2
                    else:
                        # search again from the last line start: a "From " line may straddle the end. Never
                        # more than _LOOKBACK back (linear time): a longer last line is no From_ line
                        window = max(pos + 1, filled - _LOOKBACK)
                        last = buf.rfind(b"\n", window, filled)
                        if last < 0:
                            # the last line began long before: it could be a quoted ">...>From " line whose
                            # "From " is still to come; unquoting the whole message is exact either way
                            quoted = True
                            search = window - pos
                        else:
                            search = last - pos
                    cut = pos
                    pos = 0
                if cut:
                    view[:tail] = view[cut:filled]
                    base += cut
                filled = tail
                if tail * 2 > len(buf) and len(buf) < limit + CHUNK:
                    view.release()
                    buf.extend(bytes(min(len(buf), limit + CHUNK - len(buf))))
                    view = memoryview(buf)
                got = fh.readinto(view[tail:]) or 0
                if got:
                    filled += got
                    continue
                if filled and pos >= 0:  # the last message runs to the end of the file
                    ordinal += 1
                    if skipped >= 0:
                        yield str(ordinal), _skipped(skipped + filled, cap), 0, 0
                    else:
                        yield (str(ordinal), *_message(buf, view, 0, filled, quoted, cap))
                break
        finally:
            view.release()


def count_mbox_messages(path: Path, end: int | None = None) -> int:
    """How many messages start before byte ``end`` of an mbox (all of them without ``end``): the
    ordinal :func:`iter_mbox_spans` gives the last of them."""
    return sum(
        1 for position, _data, _begin, _stop in iter_mbox_spans(path, end=end, first_ordinal=1) if position != "0"
    )
