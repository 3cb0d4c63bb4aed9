"""A closed output pipe (``mailsupport scan ... | head``) ends a command quietly: exit 141, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.cli import EXIT_BROKEN_PIPE

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


@pytest.fixture(scope="module")
def big_mbox(tmp_path_factory):
    """An mbox over the 8 MB the scan needs before it starts worker processes."""
    from mailsupport.samples.generate import write_benchmark_mbox
    from mailsupport.samples.scanner import PARALLEL_MIN_BYTES

    path = tmp_path_factory.mktemp("pipe") / "big.mbox"
    count = 1000
    while write_benchmark_mbox(path, count) <= PARALLEL_MIN_BYTES:
        count *= 2
    return path


def _like_head(args: list[str], lines: int) -> tuple[int, str]:
    """Run ``mailsupport ARGS | head -LINES``: read that many lines, close the pipe, wait (with a deadline)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailsupport", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        for _ in range(lines):
            assert proc.stdout.readline()
        proc.stdout.close()
        code = proc.wait(timeout=120)
        return code, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


@pytest.mark.parametrize(
    "args",
    [["--format", "csv", "--jobs", "1"], ["--format", "csv", "--jobs", "2"], ["--format", "table", "--jobs", "2"]],
    ids=["csv-one-process", "csv-with-workers", "table-with-workers"],
)
def test_scan_into_a_closed_pipe_exits_quietly(big_mbox, args):
    """`scan BIG.mbox | head -3`: exit 141 with nothing on stderr (no BrokenPipeError traceback, no
    worker complaint), with and without worker processes."""
    code, err = _like_head(["scan", str(big_mbox), *args], 3)
    assert code == EXIT_BROKEN_PIPE == 141
    assert err == ""


@pytest.mark.parametrize(
    "args",
    [
        ["audit", str(SAMPLES / "tenants"), "--checks", "config", "--format", "text", "--fail-on", "never"],
        ["spf", "smithlaw.example", "--zone", str(SAMPLES / "zones" / "smithlaw.example.zone")],
        ["scan", str(SAMPLES / "real"), "--format", "json"],
    ],
    ids=["audit", "spf", "scan-folder"],
)
def test_other_printing_commands_into_a_closed_pipe_exit_quietly(args):
    """Any command whose reader goes away before it printed everything ends with 141 and no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailsupport", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader is gone before the first line
    try:
        code = proc.wait(timeout=120)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert code == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err
