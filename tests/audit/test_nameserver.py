"""The audit asking a real DNS server over UDP (the sandbox's) finds what the zone files say."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.audit.runner import AuditOptions, audit_paths

REPO = Path(__file__).resolve().parents[2]
TENANTS = REPO / "data" / "samples" / "tenants"
# tenants whose zone sets do not overlap in names (the sandbox merges every zone into one server)
PICK = [
    "harbourlaw",
    "brownco",
    "chenpartners",
    "pateldavies",
    "nguyenlegal",
    "walkerking",
    "greenbaker",
    "adamshill",
    "younghall",
    "allenlaw",
    "morrisfamily",
]


@pytest.mark.timeout(120)
def test_same_findings_over_udp_from_the_sandbox_dns_as_from_zone_files():
    """SPF and MX findings (ids, severities, subjects, lookup counts) through the sandbox DNS
    server over UDP equal the offline zone-file answers, SERVFAIL fault included (allenlaw)."""
    from mailsupport.sandbox import Sandbox

    paths = [TENANTS / f"{name}.toml" for name in PICK]
    offline = audit_paths(paths, AuditOptions(checks=("spf", "mx")))
    with Sandbox(paths) as sb:
        online = audit_paths(paths, AuditOptions(checks=("spf", "mx"), nameserver=sb.dns.address, timeout=2.0))

    def seen(results):  # the texts name the DNS source, so compare what was found, not the wording
        return [(r.tenant, [(f.check, f.severity, f.subject) for f in r.findings], r.spf_lookups) for r in results]

    assert seen(online) == seen(offline)
    assert any(f.check == "spf.dns-temporary-failure" for r in online for f in r.findings)
