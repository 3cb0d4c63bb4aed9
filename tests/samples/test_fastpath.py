"""The fast scan equals slow, obviously-correct references: header fields, candidates, sizes, mbox splitting, CSV.

The fast path (one regex pass per header block, memoised evidence, chunked mbox reading,
hand-made CSV lines) is checked against references written plainly here: a line-by-line
header parser, a from-scratch candidate builder, the public slow ``measure`` (field parser
path), a whole-file mbox splitter and the csv module. Inputs: every real sample, the bundled
samples, generated benchmark messages, hand-written edge cases, and CRLF copies of all.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import re

import pytest

from mailsupport.addresses import normalize_address
from mailsupport.chain import receiving_chain
from mailsupport.headerblock import _TRACE, CANONICAL, SCANNED, HeaderScan, scan_header_block, split_header_block
from mailsupport.headers import (
    _EVIDENCE_MEMO,
    _MEMO_MAX,
    MessageSummary,
    _addresses,
    candidates_from_trace,
    decode_text,
    fingerprint_from_scan,
    provider_from_scan,
)
from mailsupport.samples import scan
from mailsupport.samples.generate import mbox_bytes, write_benchmark_mbox
from mailsupport.samples.readers import iter_mbox_data
from mailsupport.samples.summary import address_list, summarize
from mailsupport.sizes import measure

from .conftest import REAL, SAMPLES
from .mbox_reference import from_line_starts, split_mbox

TRACE = {"delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-gm-original-to", "received"}
FIRST = TRACE | {
    "message-id",
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
}
WS = b" \t\n\r\x0b\x0c"

EDGE = [
    b"\nDelivered-To: a@b\nReceived: x for <c@d>\n\nbody",
    b"stray line\nDelivered-To: a@b\nnot a field\nX-Original-To: <q@r>\n"
    b"Received: by mx.google.com with SMTP id abc123csp99;\n\n",
    b"DELIVERED-TO: UP@CASE.EXAMPLE\nRECEIVED: FROM x BY y (POSTFIX) FOR <Z@Q.EXAMPLE>\n"
    b'SUBJECT: =?utf-8?q?caf=C3=A9?=\nTO: "a, b" <ab@x.example>, c@Y.EXAMPLE\nCC: d@e\n\nbody',
    b"Received-SPF: pass\nReceived: a for <x@y>\nDelivered-ToX: no\nDelivered-To : spaced@x\n\n",
    b"X-MS-Exchange-Organization-AuthAs: Internal\nx-ms-exchange-organization-foo: 1\nSubject: ms\n\nx",
    b"Envelope-to: e@x\nReceived: by somewhere\n\nx",
    b"Subject: x\nFrom: y",
    b"Subject:\n\tfolded only\nTo: \x0ba@b.example\x0c\nFrom: caf\xc3\xa9 \xff\xfe <z@y>\n\nx",
    b"Delivered-To: mailto:a@b\nX-Original-To: a@b.EXAMPLE., <c@D.>\n"
    b'X-Envelope-To: "quoted, name" <q@x>, (comment) r@s\n\n',
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain; name=a.txt\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nab=3D=\r\ncd=\r\n--b\r\nContent-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\nREVG\r\n--b--\r\nepi\r\n",
    b"Content-Type: text/plain\nContent-Transfer-Encoding: BASE64\nContent-Disposition: attachment\n\nQUJDRA==\n",
    b"Received: from x by mail.protection.outlook.com with Microsoft SMTP Server for <o@x.example>\n"
    b"X-MS-Exchange-Organization-A: 1\n\nx",
    b"Received: (qmail 1234 invoked by uid 0); now\nDelivered-To: below@q\n\nx",
    b"Received: from a by b for x@Y.EXAMPLE., ; now\nReceived: c for mailto:Q@R.example\nReceived: d for ,z@W.\n\n",
    b'Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/alternative; boundary="b"\n\n'
    b"--b\n\ntext\n--b--\n--a\ncontent-type: message/rfc822\n\nSubject: inner\n\nbody\n--a--\n",
]


def _ref_scan(raw: bytes) -> HeaderScan:
    """Line by line: split at line feeds, continuation lines (space/tab) join their field."""
    ends = [x for x in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if x >= 0]
    block = raw[: min(ends) + 1] if ends else raw
    fields: list[list] = []  # [index, lower name or None, raw value]
    for line in block.split(b"\n")[:-1] if block.endswith(b"\n") else block.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if fields and fields[-1][1] is not None:
                prev = fields[-1][2]
                fields[-1][2] = (prev[:-1] if prev.endswith(b"\r") else prev) + line
            continue
        name, colon, value = line.partition(b":")
        name = name.rstrip(b" \t")
        ok = bool(colon) and bool(name) and all(33 <= c <= 126 and c != 58 for c in name)
        fields.append([len(fields), name.decode("ascii").lower() if ok else None, value])
    first: dict[str, str] = {}
    trace = []
    ms_org = 0
    for index, name, value in fields:
        if name is None:
            continue
        if name.startswith("x-ms-exchange-organization-"):
            ms_org += 1
            continue
        if name not in FIRST:
            continue
        text = value.replace(b"\r\n", b"").replace(b"\n", b"").strip(WS).decode("utf-8", "replace")
        first.setdefault(name, text)
        if name in TRACE:
            trace.append((index, name, text))
    first_field = "delivered-to" if block[:13].lower() == b"delivered-to:" else ""
    has = any(n is not None for _i, n, _v in fields)
    return HeaderScan(first=first, trace=trace, ms_org=ms_org, first_field=first_field, has_fields=has)


def _ref_candidates(trace) -> list[tuple]:
    """Every envelope candidate from scratch (no memo): position relative to the slow receiving chain's entry."""
    chain = receiving_chain(HeaderScan(first={}, trace=list(trace)))
    out = []
    for i, name, value in trace:
        if name == "received":
            at = value.find("for")  # the first lower-case "for" if any, as the router always did
            m = re.compile(r"\bfor\s+<?([^\s<>;]+)>?", re.I).search(value, max(0, at - 1) if at >= 0 else 0)
            if m:
                inside = chain.trusts(i, received=True)
                out.append(
                    (
                        "Received-for",
                        normalize_address(m.group(1)),
                        m.group(0),
                        i,
                        inside,
                        "receiving-chain" if inside else "below-entry",
                    )
                )
            continue
        position = "no-received" if chain.boundary is None else "above-entry" if chain.trusts(i) else "below-entry"
        out.extend((CANONICAL[name], a, value, i, position != "below-entry", position) for a in _addresses(value))
    return out


