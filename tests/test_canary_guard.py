"""The canary guard itself catches a leak (run in a child pytest so this suite stays clean)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def test_guard_fails_a_session_that_prints_a_canary(tmp_path):
    """A test that prints a canary password makes the whole session fail and names the test."""
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_leak.py").write_text(
        "def test_leaks():\n    print('password is canary-4b1d-' + 'x')\ndef test_clean():\n    print('nothing here')\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert (
        "SECRET LEAK" in out.stdout
        and "test_leaks" in out.stdout
        and "test_clean" not in out.stdout.split("SECRET LEAK")[1]
    )
