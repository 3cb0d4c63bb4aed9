"""Reading every sample kind, streaming and leniently: broken messages are rows, never exceptions."""

from __future__ import annotations

import tracemalloc
import zipfile

import pytest

from mailsupport.errors import SampleError
from mailsupport.samples import full_view, scan, summaries_frame
from mailsupport.samples.generate import mbox_bytes, plain_message, write_benchmark_mbox
from mailsupport.samples.readers import iter_raw, sample_kind

from .conftest import REAL, SAMPLES
from .mbox_reference import from_line_starts

MSGS = [
    plain_message(
        to=[f"u{i}@d.example"], subject=f"s{i}", message_id=f"m{i}@x", n=i, body=f"line\nFrom here on, body {i}\n"
    )
    for i in range(3)
]


def test_mbox_roundtrip_unquotes_from_and_drops_separator(tmp_path):
    """Each message comes back byte-identical: From_ line dropped, >From unquoted, separator line removed."""
    p = tmp_path / "a.mbox"
    p.write_bytes(mbox_bytes(MSGS))
    got = list(iter_raw(p))
    assert [g.data for g in got] == MSGS and [g.position for g in got] == ["1", "2", "3"]


def test_mbox_crlf_and_chunk_boundaries(tmp_path, monkeypatch):
    """CRLF mboxes and messages spanning read chunks are split correctly."""
    from mailsupport.samples import mbox

    monkeypatch.setattr(mbox, "CHUNK", 7)
    crlf = [m.replace(b"\n", b"\r\n") for m in MSGS]
    p = tmp_path / "c.mbox"
    p.write_bytes(
        b"".join(b"From x Mon Nov  3 09:00:00 2025\r\n" + m.replace(b"\nFrom ", b"\n>From ") + b"\r\n" for m in crlf)
    )
    assert [g.data for g in iter_raw(p)] == crlf


def test_maildir_folder_zip_and_single_file(tmp_path):
    """Maildir (new then cur), folder of .eml (recursive), zip of .eml and one .eml give the same messages."""
    md = tmp_path / "md"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1.a").write_bytes(MSGS[0])
    (md / "cur" / "2.b:2,S").write_bytes(MSGS[1])
    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.eml").write_bytes(MSGS[0])
    (folder / "sub" / "b.eml").write_bytes(MSGS[1])
    (folder / "notes.txt").write_text("ignored")
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("x/a.eml", MSGS[0])
        zf.writestr("x/b.eml", MSGS[1])
    kinds = {p.name: sample_kind(p) for p in (md, folder, z, folder / "a.eml")}
    assert kinds == {"md": "maildir", "f": "folder", "s.zip": "zip", "a.eml": "eml"}
    for path in (md, folder, z):
        assert [r.data for r in iter_raw(path)] == MSGS[:2]
    assert [r.data for r in iter_raw(folder / "a.eml")] == MSGS[:1]


