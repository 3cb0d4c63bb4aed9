"""The audit runner over a generated fleet: findings per tenant, streaming state, resume, failures."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from mailsupport.audit import checks
from mailsupport.audit.result import TenantResult
from mailsupport.audit.runner import AuditOptions, audit_paths, iter_results, parse_checks, read_state, run_audit
from mailsupport.model import Severity

OFFLINE = AuditOptions(checks=("config", "mx"), concurrency=8)


def _by_tenant(results):
    return {r.tenant: r for r in results}


def test_every_tenant_gets_a_result_with_preflight_findings(fleet):
    """Each of the 40 tenants has one result; pre-flight problems of the generated quirks show up."""
    results = audit_paths([fleet.tenants_dir], OFFLINE)
    assert len(results) == 40 and len({r.source for r in results}) == 40
    ids = {f.check for r in results for f in r.findings}
    assert {"settings.alias-is-mailbox", "settings.failed-address-loop"} & ids
    assert all(r.checks == ("config", "mx") for r in results)


def test_office365_mx_prerequisite_only_for_office365_tenants(tmp_path):
    """The MX-to-Exchange-Online finding appears, and only for Office 365 tenants."""
    from mailsupport.audit.generate import generate_fleet

    fleet = generate_fleet(tmp_path, 60, seed=3)
    results = audit_paths([fleet.tenants_dir], AuditOptions(checks=("mx",)))
    flagged = [r for r in results if any(f.check == "settings.o365-mx-not-protection-outlook" for f in r.findings)]
    assert flagged and all(r.provider == "office365" for r in flagged)
    o365 = [r for r in results if r.provider == "office365"]
    assert len(flagged) < len(o365)  # most point to *.mail.protection.outlook.com


def test_state_is_streamed_one_line_per_tenant_and_resume_skips_them(fleet, tmp_path):
    """Each finished tenant is one flushed JSON line; resuming skips every tenant already written."""
    state_path = tmp_path / "state.jsonl"
    with state_path.open("w") as fp:
        first = run_audit([fleet.tenants_dir], OFFLINE, state=fp)
    lines = state_path.read_text().splitlines()
    assert first.tenants == 40 and len(lines) == 40
    done = read_state(state_path)
    assert len(done) == 40
    with state_path.open("a") as fp:
        second = run_audit([fleet.tenants_dir], OFFLINE, state=fp, skip=done)
    assert second.tenants == 0 and second.skipped == 40
    assert len(state_path.read_text().splitlines()) == 40


def test_a_torn_last_line_is_cut_and_that_tenant_audited_again(fleet, tmp_path):
    """A crash mid-write leaves half a line: read_state drops it, so resume redoes that tenant only."""
    state_path = tmp_path / "state.jsonl"
    with state_path.open("w") as fp:
        run_audit([fleet.tenants_dir], OFFLINE, state=fp)
    lines = state_path.read_text().splitlines(keepends=True)
    state_path.write_text("".join(lines[:30]) + lines[30][:25])
    done = read_state(state_path)
    assert len(done) == 30 and state_path.read_text() == "".join(lines[:30])
    with state_path.open("a") as fp:
        again = run_audit([fleet.tenants_dir], OFFLINE, state=fp, skip=done)
    assert again.tenants == 10
    assert sorted(r.source for r in iter_results(state_path)) == sorted(json.loads(x)["source"] for x in lines)


def test_a_broken_tenant_file_is_a_finding_and_the_run_goes_on(fleet, tmp_path):
    """An unreadable tenant file becomes ``audit.tenant-invalid`` naming the field; others still run."""
    folder = tmp_path / "t"
    shutil.copytree(fleet.tenants_dir, folder)
    (folder / "zz-broken.toml").write_text('org_key = "Bad Key!"\n')
    (folder / "zz-garbage.toml").write_text("this is = = not toml\n")
    results = _by_tenant(audit_paths([folder], OFFLINE))
    assert len(results) == 42
    bad = results["zz-broken"].findings[0]
    assert bad.check == "audit.tenant-invalid" and bad.severity is Severity.ERROR
    assert "org_key" in bad.remedy
    assert results["zz-garbage"].findings[0].check == "audit.tenant-invalid"


def test_check_failed_finding_scrubs_secrets():
    """An exception that quotes a password becomes ``audit.check-failed`` with the value replaced."""
    f = checks.failed(
        "settings", "smithlaw", RuntimeError("login as bob with canary-4b1d-x failed"), ("canary-4b1d-x",)
    )
    assert f.check == "audit.check-failed" and "canary" not in f.summary and "***" in f.summary


def test_a_missing_check_function_means_unavailable_not_a_crash():
    """An adapter whose target function is absent raises ImportError (reported as unavailable)."""
    with pytest.raises(ImportError, match="does not exist"):
        checks._load("mailsupport.doctor.mx", "no_such_check")
    f = checks.unavailable("spf", "x", "why")
    assert f.check == "audit.check-unavailable" and f.severity is Severity.INFO


def test_settings_without_connect_is_skipped_with_a_note(fleet):
    """``settings`` without --connect records ``audit.check-skipped`` and connects nowhere."""
    r = audit_paths([fleet.tenants_dir], AuditOptions(checks=("settings",)))[0]
    assert [f.check for f in r.findings] == ["audit.check-skipped"]


def test_no_output_carries_a_password(fleet, tmp_path):
    """Generated passwords (canary-4b1d-gen-N) appear in no state line and no report format."""
    from mailsupport import report

    state = io.StringIO()
    run_audit([fleet.tenants_dir], AuditOptions(checks=("config", "mx", "settings")), state=state)
    results = [TenantResult.from_json(x) for x in state.getvalue().splitlines()]
    outputs = [
        state.getvalue(),
        report.format_csv(results),
        report.format_jsonl(results),
        report.format_text(results),
        report.render_html(results),
    ]
    assert all("canary-4b1d" not in o for o in outputs)
    assert all("canary-4b1d-gen-" in p.read_text() for p in fleet.tenants_dir.iterdir())  # really there


@pytest.mark.parametrize("text,expected", [("spf,config", ("config", "spf")), ("MX", ("mx",))])
def test_parse_checks_orders_and_normalises(text, expected):
    """Check kinds are case-insensitive and come back in canonical order."""
    assert parse_checks(text) == expected


def test_parse_checks_rejects_unknown_kinds():
    """An unknown kind names the valid ones."""
    with pytest.raises(ValueError, match="choose from config, spf, dmarc, mx, settings, samples"):
        parse_checks("spf,dkim")


def test_a_failing_check_is_a_finding_and_the_tenant_and_run_go_on(fleet, tmp_path):
    """A missing zone file fails spf and mx, a missing sample fails samples: each becomes
    ``audit.check-failed`` naming the cause, the config check still reports, other tenants are clean."""
    src = sorted(fleet.tenants_dir.iterdir())[0]
    text = src.read_text().replace("zones = [", 'sample = "no-such-sample.mbox"\nzones = ["missing.zone", ', 1)
    broken = fleet.tenants_dir.parent / "extra" / "zz-missing-zone.toml"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text(text)
    results = audit_paths(
        [broken, *sorted(fleet.tenants_dir.iterdir())[:3]], AuditOptions(checks=("config", "spf", "mx", "samples"))
    )
    bad = next(r for r in results if r.source == str(broken))
    failed = {f.evidence[0][1]: f for f in bad.findings if f.check == "audit.check-failed"}
    assert set(failed) == {"spf", "mx", "samples"}
    assert "missing.zone" in failed["spf"].summary and "no-such-sample" in failed["samples"].summary
    assert all(f.severity is Severity.ERROR for f in failed.values())
    others = [r for r in results if r is not bad]
    assert len(others) == 3 and not any(f.check.startswith("audit.") for r in others for f in r.findings)


def test_audit_check_ids_are_documented():
    """Every audit.* id the runner can emit is in AUDIT_CHECKS (the docs table is built from it)."""
    import re

    from mailsupport.audit import AUDIT_CHECKS

    src = "".join((Path(checks.__file__).parent / n).read_text() for n in ("checks.py", "runner.py"))
    emitted = set(re.findall(r'"(audit\.[a-z-]+)"', src))
    assert emitted == set(AUDIT_CHECKS)


def test_env_secret_references_resolve_from_the_given_environment(tmp_path):
    """``password_env`` resolves from AuditOptions.environ; unset, the tenant is invalid and says which variable."""
    text = (Path(__file__).resolve().parents[2] / "data/samples/tenants/kellyco.toml").read_text()
    (tmp_path / "t.toml").write_text(
        text.replace('password = "canary-4b1d-kellyco-pop"', 'password_env = "AUDIT_TEST_POP_PASSWORD"')
    )
    ok = audit_paths(
        [tmp_path], AuditOptions(checks=("config",), environ={"AUDIT_TEST_POP_PASSWORD": "canary-4b1d-env"})
    )[0]
    assert "audit.tenant-invalid" not in {f.check for f in ok.findings}
    bad = audit_paths([tmp_path], AuditOptions(checks=("config",)))[0]
    assert bad.findings[0].check == "audit.tenant-invalid"
    assert "AUDIT_TEST_POP_PASSWORD" in bad.findings[0].summary
    assert "canary-4b1d" not in ok.to_json() + bad.to_json()
