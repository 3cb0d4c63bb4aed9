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


@pytest.mark.timeout(180)
def test_cli_engine_dask_with_a_scheduler_address_writes_the_same_report(fleet, tmp_path, capsys):
    """``--engine dask --scheduler ADDRESS`` on a running cluster gives the local engine's CSV rows."""
    from distributed import LocalCluster

    from mailsupport.cli import main

    args = ["audit", str(fleet.tenants_dir), "--checks", "config,spf,mx", "--format", "csv", "--fail-on", "never"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        assert (
            main([*args, "--out", str(tmp_path / "dask"), "--engine", "dask", "--scheduler", cluster.scheduler_address])
            == 0
        )

    def rows(name):
        return sorted((tmp_path / name / "findings.csv").read_text().splitlines())

    assert rows("dask") == rows("local") and len(rows("local")) > 40
