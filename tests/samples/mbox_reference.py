"""A plain, whole-file, line-by-line mbox splitter: the reference the fast chunked reader is checked against.

A message starts at the first line, and at every line that follows a blank line (``""`` or a
lone CR) and is, as a whole line, a From_ line (the reader's ``FROM_LINE`` pattern: which
sender and date forms count is tested separately, by example). A message is the text after its
From_ line up to the next one, less one blank separator line (the From_ line's own line end may
be its first half: a message of nothing but the separator is empty); ``>From`` quoting loses one ``>``.
"""

from __future__ import annotations

import re

from mailsupport.samples.mbox import FROM_LINE

_WHOLE_FROM_LINE = re.compile(FROM_LINE + rb"\r?\n\Z")


def from_line_starts(data: bytes) -> list[int]:
    """Byte offsets where messages start: 0, then every From_ line after a blank line."""
    starts = [0]
    offset = 0
    prev_blank = False
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        complete = i < len(lines) - 1  # the last piece has no line end
        if i > 0 and prev_blank and complete and _WHOLE_FROM_LINE.match(line + b"\n"):
            starts.append(offset)
        prev_blank = line in (b"", b"\r")
        offset += len(line) + 1
    return starts


def split_mbox(data: bytes) -> list[bytes]:
    """Every message of a whole mbox file, as a reader should return them."""
    starts = from_line_starts(data)
    out = []
    for a, b in zip(starts, starts[1:] + [len(data)]):
        chunk = data[a:b]
        body = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        # one blank separator line goes; the From_ line's own line end may be its first half
        if chunk.endswith(b"\r\n\r\n") and len(body) >= 2:
            body = body[:-2]
        elif chunk.endswith(b"\n\n") and len(body) >= 1:
            body = body[:-1]
        out.append(re.sub(rb"(?m)^>(>*From )", rb"\1", body))
    return out
