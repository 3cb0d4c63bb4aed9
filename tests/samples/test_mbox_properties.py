"""Property tests (Hypothesis) of the mbox reader: round trips, a plain reference, counts and worker ranges.

The number of examples comes from the active Hypothesis profile (a bounded one in CI; the
fuzz command runs the same tests with many more); no test here sets it.
"""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsupport.samples import mbox
from mailsupport.samples.mbox import count_mbox_messages, iter_mbox_data

from .mbox_reference import split_mbox
from .test_mbox_from_lines import WRITERS

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lines that stress the reader: From_ lines of every writer, quoted and unquoted "From " lines,
# blank lines (LF and CRLF), stray CRs, and arbitrary bytes without a line end.
TRICKY = [
    b"",
    b"\r",
    b"From here",
    b">From x",
    b">>From y",
    b"a >From b",
    b"From:",
    b"From ",
    b"text",
    *WRITERS.values(),
    WRITERS["mutt"] + b"\r",
]
line = st.one_of(st.sampled_from(TRICKY), st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")))
chunk_size = st.sampled_from([1, 2, 5, 7, 13, 64, 1 << 20])


@contextmanager
def _chunk(size: int):
    old = mbox.CHUNK
    mbox.CHUNK = size
    try:
        yield
    finally:
        mbox.CHUNK = old


@contextmanager
def _file(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.mbox"
        p.write_bytes(data)
        yield p


def _mboxrd(messages: list[bytes], from_lines: list[bytes], eol: bytes) -> bytes:
    """What an mboxrd writer writes: From_ line, the message with every ``>*From `` line quoted once more,
    a line end if the message lacks one, and a blank line."""
    out = []
    for msg, from_line in zip(messages, from_lines):
        body = re.sub(rb"(?m)^(>*From )", rb">\1", msg)
        if not body.endswith(b"\n"):
            body += eol
        out.append(from_line + eol + body + eol)
    return b"".join(out)


message = st.lists(line, max_size=12).map(lambda lines: b"\n".join(lines) + b"\n")


@SETTINGS
@given(messages=st.lists(message, min_size=1, max_size=6), data=st.data(), crlf=st.booleans(), size=chunk_size)
def test_mboxrd_round_trip(messages, data, crlf, size):
    """Whatever the messages hold (From_ lines of any writer, quoted lines, blank lines, bytes), written as
    mboxrd they read back exactly, at any read-chunk size."""
    eol = b"\r\n" if crlf else b"\n"
    if crlf:
        messages = [m.replace(b"\n", b"\r\n") for m in messages]
    from_lines = data.draw(
        st.lists(st.sampled_from(list(WRITERS.values())), min_size=len(messages), max_size=len(messages))
    )
    raw = _mboxrd(messages, from_lines, eol)
    with _file(raw) as p, _chunk(size):
        assert [d for _pos, d in iter_mbox_data(p)] == messages
        assert count_mbox_messages(p) == len(messages)


@SETTINGS
@given(
    lines=st.lists(line, max_size=60),
    first=st.sampled_from(list(WRITERS.values())),
    size=chunk_size,
    crlf=st.booleans(),
)
def test_reader_equals_the_line_by_line_reference(lines, first, size, crlf):
    """Any mbox text (From_ lines with and without a blank line before, quoted lines, stray bytes) splits
    exactly as the plain whole-file reference splits it, at any chunk size; counting agrees."""
    eol = b"\r\n" if crlf else b"\n"
    raw = first + eol + eol.join(lines)
    with _file(raw) as p, _chunk(size):
        got = list(iter_mbox_data(p))
        expected = split_mbox(raw)
        assert [d for _pos, d in got] == expected
        assert [pos for pos, _d in got] == [str(i) for i in range(1, len(expected) + 1)]
        assert count_mbox_messages(p) == len(expected)


@SETTINGS
@given(
    lines=st.lists(line, max_size=80),
    first=st.sampled_from(list(WRITERS.values())),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=5),
    size=chunk_size,
)
def test_worker_ranges_give_every_message_once(lines, first, cuts, size):
    """Any cut of the file into byte ranges, read range by range (each message read by the range its From_
    line starts in, each range counting the messages before it), gives exactly the whole file's messages
    and positions, at any read chunk size."""
    raw = first + b"\n" + b"\n".join(lines)
    points = sorted({0, len(raw), *(int(c * len(raw)) for c in cuts)})
    with _file(raw) as p:
        whole = list(iter_mbox_data(p))
        with _chunk(size):
            ranged = [item for a, b in zip(points, points[1:]) for item in iter_mbox_data(p, start=a, end=b)]
        assert ranged == whole


@SETTINGS
@given(raw=st.binary(max_size=400), size=chunk_size, cap=st.integers(min_value=1, max_value=200))
def test_any_bytes_read_without_error_within_the_cap(raw, size, cap):
    """Arbitrary bytes as an mbox never raise: every item is message bytes no longer than the cap, or a
    problem text; positions count up."""
    with _file(raw) as p, _chunk(size):
        got = list(iter_mbox_data(p, max_message_bytes=cap))
    for _pos, item in got:
        assert isinstance(item, str) or len(item) <= cap
    numbered = [pos for pos, _item in got if pos != "0"]
    assert numbered == [str(i) for i in range(1, len(numbered) + 1)]
