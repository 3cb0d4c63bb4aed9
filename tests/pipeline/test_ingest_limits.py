"""``mailsupport ingest`` reads every message bounded: a file, a device or standard input past the limit is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from mailsupport.config import tenant_to_dict
from mailsupport.store import Store
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant

pytestmark = pytest.mark.timeout(60)


def ingest(tmp_path: Path, *args: str, stdin: bytes | BinaryIO = b"") -> tuple[int, list[dict], str]:
    """``python -m mailsupport ingest`` fed ``stdin`` (bytes or a file): (exit code, one JSON object per
    message, stderr)."""
    tenant = tmp_path / "t.json"
    tenant.write_text(json.dumps(tenant_to_dict(pipeline_tenant(), reveal_secrets=True)))
    feed = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
    r = subprocess.run(
        [sys.executable, "-m", "mailsupport", "ingest", "--tenant", str(tenant), "--store", str(tmp_path / "s"), *args],
        capture_output=True,
        timeout=60,
        **feed,
    )
    assert b"Traceback" not in r.stderr, r.stderr
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines()], r.stderr.decode()


def test_file_over_the_limit_is_reported_and_not_stored(tmp_path):
    """A file bigger than --max-message-mb is an error naming its size and the limit; the others are stored."""
    small, big = tmp_path / "small.eml", tmp_path / "big.eml"
    small.write_bytes(catchall_message(1, "1001@catchall.example"))
    big.write_bytes(catchall_message(2, "1001@catchall.example", body="y" * 5000))
    code, rows, _ = ingest(tmp_path, "--max-message-mb", "0.004", str(small), str(big))
    assert code == 3 and rows[0]["created"] and rows[0]["error"] == ""
    assert f"of {big.stat().st_size:,} bytes is over the per-message cap of 4,194 bytes" in rows[1]["error"]
    with Store(tmp_path / "s") as st:
        assert len(list(st.messages())) == 1


def test_endless_device_is_refused_unread(tmp_path):
    """/dev/zero as a message file is not a regular file: refused before any read, never an endless one."""
    code, rows, _ = ingest(tmp_path, "--max-message-mb", "1", "/dev/zero")
    assert code == 3 and "a character device, not a regular file: not read" in rows[0]["error"]


def test_standard_input_is_one_message_bounded_too(tmp_path):
    """'-' reads one message from standard input; endless input stops at the limit."""
    code, [row], _ = ingest(tmp_path, "-", stdin=catchall_message(3, "conveyancing@catchall.example"))
    assert code == 0 and (row["source"], row["kind"], row["created"]) == ("ingest:-", "alias", True)
    with open("/dev/zero", "rb") as zero:
        code, rows, _ = ingest(tmp_path, "--max-message-mb", "0.5", "-", stdin=zero)
    assert code == 3 and "standard input holds more, over the limit of 524,288 bytes" in rows[0]["error"]


def test_standard_input_once(tmp_path):
    """'-' twice is a usage error (exit 2)."""
    code, _rows, err = ingest(tmp_path, "-", "-")
    assert code == 2 and "standard input" in err
