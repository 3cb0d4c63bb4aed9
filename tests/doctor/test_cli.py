"""`mailsupport check-settings`: tenant file or flags in, ladder and findings out (text or JSON), exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailsupport.cli import main
from mailsupport.config import tenant_to_dict
from mailsupport.doctor import DraftStore

from .conftest import PASSWORD, pointed

pytestmark = pytest.mark.timeout(60)
QUAYLAW = Path(__file__).resolve().parents[2] / "data" / "samples" / "tenants" / "quaylaw-office365.toml"


def _tenant_file(sb, tmp_path):
    path = tmp_path / "smithlaw.json"
    path.write_text(json.dumps(tenant_to_dict(pointed(sb), reveal_secrets=True)))
    return path


def test_tenant_file_json_passes_with_exit_0(sb, tmp_path, capsys):
    """A good tenant file exits 0; JSON has per direction the rungs (step, ok, ms, detail) and findings."""
    code = main(["check-settings", "--tenant", str(_tenant_file(sb, tmp_path)), "--format", "json", "--timeout", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True
    for direction in ("inbound", "outbound"):
        rungs = data[direction]["rungs"]
        assert rungs and all({"step", "ok", "ms", "detail"} <= set(r) for r in rungs)
        assert data[direction]["findings"] == []
    assert PASSWORD not in out


def test_flags_wrong_port_exit_1_and_password_from_env(sb, tmp_path, capsys, monkeypatch, closed_port):
    """Flags give the servers; the password comes from an env var and never appears; failure exits 1."""
    monkeypatch.setenv("DOCTOR_PW", PASSWORD)
    code = main(
        [
            "check-settings",
            "--provider",
            "other",
            "--address",
            "matters@smithlaw.example",
            "--failed-address",
            "it@elsewhere.example",
            "--pop-host",
            "127.0.0.1",
            "--pop-port",
            str(sb.pop3.port),
            "--pop-tls",
            "implicit",
            "--pop-user",
            "matters@smithlaw.example",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(closed_port),
            "--smtp-tls",
            "starttls",
            "--ca-file",
            sb.ca_file,
            "--password-env",
            "DOCTOR_PW",
            "--timeout",
            "3",
            "--format",
            "text",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "settings.tls-mode-mismatch" in out
    assert "+OK Dovecot (Debian) ready." in out
    assert "settings.connection-refused" in out
    assert PASSWORD not in out


def test_draft_dir_keeps_the_typed_settings_and_report(sb, tmp_path, capsys, closed_port):
    """With --draft-dir the settings are kept before the test and the failed report after it."""
    drafts = tmp_path / "drafts"
    tenant_file = _tenant_file(sb, tmp_path)
    code = main(
        [
            "check-settings",
            "--tenant",
            str(tenant_file),
            "--pop-port",
            str(closed_port),
            "--draft-dir",
            str(drafts),
            "--format",
            "json",
            "--timeout",
            "3",
        ]
    )
    capsys.readouterr()
    assert code == 1
    draft = DraftStore(drafts).draft("smithlaw")
    assert draft.status == "failed"
    assert draft.data["inbound"]["server"]["port"] == closed_port
    assert draft.plain()["inbound"]["server"]["password"] == PASSWORD
    assert any(f["check"] == "settings.connection-refused" for f in draft.report["findings"])


def test_draft_dir_writable_by_others_is_refused_before_any_test(sb, tmp_path, capsys):
    """A --draft-dir others can write exits 2 with the folder and the fix, keeping no password in it."""
    drafts = tmp_path / "shared"
    drafts.mkdir()
    drafts.chmod(0o777)
    code = main(
        [
            "check-settings",
            "--tenant",
            str(_tenant_file(sb, tmp_path)),
            "--draft-dir",
            str(drafts),
            "--format",
            "json",
            "--timeout",
            "3",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert str(drafts) in captured.err and "chmod go-w" in captured.err
    assert captured.out == "" and not list(drafts.iterdir())
    assert PASSWORD not in captured.err


def test_missing_password_variable_is_a_usage_error(capsys):
    """A --password-env naming an unset variable exits 2 and names it."""
    code = main(["check-settings", "--address", "a@b.example", "--password-env", "NO_SUCH_VAR_FOR_DOCTOR"])
    assert code == 2
    assert "NO_SUCH_VAR_FOR_DOCTOR" in capsys.readouterr().err


def test_sandbox_flag_checks_a_sample_tenant_against_an_embedded_provider(capsys):
    """--sandbox office365 runs the sample Office 365 tenant (XOAUTH2 token) against an embedded stand-in."""
    code = main(
        ["check-settings", "--tenant", str(QUAYLAW), "--sandbox", "office365", "--format", "json", "--timeout", "3"]
    )
    data = json.loads(capsys.readouterr().out)
    assert data["inbound"]["ok"] and data["outbound"]["ok"]
    auth = [r for r in data["inbound"]["rungs"] if r["step"] == "auth"][0]
    assert auth["facts"]["method"] == "XOAUTH2"
    assert code == (0 if data["ok"] else 1)
