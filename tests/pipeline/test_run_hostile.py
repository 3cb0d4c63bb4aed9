"""``mailsupport run --once`` against hostile servers: it ends, prints its JSON summary, no traceback, no secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mailsupport.config import tenant_to_dict
from mailsupport.pipeline import run_config_problems
from mailsupport.testing.hostile import HostileServer
from mailsupport.testing.mailgen import pipeline_tenant

pytestmark = pytest.mark.timeout(120)

PASSWORD = "canary-4b1d-run-pw"
FILED = b"From: c@outside.example\r\nX-Original-To: 1001@catchall.example\r\nSubject: filed\r\n\r\nbody\r\n"
FAILED = b"From: c@outside.example\r\nX-Original-To: nobody@catchall.example\r\nSubject: lost\r\n\r\nbody\r\n"


def tenant_file(path: Path, pop_port: int, *, smtp_port: int = 0, edit=None, **kw: Any) -> Path:
    """The pipeline test tenant (0.5 s per read) on ``pop_port``, as JSON, optionally edited."""
    data = tenant_to_dict(
        pipeline_tenant(pop_port=pop_port, smtp_port=smtp_port, username="u", password=PASSWORD, **kw),
        reveal_secrets=True,
    )
    data["inbound"]["server"]["timeout"] = 0.5
    data["outbound"]["server"]["timeout"] = 0.5
    if edit:
        edit(data)
    path.write_text(json.dumps(data))
    return path


def run(tenant: Path, store: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """``python -m mailsupport run --once``: (exit code, the JSON it printed, stderr); bounded in time."""
    r = subprocess.run(
        [sys.executable, "-m", "mailsupport", "run", "--once", "--tenant", str(tenant), "--store", str(store), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert "canary" not in r.stdout + r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


CASES = [
    ("greeting", "drip", "greeting did not finish"),
    ("greeting", "endless-line", "greeting"),
    ("capa", "endless-lines", "CAPA answer ran past 1,000 lines"),
    ("pass", "echo-secret", "no such password: ***"),
    ("stat", "malformed", "'+OK many'"),
    ("list", "malformed", "'1 lots'"),
    ("list", "drip", "LIST did not finish"),
    ("uidl", "endless-line", "UIDL"),
    ("retr", "drip", "RETR 1 did not finish"),
    ("retr", "endless-lines", "RETR 1: message 1 (listed as"),
    ("retr", "malformed", "RETR 1 timed out"),
    ("dele", "endless-line", "DELE 1"),
]


@pytest.mark.parametrize("at,how,words", CASES, ids=[f"{a}-{h}" for a, h, _w in CASES])
def test_run_once_ends_with_a_summary_naming_the_step(tmp_path, at, how, words):
    """Whatever the server does at one point, run --once exits 3 with JSON naming the step; nothing is deleted."""
    with HostileServer("pop3", at=at, how=how, lifetime=60, drip_interval=0.1) as srv:
        srv.deliver(FILED, uidl="u1")
        code, out, _err = run(tenant_file(tmp_path / "t.json", srv.port), tmp_path / "s")
    assert code == 3
    assert any(words in e["message"] for e in out["errors"]), out["errors"]
    assert out["deleted"] == 0 and srv.deleted == []
    assert out["send"] == {"sent": 0, "deferred": 0, "failed": 0, "still_queued": 0, "errors": []}


def test_message_over_the_limit_stays_until_the_limit_is_raised(tmp_path):
    """A message listed over --max-message-mb is kept and reported with what to do; raising the limit fetches it."""
    with HostileServer("pop3") as srv:
        srv.deliver(FILED + b"x" * 3000 + b"\r\n", uidl="big")
        tenant = tenant_file(tmp_path / "t.json", srv.port)
        code, out, _ = run(tenant, tmp_path / "s", "--max-message-mb", "0.001")
        assert code == 3 and out["kept_on_server"] == 1 and srv.deleted == []
        [error] = out["errors"]
        assert error["stage"] == "size" and error["uidl"] == "big"
        assert "over the limit of 1,048" in error["message"] and "--max-message-mb" in error["message"]
        assert srv.commands_named("RETR") == []
        code, out, _ = run(tenant, tmp_path / "s")
        assert (code, out["fetched"], out["deleted"], srv.deleted) == (0, 1, 1, ["big"])


def test_petabyte_listing_is_never_retrieved(tmp_path):
    """LIST claiming 10**15 octets: reported, not retrieved, not deleted."""
    with HostileServer("pop3", at="list", how="huge-size") as srv:
        srv.deliver(FILED, uidl="u1")
        code, out, _ = run(tenant_file(tmp_path / "t.json", srv.port), tmp_path / "s")
    [error] = out["errors"]
    assert code == 3 and error["stage"] == "size" and "1,000,000,000,000,000 octets" in error["message"]
    assert srv.commands_named("RETR") == [] and srv.deleted == []


def drop_outbound_host(data: dict[str, Any]) -> None:
    del data["outbound"]["server"]["host"]


def test_unusable_outbound_server_stops_run_before_the_mailbox(tmp_path):
    """No SMTP host to forward failed mail through: exit 2 with the summary; the POP3 server is never contacted."""
    with HostileServer("pop3") as srv:
        srv.deliver(FAILED, uidl="u1")
        code, out, _ = run(tenant_file(tmp_path / "t.json", srv.port, edit=drop_outbound_host), tmp_path / "s")
        assert srv.sessions == 0 and srv.maildrop and srv.deleted == []
    assert code == 2 and out["fetched"] == 0
    [error] = out["errors"]
    assert error["stage"] == "config" and "outbound.server.host" in error["message"]
    assert "failed mail is forwarded to it@catchall.example" in error["message"]


def test_unreadable_tenant_file_prints_a_summary(tmp_path):
    """A broken tenant file: exit 2 and the JSON summary with the error."""
    bad = tmp_path / "t.toml"
    bad.write_text("org_key = ")
    code, out, _ = run(bad, tmp_path / "s")
    assert code == 2 and out["errors"][0]["stage"] == "config" and "invalid TOML" in out["errors"][0]["message"]


def test_send_pass_failure_still_prints_what_the_poll_did(tmp_path):
    """The poll stores and deletes; the SMTP server then drops the connection: both halves are in the summary."""
    with HostileServer("pop3") as pop, HostileServer("smtp", at="mail", how="close") as smtp:
        pop.deliver(FAILED, uidl="u1")
        code, out, _ = run(tenant_file(tmp_path / "t.json", pop.port, smtp_port=smtp.port), tmp_path / "s")
        assert pop.deleted == ["u1"]  # stored durably with its forward queued before the DELE
    assert code == 3 and (out["fetched"], out["forwarded_as_failed"], out["deleted"]) == (1, 1, 1)
    assert out["send"]["errors"] and out["send"]["still_queued"] == 1


def test_every_stops_on_a_settings_error(tmp_path):
    """--every with settings that cannot work prints one summary and exits 2 instead of failing every poll."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailsupport",
            "run",
            "--every",
            "300",
            "--tenant",
            str(tenant_file(tmp_path / "t.json", 1, edit=drop_outbound_host)),
            "--store",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and json.loads(r.stdout)["errors"][0]["stage"] == "config"


