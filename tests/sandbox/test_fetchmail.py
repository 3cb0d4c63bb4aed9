"""fetchmail from Debian, a POP3 client no one here wrote, fetching from the sandbox with TLS verified."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailsupport.sandbox import Fault, Sandbox, Stage

from .conftest import message

pytestmark = pytest.mark.skipif(
    shutil.which("fetchmail") is None and not os.environ.get("MAILSUPPORT_REQUIRE_REAL"),
    reason="fetchmail is not installed (apt-get install fetchmail)",
)

USER = "matters@smithlaw.example"


def run_fetchmail(sb: Sandbox, tenant, tmp_path: Path, *, mode: str, keep: bool = False) -> subprocess.CompletedProcess:
    """Run fetchmail once against the sandbox; each message is appended to tmp_path/'out' by the MDA."""
    out = tmp_path / "out"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    port = sb.pop3_tls.port if mode == "implicit" else sb.pop3.port
    tls = {"implicit": "ssl sslproto tls1.2+", "stls": "sslproto tls1.2+", "plain": "sslproto ''"}[mode]
    password = tenant.inbound.server.password.reveal().replace('"', '\\"')
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no bouncemail\nset no syslog\n"
        f"poll localhost service {port} protocol POP3 auth password timeout 10\n"
        f'  user "{USER}" password "{password}" is "root" here\n'
        f'  {tls} sslcertck sslcertfile "{sb.ca_file}"\n'
        f"  {'keep' if keep else 'nokeep'}\n"
        f"  mda \"/bin/sh -c 'cat >> {out}; echo ==== >> {out}'\"\n"
    )
    rc.chmod(0o600)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    return subprocess.run(
        ["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize("mode", ["implicit", "stls"])
def test_fetchmail_fetches_and_deletes(sandbox, smithlaw, tmp_path, mode):
    """fetchmail verifies the CA, downloads every message (dot-stuffing intact) and deletes them."""
    sandbox.deliver(
        message("one", message_id="<1@x>", body=".dotted\r\nplain\r\n"), "c@outside.example", ["a@smithlaw.example"]
    )
    sandbox.deliver(message("two", message_id="<2@x>"), "c@outside.example", ["b@smithlaw.example"])
    result = run_fetchmail(sandbox, smithlaw, tmp_path, mode=mode)
    assert result.returncode == 0, result.stderr[-2000:]
    if mode == "stls":
        assert "> STLS" in result.stdout
    fetched = (tmp_path / "out").read_text()
    assert fetched.count("====") == 2
    assert "Subject: one" in fetched and "Subject: two" in fetched
    assert "\n.dotted\n" in fetched
    assert "X-Original-To: a@smithlaw.example" in fetched
    assert sandbox.mailbox(USER) == ()


def test_fetchmail_refuses_a_bad_certificate(sandbox, smithlaw, tmp_path):
    """With an expired certificate fetchmail's sslcertck refuses to log in; the mail stays."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    sandbox.set_certificate("expired")
    result = run_fetchmail(sandbox, smithlaw, tmp_path, mode="implicit")
    assert result.returncode != 0
    assert "expired" in (result.stdout + result.stderr).lower()
    assert len(sandbox.mailbox(USER)) == 1


def test_fetchmail_keep_and_uidl(sandbox, smithlaw, tmp_path):
    """With keep, fetchmail leaves the mail on the server."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    result = run_fetchmail(sandbox, smithlaw, tmp_path, mode="implicit", keep=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(sandbox.mailbox(USER)) == 1


def test_fetchmail_sees_a_login_fault(sandbox, smithlaw, tmp_path):
    """An auth fault with [SYS/TEMP] makes fetchmail fail the poll without touching the mail."""
    sandbox.deliver(message(), "c@outside.example", ["a@smithlaw.example"])
    sandbox.add_fault(Fault(stage=Stage.AUTH, service="pop3", reply="-ERR [SYS/TEMP] Authentication backend down"))
    result = run_fetchmail(sandbox, smithlaw, tmp_path, mode="implicit")
    assert result.returncode != 0
    assert "Authentication backend down" in result.stdout + result.stderr
    assert len(sandbox.mailbox(USER)) == 1
