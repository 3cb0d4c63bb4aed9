"""POP3 answers parsed from bytes, and cut out of a byte stream with every read bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.errors import LimitExceeded
from mailsupport.pop3parse import (
    RETR_MARGIN,
    AnswerError,
    AnswerReader,
    listed_size_matches,
    parse_capa,
    parse_list_line,
    parse_stat,
    parse_status,
    parse_uidl_line,
    retr_budget,
    shown,
    unstuff,
)


def feeder(data: bytes, cuts: list[int] | None = None):
    """A ``recv`` returning ``data`` in pieces cut at ``cuts`` (or whole), then b"" (the end)."""
    bounds = sorted({c for c in (cuts or []) if 0 < c < len(data)})
    pieces = [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)])]

    def recv(_n: int) -> bytes:
        return pieces.pop(0) if pieces else b""

    return recv


def endless(unit: bytes, *, first: bytes = b"", calls: int = 100_000):
    """A ``recv`` sending ``first`` then ``unit`` forever; fails the test past ``calls`` reads."""
    state = {"n": 0}

    def recv(_n: int) -> bytes:
        state["n"] += 1
        assert state["n"] < calls, "the reader did not stop at its limit"
        return first if state["n"] == 1 and first else unit

    return recv


def stuffed(lines: list[bytes]) -> bytes:
    """A multi-line answer's data for ``lines``: dot-stuffed, CRLF, terminated."""
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines) + b".\r\n"


@pytest.mark.parametrize(
    "line,ok,text,code",
    [
        (b"+OK", True, b"", ""),
        (b"+OK 2 320", True, b"2 320", ""),
        (b"+ok lower case", True, b"lower case", ""),
        (b"-ERR", False, b"", ""),
        (b"-ERR [IN-USE] mailbox locked", False, b"[IN-USE] mailbox locked", "IN-USE"),
        (b"-ERR [sys/temp] later", False, b"[sys/temp] later", "SYS/TEMP"),
        (b"-ERR\tno", False, b"no", ""),
    ],
    ids=["bare-ok", "ok-text", "lower-case", "bare-err", "in-use-code", "code-upper-cased", "tab"],
)
def test_status_lines(line, ok, text, code):
    """+OK/-ERR lines give ok, the text and the RFC 2449 response code."""
    status = parse_status(line)
    assert (status.ok, status.text, status.code) == (ok, text, code)


@pytest.mark.parametrize(
    "line",
    [b"", b"*OK hello", b"+OKAY", b"+ OK?", b"-ERROR x", b"OK", b"\x00+OK"],
    ids=["empty", "star", "okay", "plus-space", "error", "no-sign", "nul-first"],
)
def test_malformed_status_lines(line):
    """Anything else is an AnswerError keeping the bytes that came."""
    with pytest.raises(AnswerError) as err:
        parse_status(line)
    assert err.value.raw == line


@pytest.mark.parametrize(
    "text,expected",
    [
        (b"2 320", (2, 320)),
        (b"0 0", (0, 0)),
        (b"1 10 extra", (1, 10)),
    ],
    ids=["plain", "empty-mailbox", "trailing-text"],
)
def test_stat(text, expected):
    """STAT gives (count, octets)."""
    assert parse_stat(text) == expected


@pytest.mark.parametrize(
    "text",
    [b"many", b"1", b"-1 2", b"1 2x", b"", b"9" * 5000 + b" 1"],
    ids=["word", "one-number", "negative", "suffix", "empty", "5000-digits"],
)
def test_malformed_stat(text):
    """A STAT answer that is not two numbers is an AnswerError (never a ValueError)."""
    with pytest.raises(AnswerError):
        parse_stat(text)


@pytest.mark.parametrize(
    "parse,line,expected",
    [
        (parse_list_line, b"1 120", (1, 120)),
        (parse_list_line, b"7 120 more info", (7, 120)),
        (parse_list_line, b"3\t0", (3, 0)),
        (parse_uidl_line, b"1 whqtswO00WBw418f9t5JxYwZ", (1, "whqtswO00WBw418f9t5JxYwZ")),
        (parse_uidl_line, b"2 " + b"~" * 255, (2, "~" * 255)),
        (parse_uidl_line, b"4 a.b-c ", (4, "a.b-c")),
    ],
    ids=["list", "list-extra", "list-tab", "uidl", "uidl-255", "uidl-trailing-space"],
)
def test_listing_lines(parse, line, expected):
    """LIST and UIDL lines give (number, size) and (number, unique id)."""
    assert parse(line) == expected


@pytest.mark.parametrize(
    "parse,line",
    [
        (parse_list_line, b"1 lots"),
        (parse_list_line, b"0 12"),
        (parse_list_line, b""),
        (parse_list_line, b"x 1"),
        (parse_list_line, b"1"),
        (parse_list_line, b"1 " + b"9" * 30),
        (parse_uidl_line, b"1"),
        (parse_uidl_line, b"seven x"),
        (parse_uidl_line, b"1 a b"),
        (parse_uidl_line, b"1 \x01"),
        (parse_uidl_line, b"0 zero"),
        (parse_uidl_line, b"1 " + b"a" * 256),
        (parse_uidl_line, "1 \u00e9".encode()),
    ],
    ids=[
        "list-word",
        "list-zero",
        "list-empty",
        "list-letter",
        "list-no-size",
        "list-30-digits",
        "uidl-no-id",
        "uidl-word",
        "uidl-two-ids",
        "uidl-control",
        "uidl-zero",
        "uidl-256",
        "uidl-non-ascii",
    ],
)
def test_malformed_listing_lines(parse, line):
    """Broken LIST/UIDL lines are AnswerErrors carrying the line."""
    with pytest.raises(AnswerError) as err:
        parse(line)
    assert err.value.raw == line


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_parsers_raise_only_answer_errors(line):
    """Whatever bytes come, the parsers return a value or raise AnswerError, nothing else."""
    for parse in (parse_status, parse_stat, parse_list_line, parse_uidl_line):
        try:
            parse(line)
        except AnswerError:
            pass


