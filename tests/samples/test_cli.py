"""`mailsupport scan` and `mailsupport diagnose`: formats, JSON keys, exit codes, errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from .conftest import REAL, SAMPLES

POSTFIX_MBOX = str(SAMPLES / "catchall-postfix.mbox")
GMAIL_MBOX = str(SAMPLES / "gmail-takeout-consolidated.mbox")
TENANT = [
    "--catch-all-mailbox",
    "matters@smithlaw.example",
    "--catch-all-domain",
    "smithlaw.example",
    "--alias",
    "conveyancing@smithlaw.example=jane@smithlaw.example",
    "--alias",
    "litigation@smithlaw.example=raj@smithlaw.example",
    "--user",
    "mei@smithlaw.example",
]


def test_scan_csv_has_one_row_per_message(cli):
    """CSV output: a header and one row per message with sizes and candidates."""
    code, out, _ = cli("scan", POSTFIX_MBOX, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 9
    assert rows[0]["provider"] == "postfix" and "X-Original-To: 1042@smithlaw.example" in rows[0]["candidates"]


def test_scan_json_and_table(cli):
    """JSON is a list of rows; the table ends with a count line naming messages with problems."""
    code, out, _ = cli("scan", str(REAL), POSTFIX_MBOX, "--format", "json")
    data = json.loads(out)
    n_real = len(list(REAL.glob("*.eml")))
    assert code == 0 and len(data) == n_real + 9
    n_problems = sum(1 for row in data if row["source"] == str(REAL) and row["problems"])
    assert n_problems == 2  # the two real messages whose multipart boundary is never closed
    code, out, _ = cli("scan", str(REAL))
    assert code == 0 and out.rstrip().endswith(f"{n_real} message(s), {n_problems} with problems")


def test_scan_missing_path_is_a_usage_error(cli, tmp_path):
    """A sample that does not exist exits 2 with a message naming it."""
    code, _out, err = cli("scan", str(tmp_path / "nope"))
    assert code == 2 and "nope" in err and "no such file" in err


def test_diagnose_catch_all_json(cli):
    """JSON has findings, recommended_header and the per-header table; an error finding exits 1."""
    code, out, _ = cli("diagnose", "catch-all", POSTFIX_MBOX, *TENANT, "--format", "json")
    d = json.loads(out)
    assert code == 1
    assert d["recommended_header"] == "X-Original-To"
    assert [h["header"] for h in d["headers"]] == [
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
        "X-Gm-Original-To",
        "Received-for",
    ]
    assert {"check", "severity", "subject", "summary", "remedy", "evidence"} <= set(d["findings"][0])


def test_diagnose_header_flag_and_fail_on(cli):
    """With --header X-Original-To there is no error, so exit 0 with --fail-on error."""
    code, out, _ = cli("diagnose", "catch-all", POSTFIX_MBOX, *TENANT, "--header", "X-Original-To")
    assert code == 0 and "recommended X-Original-To" in out
    code, _out, _ = cli(
        "diagnose", "catch-all", POSTFIX_MBOX, *TENANT, "--header", "X-Original-To", "--fail-on", "warning"
    )
    assert code == 1


def test_diagnose_consolidation_text(cli):
    """Text output names the users who never got a consolidated message."""
    code, out, _ = cli("diagnose", "consolidation", GMAIL_MBOX, *TENANT, "--provider", "gmail")
    assert code == 0 and "gmail.alias-consolidated" in out and "raj@smithlaw.example never got it" in out


def test_diagnose_size_and_all(cli):
    """size needs no tenant; all runs the three diagnoses."""
    code, out, _ = cli(
        "diagnose", "size", str(SAMPLES / "sizes-mixed.mbox"), "--server-size", "100000", "--format", "json"
    )
    d = json.loads(out)
    # 120 kB encoded (89 kB decoded) and 400 kB are over SIZE 100000; the first only because of base64
    assert code == 1 and {f["check"] for f in d["findings"]} == {"size.over-provider-limit", "size.encoding-overhead"}
    (over,) = [f for f in d["findings"] if f["check"] == "size.encoding-overhead"]
    assert over["subject"] == 'sizes-mixed.mbox #2 <big2-2@example.net> "Scans (88238 bytes)"'
    (msg,) = over["messages"]  # enough to find the message in the mailbox: where, which, from whom, when
    assert (msg["position"], msg["message_id"], msg["subject"]) == ("2", "<big2-2@example.net>", "Scans (88238 bytes)")
    assert msg["source"].endswith("sizes-mixed.mbox") and msg["date"] and msg["from"]
    code, out, _ = cli("diagnose", "all", GMAIL_MBOX, *TENANT, "--provider", "gmail", "--format", "json")
    d = json.loads(out)
    assert d["recommended_header"] == "X-Gm-Original-To" and d["consolidated"] and "size_limits" in d


def test_diagnose_needs_the_mailbox(cli):
    """catch-all without a mailbox is a usage error saying which flag to give."""
    code, _out, err = cli("diagnose", "catch-all", POSTFIX_MBOX)
    assert code == 2 and "--catch-all-mailbox" in err
    code, _out, err = cli("diagnose", "catch-all", POSTFIX_MBOX, *TENANT, "--alias", "nonsense")
    assert code == 2 and "ADDR=USER" in err


def test_diagnose_with_tenant_file(cli):
    """The bundled smithlaw tenant file drives the diagnosis (its header is X-Original-To already)."""
    code, out, _ = cli(
        "diagnose",
        "catch-all",
        POSTFIX_MBOX,
        "--tenant",
        str(SAMPLES / "tenants" / "smithlaw-postfix.toml"),
        "--format",
        "json",
    )
    d = json.loads(out)
    assert d["current_header"] == "X-Original-To" and d["recommended_header"] == "X-Original-To"
    assert "canary" not in out


def test_scan_as_a_process():
    """`python -m mailsupport scan` runs as its own process (what the benchmark measures)."""
    r = subprocess.run(
        [sys.executable, "-m", "mailsupport", "scan", POSTFIX_MBOX, "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 10


@pytest.fixture
def small_ranges(monkeypatch):
    """Worker processes for any mbox (no 8 MB minimum), byte ranges of 16-64 KiB."""
    from mailsupport.samples import scanner

    monkeypatch.setattr(scanner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scanner, "TASK_MIN_BYTES", 1 << 14)
    monkeypatch.setattr(scanner, "TASK_MAX_BYTES", 1 << 16)
    return scanner


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_scan_with_workers_gives_the_same_output(cli, small_ranges, tmp_path, fmt):
    """An mbox cut into byte ranges for worker processes prints exactly what one process prints."""
    from mailsupport.samples.generate import write_benchmark_mbox

    path = tmp_path / "mixed.mbox"
    write_benchmark_mbox(path, 300)
    one = cli("scan", str(path), "--format", fmt, "--jobs", "1")
    three = cli("scan", str(path), "--format", fmt, "--jobs", "3")
    assert one == three and one[0] == 0
    if fmt == "json":
        assert [r["position"] for r in json.loads(one[1])] == [str(i) for i in range(1, 301)]


def test_scan_worker_failure_is_a_clear_error(cli, small_ranges, monkeypatch, tmp_path):
    """A worker process that fails makes the scan fail with an error naming its byte range, never a silent
    short output."""
    from mailsupport.samples.generate import write_benchmark_mbox

    path = tmp_path / "w.mbox"
    write_benchmark_mbox(path, 60)
    real_scan_mbox = small_ranges.scan_mbox

    def failing_in_workers(p, *, start=0, end=None, first_ordinal=None, max_message_bytes, mx_hosts=()):
        if start:
            raise RuntimeError("disk went away")
        return real_scan_mbox(
            p, start=start, end=end, first_ordinal=first_ordinal, max_message_bytes=max_message_bytes, mx_hosts=mx_hosts
        )

    monkeypatch.setattr(small_ranges, "scan_mbox", failing_in_workers)
    code, _out, err = cli("scan", str(path), "--format", "csv", "--jobs", "2")
    assert code == 2 and "worker process failed on bytes" in err and "disk went away" in err and "--jobs 1" in err


def test_a_killed_worker_is_a_clear_error(cli, small_ranges, monkeypatch, tmp_path):
    """A worker process that dies outright (no exception to send back) fails the scan with an error too."""
    import os

    from mailsupport.samples.generate import write_benchmark_mbox

    path = tmp_path / "k.mbox"
    write_benchmark_mbox(path, 60)
    real_scan_mbox = small_ranges.scan_mbox

    def dying_in_workers(p, *, start=0, **kw):
        if start:
            os._exit(9)
        return real_scan_mbox(p, start=start, **kw)

    monkeypatch.setattr(small_ranges, "scan_mbox", dying_in_workers)
    code, _out, err = cli("scan", str(path), "--format", "json", "--jobs", "2")
    assert code == 2 and "worker process failed" in err and "BrokenProcessPool" in err


def test_library_scan_with_jobs_equals_one_process(small_ranges, tmp_path):
    """samples.scan(..., jobs=N) gives the same summaries, positions included, as one process, in order."""
    from mailsupport.samples import scan
    from mailsupport.samples.generate import write_benchmark_mbox

    path = tmp_path / "lib.mbox"
    write_benchmark_mbox(path, 150)
    one = list(scan(path, REAL))
    assert list(scan(path, REAL, jobs=3)) == one
    assert [s.position for s in one[:150]] == [str(i) for i in range(1, 151)]


def _tricky_mbox(path, n):
    """An mbox whose rows need CSV quoting (comma, quote, CR from an encoded word, LF), non-ASCII and long cells."""
    from mailsupport.samples.generate import mbox_bytes

    subjects = [
        "plain",
        "a, b",
        'say "hi"',
        "=?utf-8?q?cr=0Dhere?=",
        "=?utf-8?q?lf=0Athere?=",
        "caf=?utf-8?q?=C3=A9?= \u00fcber".encode("utf-8").decode("latin-1"),
        "x" * 300,
    ]
    msgs = [
        (
            f"From: a{i}@example.net\nTo: {i}@smithlaw.example\nSubject: {subjects[i % len(subjects)]}\n"
            f"Message-ID: <{i}@example.net>\n\nbody {i}\nFrom here, quoted\n"
        ).encode("latin-1")
        for i in range(n)
    ]
    path.write_bytes(mbox_bytes(msgs))


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
@pytest.mark.parametrize("jobs", [2, 4])
def test_workers_give_the_same_rows_on_tricky_cells_in_every_format(cli, small_ranges, tmp_path, fmt, jobs):
    """Worker rows (each range's messages numbered after the earlier ranges') equal one process's in every
    format: cells CSV must quote (a comma, quote, LF or CR), non-ASCII, and a source path that CSV must quote."""
    from mailsupport.cli import scan as scan_cmd

    path = tmp_path / 'box, "quoted".mbox'
    _tricky_mbox(path, 57)
    small_ranges.TASK_MIN_BYTES = small_ranges.TASK_MAX_BYTES = 1 << 10  # most ranges start inside a message
    one = cli("scan", str(path), "--format", fmt, "--jobs", "1")
    many = cli("scan", str(path), "--format", fmt, "--jobs", str(jobs))
    assert one == many and one[0] == 0
    if fmt == "csv":  # a subject with a CR: quoted, so every row reads back with all its cells
        rows = list(csv.reader(io.StringIO(one[1], newline="")))
        assert any("\r" in row[7] for row in rows) and {len(row) for row in rows} == {len(scan_cmd.COLUMNS)}
    if fmt == "json":
        assert [r["position"] for r in json.loads(one[1])] == [str(i) for i in range(1, 58)]


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
@pytest.mark.parametrize("cut", ["at-from-lines", "every-97-bytes"])
def test_workers_with_ranges_cut_anywhere(cli, small_ranges, monkeypatch, tmp_path, fmt, cut):
    """Ranges of one message each (cut right at each From_ line), or cut every 97 bytes (inside From_ lines,
    headers and bodies, most ranges holding no From_ line at all): the same output as one process."""
    path = tmp_path / "m.mbox"
    _tricky_mbox(path, 12)
    data = path.read_bytes()
    if cut == "at-from-lines":
        points = [0] + [i + 1 for i in range(len(data)) if data.startswith(b"\nFrom ", i)] + [len(data)]
        assert len(points) == 13
    else:
        points = [*range(0, len(data), 97), len(data)]
    one = cli("scan", str(path), "--format", fmt, "--jobs", "1")
    monkeypatch.setattr(small_ranges, "_ranges", lambda size, jobs: zip(points, points[1:]))
    many = cli("scan", str(path), "--format", fmt, "--jobs", "2")
    assert one == many and one[0] == 0


def test_workers_with_a_cr_in_the_source_path(cli, small_ranges, tmp_path):
    """A source path with a CR (a quoted CSV cell in front of every row): workers give the same output."""
    path = tmp_path / "odd\rname.mbox"
    _tricky_mbox(path, 30)
    one = cli("scan", str(path), "--format", "csv", "--jobs", "1")
    many = cli("scan", str(path), "--format", "csv", "--jobs", "3")
    assert one == many and one[0] == 0