def _messages() -> list[tuple[str, bytes]]:
    found = [(p.name, p.read_bytes()) for p in sorted(REAL.glob("*.eml"))]
    found += [(p.name, p.read_bytes()) for p in sorted((SAMPLES / "messages").glob("*.eml"))]
    for mbox in sorted(SAMPLES.glob("*.mbox")):
        found += [(f"{mbox.name}#{pos}", data) for pos, data in iter_mbox_data(mbox) if data]
    found += [(f"edge{i}", raw) for i, raw in enumerate(EDGE)]
    found += [(f"{name} (CRLF)", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")) for name, raw in found]
    return found


MESSAGES = _messages()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """300 generated benchmark messages (plain, QP alternatives, base64 attachments; Postfix and Google)
    and 120 of the heavy mix (2-9 Received lines, one to three attachments of up to megabytes)."""
    folder = tmp_path_factory.mktemp("gen")
    write_benchmark_mbox(folder / "g.mbox", 300)
    write_benchmark_mbox(folder / "h.mbox", 120, heavy=True)
    return [(pos, data) for name in ("g.mbox", "h.mbox") for pos, data in iter_mbox_data(folder / name)]


def _check(raw: bytes) -> None:
    ref = _ref_scan(raw)
    fast = scan_header_block(split_header_block(raw)[0])
    assert (fast.first, fast.trace, fast.ms_org, fast.first_field, fast.has_fields) == (
        ref.first,
        ref.trace,
        ref.ms_org,
        ref.first_field,
        ref.has_fields,
    )
    s = summarize(raw, source="s", position="p")
    # in place, as the mbox reader hands it over: a range of a bigger buffer, with bytes on both sides
    framed = bytearray(b"From x\n\n" + raw + b"\n\nFrom y\n--b--\n")
    assert summarize(framed, source="s", position="p", start=8, end=8 + len(raw)) == s
    assert [dataclasses.astuple(c) for c in s.candidates] == _ref_candidates(ref.trace)
    chain = receiving_chain(raw)
    assert (s.entry_hop, s.entry_by) == (chain.entry, chain.entry_hop.by_host if chain.entry_hop else "")
    slow = measure(raw)  # the public slow path: its own field parser
    assert (s.encoded_size, s.raw_size, s.attachments) == (slow.encoded_size, slow.raw_size, slow.attachments)
    assert all(p in s.problems for p in slow.problems)
    full = fingerprint_from_scan(ref)
    assert (s.provider, s.provider_evidence) == (full.provider, full.evidence) == provider_from_scan(ref)
    first = ref.first
    assert (s.message_id, s.date) == (first.get("message-id", ""), first.get("date", ""))
    assert (s.from_, s.subject) == (decode_text(first.get("from", "")), decode_text(first.get("subject", "")))
    assert (s.to, s.cc) == (address_list(first.get("to", "")), address_list(first.get("cc", "")))


@pytest.mark.parametrize("name,raw", MESSAGES, ids=[n for n, _r in MESSAGES])
def test_fast_summary_equals_references(name, raw):
    """Real, bundled and edge-case messages (LF and CRLF): every summary field equals its slow reference."""
    _check(raw)


def test_fast_summary_equals_references_on_generated_mail(generated):
    """The benchmark's generated mixes (light and heavy) give the same summaries as the references, message by message."""
    for _pos, raw in generated:
        _check(raw)
        _check(raw.replace(b"\n", b"\r\n"))


def test_trace_names_are_the_catch_all_headers():
    """The scanned envelope names are config.CATCH_ALL_HEADERS (Received-for being the Received line)."""
    from mailsupport.config import CATCH_ALL_HEADERS

    assert _TRACE == {n.lower() for n in CATCH_ALL_HEADERS if n != "Received-for"} | {"received"}
    assert all(CANONICAL[n.lower()] == n for n in CATCH_ALL_HEADERS if n != "Received-for")
    assert set(_TRACE) <= set(SCANNED)


def test_field_index_counts_lines_not_matches():
    """Stray non-field lines and continuation lines: indexes are header line ordinals (continuations excluded)."""
    scanned = scan_header_block(b"odd\nX-Original-To: a@b\n  cont\nX: y\nDelivered-To: c@d\nReceived: e\n")
    assert [(i, n) for i, n, _v in scanned.trace] == [(1, "x-original-to"), (3, "delivered-to"), (4, "received")]


def test_memoised_evidence_is_bounded_and_still_right():
    """Thousands of distinct delivery headers keep the memo bounded; results stay those of a fresh build."""
    for k in range(_MEMO_MAX + 500):
        trace = [(0, "x-original-to", f"u{k}@d.example"), (1, "received", "by mx (Postfix)")]
        assert [dataclasses.astuple(c) for c in candidates_from_trace(trace)] == _ref_candidates(trace)
        assert len(_EVIDENCE_MEMO) <= _MEMO_MAX
    trace = [(3, "delivered-to", "u1@d.example"), (0, "received", "x")]  # same value, other position
    assert [c.position for c in candidates_from_trace(trace)] == ["below-entry"]


def test_memos_never_keep_big_keys():
    """A part without an empty line (all "header") or a huge delivery header is never memoised: memory stays flat."""
    from mailsupport import sizes
    from mailsupport.headers import _FOR_MEMO

    big = b"x" * 200_000
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n" + big + b"\n--b--\n"
    before = dict(sizes._PART_MEMO)
    assert measure(raw).raw_size == len(raw)
    assert all(len(k) <= 1024 for k in sizes._PART_MEMO) and len(sizes._PART_MEMO) <= len(before) + 1
    value = ", ".join(f"u{k}@d.example" for k in range(2000))
    trace = [(0, "x-envelope-to", value), (1, "received", "by mx for <" + "a" * 5000 + "@d.example>")]
    assert len(candidates_from_trace(trace)) == 2001
    assert all(len(k[0][2]) <= 1024 for k in _EVIDENCE_MEMO) and all(len(k[0]) <= 1024 for k in _FOR_MEMO)


def _ref_mbox(data: bytes) -> list[bytes]:
    """Whole-file, line-by-line mboxrd split (tests/samples/mbox_reference.py)."""
    return split_mbox(data)


@pytest.mark.parametrize("chunk", [5, 7, 13, 64, 333, 4096])
def test_mbox_reader_equals_whole_file_split_at_any_chunk_size(tmp_path, monkeypatch, chunk):
    """Quoted >From lines, From_ lines, unquoted body lines starting "From " (mboxo: not after a blank line,
    or no date) and CRLF separators straddling read chunks; messages bigger than a chunk."""
    from mailsupport.samples import mbox as readers

    rng = random.Random(chunk)
    msgs = []
    for i in range(40):
        lines = [b"Subject: m%d" % i, b""]
        for _ in range(rng.randint(0, 30)):
            lines.append(
                rng.choice(
                    [
                        b"text line",
                        b">From quoted",
                        b">>From twice",
                        b"From inside",
                        b"x" * rng.randint(0, 300),
                        b"",
                        b"a >From b",
                        b"From jane@x.example Mon Nov  3 09:00:00 2025",
                    ]
                )
            )
        msgs.append(b"\n".join(lines) + b"\n")
    # mbox_bytes quotes every "From " body line; undo it for some (an mboxo writer leaves them)
    data = mbox_bytes(msgs).replace(b"\n>From inside", b"\nFrom inside").replace(b"\n>From jane", b"\nFrom jane")
    data += b"From last Mon Nov  3 09:00:00 2025\r\n>From crlf\r\nbody\r\n\r\n"
    path = tmp_path / "m.mbox"
    path.write_bytes(data)
    monkeypatch.setattr(readers, "CHUNK", chunk)
    got = [d for _p, d in iter_mbox_data(path)]
    assert got == _ref_mbox(data)
    assert b"\nFrom inside" in b"".join(got)  # body lines that are no From_ lines stayed in their message
    assert readers.count_mbox_messages(path) == len(got)
    starts = from_line_starts(data)
    cut = next(x for x in starts if x > len(data) // 2)
    assert readers.count_mbox_messages(path, cut) == sum(1 for x in starts if x < cut)
    assert [r.position for r in scan(path)] == [str(i) for i in range(1, len(got) + 1)]


def test_mbox_reader_quoted_line_across_every_chunk_boundary(tmp_path, monkeypatch):
    """A message whose only quoted line is ">>>>From ": unquoted wherever a read chunk ends."""
    from mailsupport.samples import mbox as readers

    data = mbox_bytes([b"Subject: a\n\nline\n>>>>From deep\nend\n", b"Subject: b\n\nplain\n"])
    path = tmp_path / "q.mbox"
    path.write_bytes(data)
    expected = _ref_mbox(data)
    assert expected[0].endswith(b">>>From deep\nend\n")
    for chunk in range(1, len(data) + 2):
        monkeypatch.setattr(readers, "CHUNK", chunk)
        assert [d for _p, d in iter_mbox_data(path)] == expected, chunk


def test_csv_lines_equal_the_csv_module():
    """Hand-made CSV lines are exactly what csv.writer writes for the formula-safe cells without a CR."""
    from mailsupport.cli.scan import _csv_line
    from mailsupport.csvcells import safe_cell

    rng = random.Random(5)
    alphabet = ["a", "b", ",", '"', "\n", " ", ";", "é", "\x00", "'", "=", "-", "@", "+", "\t", "\x1f"]
    for _ in range(2000):
        cells = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(6)] + [
            rng.randint(0, 99)
        ]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([safe_cell(str(c)) for c in cells])
        assert _csv_line(tuple(cells)) == buf.getvalue()
    plain = ["a", "b", ",", " ", ";", "é", "'"]  # the common case: commas at most (one joined test)
    for _ in range(500):
        cells = ["".join(rng.choice(plain) for _ in range(rng.randint(0, 6))) for _ in range(6)] + [rng.randint(0, 99)]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        assert _csv_line(tuple(cells)) == buf.getvalue()
    # a lone CR: quoted (RFC 4180 §2), where Python 3.11's writer leaves it bare and its reader then fails
    assert _csv_line(("a\rb", 1)) == '"a\rb",1\n'


def test_csv_tail_is_the_row_cells(tmp_path):
    """The scan command's CSV tail, made from a summary's fields, is the CSV of its row after source and
    position, for any characters in any field (formula starts, quotes, CR, unit separators, negative sizes)."""
    from mailsupport.cli.scan import _csv_cells, _csv_tail
    from mailsupport.headers import RecipientEvidence
    from mailsupport.sizes import AttachmentSize

    rng = random.Random(11)
    alphabet = ["a", ",", '"', "\n", "\r", " ", ";", "é", "=", "'", "-", "+", "@", "\t", "\x1f"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))

    def number() -> int:
        return rng.choice([0, 7, 1234, -1])

    for _ in range(3000):
        s = MessageSummary(
            source=text(),
            position=text(),
            message_id=text(),
            date=text(),
            from_=text(),
            to=tuple(text() for _ in range(rng.randint(0, 2))),
            cc=tuple(text() for _ in range(rng.randint(0, 2))),
            subject=text(),
            raw_size=number(),
            encoded_size=number(),
            attachments=tuple(
                AttachmentSize(filename=text(), content_type="a/b", encoding="", encoded_size=number(), raw_size=1)
                for _ in range(rng.randint(0, 2))
            ),
            candidates=tuple(
                RecipientEvidence(header=text(), address=text(), raw=text(), index=1, trusted=True, position=text())
                for _ in range(rng.randint(0, 2))
            ),
            entry_hop=number(),
            entry_by=text(),
            provider=text(),
            provider_evidence=tuple(text() for _ in range(rng.randint(0, 2))),
            problems=tuple(text() for _ in range(rng.randint(0, 2))),
        )
        assert _csv_tail(s) == (_csv_cells(s.row()[2:]), bool(s.problems))
    path = tmp_path / "bench.mbox"
    for heavy in (False, True):
        write_benchmark_mbox(path, 200, heavy=heavy)
        for s in scan(path):
            assert _csv_tail(s) == (_csv_cells(s.row()[2:]), bool(s.problems))


def test_csv_lines_with_any_characters_read_back_as_their_cells():
    """Every hand-made CSV line, CR, CRLF and formula starts included, reads back through csv.reader as
    exactly its cells once the formula guard is undone (csvcells.original_cell)."""
    from mailsupport.cli.scan import _csv_line
    from mailsupport.csvcells import original_cell

    rng = random.Random(7)
    alphabet = ["a", ",", '"', "\n", "\r", " ", "é", "\x00", "=", "'", "-"]
    rows = [
        tuple("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(5)) for _ in range(2000)
    ]
    text = "".join(_csv_line(row) for row in rows)
    assert any("\r" in cell for row in rows for cell in row)
    assert [tuple(map(original_cell, r)) for r in csv.reader(io.StringIO(text, newline=""))] == rows


@pytest.mark.parametrize("size", [0, 1, 5 << 20, 134_590_300, 769_475_298])
@pytest.mark.parametrize("jobs", [2, 4])
def test_worker_ranges_cover_the_file_long_ones_first(size, jobs):
    """The parallel scan's byte ranges cover the file end to end, each within the task bounds (the last may
    be shorter), longest first, so the workers finish together."""
    from mailsupport.samples.scanner import TASK_MAX_BYTES, TASK_MIN_BYTES, _ranges

    ranges = list(_ranges(size, jobs))
    assert [a for a, _b in ranges] == ([0] + [b for _a, b in ranges[:-1]] if size else [])
    assert (ranges[-1][1] if ranges else 0) == size
    lengths = [b - a for a, b in ranges]
    assert all(TASK_MIN_BYTES <= n <= TASK_MAX_BYTES for n in lengths[:-1]) and lengths == sorted(lengths, reverse=True)