@given(st.integers(1, 10**12), st.integers(0, 10**15))
def test_list_line_round_trip(number, size):
    """Any message number and size written as a LIST line read back the same."""
    assert parse_list_line(f"{number} {size}".encode()) == (number, size)


def test_capa_skips_unreadable_lines():
    """CAPA names are upper-cased with their arguments; garbage lines are skipped."""
    caps = parse_capa([b"TOP", b"sasl PLAIN XOAUTH2", b"\x00\xff", b"", b"PIPELINING"])
    assert caps == {"TOP": (), "SASL": ("PLAIN", "XOAUTH2"), "PIPELINING": ()}


def test_shown_escapes_and_truncates():
    """Server words are quoted, control characters escaped, long text cut saying how much."""
    assert shown(b"-ERR bad\x1b[31m\r") == "'-ERR bad\\x1b[31m\\r'"
    assert shown("x" * 310, 300) == "'" + "x" * 300 + "' (and 10 more characters)"
    assert shown(b"\xff ok", quote=False) == "\ufffd ok"


@pytest.mark.parametrize(
    "listed,size,newlines,same",
    [
        (100, 100, 5, True),
        (98, 100, 5, True),
        (95, 100, 5, True),
        (94, 100, 5, True),
        (99, 100, 5, False),
        (101, 100, 5, False),
        (0, 100, 5, False),
    ],
    ids=["crlf", "crlf-added-final", "lf", "lf-added-final", "off-by-one", "bigger", "zero"],
)
def test_listed_size_matches(listed, size, newlines, same):
    """LIST sizes counted with CRLF or LF, with or without the final line end added on RETR, fit."""
    assert listed_size_matches(listed, size, newlines) is same


def test_retr_budget():
    """Twice the listed size plus the margin, never more than the message limit allows."""
    assert retr_budget(1000, 1 << 20) == 2000 + RETR_MARGIN
    assert retr_budget(10**15, 1 << 20) == 2 * (1 << 20) + RETR_MARGIN
    assert retr_budget(None, 1 << 20) == 2 * (1 << 20) + RETR_MARGIN


line_st = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@given(st.lists(line_st, max_size=30), st.lists(st.integers(1, 2000), max_size=12))
@settings(max_examples=300)
def test_block_reader_returns_the_message_at_any_chunking(lines, cuts):
    """A stuffed message split anywhere reads back unstuffed, and the next answer stays for the next read."""
    message = b"".join(ln + b"\r\n" for ln in lines)
    wire = stuffed(lines) + b"+OK next\r\n"
    reader = AnswerReader(feeder(wire, cuts))
    assert unstuff(reader.block(max_bytes=10_000, max_line=1_000)) == message
    assert reader.line(100) == b"+OK next"


@given(st.lists(line_st, max_size=30), st.lists(st.integers(1, 2000), max_size=12))
@settings(max_examples=200)
def test_multiline_lines_unstuffed_at_any_chunking(lines, cuts):
    """lines() yields each line of a multi-line answer unstuffed, up to the '.' line."""
    reader = AnswerReader(feeder(stuffed(lines) + b"+OK\r\n", cuts))
    assert list(reader.lines(max_line=100, max_lines=100, max_bytes=10_000)) == lines
    assert reader.line(10) == b"+OK"


def test_empty_message_block():
    """An answer that is only the '.' line is an empty message."""
    reader = AnswerReader(feeder(b".\r\n+OK\r\n", [1, 2]))
    assert reader.block(max_bytes=100, max_line=100) == b""
    assert reader.line(10) == b"+OK"


@pytest.mark.parametrize(
    "how,what",
    [
        ("endless-lines", "bytes"),
        ("endless-line", "line"),
    ],
    ids=["endless-lines", "endless-line"],
)
def test_block_stops_at_its_limits(how, what):
    """A message that never ends stops at max_bytes; a line that never ends at max_line."""
    unit = b"filler line\r\n" * 100 if how == "endless-lines" else b"x" * 1000
    reader = AnswerReader(endless(unit))
    with pytest.raises(LimitExceeded) as err:
        reader.block(max_bytes=50_000, max_line=5_000)
    assert err.value.what == what


@pytest.mark.parametrize(
    "unit,what",
    [
        (b"CAPA-ITEM\r\n", "lines"),
        (b"A" * 900 + b"\r\n", "bytes"),
        (b"x" * 64, "line"),
    ],
    ids=["too-many-lines", "too-many-bytes", "unended-line"],
)
def test_multiline_stops_at_its_limits(unit, what):
    """A multi-line answer that never ends stops at its line count, its bytes or its line length."""
    reader = AnswerReader(endless(unit))
    with pytest.raises(LimitExceeded) as err:
        list(reader.lines(max_line=1_000, max_lines=50, max_bytes=20_000))
    assert err.value.what == what


def test_status_line_bounded_and_eof():
    """A line longer than its limit is LimitExceeded; a stream that ends is EOFError."""
    with pytest.raises(LimitExceeded):
        AnswerReader(endless(b"y" * 100, first=b"+OK ")).line(1_000)
    with pytest.raises(EOFError):
        AnswerReader(feeder(b"+OK no line end")).line(1_000)
    with pytest.raises(EOFError):
        AnswerReader(feeder(b"one\r\ntwo\r\n")).block(max_bytes=1_000, max_line=1_000)
