"""The optional Dask engine: tenant shards on a ``dask.distributed`` cluster.

For a fleet that outgrows one machine. The tenant file paths are cut into shards; each
shard runs the ordinary local runner (:func:`~mailsupport.audit.runner.audit_stream`, its
own asyncio loop and DNS cache) on a worker, and the driver writes each shard's results as
it completes, exactly as the local engine does — so the findings are the same.

Tenant files must be readable at the same paths on the workers (a shared file system, or
one machine), and ``*_env`` secret references resolve from each worker's environment: the
driver's environment is never sent to the cluster. Without ``scheduler`` a ``LocalCluster`` of processes is started and closed.
Needs the ``dask`` extra (``pip install mailsupport[dask]``); importing this module does not
import dask until :func:`run_audit_dask` runs.

Layer 4 (use case); must not import presentation code.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import replace

from .result import TenantResult
from .runner import AuditOptions, AuditSummary, audit_stream, iter_paths

__all__ = ["run_shard", "run_audit_dask", "DEFAULT_SHARD"]

#: Tenants per shard: big enough to share each worker's DNS cache, small enough to balance.
DEFAULT_SHARD = 250


def run_shard(paths: list[str], options: AuditOptions, worker_environ: bool = True) -> list[str]:
    """Audit one shard on a worker; returns each result as a JSON line (plain, picklable).

    With ``worker_environ``, ``*_env`` secret references resolve from the worker's own
    environment (the driver never ships its environment over the network).
    """
    if worker_environ:
        options = replace(options, environ=dict(os.environ))

    async def main() -> list[str]:
        return [r.to_json() async for r in audit_stream(paths, options)]

    return asyncio.run(main())


def run_audit_dask(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions,
    *,
    scheduler: str | None = None,
    state=None,
    skip: Iterable[str] = (),
    on_result: Callable[[TenantResult], None] | None = None,
    shard_size: int = DEFAULT_SHARD,
    n_workers: int = 2,
) -> AuditSummary:
    """Like :func:`~mailsupport.audit.runner.run_audit`, with shards run on Dask workers."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError("the dask engine needs dask.distributed: pip install 'mailsupport[dask]'") from exc

    skip_set = {os.path.abspath(s) for s in skip}
    todo = [os.path.abspath(p) for p in iter_paths(paths) if os.path.abspath(p) not in skip_set]
    shards = [todo[i : i + shard_size] for i in range(0, len(todo), shard_size)]
    summary = AuditSummary()
    # never ship the driver's environment (it may hold secrets) to the workers: each worker
    # resolves *_env secret references from its own environment (LocalCluster workers inherit ours)
    opts = replace(options, environ=None)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        )
    try:
        with Client(scheduler or cluster) as client:
            futures = [client.submit(run_shard, shard, opts, pure=False) for shard in shards]
            for future in as_completed(futures):
                for line in future.result():
                    r = TenantResult.from_json(line)
                    if state is not None:
                        state.write(line + "\n")
                        state.flush()
                    summary.add(r)
                    if on_result is not None:
                        on_result(r)
                future.release()
    finally:
        if cluster is not None:
            cluster.close()
    summary.skipped = len(skip_set)
    return summary
