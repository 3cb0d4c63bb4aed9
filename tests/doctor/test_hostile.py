"""The connection doctor against hostile POP3 and SMTP servers: each rung bounded in time and size, a
classified finding naming the rung, and no form of an echoed password in any output."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from mailsupport.config import parse_tenant
from mailsupport.doctor import DraftStore, check_settings
from mailsupport.doctor.classify import SETTINGS_CHECKS
from mailsupport.doctor.report import ProbeResult, Rung, SettingsReport
from mailsupport.model import Finding, Severity
from mailsupport.redact import Redactor
from mailsupport.testing.hostile import HostileServer
from mailsupport.testing.leaks import revealed

pytestmark = pytest.mark.timeout(90)

PASSWORD = "canary-4b1d-doctor-hostile-pw"
USER = "alice@firm.example"
#: per-read timeout: one-exchange rungs get 3 x 0.3 s; the drip sends a byte every 0.05 s
TIMEOUT = 0.3
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _settings(pop_port: int, smtp_port: int) -> dict:
    server = {"host": "127.0.0.1", "tls": "none", "username": USER, "password": PASSWORD, "allow_plaintext_auth": True}
    return {
        "org_key": "firm",
        "provider": "other",
        "domains": ["firm.example"],
        "failed_email_address": "it@elsewhere.example",
        "inbound": {
            "address": USER,
            "kind": "catch-all",
            "confirm_download_then_delete": True,
            "server": {**server, "port": pop_port},
        },
        "outbound": {"from_address": USER, "server": {**server, "port": smtp_port}},
    }


class Servers:
    """A hostile server for ``proto`` and an honest one for the other direction."""

    def __init__(self, proto: str, at: str, how: str, **kw) -> None:
        self.proto = proto
        self._stack = ExitStack()
        bad = HostileServer(proto, at=at, how=how, drip_interval=0.05, lifetime=60, max_bytes=1 << 26, **kw)
        good = HostileServer("smtp" if proto == "pop3" else "pop3", lifetime=60)
        self.bad = self._stack.enter_context(bad)
        self.good = self._stack.enter_context(good)
        pop, smtp = (self.bad, self.good) if proto == "pop3" else (self.good, self.bad)
        self.settings = _settings(pop.port, smtp.port)
        self.tenant = parse_tenant(self.settings)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _probe(report: SettingsReport, proto: str) -> ProbeResult:
    return report.inbound if proto == "pop3" else report.outbound


@pytest.mark.parametrize(
    "proto,at,how,rung,check",
    [
        ("pop3", "greeting", "drip", "greeting", "settings.server-too-slow"),
        ("pop3", "greeting", "endless-line", "greeting", "settings.answer-without-end"),
        ("pop3", "greeting", "malformed", "greeting", "settings.malformed-answer"),
        ("pop3", "capa", "endless-lines", "capabilities", "settings.answer-without-end"),
        ("pop3", "user", "drip", "auth", "settings.server-too-slow"),
        ("pop3", "pass", "malformed", "auth", "settings.malformed-answer"),
        ("pop3", "stat", "malformed", "final", "settings.malformed-answer"),
        ("pop3", "uidl", "malformed", "final", "settings.malformed-answer"),
        ("pop3", "stat", "drip", "final", "settings.server-too-slow"),
        ("smtp", "greeting", "endless-lines", "greeting", "settings.answer-without-end"),
        ("smtp", "greeting", "malformed", "greeting", "settings.malformed-answer"),
        ("smtp", "ehlo", "drip", "capabilities", "settings.server-too-slow"),
        ("smtp", "ehlo", "endless-lines", "capabilities", "settings.answer-without-end"),
        ("smtp", "auth", "endless-line", "auth", "settings.answer-without-end"),
        ("smtp", "rcpt", "drip", "final", "settings.server-too-slow"),
        ("smtp", "rset", "malformed", "final", "settings.malformed-answer"),
    ],
)
def test_a_hostile_answer_fails_its_rung_with_a_classified_finding(proto, at, how, rung, check):
    """The ladder stops at the rung the server misbehaved in, with a finding naming that rung and what to do."""
    with Servers(proto, at, how) as s:
        report = check_settings(s.tenant, timeout=TIMEOUT, directions=(proto,))
    probe = _probe(report, proto)
    failed = probe.failed
    assert failed is not None and failed.step == rung and probe.rungs[-1] is failed, report.format_text()
    [finding] = [f for f in report.findings if f.check == check]
    assert finding.severity is Severity.ERROR and finding.remedy
    assert finding.summary.startswith(f"{proto.upper()} {rung} failed")
    assert not report.ok
    if how == "drip":
        assert f"the {rung} step (waiting for" in failed.detail and "deadline" in failed.detail
    if how == "malformed":
        assert failed.reply  # the server's words are kept as evidence
        assert dict(finding.evidence)["server said"] == failed.reply


def test_the_new_checks_are_documented_with_a_remedy():
    """Each check a hostile server can cause has a meaning (docs/checks.md) and a remedy."""
    from mailsupport.doctor.classify import _REMEDY

    for check in ("settings.server-too-slow", "settings.answer-without-end", "settings.malformed-answer"):
        assert SETTINGS_CHECKS[check] and _REMEDY[check]


ECHOES = [
    ("pop3", "pass", "PLAIN LOGIN", "no such password"),
    ("smtp", "auth", "PLAIN LOGIN", "bad credentials for AUTH PLAIN"),
    ("smtp", "auth", "LOGIN", "bad credentials: user"),
]
ECHO_IDS = ["pop3-pass", "smtp-auth-plain", "smtp-auth-login"]


@pytest.mark.parametrize("proto,at,mechanisms,words", ECHOES, ids=ECHO_IDS)
def test_an_echoed_password_is_in_no_report_output(proto, at, mechanisms, words):
    """The text report, the JSON and the live ladder keep the server's words but no form of the password."""
    seen: list[str] = []
    with Servers(proto, at, "echo-secret", **({"auth_mechanisms": mechanisms} if proto == "smtp" else {})) as s:
        report = check_settings(
            s.tenant,
            timeout=TIMEOUT,
            directions=(proto,),
            on_rung=lambda d, r: seen.append(f"{r.detail} {r.reply} {r.facts}"),
        )
    outputs = {
        "text": report.format_text(),
        "json": json.dumps(report.to_dict()),
        "live": "\n".join(seen),
        "html": report._repr_html_(),
    }
    for name, text in outputs.items():
        assert not revealed(PASSWORD, text), name
    assert words in outputs["text"] and "***" in outputs["text"]
    assert "settings.auth-failed" in outputs["json"]


