"""The Dask engine gives the same findings as the local engine on the same tenants."""

from __future__ import annotations

import io

import pytest

from mailsupport.audit.result import TenantResult
from mailsupport.audit.runner import AuditOptions, audit_paths

pytest.importorskip("distributed")


@pytest.mark.timeout(180)
def test_dask_local_cluster_matches_the_local_engine(fleet):
    """Shards run on a LocalCluster: every tenant once, each with exactly the local engine's result."""
    from mailsupport.audit.dask_engine import run_audit_dask

    options = AuditOptions(checks=("config", "spf", "mx"), concurrency=4)
    local = audit_paths([fleet.tenants_dir], options)
    state = io.StringIO()
    summary = run_audit_dask([fleet.tenants_dir], options, state=state, shard_size=15, n_workers=2)
    remote = sorted((TenantResult.from_json(x) for x in state.getvalue().splitlines()), key=lambda r: r.source)
    assert summary.tenants == 40 == len(remote)
    assert remote == local
