"""The "nothing lost" store: drafts kept before testing, reports kept on failure, last good kept, diffs."""

from __future__ import annotations

import json
import os
import pwd
import stat
from datetime import UTC, datetime

import pytest

from mailsupport.doctor import DraftStore, diff_settings
from mailsupport.doctor.report import ProbeResult, Rung, SettingsReport
from mailsupport.errors import ConfigError, StoreError
from mailsupport.model import Finding, Secret, Severity

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
PASSWORD = "typed-secret-77"

SETTINGS = {
    "org_key": "smithlaw",
    "provider": "other",
    "failed_email_address": "it@elsewhere.example",
    "inbound": {
        "address": "matters@smithlaw.example",
        "confirm_download_then_delete": True,
        "server": {
            "host": "mail.smithlaw.example",
            "port": 995,
            "tls": "implicit",
            "username": "matters@smithlaw.example",
            "password": PASSWORD,
        },
    },
}


def _report(ok: bool) -> SettingsReport:
    rung = Rung(
        step="auth",
        ok=ok,
        ms=3.0,
        detail="USER/PASS ***",
        reply="+OK" if ok else f"-ERR [AUTH] bad password {PASSWORD}",
    )
    probe = ProbeResult(direction="pop3", endpoint="mail.smithlaw.example:995", tls="implicit", rungs=(rung,))
    findings = (
        ()
        if ok
        else (
            Finding(
                check="settings.auth-failed",
                severity=Severity.ERROR,
                subject="pop3 mail.smithlaw.example:995",
                summary="bad password",
            ),
        )
    )
    return SettingsReport(org_key="smithlaw", provider="other", inbound=probe, findings=findings)


def test_draft_is_kept_before_any_test(tmp_path):
    """Saving keeps every typed field, the password included, with status untested."""
    store = DraftStore(tmp_path)
    store.save_draft(SETTINGS, now=NOW)
    draft = store.draft("smithlaw")
    assert draft.status == "untested"
    assert draft.plain() == SETTINGS
    assert isinstance(draft.data["inbound"]["server"]["password"], Secret)