@pytest.mark.parametrize("proto,at,mechanisms,words", ECHOES, ids=ECHO_IDS)
def test_an_echoed_password_is_not_in_the_draft_files(tmp_path, proto, at, mechanisms, words):
    """The kept draft's report on disk holds the server's words, not the password (only the secrets file has it)."""
    store = DraftStore(tmp_path)
    with Servers(proto, at, "echo-secret", **({"auth_mechanisms": mechanisms} if proto == "smtp" else {})) as s:
        store.save_draft(s.settings, now=NOW)
        report = check_settings(s.tenant, timeout=TIMEOUT, directions=(proto,))
    store.record_result("firm", report, now=NOW)
    draft_json = (tmp_path / "firm" / "draft.json").read_text()
    assert words in draft_json and not revealed(PASSWORD, draft_json)
    assert PASSWORD in (tmp_path / "firm" / "draft.secrets.json").read_text()


def test_the_draft_store_scrubs_a_report_it_is_handed_in_every_form(tmp_path):
    """A report that still carries the password (plain, base64, SASL PLAIN) is scrubbed before it is written."""
    import base64

    store = DraftStore(tmp_path)
    store.save_draft(_settings(110, 25), now=NOW)
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    login = base64.b64encode(PASSWORD.encode()).decode()
    report = {
        "ok": False,
        "findings": [
            {
                "detail": f"535 5.7.8 no: AUTH PLAIN {plain}",
                "evidence": [["server said", f"-ERR bad {PASSWORD} / 334 {login}"]],
            }
        ],
    }
    store.record_result("firm", report, now=NOW)
    text = (tmp_path / "firm" / "draft.json").read_text()
    assert not revealed(PASSWORD, text) and "535 5.7.8 no: AUTH PLAIN ***" in text


