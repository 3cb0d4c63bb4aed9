"""The audit in worker processes (``jobs``): the same results as one process, streamed, resumable,
and a worker that dies costs only the tenants of its shards."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

from mailsupport.audit.generate import generate_fleet
from mailsupport.audit.runner import AuditOptions, read_state, run_audit
from mailsupport.audit.workers import SHARD

CHECKS = ("config", "spf", "dmarc", "mx")  # answered offline from each tenant's zone files


@pytest.fixture(scope="module")
def big_fleet(tmp_path_factory):
    """Enough tenants for several shards (the 40-tenant fleet stays in one process); three zone sets."""
    return generate_fleet(tmp_path_factory.mktemp("bigfleet"), 5 * SHARD - 40, seed=11, chunk=200)


def _run(paths, tmp_path, name, **kw):
    """Audit into a state file; also note, for each result, whether worker processes were alive."""
    seen_workers = []
    path = tmp_path / f"{name}.jsonl"
    skip = kw.pop("skip", ())
    with path.open("w") as fp:
        summary = run_audit(
            paths,
            AuditOptions(checks=CHECKS, concurrency=8, **kw),
            state=fp,
            skip=skip,
            on_result=lambda r: seen_workers.append(bool(multiprocessing.active_children())),
        )
    return summary, path.read_text().splitlines(), seen_workers


def test_workers_give_the_same_results_as_one_process(big_fleet, tmp_path):
    one, one_lines, one_workers = _run([big_fleet.tenants_dir], tmp_path, "one", jobs=1)
    two, two_lines, two_workers = _run([big_fleet.tenants_dir], tmp_path, "two", jobs=2)
    n = len(big_fleet.domains)
    assert one.tenants == two.tenants == n == len(one_lines) == len(two_lines)
    assert sorted(one_lines) == sorted(two_lines)  # every finding, fix and count the same
    assert (one.findings, one.by_severity, one.worst) == (two.findings, two.by_severity, two.worst)
    assert one.findings > n  # the fleet's quirks are found
    assert not any(one_workers) and all(two_workers)  # the second run's work was done in workers
    assert not multiprocessing.active_children()  # the pool is gone when the run returns


def test_a_small_run_stays_in_this_process(fleet, tmp_path):
    summary, lines, workers = _run([fleet.tenants_dir], tmp_path, "small", jobs=4)
    assert summary.tenants == len(lines) == 40 < SHARD
    assert not any(workers)


def test_resume_with_workers_audits_only_the_tenants_not_written(big_fleet, tmp_path):
    _, first_lines, _ = _run([big_fleet.tenants_dir], tmp_path, "first", jobs=2)
    kept = first_lines[: 2 * SHARD]  # a run that stopped after two shards
    state = tmp_path / "resumed.jsonl"
    state.write_text("".join(line + "\n" for line in kept))
    done = read_state(state)
    summary, lines, _ = _run([big_fleet.tenants_dir], tmp_path, "rest", jobs=2, skip=done)
    assert summary.skipped == len(done) == 2 * SHARD
    assert summary.tenants == len(lines) == len(big_fleet.domains) - len(done)
    sources = {json.loads(line)["source"] for line in lines}
    assert not sources & done
    assert sorted(kept + lines) == sorted(first_lines)


def test_a_worker_that_dies_costs_only_its_shards_and_the_run_goes_on(big_fleet, tmp_path):
    killed = []

    def kill_a_worker(_result):
        if not killed:  # the first result arrives while the pool's workers hold the next shards
            child = multiprocessing.active_children()[0]  # a process this run started, by its pid
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            killed.append(child.pid)

    path = tmp_path / "killed.jsonl"
    with path.open("w") as fp:
        summary = run_audit(
            [big_fleet.tenants_dir],
            AuditOptions(checks=CHECKS, concurrency=8, jobs=2),
            state=fp,
            on_result=kill_a_worker,
        )
    results = [json.loads(line) for line in path.read_text().splitlines()]
    n = len(big_fleet.domains)
    assert killed and summary.tenants == len(results) == n
    assert len({r["source"] for r in results}) == n  # every tenant once: none lost, none twice
    lost = [r for r in results if any("worker process" in f["summary"] for f in r["findings"])]
    assert lost and len(lost) % SHARD in (0, n % SHARD) and len(lost) <= 4 * SHARD
    for r in lost:
        (f,) = r["findings"]
        assert f["check"] == "audit.check-failed" and f["severity"] == "error"
        assert "--jobs 1" in f["summary"]
    # the others were audited in full, by the workers or, after the death, in this process
    assert all("config" in r["checks"] for r in results if r not in lost)
    assert not multiprocessing.active_children()


def test_cli_jobs_writes_the_same_report_as_one_process(big_fleet, cli):
    reports = {}
    for jobs in ("1", "2"):
        code, out, err = cli(
            "audit", str(big_fleet.tenants_dir), "--checks", "config,spf,mx", "--jobs", jobs, "--format", "csv"
        )
        assert code == 1 and not err
        reports[jobs] = out
    assert reports["1"] == reports["2"] and reports["1"].count("\n") > len(big_fleet.domains)


def test_cli_jobs_below_one_is_a_usage_error(fleet, cli):
    code, out, err = cli("audit", str(fleet.tenants_dir), "--jobs", "0")
    assert code == 2 and "--jobs must be at least 1" in err and not out
