"""run_cli runs a real child under its limits, keeps its output and always ends it on time."""

from __future__ import annotations

import os
import signal

from mailsupport.testing.entrypoints import run_cli


def test_a_command_runs_and_its_output_and_code_come_back(tmp_path):
    """A usage error of mailsupport itself: exit 2 with its words on stderr, nothing killed."""
    run = run_cli(["scan"], timeout=60, cwd=tmp_path)
    assert (run.code, run.timed_out) == (2, False)
    assert "give at least one sample PATH" in run.stderr
    assert run.output_bytes == len(run.stdout.encode()) + len(run.stderr.encode())


def test_the_address_space_limit_holds_in_the_child(tmp_path):
    """A child reading a 300 MiB file whole under a 256 MiB limit fails with MemoryError there."""
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(300 << 20)  # sparse: no disk used
    run = run_cli([str(big)], timeout=60, cwd=tmp_path, address_space=256 << 20, module="json.tool")
    assert not run.timed_out
    assert run.code == 1 and "MemoryError" in run.stderr


def test_a_child_past_its_deadline_is_killed(tmp_path):
    """A child waiting on a stdin that never ends is killed at its deadline, and the run says so."""
    r, w = os.pipe()  # the write end stays open and silent: the child would wait forever
    try:
        run = run_cli([], timeout=1.0, cwd=tmp_path, stdin=r, module="json.tool")
    finally:
        os.close(r)
        os.close(w)
    assert run.timed_out and run.code == -signal.SIGKILL


def test_long_output_is_kept_as_head_and_tail(tmp_path):
    """Output past keep_bytes is cut in the middle; output_bytes still counts all of it."""
    run = run_cli(["--help"], timeout=60, cwd=tmp_path, keep_bytes=200)
    assert run.code == 0
    assert "bytes left out" in run.stdout and run.stdout.startswith("usage: mailsupport")
    assert run.output_bytes > 200
