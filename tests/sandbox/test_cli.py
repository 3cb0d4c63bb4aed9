"""``mailsupport sandbox`` as a subprocess: JSON endpoints line, real clients, SIGTERM, exit code."""

from __future__ import annotations

import json
import poplib
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import dns.resolver

from mailsupport.config import load_tenant
from mailsupport.tlsutil import client_context

from .conftest import TENANTS, message

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailsupport", "sandbox", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def test_cli_serves_until_sigterm(tmp_path):
    """The JSON line names every endpoint; SMTP, POP3 (TLS verified) and DNS work; SIGTERM exits 0."""
    proc, info = start("--tenant", str(TENANTS / "smithlaw-postfix.toml"), "--profile", "exim")
    try:
        assert set(info) >= {"mx", "smtp", "smtp_tls", "pop3", "pop3_tls", "dns", "ca_file", "profile", "mailboxes"}
        assert info["profile"] == "exim" and info["mailboxes"] == ["matters@smithlaw.example"]
        with smtplib.SMTP(info["mx"]["host"], info["mx"]["port"], timeout=10) as c:
            c.sendmail("c@outside.example", ["a@smithlaw.example"], message())
        pop = poplib.POP3_SSL(
            info["pop3_tls"]["host"],
            info["pop3_tls"]["port"],
            context=client_context(ca_file=info["ca_file"]),
            timeout=10,
        )
        pop.user("matters@smithlaw.example")
        pop.pass_(load_tenant(TENANTS / "smithlaw-postfix.toml", environ={}).inbound.server.password.reveal())
        assert b"Envelope-to: a@smithlaw.example" in b"\r\n".join(pop.retr(1)[1])
        pop.quit()
        r = dns.resolver.Resolver(configure=False)
        r.nameservers, r.port = [info["dns"]["host"]], info["dns"]["port"]
        assert r.resolve("smithlaw.example", "MX")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "canary-" not in out + err


def test_cli_sigint_exits_zero():
    """Ctrl-C (SIGINT) also ends the sandbox with exit code 0."""
    proc, _ = start()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_cli_bad_tenant_file_is_a_usage_error(tmp_path):
    """A broken tenant file gives exit code 2 and names the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text('org_key = "Not Valid"\n')
    result = subprocess.run(
        [sys.executable, "-m", "mailsupport", "sandbox", "--tenant", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "bad.toml" in result.stderr and "org_key" in result.stderr


def test_cli_unknown_profile_lists_the_known_ones():
    """An unknown --profile exits 2 and names the profiles there are."""
    result = subprocess.run(
        [sys.executable, "-m", "mailsupport", "sandbox", "--profile", "qmail"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "gmail" in result.stderr and "qmail" in result.stderr