def test_report_redacted_scrubs_every_rung_and_finding():
    """SettingsReport.redacted reaches the rungs' detail, reply and facts and the findings' texts and evidence."""
    rung = Rung(
        step="auth",
        ok=False,
        ms=1.0,
        detail=f"sent {PASSWORD}",
        reply=f"-ERR {PASSWORD}",
        code="auth-rejected",
        facts=(("method", PASSWORD),),
    )
    finding = Finding(
        check="settings.auth-failed",
        severity=Severity.ERROR,
        subject="pop3 x",
        summary=PASSWORD,
        detail=PASSWORD,
        remedy="retype",
        evidence=(("server said", f"-ERR {PASSWORD}"),),
    )
    report = SettingsReport(
        org_key="firm",
        provider="other",
        inbound=ProbeResult(direction="pop3", endpoint="x", tls="none", rungs=(rung,)),
        findings=(finding,),
    )
    clean = report.redacted(Redactor([PASSWORD]))
    assert not revealed(PASSWORD, clean.format_text() + json.dumps(clean.to_dict()))
    assert clean.inbound.rungs[0].reply == "-ERR ***" and clean.findings[0].check == "settings.auth-failed"


def test_the_widget_shows_no_echoed_password(tmp_path):
    """The Email Setup form's ladder, findings and status keep AUTH LOGIN's echo out, words in."""
    pytest.importorskip("ipywidgets")
    from mailsupport.widgets.setup import EmailSetup

    with Servers("smtp", "auth", "echo-secret", auth_mechanisms="LOGIN") as s:
        server = {"host": "127.0.0.1", "tls": "none", "allow_plaintext_auth": True}
        overrides = {
            "inbound": {"server": {**server, "port": s.good.port}},
            "outbound": {"server": {**server, "port": s.bad.port}},
        }
        form = EmailSetup(
            store=DraftStore(tmp_path), org_key="firm", provider="other", overrides=overrides, timeout=TIMEOUT
        )
        for path, value in (
            ("inbound.address", USER),
            ("inbound.server.username", USER),
            ("inbound.server.password", PASSWORD),
            ("inbound.server.host", "127.0.0.1"),
            ("inbound.server.tls", "none"),
            ("outbound.server.host", "127.0.0.1"),
            ("outbound.server.tls", "none"),
            ("inbound.confirm_download_then_delete", True),
            ("failed_email_address", "it@elsewhere.example"),
        ):
            form.set_field(path, value)
        form.click()
    shown = form.ladder_text + form.result_html + form.status_html
    assert "SMTP  FAIL auth" in form.ladder_text and "bad credentials: user" in shown
    assert not revealed(PASSWORD, shown)
    assert not revealed(PASSWORD, (tmp_path / "firm" / "draft.json").read_text())


def _cli(tenant_file, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mailsupport",
            "check-settings",
            "--tenant",
            str(tenant_file),
            "--timeout",
            str(TIMEOUT),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "proto,at,how,check",
    [
        ("pop3", "greeting", "drip", "settings.server-too-slow"),
        ("smtp", "ehlo", "endless-lines", "settings.answer-without-end"),
        ("pop3", "pass", "echo-secret", "settings.auth-failed"),
        ("smtp", "auth", "echo-secret", "settings.auth-failed"),
    ],
    ids=["pop3-drip", "smtp-endless-ehlo", "pop3-echo", "smtp-echo"],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_settings_in_a_subprocess_ends_with_a_clear_result(tmp_path, proto, at, how, check, fmt):
    """The CLI against a hostile server ends within its deadlines (the run is bounded by a subprocess timeout),
    exits 1 with the finding, no traceback, and no form of the password in its output or its draft."""
    with Servers(proto, at, how) as s:
        tenant_file = tmp_path / "tenant.json"
        tenant_file.write_text(json.dumps(s.settings))
        out = _cli(tenant_file, "--only", proto, "--format", fmt, "--draft-dir", str(tmp_path / "drafts"))
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert check in out.stdout
    if fmt == "json":
        assert json.loads(out.stdout)["ok"] is False
    else:
        assert out.stdout.startswith("Settings check for firm (other): FAIL")
    draft = (tmp_path / "drafts" / "firm" / "draft.json").read_text()
    assert not revealed(PASSWORD, out.stdout + out.stderr + draft)
