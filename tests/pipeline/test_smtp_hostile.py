"""The SMTP client and the send pass against hostile servers: every step bounded, nothing lost, no secret shown."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mailsupport.config import parse_tenant
from mailsupport.errors import AuthError, ConnectError, DeadlineExceeded, LimitExceeded, ProtocolError
from mailsupport.limits import Deadline
from mailsupport.pipeline import enqueue_message, send_queued
from mailsupport.smtp import SmtpClient
from mailsupport.store import Store
from mailsupport.testing.hostile import HostileServer
from mailsupport.testing.leaks import revealed

PASSWORD = "canary-4b1d-smtp-hostile-pw"
USER = "alice@firm.example"
RAW = b"From: alice@firm.example\r\nTo: bob@client.example\r\nSubject: advice\r\n\r\nDear Bob,\r\n"
#: per-read timeout of these tests: every step's deadline is 3 x 0.3 s; the drip sends a byte every 0.05 s
TIMEOUT = 0.3
MAX_BYTES = 1 << 26


def _settings(port: int, **extra):
    return parse_tenant(
        {
            "org_key": "firm",
            "provider": "outbound-only",
            "failed_email_address": "it@firm.example",
            "outbound": {
                "from_address": USER,
                "server": {
                    "host": "127.0.0.1",
                    "port": port,
                    "tls": "none",
                    "username": USER,
                    "password": PASSWORD,
                    "allow_plaintext_auth": True,
                    "timeout": TIMEOUT,
                    **extra,
                },
            },
        }
    ).outbound.server


def _hostile(at: str, how: str, **kw) -> HostileServer:
    return HostileServer("smtp", at=at, how=how, drip_interval=0.05, lifetime=30, max_bytes=MAX_BYTES, **kw)


def _send(srv: HostileServer) -> None:
    with SmtpClient(_settings(srv.port)) as client:
        client.send(RAW, USER, ["bob@client.example"])


STEPS = {
    "greeting": "greeting",
    "ehlo": "EHLO",
    "auth": "AUTH",
    "mail": "MAIL",
    "rcpt": "RCPT",
    "data": "DATA",
    "dot": "final dot",
}


@pytest.mark.parametrize("at", list(STEPS))
def test_a_drip_ends_at_the_steps_deadline_naming_the_step(at):
    """One byte every 0.05 s satisfies every read's 0.3 s timeout; the step's wall-clock deadline ends it."""
    with _hostile(at, "drip") as srv:
        with pytest.raises(DeadlineExceeded) as err:
            _send(srv)
    assert err.value.step == STEPS[at]
    assert f"{STEPS[at]} did not finish within its" in str(err.value) and srv.host in str(err.value)


@pytest.mark.parametrize(
    "how,what", [("endless-lines", "lines"), ("endless-line", "line")], ids=["250-forever", "endless-line"]
)
@pytest.mark.parametrize("at", list(STEPS))
def test_an_endless_reply_hits_a_limit_and_the_client_hangs_up(at, how, what):
    """250- lines forever or a line without end: LimitExceeded naming the step, long before the server's budget."""
    with _hostile(at, how) as srv:
        with pytest.raises(LimitExceeded) as err:
            _send(srv)
    assert err.value.what == what
    assert ("greeting" if at == "greeting" else STEPS[at]) in str(err.value)
    assert srv.bytes_sent < MAX_BYTES


@pytest.mark.parametrize("at", list(STEPS))
def test_a_malformed_reply_is_a_protocol_error_with_the_servers_words(at):
    """'2x0 what' is not an SMTP reply: a ProtocolError (not a crash, not smtplib's -1) quoting it."""
    with _hostile(at, "malformed") as srv:
        with pytest.raises(ProtocolError) as err:
            _send(srv)
    assert type(err.value) is ProtocolError
    assert "'2x0 what'" in str(err.value)


@pytest.mark.parametrize(
    "at,error",
    [
        ("greeting", ConnectError),
        ("ehlo", ConnectError),
        ("auth", AuthError),
        ("mail", ProtocolError),
        ("rcpt", ProtocolError),
        ("data", ProtocolError),
        ("dot", ProtocolError),
    ],
)
def test_a_closed_connection_is_reported_at_its_step(at, error):
    """A server hanging up without a word gives the kit's error for that stage."""
    with _hostile(at, "close") as srv:
        with pytest.raises(error):
            _send(srv)


@pytest.mark.parametrize("how", ["drip", "endless-lines", "malformed", "close"])
def test_a_hostile_quit_does_not_undo_a_sent_message(how):
    """The message was accepted before QUIT: whatever QUIT gets, the send returns its 250 and nothing raises."""
    with _hostile("quit", how) as srv:
        with SmtpClient(_settings(srv.port)) as client:
            reply = client.send(RAW, USER, ["bob@client.example"])
    assert reply.code == 250 and len(srv.received) == 1


