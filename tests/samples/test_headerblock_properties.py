"""Property-based tests of the header-block parsers on generated blocks: the fast paths equal the slow references.

A message's header block is outside bytes: any folding, any case, stray lines, non-ASCII
and invalid UTF-8, bare CR inside a line, LF or CRLF line ends mixed, huge fields. On
blocks generated with all of that:

* :func:`split_header_block` ends the block at the first empty line (LF or CRLF form) and
  nowhere else;
* :func:`parse_fields` (the slow path every diagnosis can fall back on) gives exactly the
  fields of a plain line-by-line reader written here;
* the fast :func:`scan_header_block` and every summary field built from it equal the slow
  references of ``test_fastpath`` (``_check``: the line-by-line scan, the candidate builder
  from scratch, the public slow ``measure``), on the message and on its CRLF copy.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from mailsupport.headerblock import SCANNED, parse_fields, split_header_block

from .test_fastpath import _check

# ------------------------------------------------------------------------------ strategies
NAMES = [
    *SCANNED,
    "X-MS-Exchange-Organization-AuthAs",
    "x-ms-exchange-organization-",
    "Received-SPF",
    "Delivered-ToX",
    "X-Spam",
    "Return-Path",
    "MIME-Version",
]
EOL = st.sampled_from([b"\n", b"\r\n"])


def _cased(name: str, how: int) -> str:
    return (name, name.upper(), name.title(), name.swapcase())[how]


field_name_st = st.one_of(
    st.builds(_cased, st.sampled_from(NAMES), st.integers(0, 3)),
    st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=12),
).map(str.encode)

value_piece_st = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.encode),
    st.text(max_size=10).map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\n", b" ").replace(b"\r", b" ")),
    st.sampled_from(
        [
            b"\xff\xfe",
            b"\xc3",
            b"caf\xc3\xa9",
            b"\r",
            b"\x0b\x0c",
            b"\t",
            b"=?utf-8?q?caf=C3=A9?=",
            b"<a@b.example>",
            b"for <x@y.example>",
            b"by mx.google.com",
            b'"q, n" <q@x>',
            b" , ",
        ]
    ),
)
value_st = st.lists(value_piece_st, max_size=5).map(b"".join)
huge_value_st = st.builds(
    lambda unit, n: unit * n, st.sampled_from([b"x", b"a@b.example, ", b"\xc3\xa9"]), st.integers(500, 5000)
)


@st.composite
def header_line_st(draw) -> list[bytes]:
    """One field (with folded continuation lines), or a line that is not a field."""
    kind = draw(st.integers(0, 9))
    if kind == 0:  # a stray line: no colon, a From_ line, an empty name, a name with a space
        line = draw(
            st.sampled_from(
                [
                    b"stray line",
                    b"From someone@example.org Mon Nov  3 09:00:00 2025",
                    b": no name",
                    b"Bad Name: x",
                    b"\xffname: v",
                ]
            )
        )
        return [line]
    name = draw(field_name_st)
    blanks = draw(st.sampled_from([b"", b" ", b"\t", b" \t "]))
    value = draw(huge_value_st if kind == 1 else value_st)
    lines = [name + blanks + b":" + draw(st.sampled_from([b" ", b"", b"\t"])) + value]
    for piece in draw(st.lists(value_st, max_size=3)):  # folding: continuation lines start with space or tab
        lines.append(draw(st.sampled_from([b" ", b"\t", b"  "])) + piece)
    return lines


@st.composite
def message_st(draw) -> bytes:
    """Header lines, each with its own line end, then (usually) an empty line and a body."""
    out = bytearray()
    for field in draw(st.lists(header_line_st(), max_size=12)):
        for line in field:
            out += line + draw(EOL)
    if draw(st.integers(0, 4)):
        out += draw(EOL) + draw(st.sampled_from([b"", b"body\n", b"Subject: not a header\r\n\r\nx", b"\n\nmore"]))
    return bytes(out)


# ------------------------------------------------------------------------------ references
def ref_fields(block: bytes) -> list[tuple[str, str]]:
    """Line by line: a field is ``name[blanks]:value`` with a printable-ASCII name; space/tab lines continue it."""
    fields: list[list] = []  # [name or None, raw value]
    lines = block.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if fields and fields[-1][0] is not None:
                fields[-1][1] += b"\n" + line
            continue
        name, colon, value = line.partition(b":")
        name = name.rstrip(b" \t")
        ok = bool(colon) and bool(name) and all(33 <= c <= 126 and c != 58 for c in name)
        fields.append([name.decode("ascii") if ok else None, value])
    out = []
    for name, value in fields:
        if name is None:
            continue
        text = value.decode("utf-8", "replace")
        out.append((name, text.replace("\r\n", "").replace("\n", "").strip()))
    return out


# ------------------------------------------------------------------------------ properties
@given(message_st())
@example(b"Subject: a\r\n\r\nb")
@example(b"Subject: a\n\r\nb\n\nc")
@example(b"\n\nbody")
def test_the_header_block_ends_at_the_first_empty_line(raw):
    """The block is everything before the first empty line (LF or CRLF), and the body starts after it."""
    block, offset = split_header_block(raw)
    assert raw.startswith(block)
    assert b"\n\n" not in block and b"\n\r\n" not in block
    if block == raw:  # no empty line: all header
        assert offset == len(raw)
    else:  # the block keeps its last line end; the empty line is between it and the body
        assert block.endswith(b"\n") and raw[len(block) : offset] in (b"\n", b"\r\n")


@given(message_st())
@example(b"Subject: a\rb\nX: \xff\n  folded\n\tagain\nstray\n cont of stray\nTo: z\n\nbody")
@example(b"From someone@example.org Mon Nov  3 09:00:00 2025\nSubject : spaced\n\n")
def test_parse_fields_equals_a_line_by_line_reader(raw):
    """Every field, in order, with its value unfolded and stripped, as a plain line reader sees it."""
    block = split_header_block(raw)[0]
    assert parse_fields(block) == ref_fields(block)


@given(message_st())
@example(b"Delivered-To: a@b\r\nReceived: by x for <c@d>\r\n\tfolded\r\n\r\nbody")
@example(b"X-Original-To: \xff\xfe@b\nx-ms-exchange-organization-: 1\nCONTENT-TYPE: text/plain\n\n")
@example(b"\n")  # blank lines only: the summary's sizes were 0 where measure() counts the bytes
def test_fast_scan_and_summary_equal_the_slow_references(raw):
    """The fast scan and every summary field equal the slow references, LF and CRLF alike."""
    _check(raw)
    _check(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
