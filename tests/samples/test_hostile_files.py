"""Hostile sample files: zip bombs, FIFOs, devices, links, oversized messages. Each is a row, never a hang or crash."""

from __future__ import annotations

import os
import stat
import threading
import tracemalloc
import zipfile

import pytest

from mailsupport.samples import ReadLimits, scan
from mailsupport.samples.generate import mbox_bytes, plain_message
from mailsupport.samples.readers import iter_raw

MSG = plain_message(to=["u@d.example"], subject="fine", message_id="m@x")
SMALL = ReadLimits(
    max_message_bytes=64 * 1024, max_zip_total_bytes=256 * 1024, zip_ratio_grace_bytes=8 * 1024, max_zip_ratio=20
)


def _rows(path, limits=SMALL):
    return [(r.position, r.data, r.problem) for r in iter_raw(path, limits=limits)]


def _zip(path, members, *, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def test_zip_member_over_the_cap_is_stopped_while_inflating(tmp_path):
    """A member inflating past the per-message cap is a row naming the cap; inflating stops there (memory
    stays near the cap, not the member's size) and the next member is read."""
    z = _zip(tmp_path / "bomb.zip", [("a.eml", b"Subject: x\n\n" + b"A" * (8 << 20)), ("b.eml", MSG)])
    limits = ReadLimits(max_message_bytes=1 << 20, max_zip_ratio=1e9)
    tracemalloc.start()
    rows = _rows(z, limits)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rows[1] == ("b.eml", MSG, "")
    assert rows[0][0] == "a.eml" and "per-message cap" in rows[0][2] and "1,048,576" in rows[0][2]
    assert peak < 4 << 20


@pytest.mark.parametrize(
    "claimed,problem",
    [(100, "Bad CRC-32"), (150 << 10, "Bad CRC-32"), (10 << 20, "says it inflates to 10,485,760 bytes")],
    ids=["claims-100-bytes", "claims-under-the-cap", "claims-over-the-cap"],
)
def test_zip_member_lying_about_its_size_never_gives_more(tmp_path, claimed, problem):
    """A member whose central directory misstates its size is a row: a claim over the cap is refused
    unread; a smaller claim stops the inflate at the claim and fails the checksum. The real 300 KiB
    never comes out."""
    z = _zip(tmp_path / "liar.zip", [("a.eml", b"B" * (300 << 10))])
    raw = bytearray(z.read_bytes())
    cd = raw.rindex(b"PK\x01\x02")  # the central directory entry; its uncompressed size is at offset 24
    raw[cd + 24 : cd + 28] = claimed.to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    (row,) = _rows(z, ReadLimits(max_message_bytes=200 << 10, max_zip_ratio=1e9))
    assert row[1] == b"" and problem in row[2]


def test_zip_ratio_and_total_caps(tmp_path):
    """A very compressible member is refused by the ratio cap; once the members inflated to the total
    cap, every later member is a row saying so."""
    bomb = _zip(tmp_path / "ratio.zip", [("a.eml", b"Subject: x\n\n" + b"\0" * (60 << 10))])
    (row,) = _rows(bomb)
    assert "times its compressed size" in row[2] and "zip bomb" in row[2]
    members = [(f"{i:02}.eml", os.urandom(40 << 10)) for i in range(10)]  # incompressible: no ratio problem
    total = _zip(tmp_path / "total.zip", members)
    rows = _rows(total)
    read = [r for r in rows if not r[2]]
    assert [r[1] for r in read] == [m[1] for m in members[: len(read)]]
    assert 5 <= len(read) <= 6 and all("in total" in r[2] or "already inflated" in r[2] for r in rows[len(read) :])


def test_zip_refuses_links_path_tricks_nested_archives_and_other_methods(tmp_path):
    """Symbolic-link members, absolute or '..' names, zips and mboxes inside the zip, and bzip2 members
    are rows with their reason; the ordinary member next to them is read."""
    z = tmp_path / "tricks.zip"
    with zipfile.ZipFile(z, "w") as zf:
        link = zipfile.ZipInfo("link.eml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("../escape.eml", MSG)
        zf.writestr("/abs.eml", MSG)
        zf.writestr("a\\..\\..\\win.eml", MSG)
        zf.writestr("windows\\folder.eml", MSG)  # backslashes alone are a Windows tool's separators: read
        zf.writestr("inner.zip", b"PK\x05\x06" + b"\0" * 18)
        zf.writestr("Takeout/All mail.mbox", mbox_bytes([MSG]))
        zf.writestr("bz.eml", MSG, compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("ok.eml", MSG)
        zf.writestr("notes.txt", "ignored")
    got = {pos: problem for pos, _data, problem in _rows(z)}
    assert got.pop("ok.eml") == "" and got.pop("windows\\folder.eml") == ""
    assert set(got) == {
        "link.eml",
        "../escape.eml",
        "/abs.eml",
        "a\\..\\..\\win.eml",
        "inner.zip",
        "Takeout/All mail.mbox",
        "bz.eml",
    }
    assert "symbolic link" in got["link.eml"]
    assert all("climbs out" in got[n] for n in ("../escape.eml", "/abs.eml", "a\\..\\..\\win.eml"))
    assert "zip inside the zip" in got["inner.zip"] and "extract it and scan the mbox" in got["Takeout/All mail.mbox"]
    assert "method 12" in got["bz.eml"]


def test_zip_listing_too_many_members_is_one_row(tmp_path):
    """A zip whose end record lists more members than the cap is refused before its directory is read."""
    z = _zip(tmp_path / "many.zip", [(f"{i}.eml", MSG) for i in range(5)])
    rows = _rows(z, ReadLimits(max_zip_members=4))
    assert len(rows) == 1 and "lists 5 members" in rows[0][2]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_and_device_are_rows_and_never_block(tmp_path):
    """A FIFO given as the sample, a FIFO named .eml in a folder or Maildir, and /dev/zero are rows
    saying what they are; nothing waits for a writer or reads forever (the scan runs in a thread
    that must finish, with a deadline)."""
    fifo = tmp_path / "pipe.mbox"
    os.mkfifo(fifo)
    folder = tmp_path / "f"
    folder.mkdir()
    os.mkfifo(folder / "a.eml")
    (folder / "b.eml").write_bytes(MSG)
    md = tmp_path / "md"
    (md / "new").mkdir(parents=True)
    os.mkfifo(md / "new" / "1.x")
    paths = [fifo, folder, md] + ([os.devnull, "/dev/zero"] if os.path.exists("/dev/zero") else [])
    result = []
    worker = threading.Thread(target=lambda: result.extend(scan(*paths)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the scan blocked"
    problems = [(r.position, r.problems[0] if r.problems else "") for r in result]
    assert problems[0] == ("pipe.mbox", problems[0][1]) and "FIFO" in problems[0][1]
    assert problems[1][0] == "a.eml" and "FIFO" in problems[1][1] and problems[2] == ("b.eml", "")
    assert problems[3][0] == "new/1.x" and "FIFO" in problems[3][1]
    assert all("character device" in p for _pos, p in problems[4:])


def test_links_inside_a_folder_or_maildir_are_not_followed(tmp_path):
    """A symbolic link in a folder or Maildir is a row saying so; the file it points at is not read."""
    secret = tmp_path / "outside.eml"
    secret.write_bytes(b"Subject: private\n\nnot for the scan\n")
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "link.eml").symlink_to(secret)
    md = tmp_path / "md"
    (md / "cur").mkdir(parents=True)
    (md / "cur" / "1.x").symlink_to(secret)
    rows = _rows(folder) + _rows(md)
    assert [(pos, data) for pos, data, _p in rows] == [("link.eml", b""), ("cur/1.x", b"")]
    assert all("symbolic link" in problem for _pos, _data, problem in rows)
    assert _rows(secret.parent / "outside.eml")[0][1].startswith(b"Subject: private")  # named directly: read


def test_message_files_over_the_cap_are_rows(tmp_path):
    """An .eml bigger than the per-message cap is a row with the sizes; the scan goes on with the next file."""
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.eml").write_bytes(b"Subject: big\n\n" + b"x" * (100 << 10))
    (folder / "b.eml").write_bytes(MSG)
    rows = _rows(folder)
    assert "over the per-message cap of 65,536 bytes" in rows[0][2] and rows[1] == ("b.eml", MSG, "")


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("chunk", [64, 4096, 1 << 20], ids=["chunk64", "chunk4k", "chunk1m"])
def test_mbox_message_over_the_cap_is_a_row_and_the_next_is_read(tmp_path, monkeypatch, chunk, crlf):
    """A message over the cap in the middle of an mbox is one row with its size (its bytes dropped while
    read); the messages before and after come back exactly, with their positions."""
    from mailsupport.samples import mbox

    monkeypatch.setattr(mbox, "CHUNK", chunk)
    big = b"Subject: big\n\n" + b"line of text\n" * 20_000  # 260 KB
    msgs = [MSG, big, MSG.replace(b"fine", b"after")]
    data = mbox_bytes(msgs)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
        msgs = [m.replace(b"\n", b"\r\n") for m in msgs]
    p = tmp_path / "m.mbox"
    p.write_bytes(data)
    rows = [(r.position, r.data, r.problem) for r in iter_raw(p, limits=ReadLimits(max_message_bytes=100_000))]
    assert rows[0] == ("1", msgs[0], "") and rows[2] == ("3", msgs[2], "")
    assert rows[1][0] == "2" and rows[1][1] == b"" and "over the per-message cap of 100,000 bytes" in rows[1][2]


def test_mbox_of_one_endless_message_stays_in_bounded_memory(tmp_path):
    """A 30 MB mbox that is one message without a line end (what a device or a bomb looks like) gives one
    row, reading in memory near the cap rather than the file's size."""
    p = tmp_path / "one.mbox"
    with p.open("wb") as fh:
        fh.write(b"From x Mon Nov  3 09:00:00 2025\nSubject: x\n\n")
        block = b"z" * (1 << 20)
        for _ in range(30):
            fh.write(block)
    tracemalloc.start()
    rows = list(scan(p, limits=ReadLimits(max_message_bytes=2 << 20)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(rows) == 1 and "over the per-message cap" in rows[0].problems[0]
    assert peak < 12 << 20


def test_cli_max_message_mb_sets_the_cap(tmp_path, capsys):
    """``scan --max-message-mb`` makes a bigger message a row with its problem; a bad value is a usage error."""
    from mailsupport.cli import main

    p = tmp_path / "m.mbox"
    p.write_bytes(mbox_bytes([MSG, b"Subject: big\n\n" + b"y" * (200 << 10)]))
    assert main(["scan", str(p), "--format", "json", "--max-message-mb", "0.1"]) == 0
    out = capsys.readouterr().out
    assert out.count("over the per-message cap of 104,857 bytes") == 1
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(p), "--max-message-mb", "-1"])
    assert exc.value.code == 2 and "positive number of MiB" in capsys.readouterr().err


def test_limits_doc_states_the_defaults():
    """docs/limits.md gives the defaults the code uses (sample caps and tenant file caps)."""
    from pathlib import Path

    from mailsupport.samples import DEFAULT_LIMITS
    from mailsupport.tenantfile import MAX_DEPTH, MAX_TENANT_BYTES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "limits.md").read_text()
    section = doc.split("## Files and samples", 1)[1]
    assert f"| {DEFAULT_LIMITS.max_message_bytes >> 20} MiB |" in section
    assert f"| {DEFAULT_LIMITS.max_zip_total_bytes >> 30} GiB |" in section
    assert f"| {DEFAULT_LIMITS.max_zip_ratio:g} |" in section
    assert f"`zip_ratio_grace_bytes` ({DEFAULT_LIMITS.zip_ratio_grace_bytes >> 20} MiB)" in section
    assert f"| {DEFAULT_LIMITS.max_zip_members:,} |" in section
    assert f"| {MAX_TENANT_BYTES >> 20} MiB " in section and f"| {MAX_DEPTH} (a tenant needs 4)" in section