@pytest.mark.parametrize("mechanisms", ["PLAIN LOGIN", "LOGIN"], ids=["plain-then-login", "login"])
def test_an_echoed_password_is_scrubbed_from_the_error(mechanisms):
    """535 quoting AUTH PLAIN's base64 or AUTH LOGIN's user/password: the error keeps the words, not the secret."""
    with _hostile("auth", "echo-secret", auth_mechanisms=mechanisms) as srv:
        with pytest.raises(AuthError) as err:
            _send(srv)
    text = str(err.value)
    assert "535 5.7.8 bad credentials" in text and "***" in text
    assert not revealed(PASSWORD, text)


def test_the_session_deadline_caps_a_step_and_names_both():
    """A session deadline shorter than a step's own ends the step, and the error names the step and the session."""
    with _hostile("mail", "drip") as srv:
        session = Deadline(0.5, "send pass")
        with pytest.raises(DeadlineExceeded) as err:
            with SmtpClient(_settings(srv.port, timeout=5), deadline=session) as client:
                client.send(RAW, USER, ["bob@client.example"])
    assert err.value.step == "MAIL" and "send pass" in str(err.value) and "0.5 s" in str(err.value)


def _queue_one(store: Store, tenant) -> None:
    enqueue_message(tenant, store, RAW, mail_from=USER, rcpt_tos=["bob@client.example"], message_id="<m1@firm.example>")


def _tenant(port: int):
    t = parse_tenant(
        {
            "org_key": "firm",
            "provider": "outbound-only",
            "failed_email_address": "it@firm.example",
            "outbound": {"from_address": USER, "server": {"host": "127.0.0.1", "port": port}},
        }
    )
    return t.with_servers(outbound=_settings(port))


@pytest.mark.parametrize(
    "at,how,stage",
    [
        ("dot", "drip", "final dot"),
        ("rcpt", "endless-lines", "connection"),
        ("mail", "malformed", "connection"),
    ],
    ids=["drip-at-dot", "endless-rcpt", "malformed-mail"],
)
def test_the_send_pass_keeps_the_message_queued_and_names_the_step(store, at, how, stage):
    """A hostile reply mid-transaction defers the message (never marked sent or failed) and says where."""
    with _hostile(at, how) as srv:
        tenant = _tenant(srv.port)
        _queue_one(store, tenant)
        summary = send_queued(tenant, store, now=0)
    assert (summary.sent, summary.deferred, summary.still_queued) == (0, 1, 1)
    [error] = summary.errors
    assert error["stage"] == stage and "stay queued" in error["message"]
    assert store.queued()[0].attempts == 1


@pytest.mark.parametrize("at,stage", [("greeting", "greeting"), ("ehlo", "EHLO"), ("auth", "AUTH")])
def test_a_drip_before_the_first_message_keeps_the_queue_and_names_the_step(store, at, stage):
    """The session cannot be opened in time: nothing is attempted, the queue stays, the error names the step."""
    with _hostile(at, "drip") as srv:
        tenant = _tenant(srv.port)
        _queue_one(store, tenant)
        summary = send_queued(tenant, store, now=0)
    assert (summary.sent, summary.deferred, summary.still_queued) == (0, 0, 1)
    [error] = summary.errors
    assert error["stage"] == stage and f"{stage} did not finish within its 0.9 s deadline" in error["message"]
    assert store.queued()[0].attempts == 0


def test_the_send_pass_json_never_shows_an_echoed_password(store):
    """echo-secret at AUTH: the send summary (run's JSON) and the queue's last reply hold no form of the password."""
    with _hostile("auth", "echo-secret", auth_mechanisms="LOGIN") as srv:
        tenant = _tenant(srv.port)
        _queue_one(store, tenant)
        summary = send_queued(tenant, store, now=0)
    text = json.dumps(summary.to_dict())
    assert "535 5.7.8 bad credentials" in text
    assert not revealed(PASSWORD, text)
    assert summary.still_queued == 1


def test_run_once_in_a_subprocess_ends_with_a_clear_summary(tmp_path):
    """`mailsupport run --once` against a server dripping its reply to the final dot: exit 3, the JSON names
    the step, the message stays queued, no traceback and no secret in the output."""
    with _hostile("dot", "drip") as srv:
        tenant_file = tmp_path / "tenant.json"
        tenant_file.write_text(
            json.dumps(
                {
                    "org_key": "firm",
                    "provider": "outbound-only",
                    "failed_email_address": "it@firm.example",
                    "outbound": {
                        "from_address": USER,
                        "server": {
                            "host": "127.0.0.1",
                            "port": srv.port,
                            "tls": "none",
                            "username": USER,
                            "password": PASSWORD,
                            "allow_plaintext_auth": True,
                            "timeout": TIMEOUT,
                        },
                    },
                }
            )
        )
        with Store(tmp_path / "store") as store:
            _queue_one(store, _tenant(srv.port))
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "mailsupport",
                "run",
                "--once",
                "--tenant",
                str(tenant_file),
                "--store",
                str(tmp_path / "store"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 3, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    [error] = summary["send"]["errors"]
    assert error["stage"] == "final dot" and "did not finish within its" in error["message"]
    assert summary["send"]["still_queued"] == 1
    assert "Traceback" not in out.stderr and not revealed(PASSWORD, out.stdout + out.stderr)