def test_secrets_live_only_in_a_private_file(tmp_path):
    """The settings file holds no password; the secrets file is mode 0600 in a 0700 folder."""
    store = DraftStore(tmp_path)
    store.save_draft(SETTINGS, now=NOW)
    folder = tmp_path / "smithlaw"
    assert PASSWORD not in (folder / "draft.json").read_text()
    assert PASSWORD in (folder / "draft.secrets.json").read_text()
    assert stat.S_IMODE((folder / "draft.secrets.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_failed_test_keeps_draft_and_report_without_secret(tmp_path):
    """A failed test keeps the draft, attaches the report, and scrubs the password from it."""
    store = DraftStore(tmp_path)
    store.save_draft(SETTINGS, now=NOW)
    draft = store.record_result("smithlaw", _report(False), now=LATER)
    assert draft.status == "failed"
    assert draft.plain() == SETTINGS
    assert draft.report["findings"][0]["check"] == "settings.auth-failed"
    assert PASSWORD not in json.dumps(draft.report)
    assert store.last_good("smithlaw") is None


def test_passing_test_becomes_last_good_and_survives_a_later_failure(tmp_path):
    """The last passing settings stay available after a new draft fails."""
    store = DraftStore(tmp_path)
    store.save_draft(SETTINGS, now=NOW)
    store.record_result("smithlaw", _report(True), now=NOW)
    changed = json.loads(json.dumps(SETTINGS))
    changed["inbound"]["server"]["port"] = 110
    changed["inbound"]["server"]["password"] = "another-one"
    store.save_draft(changed, now=LATER)
    store.record_result("smithlaw", _report(False), now=LATER)
    assert store.last_good("smithlaw").plain() == SETTINGS
    assert store.draft("smithlaw").plain() == changed
    diff = {c.path: c for c in store.diff("smithlaw")}
    assert (diff["inbound.server.port"].before, diff["inbound.server.port"].after) == ("995", "110")
    secret = diff["inbound.server.password"]
    assert secret.secret and (secret.before, secret.after) == ("set", "changed")
    assert "another-one" not in repr(store.diff("smithlaw"))


def test_invalid_settings_are_kept_too(tmp_path):
    """Settings that do not even parse are kept as typed (nothing is lost)."""
    store = DraftStore(tmp_path)
    broken = {"org_key": "Smith Law!", "inbound": {"address": "not an address"}}
    draft = store.save_draft(broken, now=NOW)
    assert draft.org_key == "smith-law"
    assert store.draft("Smith Law!").plain() == broken


def test_diff_shows_unchanged_secret_as_nothing():
    """Equal secrets do not appear in the diff; a removed secret shows as unset."""
    same = diff_settings(SETTINGS, SETTINGS)
    assert same == ()
    removed = json.loads(json.dumps(SETTINGS))
    del removed["inbound"]["server"]["password"]
    (change,) = diff_settings(SETTINGS, removed)
    assert (change.path, change.before, change.after) == ("inbound.server.password", "set", "unset")


def test_record_without_draft_is_a_clear_error(tmp_path):
    """Recording a result with no draft says save_draft must come first."""
    with pytest.raises(StoreError, match="save_draft"):
        DraftStore(tmp_path).record_result("nobody", _report(True), now=NOW)


def _shared_folder(tmp_path, kind):
    """A drafts folder someone else could control, made the way ``kind`` names."""
    if kind == "symlink":
        real = tmp_path / "real"
        real.mkdir(mode=0o700)
        link = tmp_path / "drafts"
        link.symlink_to(real)
        return link
    folder = tmp_path / "drafts"
    folder.mkdir()
    if kind == "world-writable":
        folder.chmod(0o777)
    elif kind == "group-writable":
        folder.chmod(0o770)
    elif kind == "other-owner":
        if os.geteuid() != 0:
            pytest.skip("chowning a folder to another user needs root")
        os.chown(folder, pwd.getpwnam("nobody").pw_uid, -1)
    return folder


@pytest.mark.parametrize("kind", ["symlink", "world-writable", "group-writable", "other-owner"])
def test_a_folder_others_control_is_refused_before_the_password_is_written(tmp_path, kind):
    """A symlinked, group/other-writable or foreign-owned --draft-dir is a ConfigError and gets no file."""
    folder = _shared_folder(tmp_path, kind)
    with pytest.raises(ConfigError, match="draft-dir") as err:
        DraftStore(folder).save_draft(SETTINGS, now=NOW)
    assert str(folder) in str(err.value)
    assert PASSWORD not in str(err.value)
    assert not list(folder.resolve().iterdir())
    with pytest.raises(ConfigError):
        DraftStore(folder).draft("smithlaw")  # planted settings are not read either


def test_a_missing_folder_is_made_private(tmp_path):
    """A --draft-dir that does not exist yet is created mode 0700."""
    root = tmp_path / "new" / "drafts"
    DraftStore(root).save_draft(SETTINGS, now=NOW)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_a_planted_tenant_folder_link_is_refused(tmp_path):
    """A tenant folder that is a symbolic link to elsewhere is refused, not written through."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "drafts"
    root.mkdir(mode=0o700)
    (root / "smithlaw").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="symbolic link"):
        DraftStore(root).save_draft(SETTINGS, now=NOW)
    assert not list(elsewhere.iterdir())


def test_a_planted_file_link_is_replaced_not_followed(tmp_path):
    """A secrets file planted as a symlink is replaced by a private file; its target is untouched."""
    root = tmp_path / "drafts"
    (root / "smithlaw").mkdir(parents=True, mode=0o700)
    target = tmp_path / "readable-by-all.json"
    target.write_text("{}")
    (root / "smithlaw" / "draft.secrets.json").symlink_to(target)
    DraftStore(root).save_draft(SETTINGS, now=NOW)
    assert target.read_text() == "{}"
    kept = root / "smithlaw" / "draft.secrets.json"
    assert not kept.is_symlink() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert DraftStore(root).draft("smithlaw").plain() == SETTINGS


def test_a_linked_draft_file_is_not_read(tmp_path):
    """Reading never follows a symlinked draft file: a clear StoreError says to remove it."""
    root = tmp_path / "drafts"
    DraftStore(root).save_draft(SETTINGS, now=NOW)
    draft = root / "smithlaw" / "draft.json"
    planted = tmp_path / "planted.json"
    planted.write_text(draft.read_text())
    draft.unlink()
    draft.symlink_to(planted)
    with pytest.raises(StoreError, match="remove it"):
        DraftStore(root).draft("smithlaw")
