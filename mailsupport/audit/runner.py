"""The audit runner: every check kind over many tenants, concurrently, streaming, resumable.

- Tenants are read one file at a time as a worker becomes free (``concurrency`` workers on
  one asyncio loop), so memory does not grow with the number of tenants.
- One DNS lookup (one answer cache) serves the whole run: every tenant's SPF includes and MX
  questions share it (``mailsupport.dnslookup``; see :class:`DnsSource`).
- Each tenant's :class:`~mailsupport.audit.result.TenantResult` is handed on the moment it
  finishes; :func:`run_audit` appends it as one JSON line to the state file and flushes, so
  a crash loses at most the tenants in flight and ``resume=True`` skips the ones written.
- A failing check becomes an ``audit.check-failed`` finding; a broken tenant file an
  ``audit.tenant-invalid`` one; nothing stops the run.
- ``jobs`` above 1 runs this same runner in that many forked worker processes, a shard of
  tenant files at a time (:mod:`mailsupport.audit.workers`).

Layer 4 (use case): no sockets of its own (DNS and connections go through the checks'
clients); must not import presentation code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..config import load_tenant
from ..errors import ConfigError
from ..fixes import FixStep
from ..model import Finding, Severity
from ..tenant import Tenant
from .checks import ADAPTERS, CHECK_KINDS, DEFAULT_CHECKS, CheckContext, failed, skipped, unavailable
from .dns import DnsSource
from .result import TenantResult

__all__ = [
    "AuditOptions",
    "AuditSummary",
    "iter_paths",
    "audit_tenant",
    "audit_loaded",
    "audit_one",
    "audit_stream",
    "audit_files",
    "failed_tenant",
    "run_audit",
    "audit_paths",
    "read_state",
    "iter_results",
    "parse_checks",
]


def parse_checks(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"config,spf"`` → ``("config", "spf")`` in canonical order; unknown kinds raise ValueError."""
    items = [c.strip().lower() for c in (text.split(",") if isinstance(text, str) else text) if c.strip()]
    unknown = [c for c in items if c not in CHECK_KINDS]
    if unknown or not items:
        raise ValueError(
            f"unknown check kind(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(CHECK_KINDS)}"
        )
    return tuple(k for k in CHECK_KINDS if k in items)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditOptions:
    """How to audit: which check kinds, whether to connect, how many tenants at once, which DNS.

    ``nameserver`` (``(host, port)``) sends every DNS question to one server (the sandbox's,
    or a local authoritative one); else ``zones`` (files) answer offline; else each tenant's
    own ``zones``; else the system's resolver. ``environ`` resolves ``*_env`` secrets.
    ``tenant_timeout`` bounds one tenant's checks (then ``audit.check-failed``). ``traces``
    keeps each check's technical detail in the results (for fix reports; off for plain audits).
    ``jobs`` above 1 audits in that many worker processes (:mod:`mailsupport.audit.workers`;
    ``concurrency`` is then shared out among them).
    """

    checks: tuple[str, ...] = DEFAULT_CHECKS
    connect: bool = False
    concurrency: int = 32
    nameserver: tuple[str, int] | None = None
    zones: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = field(default=None, compare=False)
    timeout: float = 30.0
    tenant_timeout: float = 300.0
    traces: bool = False
    jobs: int = 1


@dataclass(slots=True)
class AuditSummary:
    """Counts of a finished run (the results themselves were streamed out, not kept)."""

    tenants: int = 0
    skipped: int = 0
    findings: int = 0
    worst: Severity | None = None
    by_severity: dict[str, int] = field(default_factory=dict)

    def add(self, r: TenantResult) -> None:
        """Count one result."""
        self.tenants += 1
        self.findings += len(r.findings)
        for f in r.findings:
            self.by_severity[str(f.severity)] = self.by_severity.get(str(f.severity), 0) + 1
        w = r.worst
        if w is not None and (self.worst is None or w > self.worst):
            self.worst = w

    def merge(self, other: AuditSummary) -> None:
        """Add the counts of another part of the run (a worker's shard)."""
        self.tenants += other.tenants
        self.skipped += other.skipped
        self.findings += other.findings
        for severity, n in other.by_severity.items():
            self.by_severity[severity] = self.by_severity.get(severity, 0) + n
        if other.worst is not None and (self.worst is None or other.worst > self.worst):
            self.worst = other.worst