@pytest.mark.parametrize(
    "edit,path",
    [
        (lambda d: d["inbound"]["server"].update(port=0), "inbound.server.port"),
        (lambda d: d["inbound"]["server"].update(allow_plaintext_auth=False), "inbound.server.tls"),
        (lambda d: d["inbound"]["server"].pop("password"), "inbound.server"),
        (
            lambda d: d["inbound"]["server"].update(tls="implicit", ca_file="/nonexistent/ca.pem"),
            "inbound.server.ca_file",
        ),
        (lambda d: d["outbound"].update(use_vendor_relay=True), "outbound.use_vendor_relay"),
        (lambda d: d["outbound"]["server"].update(username="u", password="p"), "outbound.server.tls"),
    ],
    ids=["no-pop-port", "pop-plaintext", "no-password", "bad-ca-file", "relay-missing", "smtp-plaintext"],
)
def test_run_config_problems(tmp_path, edit, path):
    """Each setting a client would refuse mid-run is found before: its path is named."""
    from mailsupport.config import load_tenant

    tenant = load_tenant(tenant_file(tmp_path / "t.json", 110, edit=edit))
    assert [p.path for p in run_config_problems(tenant)] == [path]


def test_outbound_needed_only_when_something_can_be_sent(tmp_path):
    """Without a failed-emails address and an empty queue, a tenant without SMTP host may still poll."""
    from mailsupport.config import load_tenant

    def no_smtp_no_forward(d: dict[str, Any]) -> None:
        drop_outbound_host(d)
        del d["failed_email_address"]

    tenant = load_tenant(tenant_file(tmp_path / "t.json", 110, edit=no_smtp_no_forward))
    assert run_config_problems(tenant) == []
    assert [p.path for p in run_config_problems(tenant, queued=2)] == ["outbound.server.host"]


def test_malformed_listing_words_are_scrubbed_escaped_and_cut(tmp_path):
    """A broken LIST line echoing the password with terminal escapes: the summary quotes it safely."""
    from mailsupport.testing.faultproxy import Fault, FaultProxy

    line = b"1 lots \x1b[2J" + PASSWORD.encode() + b" " + b"z" * 1000
    with (
        HostileServer("pop3") as srv,
        FaultProxy(srv.port, [Fault(command=r"^LIST$", reply=b"+OK\r\n" + line + b"\r\n.\r\n")]) as px,
    ):
        srv.deliver(FILED, uidl="u1")
        code, out, _ = run(tenant_file(tmp_path / "t.json", px.port), tmp_path / "s")
        assert srv.deleted == []
    [error] = out["errors"]
    assert code == 3 and error["stage"] == "session" and "nothing deleted" in error["message"]
    assert "'1 lots \\x1b[2J*** zzz" in error["message"] and "\x1b" not in error["message"]
    assert "more characters)" in error["message"] and len(error["message"]) < 600
