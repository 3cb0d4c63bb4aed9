"""``--connect``: the audit runs the connection doctor against the real sandbox servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailsupport.audit.runner import AuditOptions, audit_paths
from mailsupport.config import tenant_to_dict

REPO = Path(__file__).resolve().parents[2]
SMITH = REPO / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"


def _write(tenant, path: Path, **inbound_changes) -> Path:
    """The tenant as a JSON tenant file (loads again), with inbound server fields changed."""
    d = tenant_to_dict(tenant, reveal_secrets=True)
    d["inbound"]["server"].update(inbound_changes)
    d.pop("zones", None)
    path.write_text(json.dumps(d))
    return path


@pytest.mark.timeout(120)
def test_connect_reports_ladder_findings_for_the_broken_tenant_only(tmp_path):
    """Correct sandbox settings pass; a wrong password gives a settings.* login finding for that tenant,
    with no password in any finding."""
    from mailsupport.sandbox import Sandbox

    with Sandbox([SMITH], profile="postfix") as sb:
        good = sb.tenant_settings(sb.tenants[0])
        _write(good, tmp_path / "a-good.json")
        _write(good, tmp_path / "b-badpass.json", password="canary-4b1d-wrong-password")
        results = {
            Path(r.source).stem: r
            for r in audit_paths(
                [tmp_path], AuditOptions(checks=("settings",), connect=True, concurrency=2, timeout=10.0)
            )
        }
    good_ids = {f.check for f in results["a-good"].findings}
    bad = [f for f in results["b-badpass"].findings if f.check.startswith("settings.")]
    assert not [i for i in good_ids if i.startswith(("settings.", "audit."))]
    assert bad and all(f.severity >= 30 for f in bad[:1])
    assert "pop3" in bad[0].subject
    dumped = json.dumps([r.to_dict() for r in results.values()])
    assert "canary-4b1d" not in dumped


@pytest.mark.timeout(60)
def test_a_tenant_over_its_time_budget_becomes_check_failed(tmp_path):
    """A server that never greets holds the doctor; past tenant_timeout the tenant gets
    ``audit.check-failed`` (the time budget named) and the run ends normally."""
    from mailsupport.sandbox import Action, Fault, Sandbox, Stage

    stall = Fault(stage=Stage.GREETING, action=Action.STALL, service="pop3")
    with Sandbox([SMITH], profile="postfix", faults=[stall]) as sb:
        _write(sb.tenant_settings(sb.tenants[0]), tmp_path / "stalled.json")
        [result] = audit_paths(
            [tmp_path], AuditOptions(checks=("settings",), connect=True, timeout=3.0, tenant_timeout=0.5)
        )
    [f] = [f for f in result.findings if f.check == "audit.check-failed"]
    assert "longer than 0.5 s" in f.summary