def test_damaged_msg_file_is_a_row_with_its_problem(tmp_path):
    """A damaged Outlook .msg becomes a summary saying what is wrong, and the scan goes on."""
    (tmp_path / "a.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    (tmp_path / "b.eml").write_bytes(MSGS[0])
    rows = list(scan(tmp_path))
    assert [p.startswith("not a readable Outlook .msg file") for r in rows for p in r.problems] == [True]
    assert rows[1].ok and rows[1].subject == "s0"


@pytest.mark.parametrize(
    "raw,problem",
    [
        (b"", "empty message"),
        (b"\x00\x01garbage without any header\n", "no header fields"),
        (b"Subject: x\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\nunclosed\n", "never closed"),
    ],
)
def test_broken_messages_become_rows(tmp_path, raw, problem):
    """Broken input is summarized with its problem instead of raising."""
    p = tmp_path / "bad.eml"
    p.write_bytes(raw)
    (row,) = list(scan(p))
    assert any(problem in text for text in row.problems)


def test_missing_sample_raises_sample_error(tmp_path):
    """A path that does not exist is a SampleError naming it and what to give instead."""
    with pytest.raises(SampleError, match="no such file"):
        list(scan(tmp_path / "nope.mbox"))


def test_real_samples_scan_without_problems_except_known():
    """Every bundled real message is summarized; only the two with an unclosed boundary have a problem."""
    rows = list(scan(REAL))
    assert len(rows) == len(list(REAL.glob("*.eml")))
    assert [r.position for r in rows if r.problems] == [
        "mikel__error_emails__bad_date_header2.eml",
        "sa__FORGED_MUA_OUTLOOK__fp-5946-1.eml",
    ]


def test_memory_is_flat_in_the_number_of_messages(tmp_path):
    """Scanning 4x more messages does not need 4x more memory (streaming)."""
    peaks = []
    for count in (500, 2000):
        p = tmp_path / f"{count}.mbox"
        write_benchmark_mbox(p, count)
        tracemalloc.start()
        n = sum(1 for _ in scan(p))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert n == count
    assert peaks[1] < 2 * peaks[0]


def test_frame_and_full_view():
    """The summaries become a DataFrame in one call; mail-parser gives the full view of one message."""
    df = summaries_frame(scan(SAMPLES / "catchall-postfix.mbox"))
    assert len(df) == 9 and {"encoded_size", "candidates", "provider"} <= set(df.columns)
    assert set(df["provider"]) == {"postfix"}
    view = full_view((SAMPLES / "messages" / "catchall-x-original-to-only.eml").read_bytes())
    assert view.subject.startswith("X-Original-To names the alias")


def test_mbox_byte_ranges_cover_every_message_once(tmp_path):
    """Byte ranges cut anywhere give every message once (to the range its From_ line starts in), with
    global positions; a range inside one message gives nothing."""
    from mailsupport.samples.readers import count_mbox_messages, iter_mbox

    p = tmp_path / "m.mbox"
    write_benchmark_mbox(p, 200)
    whole = [(r.position, r.data) for r in iter_mbox(p)]
    size = p.stat().st_size
    points = [0, size // 5 + 1, size // 3, size // 2 + 17, size - 100, size]
    parts = [(r.position, r.data) for a, b in zip(points, points[1:]) for r in iter_mbox(p, start=a, end=b)]
    assert parts == whole and count_mbox_messages(p) == 200
    starts = from_line_starts(p.read_bytes())
    assert count_mbox_messages(p, size // 2) == sum(1 for x in starts if x < size // 2)
    inside = p.read_bytes().index(b"Content-Type") + 1  # a 3-byte range within the first message
    assert list(iter_mbox(p, start=inside, end=inside + 3)) == []


def test_bundled_synthetic_samples_are_reproducible(tmp_path):
    """`python -m mailsupport.samples` regenerates exactly the committed synthetic files."""
    from mailsupport.samples.generate import write_bundled

    for path in write_bundled(tmp_path):
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (SAMPLES / rel).read_bytes(), rel


def test_sample_kind_tells_zips_as_zipfile_does(tmp_path):
    """The zip pre-check (signature in the file's tail) agrees with zipfile.is_zipfile: a zip with a
    long comment or data in front is a zip; an mbox with the signature bytes early, or late but
    without a valid record, is judged by zipfile itself."""
    commented = tmp_path / "commented.bin"
    with zipfile.ZipFile(commented, "w") as zf:
        zf.writestr("a.eml", b"Subject: x\n\nbody\n")
        zf.comment = b"c" * 60_000
    prefixed = tmp_path / "prefixed.bin"
    prefixed.write_bytes(b"From someone\n" + (tmp_path / "commented.bin").read_bytes())
    early = tmp_path / "early.mbox"
    early.write_bytes(b"From a\nSubject: x\n\nPK\x05\x06\n" + b"x" * 70_000 + b"\n")
    late = tmp_path / "late.mbox"
    late.write_bytes(b"From a\nSubject: x\n\nbody PK\x05\x06 end\n")
    tiny = tmp_path / "tiny.mbox"
    tiny.write_bytes(b"From a\n")
    kinds = {p.name: sample_kind(p) for p in (commented, prefixed, early, late, tiny)}
    expected = {p.name: ("zip" if zipfile.is_zipfile(p) else "mbox") for p in (commented, prefixed, early, late, tiny)}
    assert kinds == expected
    assert kinds["commented.bin"] == "zip" and kinds["prefixed.bin"] == "zip"
    assert kinds["early.mbox"] == "mbox" and kinds["tiny.mbox"] == "mbox"
