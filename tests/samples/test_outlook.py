"""Outlook .msg samples read through extract-msg (mail-parser's .msg backend): real files, damaged ones, no backend."""

from __future__ import annotations

import shutil
import sys
import zipfile

import olefile
import pytest

from mailsupport.headers import split_header_block
from mailsupport.samples import scan
from mailsupport.samples.outlook import MSG_PROBLEM, msg_bytes

from .conftest import SAMPLES

OUTLOOK = SAMPLES / "outlook"
OTHER = OUTLOOK / "msg_parser__tests__other.msg"
OUTER = OUTLOOK / "msg_parser__tests__outer.msg"


def _transport_headers(path) -> str:
    """PR_TRANSPORT_MESSAGE_HEADERS (0x007D, Unicode) of a .msg, read straight from the OLE file."""
    with olefile.OleFileIO(str(path)) as ole:
        return ole.openstream("__substg1.0_007D001F").read().decode("utf-16-le")


def _pdf_size(path) -> int:
    """Size of the PDF attachment's data stream (PR_ATTACH_DATA_BIN) inside the attached message."""
    with olefile.OleFileIO(str(path)) as ole:
        return ole.get_size(
            "__attach_version1.0_#00000000/__substg1.0_3701000D/__attach_version1.0_#00000000/__substg1.0_37010102"
        )


def test_received_message_keeps_its_transport_headers_and_attachment():
    """A received .msg is summarized from the headers it arrived with: every Received line, the
    Message-ID, the decoded subject, and its attachment with its exact decoded size and file name."""
    (s,) = list(scan(OTHER))
    transport = _transport_headers(OTHER)
    block = split_header_block(msg_bytes(OTHER)[0])[0].decode("utf-8", "replace")
    assert s.ok and s.position == OTHER.name
    assert block.count("\nReceived:") + block.startswith("Received:") == transport.count("Received:") > 0
    assert s.message_id == "<99d78a$k8gjl@esa2.mentor.iphmx.com>" and s.message_id in transport
    assert s.subject.endswith("(Failure Notice)") and "=?" not in s.subject
    assert s.from_.endswith("<mailer-daemon@tjdpf.org.cn>") and s.to == ("yosipnps@model.com",)
    (att,) = s.attachments
    assert att.filename.endswith(".pdf") and att.raw_size == _pdf_size(OTHER)
    assert att.encoding == "base64" and att.encoded_size > att.raw_size  # re-encoded as MIME
    assert s.encoded_size > s.raw_size


def test_unsent_message_without_transport_headers_is_still_a_row():
    """A .msg that was never sent (no transport headers, no sender) is summarized without problems."""
    (s,) = list(scan(OUTER))
    assert s.ok and s.message_id == "" and s.candidates == () and "outer@foo.bar" in s.to


def test_msg_in_a_folder_and_in_a_zip_reads_like_the_file(tmp_path):
    """The same .msg alone, in a folder next to an .eml, and as a zip member gives the same summary."""
    alone = list(scan(OTHER))[0]
    folder = tmp_path / "box"
    folder.mkdir()
    shutil.copy(OTHER, folder / "x.msg")
    (folder / "y.eml").write_bytes(b"Subject: plain\n\nbody\n")
    zipped = tmp_path / "box.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(OTHER, "in/x.msg")
    in_folder = list(scan(folder))
    (in_zip,) = list(scan(zipped))
    assert [s.position for s in in_folder] == ["x.msg", "y.eml"] and in_zip.position == "in/x.msg"
    for s in (in_folder[0], in_zip):
        assert (s.message_id, s.subject, s.raw_size, s.attachments, s.problems) == (
            alone.message_id,
            alone.subject,
            alone.raw_size,
            alone.attachments,
            alone.problems,
        )


@pytest.mark.parametrize("damage", ["truncated", "not-ole"])
def test_damaged_msg_is_a_row_and_the_scan_goes_on(tmp_path, damage):
    """A cut-off .msg or a file named .msg that is not one: a row naming the problem, then the next file."""
    data = OTHER.read_bytes()
    (tmp_path / "a.msg").write_bytes(data[:5000] if damage == "truncated" else b"Subject: x\n\nnot OLE\n")
    shutil.copy(OUTER, tmp_path / "b.msg")
    bad, good = list(scan(tmp_path))
    assert bad.position == "a.msg" and bad.problems[0].startswith("not a readable Outlook .msg file")
    assert good.ok and good.position == "b.msg"


def test_without_extract_msg_the_row_says_how_to_read_it(monkeypatch):
    """No outlook extra installed: the .msg is a row asking for it (or for .eml), never an exception."""
    monkeypatch.setitem(sys.modules, "extract_msg", None)  # import extract_msg now raises ImportError
    (s,) = list(scan(OTHER))
    assert s.problems == (MSG_PROBLEM,) and "mailsupport[outlook]" in MSG_PROBLEM and ".eml" in MSG_PROBLEM


def test_cli_scan_and_size_diagnosis_read_msg_files(capsys):
    """`mailsupport scan` and `mailsupport diagnose size` take a folder of .msg files."""
    from mailsupport.cli import main

    assert main(["scan", str(OUTLOOK), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and OTHER.name in out and OUTER.name in out
    assert main(["diagnose", "size", str(OUTLOOK), "--format", "json"]) in (0, 1)
    assert '"findings"' in capsys.readouterr().out
