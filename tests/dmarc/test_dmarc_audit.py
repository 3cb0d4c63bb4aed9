"""``audit --checks spf,dmarc``: the DMARC kind over a generated fleet and the sample tenants."""

from __future__ import annotations

import collections

from dmarc_suite import REPO

from mailsupport.audit.generate import generate_fleet
from mailsupport.audit.runner import AuditOptions, audit_paths
from mailsupport.dmarc import DMARC_CHECKS


def test_fleet_audit_reports_every_dmarc_shape(tmp_path):
    """Over 300 generated tenants the DMARC kind reports each generated problem; nothing fails to run."""
    fleet = generate_fleet(tmp_path, 300, chunk=300)
    results = audit_paths([fleet.tenants_dir], AuditOptions(checks=("spf", "dmarc"), concurrency=8))
    ids = collections.Counter(f.check for r in results for f in r.findings)
    assert not {k for k in ids if k.startswith("audit.")}
    assert set(DMARC_CHECKS) - set(ids) == {"dmarc.dns-temporary-failure"}
    assert all(r.checks == ("spf", "dmarc") for r in results)


def test_sample_tenant_on_the_relay_is_clean_and_broken_one_is_not(tmp_path):
    """The sample tenant sending through the relay passes; pointed at the would-fail zone it errs."""
    source = REPO / "data/samples/tenants/smithlaw-postfix.toml"
    zones = REPO / "data/samples/zones"
    text = source.read_text().replace('"../zones/', f'"{zones}/') + '\n[sending]\npath = "vendor"\n'
    (tmp_path / "good.toml").write_text(text)
    broken = text.replace("smithlaw.example.zone", "dmarc-would-fail.example.zone").replace(
        'domains = ["smithlaw.example"]', 'domains = ["dmarc-would-fail.example"]'
    )
    (tmp_path / "bad.toml").write_text(broken)
    results = {r.source.rpartition("/")[2]: r for r in audit_paths([tmp_path], AuditOptions(checks=("dmarc",)))}
    assert [f.check for f in results["good.toml"].findings] == []
    assert "dmarc.would-fail" in {f.check for f in results["bad.toml"].findings}
