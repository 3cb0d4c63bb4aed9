"""getmail6 from Debian, a second outside POP3 client, with APOP and CA validation."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailsupport.sandbox import Sandbox

from .conftest import message

pytestmark = pytest.mark.skipif(
    shutil.which("getmail") is None and not os.environ.get("MAILSUPPORT_REQUIRE_REAL"),
    reason="getmail6 is not installed (apt-get install getmail6)",
)

USER = "matters@smithlaw.example"


def run_getmail(sb: Sandbox, tenant, tmp_path: Path, *, apop: bool, delete: bool) -> subprocess.CompletedProcess:
    """One getmail run over implicit TLS (CA validated); an external MDA appends each message to ``out``."""
    out = tmp_path / "out"
    rc = tmp_path / "getmailrc"
    password = tenant.inbound.server.password.reveal()
    rc.write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = localhost\n"
        f"port = {sb.pop3_tls.port}\nusername = {USER}\npassword = {password}\n"
        f"ca_certs = {sb.ca_file}\nuse_apop = {apop}\ntimeout = 10\n"
        # getmail refuses its own mbox/Maildir delivery as root (CI runs as root): use an MDA
        f"[destination]\ntype = MDA_external\npath = /bin/sh\n"
        f'arguments = ("-c", "cat >> {out}; echo ==== >> {out}")\nallow_root_commands = true\n'
        f"[options]\ndelete = {delete}\nread_all = true\nverbose = 2\nmessage_log_syslog = false\n"
    )
    rc.chmod(0o600)
    return subprocess.run(
        ["getmail", "--getmaildir", str(tmp_path), "--rcfile", str(rc)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )


@pytest.mark.parametrize("apop", [False, True], ids=["user-pass", "apop"])
def test_getmail_fetches_and_deletes(smithlaw, tmp_path, apop):
    """getmail validates the sandbox CA, logs in (USER/PASS or APOP), fetches and deletes."""
    with Sandbox([smithlaw], apop=apop) as sb:
        sb.deliver(
            message("first", message_id="<1@x>", body=".dot\r\nplain\r\n"), "c@outside.example", ["a@smithlaw.example"]
        )
        sb.deliver(message("second", message_id="<2@x>"), "c@outside.example", ["b@smithlaw.example"])
        result = run_getmail(sb, smithlaw, tmp_path, apop=apop, delete=True)
        assert result.returncode == 0, result.stderr[-2000:]
        fetched = (tmp_path / "out").read_text()
        parts = [email.message_from_string(p) for p in fetched.split("====\n") if p.strip()]
        assert [m["Subject"] for m in parts] == ["first", "second"]
        assert parts[0].get_payload().startswith(".dot\n")
        assert sb.mailbox(USER) == ()


def test_getmail_refuses_an_untrusted_certificate(smithlaw, tmp_path):
    """With a self-signed certificate getmail's CA validation fails and the mail stays."""
    with Sandbox([smithlaw], certificate="self-signed") as sb:
        sb.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
        result = run_getmail(sb, smithlaw, tmp_path, apop=False, delete=True)
        assert result.returncode != 0
        assert "certificate" in (result.stdout + result.stderr).lower()
        assert len(sb.mailbox(USER)) == 1
