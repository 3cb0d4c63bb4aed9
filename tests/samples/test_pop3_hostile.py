"""``mailsupport scan --pop3`` against hostile servers: bounded, rows with problems, clean errors, nothing deleted."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.testing.hostile import HostileServer

pytestmark = pytest.mark.timeout(120)

PASSWORD = "canary-4b1d-scan-pw"
MSG = b"From: a@example.org\r\nX-Original-To: 1001@smithlaw.example\r\nSubject: hi\r\n\r\nbody\r\n"


def tenant(path: Path, port: int) -> Path:
    """A tenant whose inbound mailbox is the hostile server (plain TCP, 0.5 s per read)."""
    path.write_text(f"""org_key = "hostile"
[inbound]
address = "matters@smithlaw.example"
[inbound.server]
host = "127.0.0.1"
port = {port}
tls = "none"
allow_plaintext_auth = true
username = "u"
password = "{PASSWORD}"
timeout = 0.5
""")
    return path


def scan(tenant_path: Path, *extra: str) -> tuple[int, list[dict[str, str]], str]:
    """``python -m mailsupport scan --pop3 --format csv``: (exit code, rows, stderr); bounded in time."""
    r = subprocess.run(
        [sys.executable, "-m", "mailsupport", "scan", "--pop3", str(tenant_path), "--format", "csv", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert "canary" not in r.stdout + r.stderr
    return r.returncode, list(csv.DictReader(io.StringIO(r.stdout))), r.stderr


def test_honest_headers_only_reads_with_top_and_deletes_nothing(tmp_path):
    """--headers-only: TOP n 0 for each message, never RETR or DELE, RSET before QUIT."""
    with HostileServer("pop3") as srv:
        srv.deliver(MSG, uidl="a")
        srv.deliver(MSG.replace(b"hi", b"yo"), uidl="b")
        code, rows, _ = scan(tenant(tmp_path / "t.toml", srv.port), "--headers-only")
        verbs = [line.split(" ", 1)[0] for _s, line in srv.commands]
    assert code == 0 and [r["subject"] for r in rows] == ["hi", "yo"] and [r["problems"] for r in rows] == ["", ""]
    assert "RETR" not in verbs and "DELE" not in verbs and verbs[-2:] == ["RSET", "QUIT"]
    assert verbs.count("TOP") == 2 and srv.deleted == []


@pytest.mark.parametrize(
    "how,words",
    [
        ("endless-lines", "ran past 65,"),
        ("drip", "RETR 1 did not finish"),
        ("endless-line", "without a line end"),
    ],
    ids=["endless-lines", "drip", "endless-line"],
)
def test_a_message_that_never_ends_is_a_row_and_the_rest_say_why(tmp_path, how, words):
    """RETR without end: that message's row names the step and limit; the next ones say the session ended."""
    with HostileServer("pop3", at="retr", how=how, drip_interval=0.1) as srv:
        srv.deliver(MSG, uidl="a")
        srv.deliver(MSG, uidl="b")
        code, rows, _ = scan(tenant(tmp_path / "t.toml", srv.port))
    assert code == 0 and [r["position"] for r in rows] == ["1", "2"]
    assert words in rows[0]["problems"] and "not read: the session ended at message 1" in rows[1]["problems"]
    assert srv.bytes_sent < srv.max_bytes and srv.deleted == []


@pytest.mark.parametrize(
    "at,how,words",
    [
        ("greeting", "drip", "greeting did not finish"),
        ("list", "malformed", "'1 lots'"),
        ("capa", "endless-lines", "CAPA answer ran past"),
        ("pass", "echo-secret", "no such password: ***"),
        ("stat", "malformed", "'+OK many'"),
    ],
    ids=["greeting-drip", "list-malformed", "capa-endless", "pass-echo", "stat-malformed"],
)
def test_session_failures_are_clean_errors(tmp_path, at, how, words):
    """Failures before any message can be read exit 3 with the server's words scrubbed, no traceback."""
    with HostileServer("pop3", at=at, how=how, drip_interval=0.1) as srv:
        srv.deliver(MSG)
        code, _rows, err = scan(tenant(tmp_path / "t.toml", srv.port))
    assert code == 3 and "operation failed" in err and words in err


def test_messages_over_the_limit_are_rows_not_reads(tmp_path):
    """A message listed over --max-message-mb (or as 10**15 octets) is a row saying so; it is never retrieved."""
    with HostileServer("pop3") as srv:
        srv.deliver(MSG, uidl="small")
        srv.deliver(MSG + b"x" * 4000 + b"\r\n", uidl="big")
        srv.deliver(MSG, uidl="liar", listed_size=10**15)
        code, rows, _ = scan(tenant(tmp_path / "t.toml", srv.port), "--max-message-mb", "0.002")
        retrieved = srv.commands_named("RETR")
    assert code == 0 and [r["problems"] for r in rows][0] == ""
    assert "over the limit of 2,097" in rows[1]["problems"] and "--max-message-mb" in rows[1]["problems"]
    assert "listed as 1,000,000,000,000,000 octets" in rows[2]["problems"]
    assert retrieved == ["RETR 1"]
