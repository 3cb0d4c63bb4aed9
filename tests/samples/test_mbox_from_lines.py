"""Which lines start a message in an mbox: a From_ line after a blank line, in the forms real writers use."""

from __future__ import annotations

import pytest

from mailsupport.samples.mbox import count_mbox_messages, iter_mbox_data

A = b"Subject: first\n\nhello\n"
B = b"Subject: second\n\nbye\n"

WRITERS = {
    "google-takeout": b"From 1669547843123456789@xxx Sun Nov 27 09:31:05 +0000 2022",
    "mutt": b"From jane@smithlaw.example Mon Nov  3 09:00:00 2025",
    "thunderbird": b"From - Mon Nov  3 09:00:00 2025",
    "postfix-local": b"From client@example.net  Mon Nov  3 09:00:00 2025",
    "mailer-daemon": b"From MAILER-DAEMON Mon Nov  3 09:00:00 2025",
    "zone-name": b"From x@y.example Mon Nov  3 09:00:00 PST 2025",
    "offset-after-year": b"From x@y.example Mon Nov  3 09:00:00 2025 -0800",
    "no-seconds": b"From x@y.example Mon Nov  3 09:00 2025",
    "uucp-remote-from": b"From jane Mon Nov  3 09:00:00 2025 remote from gateway",
    "rfc5322-date": b"From x@y.example Mon, 3 Nov 2025 09:00:00 +0000",
    "empty-sender": b"From  Mon Nov  3 09:00:00 2025",
    "quoted-local-part": b'From "jane doe"@y.example Mon Nov  3 09:00:00 2025',
}

BODY_LINES = {
    "prose": b"From here on, we talk about the matter.",
    "signature": b"From the desk of Jane Smith",
    "header-like": b"From: someone@example.net",
    "no-time": b"From x@y.example Mon Nov 2025",
    "no-year": b"From x@y.example Mon Nov  3 09:00:00",
    "words-after-date": b"From x@y.example Mon Nov  3 09:00:00 2025 and more",
}


def _write(tmp_path, data: bytes):
    p = tmp_path / "m.mbox"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("line", list(WRITERS.values()), ids=list(WRITERS))
def test_real_writers_from_lines_start_messages(tmp_path, line, crlf):
    """Each writer's From_ line, after a blank line, starts the next message; both come back exactly."""
    eol = b"\r\n" if crlf else b"\n"
    a, b = (m.replace(b"\n", eol) for m in (A, B))
    p = _write(tmp_path, line + eol + a + eol + line + eol + b + eol)
    assert [d for _pos, d in iter_mbox_data(p)] == [a, b]
    assert count_mbox_messages(p) == 2


@pytest.mark.parametrize("line", list(BODY_LINES.values()), ids=list(BODY_LINES))
def test_body_lines_starting_from_stay_in_the_message(tmp_path, line):
    """An unquoted body line starting "From " after a blank line that is no From_ line (no sender and
    date, or text after the date) stays in its message, as mboxo/mboxrd readers keep it."""
    body = b"Subject: s\n\nparagraph\n\n" + line + b"\nmore\n"
    p = _write(tmp_path, WRITERS["mutt"] + b"\n" + body + b"\n" + WRITERS["mutt"] + b"\n" + B + b"\n")
    assert [d for _pos, d in iter_mbox_data(p)] == [body, B]


def test_from_line_without_a_blank_line_before_is_body(tmp_path):
    """A well-formed From_ line in the middle of a paragraph (no blank line before it) does not split."""
    body = b"Subject: s\n\nforwarded below:\n" + WRITERS["mutt"] + b"\nold text\n"
    p = _write(tmp_path, WRITERS["mutt"] + b"\n" + body + b"\n")
    assert [d for _pos, d in iter_mbox_data(p)] == [body]
    assert count_mbox_messages(p) == 1


def test_empty_messages_between_from_lines(tmp_path):
    """From_ lines with only a blank line between them are empty messages (the blank line is the separator)."""
    line = WRITERS["thunderbird"]
    p = _write(tmp_path, line + b"\n\n" + line + b"\n\n" + line + b"\n" + A)
    assert [d for _pos, d in iter_mbox_data(p)] == [b"", b"", A]
    assert count_mbox_messages(p) == 3


def test_worker_ranges_cut_only_at_from_lines(tmp_path):
    """Split points fall only on real From_ lines, never on body lines starting "From "; the ranges give
    every message once, numbered as in the whole file."""
    msgs = []
    for i in range(60):
        msgs.append(b"Subject: %d\n\ntext\n\n" % i + BODY_LINES["prose"] + b"\n\n" + BODY_LINES["no-year"] + b"\n")
    data = b"".join(WRITERS["postfix-local"] + b"\n" + m + b"\n" for m in msgs)
    p = _write(tmp_path, data)
    whole = list(iter_mbox_data(p))
    assert [d for _pos, d in whole] == msgs
    for step in (1, 7, len(data) // 3, len(data) // 2):  # ranges starting anywhere: inside From_ lines too
        points = [*range(0, len(data), step), len(data)]
        ranged = [item for a, b in zip(points, points[1:]) for item in iter_mbox_data(p, start=a, end=b)]
        assert ranged == whole