def iter_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Tenant files named directly, or found (sorted, recursively) in folders; lazily per folder."""
    for item in paths:
        p = Path(item)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                folder = Path(root)
                for name in sorted(files):
                    if name.lower().endswith((".toml", ".json")):
                        yield folder / name
        else:
            yield p


#: The kinds that ask DNS, and each kind's place in a result's ``checks``.
_DNS_KINDS = frozenset(("spf", "dmarc", "mx"))
_KIND_ORDER = {k: i for i, k in enumerate(CHECK_KINDS)}


def _secrets(tenant: Tenant) -> tuple[str, ...]:
    """The tenant's secret values, scrubbed from a failure's text (worked out only for a failure)."""
    servers = [tenant.outbound.server, tenant.vendor_relay]
    if tenant.inbound is not None:
        servers.append(tenant.inbound.server)
    out = []
    for s in servers:
        if s is None:
            continue
        for secret in (s.password, s.oauth_token):
            if secret:
                out.append(secret.reveal())
    return tuple(out)


async def audit_tenant(path: Path, options: AuditOptions, dns: DnsSource) -> TenantResult:
    """Audit one tenant file: load it, run each check kind, turn every failure into a finding."""
    source = os.path.abspath(path)  # the key --resume matches on, however the path was given
    try:
        tenant = load_tenant(path, environ=options.environ)  # a small file: read inline
    except ConfigError as exc:
        return TenantResult(
            tenant=path.stem,
            source=source,
            checks=("config",),
            findings=(
                Finding(
                    check="audit.tenant-invalid",
                    severity=Severity.ERROR,
                    subject=path.name,
                    summary=f"the tenant file cannot be loaded: {exc.reason}",
                    remedy=f"fix {exc.path or 'the file'} in {path.name} and audit it again",
                    evidence=(("file", source), ("field", exc.path)),
                ),
            ),
        )
    except Exception as exc:  # an unexpected bug in loading must not end the run
        return failed_tenant(path, "config", exc)
    return await audit_loaded(tenant, source, options, dns)


def failed_tenant(path: Path, kind: str, exc: BaseException) -> TenantResult:
    """The result of a tenant file whose ``kind`` of work could not finish (a bug, a worker process
    that died): its one ``audit.check-failed`` finding, so the run goes on and reports it."""
    return TenantResult(tenant=path.stem, source=os.path.abspath(path), findings=(failed(kind, path.name, exc),))


async def audit_loaded(tenant: Tenant, source: str, options: AuditOptions, dns: DnsSource) -> TenantResult:
    """Run each check kind on an already loaded tenant (``source``: its file); failures become findings."""
    findings: list[Finding] = []
    lookups: list[tuple[str, int]] = []
    lookup, lookup_error = None, None
    if not _DNS_KINDS.isdisjoint(options.checks) or (options.connect and "settings" in options.checks):
        try:
            lookup = dns.lookup_for(tenant)
        except Exception as exc:
            lookup_error = exc
    ctx = CheckContext(lookup=lookup, connect=options.connect, timeout=options.timeout, traces=options.traces)
    fixes: list[FixStep] = []
    traces: list[tuple[str, str]] = []
    ran: list[str] = []

    async def one(kind: str) -> None:
        if kind == "settings" and not options.connect:
            findings.append(skipped(kind, tenant.org_key, "the connection test was not asked for in this run"))
            return
        if kind == "samples" and not tenant.sample:
            return
        ran.append(kind)
        if kind in ("spf", "dmarc", "mx") and lookup_error is not None:
            findings.append(
                unavailable(kind, tenant.org_key, str(lookup_error))
                if isinstance(lookup_error, ImportError)
                else failed(kind, tenant.org_key, lookup_error, _secrets(tenant))
            )
            return
        try:
            out = await ADAPTERS[kind](tenant, ctx)
        except ImportError as exc:
            findings.append(unavailable(kind, tenant.org_key, str(exc)))
        except Exception as exc:
            findings.append(failed(kind, tenant.org_key, exc, _secrets(tenant)))
        else:
            findings.extend(out.findings)
            lookups.extend(out.spf_lookups)
            fixes.extend(out.fixes)
            traces.extend(out.traces)

    try:
        # One kind after another: the run's concurrency comes from the tenants in flight, and
        # no extra task per kind is created (asyncio.timeout needs none either).
        async with asyncio.timeout(options.tenant_timeout):
            for kind in options.checks:
                await one(kind)
    except TimeoutError:
        findings.append(
            failed(
                "audit",
                tenant.org_key,
                TimeoutError(f"the checks took longer than {options.tenant_timeout:g} s"),
                _secrets(tenant),
            )
        )
    return TenantResult(
        tenant=tenant.org_key,
        source=source,
        provider=str(tenant.provider),
        checks=tuple(sorted(ran, key=_KIND_ORDER.__getitem__)),
        findings=tuple(sorted(findings, key=lambda f: (f.check, f.subject, f.summary))),
        spf_lookups=tuple(sorted(lookups)),
        fixes=tuple(fixes),
        traces=tuple(traces),
        dns_source=str(getattr(lookup, "source", "") or ""),
    )


def audit_one(
    path: str | os.PathLike[str],
    options: AuditOptions = AuditOptions(),
    *,
    sample: str | os.PathLike[str] | None = None,
) -> TenantResult:
    """Audit one tenant file (for its fix report): ``sample`` replaces the file's own sample path.

    Unlike a batch audit, a tenant file that cannot be loaded raises
    :class:`~mailsupport.errors.ConfigError` (naming the field): there is nothing to report on.
    """
    from dataclasses import replace

    source = os.path.abspath(path)
    tenant = load_tenant(path, environ=options.environ)
    if sample is not None:
        tenant = replace(tenant, sample=os.path.abspath(sample))

    async def main() -> TenantResult:
        dns = DnsSource(nameserver=options.nameserver, zones=options.zones, timeout=options.timeout)
        try:
            return await audit_loaded(tenant, source, options, dns)
        finally:
            await dns.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from a running loop (Jupyter)
        return pool.submit(asyncio.run, main()).result()


async def audit_stream(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions,
    *,
    skip: frozenset[str] | set[str] = frozenset(),
    dns: DnsSource | None = None,
) -> AsyncIterator[TenantResult]:
    """Yield each tenant's result as it finishes (completion order), ``concurrency`` at a time.

    ``paths`` are tenant files or folders of them (:func:`iter_paths`); ``skip`` holds absolute
    tenant file paths (``TenantResult.source``) already done. ``dns`` as :func:`audit_files`.
    """
    it = (p for p in iter_paths(paths) if os.path.abspath(p) not in skip) if skip else iter_paths(paths)
    async for r in audit_files(it, options, dns=dns):
        yield r


async def audit_files(
    files: Iterable[Path], options: AuditOptions, *, dns: DnsSource | None = None
) -> AsyncIterator[TenantResult]:
    """:func:`audit_stream` of tenant files already listed (``files``, taken one at a time).

    A ``dns`` given is the caller's to keep (a worker's, for all its shards); else one is made
    for the run and closed at its end.
    """
    own_dns = dns is None
    dns = dns or DnsSource(nameserver=options.nameserver, zones=options.zones, timeout=options.timeout)
    it = iter(files)
    queue: asyncio.Queue[TenantResult | None] = asyncio.Queue(maxsize=max(options.concurrency, 1) * 2)
    n_workers = max(1, options.concurrency)

    async def worker() -> None:
        try:
            for path in it:  # one shared iterator: each worker takes the next file when free
                try:
                    result = await audit_tenant(path, options, dns)
                except Exception as exc:  # a bug in the audit itself: this tenant fails, not the run
                    result = failed_tenant(path, "audit", exc)
                await queue.put(result)
        finally:
            await queue.put(None)

    tasks = [asyncio.create_task(worker()) for _ in range(n_workers)]
    finished = 0
    try:
        while finished < n_workers:
            item = await queue.get()
            if item is None:
                finished += 1
            else:
                yield item
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if own_dns:
            await dns.aclose()


def read_state(path: str | os.PathLike[str]) -> set[str]:
    """Tenant sources already in a state file; a torn last line (a crash mid-write) is cut off."""
    p = Path(path)
    if not p.exists():
        return set()
    done: set[str] = set()
    good_end = 0
    with p.open("rb") as fp:
        for line in fp:
            if not line.endswith(b"\n"):
                break
            try:
                done.add(TenantResult.from_json(line.decode("utf-8")).source)
            except (ValueError, KeyError, TypeError):
                break
            good_end += len(line)
    if good_end != p.stat().st_size:
        with p.open("r+b") as fp:
            fp.truncate(good_end)
    return done


def iter_results(path: str | os.PathLike[str], *, ordered: bool = False) -> Iterator[TenantResult]:
    """Stream the results in a state file, one line at a time (the report reads this).

    ``ordered`` yields them sorted by tenant and file (a report that is the same run to run,
    so weekly audits diff cleanly): a first pass keeps only each line's sort key and offset,
    then lines are read back one at a time.
    """
    p = Path(path)
    if not ordered:
        with p.open(encoding="utf-8") as fp:
            for line in fp:
                if line.strip():
                    yield TenantResult.from_json(line)
        return
    index: list[tuple[str, str, int]] = []
    with p.open("rb") as fp:
        offset = 0
        for raw in fp:
            if raw.strip():
                d = json.loads(raw)
                index.append((str(d.get("tenant", "")), str(d.get("source", "")), offset))
            offset += len(raw)
    index.sort()
    with p.open("rb") as fp:
        for _tenant, _source, offset in index:
            fp.seek(offset)
            yield TenantResult.from_json(fp.readline().decode("utf-8"))


def run_audit(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions = AuditOptions(),
    *,
    state: IO[str] | None = None,
    skip: Iterable[str] = (),
    on_result: Callable[[TenantResult], None] | None = None,
) -> AuditSummary:
    """Audit tenants, writing each result as a JSON line to ``state`` (flushed) as it finishes.

    Returns counts only; results go to ``state`` and ``on_result`` (progress, other writers).
    With ``options.jobs`` above 1 the tenants are audited in worker processes
    (:func:`mailsupport.audit.workers.audit_in_workers`), which write ``state`` a shard at a time.
    """
    summary = AuditSummary()
    skip_set = frozenset(os.path.abspath(s) for s in skip)
    todo: Iterable[Path] = (
        (p for p in iter_paths(paths) if os.path.abspath(p) not in skip_set) if skip_set else iter_paths(paths)
    )
    if options.jobs > 1:
        from .workers import audit_in_workers

        # what is left for this process: all (a small run), the rest after a worker died, or none
        todo = audit_in_workers(iter(todo), options, state=state, summary=summary, on_result=on_result)

    async def main() -> None:
        async for r in audit_files(todo, options):
            if state is not None:
                state.write(r.to_json() + "\n")
                state.flush()
            summary.add(r)
            if on_result is not None:
                on_result(r)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
    else:  # called from a running loop (a Jupyter kernel): run ours in a worker thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, main()).result()
    summary.skipped = len(skip_set)
    return summary


def audit_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: AuditOptions = AuditOptions(),
    *,
    on_result: Callable[[TenantResult], None] | None = None,
    **kw: Any,
) -> list[TenantResult]:
    """Audit tenants and return every result, sorted by tenant file (for notebooks and tests);
    ``on_result`` also sees each result as it finishes (a notebook's progress bar)."""
    out: list[TenantResult] = []

    def keep(r: TenantResult) -> None:
        out.append(r)
        if on_result is not None:
            on_result(r)

    run_audit(paths, options, on_result=keep, **kw)
    return sorted(out, key=lambda r: r.source)
