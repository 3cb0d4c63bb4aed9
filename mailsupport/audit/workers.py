"""Tenant shards audited by forked worker processes: the local runner on every core (``jobs``).

With ``AuditOptions(jobs=N)`` above 1, :func:`~mailsupport.audit.runner.run_audit` hands the
tenant files, in shards of :data:`SHARD`, to ``N`` worker processes forked from this one
(:func:`mailsupport.forkpool.fork_pool`, as the sample scan does). Each worker runs the ordinary runner
(:func:`~mailsupport.audit.runner.audit_files`) on one asyncio loop and one
:class:`~mailsupport.audit.dns.DnsSource` it keeps for its life, so its answer cache serves every
shard it audits. The run's ``concurrency`` is shared out among the workers: no more tenants (and
so DNS questions) are in flight than with one process.

A worker returns its shard's results as JSON lines (the state file's form) with their counts;
this process writes the lines and flushes after each shard, so a crash loses at most the
shards in flight and ``--resume`` redoes only those. At most two shards a worker are queued, so
memory does not grow with the fleet. The results are the same as with one process (a test
compares the state files); in the state file they are in completion order either way (the
reports sort them).

The run stays in one process when fewer than :data:`SHARD` tenants are to be audited (starting
workers would cost more than they save), where ``fork`` does not exist, and when called from a
running event loop (a Jupyter kernel runs threads, and forking a threaded process is unsafe).
When a worker dies (killed, out of memory), each tenant of the shards in flight gets an
``audit.check-failed`` finding saying so, and the rest of the run goes on in this process.

Layer 4 (use case); must not import presentation code.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from ..forkpool import fork_pool
from .dns import DnsSource
from .result import TenantResult
from .runner import AuditOptions, AuditSummary, audit_files, failed_tenant

__all__ = ["SHARD", "audit_in_workers"]

#: Tenant files a worker audits per task: enough to keep its concurrency busy, few enough that
#: the last shards end close together and a crash loses little.
SHARD = 128

#: The worker process's own state (its options, loop and DNS source), set when it starts.
_WORKER: dict[str, Any] = {}


def _start_worker(options: AuditOptions) -> None:
    """In a new worker (after :func:`~mailsupport.forkpool.fork_pool`'s own start): the options,
    loop and DNS source every shard of this worker uses."""
    _WORKER["options"] = options
    _WORKER["loop"] = asyncio.new_event_loop()
    _WORKER["dns"] = DnsSource(nameserver=options.nameserver, zones=options.zones, timeout=options.timeout)


def _audit_shard(paths: list[Path]) -> tuple[list[str], AuditSummary]:
    """Audit one shard in a worker: its results as JSON lines, and their counts."""
    options: AuditOptions = _WORKER["options"]
    lines: list[str] = []
    summary = AuditSummary()

    async def main() -> None:
        async for r in audit_files(paths, options, dns=_WORKER["dns"]):
            lines.append(r.to_json())
            summary.add(r)

    _WORKER["loop"].run_until_complete(main())
    return lines, summary


def _lost(shard: list[Path], exc: BaseException) -> tuple[list[str], AuditSummary]:
    """The results of a shard whose worker died: each tenant's ``audit.check-failed`` finding."""
    reason = RuntimeError(
        f"the worker process auditing this tenant's shard ended ({type(exc).__name__}: {exc}); "
        "audit it again, with --jobs 1 (jobs=1) if it happens again"
    )
    summary = AuditSummary()
    lines = []
    for path in shard:
        r = failed_tenant(path, "audit", reason)
        lines.append(r.to_json())
        summary.add(r)
    return lines, summary


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def audit_in_workers(
    todo: Iterator[Path],
    options: AuditOptions,
    *,
    state: IO[str] | None,
    summary: AuditSummary,
    on_result: Callable[[TenantResult], None] | None,
) -> Iterator[Path]:
    """Audit the tenant files ``todo`` in ``options.jobs`` worker processes, writing each shard's
    lines to ``state`` and counting them into ``summary``; ``on_result`` sees each result.

    Returns the tenant files left for this process to audit: all of them when the run stays in
    one process (see the module docstring), the ones not yet handed out after a worker died,
    else none.
    """
    first = list(islice(todo, SHARD))
    jobs = options.jobs
    per_worker = replace(options, jobs=1, concurrency=max(1, math.ceil(options.concurrency / jobs)))
    pool = fork_pool(jobs, _start_worker, (per_worker,)) if len(first) == SHARD and not _in_running_loop() else None
    if pool is None:
        return chain(first, todo)
    from concurrent.futures.process import BrokenProcessPool

    shards = chain([first], iter(lambda: list(islice(todo, SHARD)), []))
    pending: deque[tuple[list[Path], Any]] = deque()
    broken = False
    try:
        while True:
            while not broken and len(pending) < 2 * jobs:  # every worker busy, its next shard queued
                shard = next(shards, None)
                if shard is None:
                    break
                try:
                    pending.append((shard, pool.submit(_audit_shard, shard)))
                except BrokenProcessPool:
                    shards = chain([shard], shards)
                    broken = True
            if not pending:
                break
            shard, future = pending.popleft()
            try:
                lines, part = future.result()
            except Exception as exc:  # the worker died (BrokenProcessPool) or could not send its result
                broken = broken or isinstance(exc, BrokenProcessPool)
                lines, part = _lost(shard, exc)
            if state is not None:
                state.write("".join(line + "\n" for line in lines))
                state.flush()
            summary.merge(part)
            if on_result is not None:
                for line in lines:
                    on_result(TenantResult.from_json(line))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return chain.from_iterable(shards)
