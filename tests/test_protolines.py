"""The bounded line splitter and SMTP reply reader, over plain bytes (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.errors import LimitExceeded, ProtocolError
from mailsupport.protolines import LineSplitter, SmtpReplyReader, excerpt

MAX = 64
line_st = st.binary(max_size=MAX).map(lambda b: b.replace(b"\n", b"").rstrip(b"\r"))


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def _drain(splitter: LineSplitter, chunks: list[bytes]) -> list[bytes]:
    out = []
    for chunk in chunks:
        splitter.feed(chunk)
        while (line := splitter.line()) is not None:
            out.append(line)
    return out


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(line_st, max_size=20),
    ends=st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=20, max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_any_chunking_gives_the_lines_that_were_sent(lines, ends, cuts):
    """However recv() cuts the stream, the splitter returns exactly the lines sent, CRLF or LF ended."""
    data = b"".join(line + end for line, end in zip(lines, ends))
    assert _drain(LineSplitter(MAX), _chunks(data, cuts)) == lines


@settings(max_examples=150, deadline=None)
@given(
    head=st.lists(line_st, max_size=5),
    long=st.integers(min_value=MAX + 1, max_value=4 * MAX),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
    ended=st.booleans(),
)
def test_an_overlong_line_is_refused_before_it_is_buffered_whole(head, long, cuts, ended):
    """A line over max_line raises LimitExceeded by the time max_line + 2 of its bytes are held;
    the lines before it come out, and memory never holds more than max_line + 2 + one chunk."""
    # unended, max_line + 1 bytes may still be a max_line line and its CR: two more prove it long
    long = long if ended else max(long, MAX + 2)
    data = b"".join(h + b"\r\n" for h in head) + b"x" * long + (b"\r\n" if ended else b"")
    splitter = LineSplitter(MAX)
    out = []
    with pytest.raises(LimitExceeded) as err:
        for chunk in _chunks(data, cuts):
            splitter.feed(chunk)
            assert splitter.pending() <= MAX + 2 + len(chunk)
            while (line := splitter.line()) is not None:
                out.append(line)
    assert err.value.what == "line" and err.value.limit == MAX
    assert out == head


def test_a_line_of_exactly_max_line_passes_with_either_ending():
    """The limit counts the line without its CRLF: max_line bytes pass, even with the CR held apart."""
    splitter = LineSplitter(MAX)
    splitter.feed(b"y" * MAX + b"\r")
    assert splitter.line() is None
    splitter.feed(b"\n" + b"z" * MAX + b"\n")
    assert [splitter.line(), splitter.line(), splitter.line()] == [b"y" * MAX, b"z" * MAX, None]


reply_text_st = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\r\n"), max_size=30)


@settings(max_examples=150, deadline=None)
@given(code=st.integers(min_value=200, max_value=599), texts=st.lists(reply_text_st, min_size=1, max_size=8))
def test_a_well_formed_reply_reads_back(code, texts):
    """ddd-text ... ddd text: the reader returns the code and every line as sent, only at the last one."""
    sent = [f"{code}-{t}".encode() for t in texts[:-1]] + [f"{code} {texts[-1]}".encode()]
    reader = SmtpReplyReader(100)
    results = [reader.add(line) for line in sent]
    assert results[:-1] == [None] * (len(sent) - 1)
    assert results[-1] == (code, sent)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.binary(max_size=12), min_size=1, max_size=6))
def test_any_bytes_give_a_reply_none_or_a_protocol_error(lines):
    """Whatever a server sends, the reader answers a reply, 'more to come', or a ProtocolError: no other exception."""
    reader = SmtpReplyReader(4)
    for line in lines:
        try:
            if reader.add(line) is not None:
                return
        except ProtocolError:
            return


def test_a_bare_code_is_a_whole_reply():
    """RFC 5321 §4.2: the text after the code is optional."""
    assert SmtpReplyReader(10).add(b"250") == (250, [b"250"])


@pytest.mark.parametrize(
    "line",
    [b"2x0 what", b"25", b"", b"+OK hello", "²²² digits elsewhere".encode(), b"250hello", b"\x00\xff\xfe junk"],
    ids=["letter-in-code", "short", "empty", "pop3", "unicode-digits", "no-separator", "binary"],
)
def test_malformed_lines_are_protocol_errors_quoting_the_words(line):
    """Lines that are not ddd / ddd text / ddd-text are refused with the words quoted."""
    reader = SmtpReplyReader(10)
    with pytest.raises(ProtocolError) as err:
        reader.add(line)
    assert not isinstance(err.value, LimitExceeded)
    assert repr(line.decode("utf-8", "replace"))[1:-1][:20] in str(err.value)


def test_endless_continuation_lines_hit_the_line_count_limit():
    """250- lines forever: LimitExceeded at max_lines, before any further line is kept."""
    reader = SmtpReplyReader(1000)
    with pytest.raises(LimitExceeded) as err:
        for _ in range(10_000):
            reader.add(b"250-hostile reply line that never ends the reply")
    assert err.value.what == "lines" and err.value.limit == 1000


def test_quoted_words_are_scrubbed_and_shortened():
    """An error quoting the server runs its redact callable first, then cuts the words."""
    reader = SmtpReplyReader(10, redact=lambda t: t.replace("hunter2", "***"))
    with pytest.raises(ProtocolError) as err:
        reader.add(b"5x5 bad password hunter2 " + b"y" * 500)
    assert "hunter2" not in str(err.value) and "***" in str(err.value) and "..." in str(err.value)
    assert len(excerpt(b"z" * 1000)) < 210
