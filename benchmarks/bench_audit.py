"""Benchmark (not a test): audit 10,000 generated tenants against Knot on loopback, and in the
same run check the tenants' domains with checkdmarc, the tool a support engineer would use.

What each side does for a domain (the same job: SPF and DMARC, or SPF and MX):

* the audit (``--checks``, default ``config,spf,mx``; the DMARC issue's target is measured with
  ``--checks spf,dmarc``) reads and validates each tenant file, then for its domain: the SPF
  record, its whole lookup tree, check_host() for the vendor's sending IPs, findings; with
  ``dmarc`` the policy record (RFC 7489 organisational-domain fallback), the DKIM key(s) of the
  sending path, SPF and DKIM alignment, findings and fix records; with ``mx`` the Office 365 MX
  check. Every answer of the run is cached; 32 tenants are in flight on one event loop. It
  runs in a child process (``mailsupport audit FOLDER`` as a library call), so its peak RSS is
  its own, and writes every result to a state file as the CLI does;
* checkdmarc runs ``check_spf`` and, when the audit runs those kinds, ``get_mx_hosts`` and/or
  ``check_dmarc``, one domain after another (how its CLI runs), in this process. It asks more
  questions a domain (about 14 for SPF + DMARC against the audit's 4.4: it also asks the SPF
  record type, a CNAME beside each TXT, the apex TXT, the RFC 9989 tree walk when a domain has
  no DMARC record, and with ``mx`` the DNSSEC of each MX host) and does no DKIM, alignment or
  evaluation for IPs; both keep answers for the run (checkdmarc the positive ones,
  module-wide: emptied before each round so each round starts cold, as each audit child does).

The two are measured in interleaved rounds (``--rounds``, default 3): the audit of every tenant,
then checkdmarc over a different, evenly spread share of the domains (``--checkdmarc-domains``,
default 1,000; the shared provider records are a few questions a run, so the rate hardly
depends on the share's size), so the load of the moment hits both alike. Reported: tenants/s
and domains/s, wall and per CPU second (steadier on a shared machine), each round's ratio and
their median and best (target: at least 10x), checkdmarc's SPF check alone, the machine's load
average, and the audit's peak memory at 1,000 (and 5,000) and 10,000 tenants (target: flat).

Usage::

    .venv/bin/python benchmarks/bench_audit.py [--tenants 10000] [--checks spf,dmarc] [--rounds 3]
        [--checkdmarc-domains 1000] [--concurrency 32] [--mid 5000] [--dask-workers 0]

Needs Debian's ``knot`` (run as root) and the ``bench`` extra (checkdmarc).

Measured 2026-11-26 on the 2-core development machine, quiet (load about 1): 10,000
tenants in 9.2 s = 1,093 tenants/s; checkdmarc over the same 10,000 domains 101 domains/s
(its SPF check alone 197/s): 10.8x wall, 10.3x per CPU second, 5.6x against checkdmarc's SPF
check alone. With the caches bounded at about 2,000 entries (answers LRU; SPF parse/name
memos), 20,000 tenants: 1,083 tenants/s, 12.3x; peak RSS after the audit 41 MB at 1k,
49 MB at 10k, 53 MB at 20k tenants (results are streamed; nothing per tenant is kept; the
remaining growth is mostly the directory listing of 20,000 files in one folder). Earlier,
with caches of 4k-16k entries: 40 / 68 / 77 MB. Under heavy machine load (other benchmarks
running) the audit gave 500-620/s (5-7x). The Dask engine (LocalCluster, 2 processes): 823/s.

``--checks spf,dmarc`` (checkdmarc then runs check_spf + check_dmarc), measured 2026-12-06 with the
machine under load 4-8 from other runs: 10,000 tenants 349 tenants/s against checkdmarc's 87
domains/s = 4.0x wall, 4.5x per CPU second (an earlier run: 2.8x / 4.1x); in the same hour the
default config,spf,mx gave 8.0x wall / 9.2x per CPU on 3,000 tenants, spf,dmarc 3.9x / 4.7x. The
target of 10x is not met: the dmarc kind's own work is small (178 us a tenant with warm caches,
the SPF check's 504 us) but it asks about 2 new DNS questions a tenant, each a UDP round trip
whose send() dominates the profile under load; checkdmarc's DMARC check costs it less relative
to its SPF check than its MX check (DNSSEC queries) does. Peak RSS 46 / 53 / 60 MB at 1k/5k/10k.

Measured 2026-12-06 with the interleaved rounds (1,000 checkdmarc domains a round from a cold
cache), the 2-core machine shared, load 1.4-2.9. ``--checks spf,dmarc``, the audit before the
changes below, in the same hour (3 rounds): 785 tenants/s median against checkdmarc's 165
domains/s, 4.7x wall (best 5.0x), 4.5x per CPU second. After them (5 rounds): 1,101 tenants/s
median (best 1,319; the median round met load 2.8) against 158 domains/s: 7.6x wall median,
8.3x best, 7.5x per CPU second median (7.7x best; per CPU second every round gave 7.2-7.7x); an
earlier run at load 1.3-1.5 gave 8.1x median, 9.0x best, 7.6x per CPU second. Peak RSS after
the audit 44 / 51 / 57 MB at 1k/5k/10k. The default ``config,spf,mx``: 1,551 tenants/s median
against 97 domains/s, 16.2x wall, 15.4x per CPU second. What changed, each measured in its
commit: DNS names encoded from their text (no dnspython Name per question); no task per domain
and no prefetch task per question (32 tenants in flight already fill the CPU); tenant files
read with a buffer of their size (a 4 MiB buffer per file before); the nesting scan skipped when
counting shows no file can be too deep; the spf kind without the suggested record and the trace
it does not report (``detail=False``); the async DNS socket read until empty, its questions sent
together and timed out by one timer (the server is woken once for about 30 questions).

The 10x target for ``spf,dmarc`` is still not met. The audit spends about 770 us of CPU a tenant
(checkdmarc about 5.6 ms a domain, so 10x needs about 560): the tenant file about 160 (tomllib's
parse 70, validation 35), the runner about 30, the spf and dmarc checks' own work about 200 with
every answer cached, and 4.4 DNS questions (1 TXT, 0.9 A, 0.4 MX for SPF; the policy record and
1.1 DKIM questions for DMARC; the shared provider records once a run; none of them settled by
another's answer), about 170,000 instructions each, as many as alone but at about three times
the time alone once 32 tenants interleave. checkdmarc asks about 14 a domain.

Measured 2026-12-06 08:00-08:06 UTC, ``--checks spf,dmarc``, default sizes and 3 rounds, this
tree and the tree before the changes below run one after the other, twice (new, old, new, old),
the 2-core machine shared (load 1.3-2.4, rising during the old tree's second run). This tree:
1,059 and 1,112 tenants/s median (best round 1,152), 1,144 and 1,117 tenants per CPU second,
against checkdmarc's 135 and 153 domains/s: 8.1x and 7.3x wall, 7.6x and 6.9x per CPU second
median (best 8.4x / 7.7x). The tree before: 956 and 926 tenants/s, 1,050 and 1,036 per CPU
second, 7.1x and 7.2x wall, 7.0x and 6.7x per CPU second. So about 8% less CPU a tenant
(about 890 us at this load, against about 960 before; checkdmarc about 6.2-6.9 ms a domain,
slower than in the quiet hour above: the ratio did not reach 10x). Peak RSS after the audit
44 / 52 / 58 MB at 1k/5k/10k; the state files are the same (sorted, 3,000 tenants, spf,dmarc
and all four kinds). What changed, each measured in its commit: a Path given to load_tenant
and read_tenant_text used as it is (Path() rebuilt it twice a file) and a folder's files joined
to one Path of the folder (about 13 us a tenant); no dataclasses.replace copy of a tenant
without sample or zones (10 us); the runner's per-tenant set-up (secrets only for a failure,
the resume filter only when resuming: 5 us); the state file's fix steps without the derived
fields they drop (3 us); per DNS question, message ids from one getrandom call per 512 and the
type code from the wire table (1.3 us), and a name's labels checked once, joined (1 us). Where
the CPU still goes (in-process, 3,000 tenants, every answer cached): the tenant file about
150 us (tomllib 83, validation 36), the spf kind about 205, the dmarc kind about 115, the
state line about 30, the runner about 20; a cold run adds the DNS questions (about 22 us each
alone, 4.4 a tenant) and about 200 ms a run of first imports (mailsupport.spf/dmarc, dnspython's
query module with its DoH client) and the Public Suffix List, inside the timed audit.

Then two more changes (each measured in its commit: the DMARC sending path's SMTP host parsed
once, 1.6 us a tenant; no QueryTrace built for the SPF questions whose log nobody reads, about
4 us), and at 08:12-08:14 UTC this tree then the tree before, load 1.3-2.0: this tree 1,147
tenants/s median (best 1,207), 1,277 per CPU second (every round 1,225-1,284), against
checkdmarc's 143 domains/s (160 per CPU second): 8.1x wall median (best 8.4x), 7.9x per CPU
second (best 8.0x). The tree before: 1,047 tenants/s, 1,089 per CPU second (1,031-1,176),
against 152 domains/s: 6.9x wall (best 7.8x), 6.8x per CPU second (best 7.5x). About 780 us
of CPU a tenant against about 920 before, in the same quarter hour; still short of 10x (which
needs about 620 at checkdmarc's 6.2 ms a domain of that hour). Peak RSS 44 / 52 / 58 MB.

2026-12-06 08:45-08:55 UTC (load 0.8-2.1, the machine shared), 3,000 tenants, the audit child
of this tree and of the tree before interleaved: the two open leads above. (1) The second
evaluation after a fast-path ``fail`` never happens on the generated fleet: its 0.41 full
evaluations a tenant (1,230 a run) are 974 permerror (a tree that could pass the lookup or
void limit: 337 unresolvable trees), 256 ``none`` and a few records published twice; no
vendor IP gets ``fail``. Explaining such a fail from the resolved tree (the default
explanation, no trace) changed nothing measurable here and was not kept. (2) dnspython's
query module (its DoH client: httpx, h2) is no longer loaded by the lookup when a nameserver
is given: importing and making the lookup 182-217 -> 97-120 ms CPU; ``config,spf,mx``
median 830 -> 765 us CPU a tenant (6 pairs). ``spf,dmarc`` keeps it: dkimpy, which reads
the DKIM keys, imports dns.resolver (and so dns.query) itself.

Since 2026-12-06 (09:30 UTC) the audit runs as the CLI does, in ``--jobs`` worker processes (one
per CPU, at most 4: two here), and each round also times ``--jobs 1``; CPU seconds include the
workers'. ``--checks spf,dmarc``, 3 rounds, quiet (load 0.8-1.0): ``--jobs 2`` 1,999 tenants/s
median (best 2,117) against checkdmarc's 141 domains/s: 15.0x wall median (13.5-15.3x), 7.7x per
CPU second; ``--jobs 1`` 1,093 tenants/s, 8.0x wall, 7.7x per CPU second. So two processes give
1.8x the rate of one on two cores (Knot answers on the same cores), for about the same CPU a
tenant; per CPU second the audit is still short of 10x (see above). Peak RSS (the largest of the
process and its workers) 41 / 46 / 50 MB at 1k/5k/10k.
Again at 10:14 UTC on the final tree, 5 rounds (load 0.3-1.2): 2,032 tenants/s median against
141 domains/s, 14.7x wall median (12.9-15.6x), 7.6x per CPU second; ``--jobs 1`` 8.0x wall,
7.7x per CPU second; peak RSS 42 / 46 / 50 MB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mailsupport.forkpool import default_jobs  # noqa: E402  (after the path is set)


def child(args: argparse.Namespace) -> None:
    """Audit the first ``--limit`` tenants against the nameserver (0: the whole folder, given as the
    CLI gives it); print one JSON line of numbers."""
    from mailsupport.audit.runner import AuditOptions, iter_paths, run_audit

    # Streamed either way. The first N files are handed over as paths, which the runner then
    # checks one by one (a stat each, as for files named on the command line); the whole fleet
    # goes as its folder, as `mailsupport audit FOLDER` does.
    paths = [args.tenants_dir] if not args.limit else itertools.islice(iter_paths([args.tenants_dir]), args.limit)
    options = AuditOptions(
        checks=tuple(args.checks.split(",")),
        concurrency=args.concurrency,
        nameserver=(args.host, args.port),
        jobs=args.jobs,
    )

    def children_cpu() -> float:  # the worker processes', once the pool has waited for them
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    with open(args.state, "w") as state:
        start, cpu0, kids0 = time.perf_counter(), time.process_time(), children_cpu()
        summary = run_audit(paths, options, state=state)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0 + children_cpu() - kids0
    # the largest of this process and its workers (each worker's own peak; with --jobs 1 none)
    audit_rss = (
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024
    )
    from mailsupport import report
    from mailsupport.audit.runner import iter_results

    start = time.perf_counter()
    html_path = Path(args.state).with_suffix(".html")
    with html_path.open("w") as fp:
        report.write_html(iter_results(args.state), fp, title="bench")
    html_s = time.perf_counter() - start
    print(
        json.dumps(
            {
                "tenants": summary.tenants,
                "findings": summary.findings,
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "maxrss_audit_mb": audit_rss,
                "html_seconds": html_s,
                "html_mb": html_path.stat().st_size / 1e6,
                "by_severity": summary.by_severity,
                # the largest process after the report too (with --jobs the workers' peak counts)
                "maxrss_mb": max(audit_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def run_child(fleet_dir: Path, host: str, port: int, limit: int, concurrency: int, checks: str, jobs: int) -> dict:
    """Run :func:`child` in a fresh interpreter and return its numbers (``limit`` 0: every tenant)."""
    state = fleet_dir / f"state-{limit}-{jobs}.jsonl"
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--tenants-dir",
            str(fleet_dir / "tenants"),
            "--host",
            host,
            "--port",
            str(port),
            "--limit",
            str(limit),
            "--state",
            str(state),
            "--concurrency",
            str(concurrency),
            "--checks",
            checks,
            "--jobs",
            str(jobs),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ids: dict[str, int] = {}
    with state.open() as fp:
        for line in fp:
            for f in json.loads(line)["findings"]:
                ids[f["check"]] = ids.get(f["check"], 0) + 1
    result["checks"] = dict(sorted(ids.items()))
    broken = {k: v for k, v in ids.items() if k in ("audit.check-unavailable", "audit.check-failed")}
    if broken:  # a benchmark of checks that did not run would measure nothing
        raise SystemExit(f"checks did not run in the audit: {broken}; fix the installation first")
    return result


def run_checkdmarc(domains: list[str], host: str, port: int, checks: str = "config,spf,mx") -> dict:
    """checkdmarc's SPF check, and its MX lookup and/or DMARC check when the audit runs those
    kinds, for each domain one after another (how its CLI runs), from an empty answer cache.

    Times each separately too: ``get_mx_hosts`` also tests DNSSEC of each MX host (DS and
    DNSKEY queries), which the audit does not, so the SPF-only rate is the stricter comparison.
    ``check_dmarc`` reads and parses the record (with the RFC 9989 tree walk when a domain has
    none), checks the rua destinations, the apex TXT and a CNAME beside the record; the audit's
    dmarc kind reads and parses the record (RFC 7489 organisational-domain fallback) and adds
    the DKIM key(s), SPF and DKIM alignment of the sending path and the fix records.
    checkdmarc keeps positive answers in a module-wide cache (as the audit keeps every answer
    for its run): it is emptied first, so every round starts cold, as each audit child does.
    """
    import logging

    import dns.nameserver
    from checkdmarc.dmarc import check_dmarc
    from checkdmarc.smtp import get_mx_hosts
    from checkdmarc.spf import check_spf
    from checkdmarc.utils import DNS_CACHE

    logging.getLogger("checkdmarc").setLevel(logging.CRITICAL)  # it warns per unsigned MX host
    DNS_CACHE.clear()
    ns = [dns.nameserver.Do53Nameserver(host, port=port)]
    kinds = set(checks.split(","))
    errors = 0
    spf_s = mx_s = dmarc_s = 0.0
    cpu0 = time.process_time()
    for d in domains:
        t0 = time.perf_counter()
        try:
            check_spf(d, nameservers=ns, timeout=2.0)
        except Exception:
            errors += 1  # checkdmarc raises for broken records: that is its verdict
        t1 = time.perf_counter()
        if "mx" in kinds:
            try:
                get_mx_hosts(d, nameservers=ns, timeout=2.0)  # TLS tests are opt-in (check_mx_tls)
            except Exception:
                pass
        t2 = time.perf_counter()
        if "dmarc" in kinds:
            try:
                check_dmarc(d, nameservers=ns, timeout=2.0, retries=0)
            except Exception:
                pass
        t3 = time.perf_counter()
        spf_s += t1 - t0
        mx_s += t2 - t1
        dmarc_s += t3 - t2
    return {
        "domains": len(domains),
        "seconds": spf_s + mx_s + dmarc_s,
        "spf_seconds": spf_s,
        "mx_seconds": mx_s,
        "dmarc_seconds": dmarc_s,
        "cpu_seconds": time.process_time() - cpu0,
        "spf_errors": errors,
    }


def run_dask(fleet_dir: Path, host: str, port: int, args: argparse.Namespace) -> dict:
    """Time the Dask engine (LocalCluster, one process per worker) over the whole fleet."""
    from mailsupport.audit.dask_engine import run_audit_dask
    from mailsupport.audit.runner import AuditOptions

    options = AuditOptions(checks=tuple(args.checks.split(",")), concurrency=args.concurrency, nameserver=(host, port))
    start = time.perf_counter()
    with open(fleet_dir / "state-dask.jsonl", "w") as state:
        summary = run_audit_dask(
            [fleet_dir / "tenants"], options, state=state, n_workers=args.dask_workers, shard_size=500
        )
    elapsed = time.perf_counter() - start
    return {
        "tenants": summary.tenants,
        "seconds": elapsed,
        "tenants_per_s": summary.tenants / elapsed,
        "workers": args.dask_workers,
    }


def share(domains: list[str] | tuple[str, ...], n: int, index: int) -> list[str]:
    """The ``index``-th evenly spread share of ``n`` domains (every k-th from offset ``index``):
    each round checks different domains drawn across the whole fleet; ``n`` 0 means all."""
    if not n or n >= len(domains):
        return list(domains)
    step = len(domains) // n
    return list(domains[index % step :: step][:n])


def _rates(ours: dict, theirs: dict) -> dict:
    """One round's rates and ratios, wall and per CPU second."""
    o, o_cpu = ours["tenants"] / ours["seconds"], ours["tenants"] / ours["cpu_seconds"]
    t, t_cpu = theirs["domains"] / theirs["seconds"], theirs["domains"] / theirs["cpu_seconds"]
    return {
        "audit_tenants_per_s": round(o, 1),
        "audit_tenants_per_cpu_s": round(o_cpu, 1),
        "checkdmarc_domains_per_s": round(t, 1),
        "checkdmarc_domains_per_cpu_s": round(t_cpu, 1),
        "checkdmarc_spf_only_domains_per_s": round(theirs["domains"] / theirs["spf_seconds"], 1),
        "ratio": round(o / t, 2),
        "ratio_per_cpu_second": round(o_cpu / t_cpu, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tenants", type=int, default=10_000)
    p.add_argument("--small", type=int, default=1_000, help="the smaller run for the memory comparison")
    p.add_argument(
        "--mid",
        type=int,
        default=5_000,
        help="a middle run: memory grows until the bounded caches (answers, parsed records) fill, "
        "then stays flat; 0 to skip",
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="the audit's worker processes (default as the CLI: one per CPU, at most 4); with more "
        "than 1 each round also times --jobs 1",
    )
    p.add_argument(
        "--checks",
        default="config,spf,mx",
        help="audit check kinds; checkdmarc runs its SPF check plus its MX lookup and/or DMARC check "
        "when mx/dmarc are among them (e.g. --checks spf,dmarc)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds, each the audit of every tenant then checkdmarc over its share",
    )
    p.add_argument(
        "--checkdmarc-domains",
        type=int,
        default=1_000,
        help="domains checkdmarc checks each round, spread over the fleet, a different share each "
        "round (0 = all the fleet's domains every round)",
    )
    p.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        help="also time --engine dask on a LocalCluster of this many worker processes (0: skip)",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tenants-dir", help=argparse.SUPPRESS)
    p.add_argument("--host", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    p.add_argument("--state", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    from benchmarks.knot import KnotServer
    from mailsupport.audit.generate import generate_fleet

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        t0 = time.perf_counter()
        fleet = generate_fleet(tmp, args.tenants, zones_field=False)  # Knot answers
        print(f"generated {args.tenants} tenants + {len(fleet.zones)} zone files in {time.perf_counter() - t0:.1f} s")
        with KnotServer(fleet.zones) as knot:
            print(f"knotd on {knot.host}:{knot.port}", flush=True)
            load_before = os.getloadavg()
            small = run_child(Path(tmp), knot.host, knot.port, args.small, args.concurrency, args.checks, args.jobs)
            mid = (
                run_child(Path(tmp), knot.host, knot.port, args.mid, args.concurrency, args.checks, args.jobs)
                if 0 < args.mid < args.tenants
                else None
            )
            rounds: list[tuple[dict, dict, dict]] = []
            one_process: list[dict] = []  # --jobs 1's rates, each round
            for r in range(max(1, args.rounds)):  # interleaved: the load of the moment hits both alike
                big = run_child(Path(tmp), knot.host, knot.port, 0, args.concurrency, args.checks, args.jobs)
                one = (
                    run_child(Path(tmp), knot.host, knot.port, 0, args.concurrency, args.checks, 1)
                    if args.jobs > 1
                    else None
                )
                cd = run_checkdmarc(share(fleet.domains, args.checkdmarc_domains, r), knot.host, knot.port, args.checks)
                rates = _rates(big, cd)
                rounds.append((big, cd, rates))
                if one is not None:
                    one_process.append(_rates(one, cd))
                print(
                    f"round {r + 1}: audit (--jobs {args.jobs}) {rates['audit_tenants_per_s']:.0f} tenants/s "
                    f"({rates['audit_tenants_per_cpu_s']:.0f} per CPU s), checkdmarc "
                    f"{rates['checkdmarc_domains_per_s']:.0f} domains/s ({rates['checkdmarc_domains_per_cpu_s']:.0f} "
                    f"per CPU s): {rates['ratio']:.1f}x wall, {rates['ratio_per_cpu_second']:.1f}x per CPU second"
                    + (
                        f"; --jobs 1: {one_process[-1]['audit_tenants_per_s']:.0f} tenants/s, "
                        f"{one_process[-1]['ratio']:.1f}x wall, {one_process[-1]['ratio_per_cpu_second']:.1f}x per CPU s"
                        if one is not None
                        else ""
                    )
                    + f"; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            dask = run_dask(Path(tmp), knot.host, knot.port, args) if args.dask_workers else None
            load_after = os.getloadavg()
    big = rounds[0][0]
    every = {k: [r[2][k] for r in rounds] for k in rounds[0][2]}
    report = {
        "audit_checks": args.checks,
        "audit_jobs": args.jobs,
        "rounds": len(rounds),
        "checkdmarc_domains_per_round": rounds[0][1]["domains"],
        "load_average_1_5_15_before": [round(x, 2) for x in load_before],
        "load_average_1_5_15_after": [round(x, 2) for x in load_after],
        "audit_small": {k: small[k] for k in ("tenants", "seconds", "maxrss_audit_mb", "maxrss_mb")},
        "audit_mid": {k: mid[k] for k in ("tenants", "seconds", "maxrss_audit_mb", "maxrss_mb")} if mid else None,
        "audit_big": {
            k: big[k]
            for k in (
                "tenants",
                "seconds",
                "cpu_seconds",
                "maxrss_audit_mb",
                "maxrss_mb",
                "findings",
                "by_severity",
                "html_seconds",
                "html_mb",
            )
        },
        "best": {k: max(v) for k, v in every.items()},
        "median": {k: round(statistics.median(v), 2) for k, v in every.items()},
        "every_round": every,
        "one_process_median": (
            {k: round(statistics.median(r[k] for r in one_process), 2) for k in one_process[0]} if one_process else None
        ),
        "checkdmarc_rounds": [r[1] for r in rounds],
        "memory_ratio_big_over_small": round(big["maxrss_mb"] / small["maxrss_mb"], 2),
        "audit_memory_ratio_big_over_small": round(big["maxrss_audit_mb"] / small["maxrss_audit_mb"], 2),
        "check_ids": big["checks"],
        "dask": dask,
    }
    print(json.dumps(report, indent=2))
    med, best = report["median"], report["best"]
    print(
        f"\naudit: {big['tenants']} tenants, {med['audit_tenants_per_s']:.0f} tenants/s median of {len(rounds)} rounds "
        f"(best {best['audit_tenants_per_s']:.0f}); peak RSS after the audit {big['maxrss_audit_mb']:.0f} MB "
        f"({small['tenants']} tenants: {small['maxrss_audit_mb']:.0f} MB), after the HTML report "
        f"{big['maxrss_mb']:.0f} MB ({small['maxrss_mb']:.0f} MB)"
    )
    if mid:
        print(
            f"memory after the audit: {small['tenants']}: {small['maxrss_audit_mb']:.0f} MB, "
            f"{mid['tenants']}: {mid['maxrss_audit_mb']:.0f} MB, {big['tenants']}: {big['maxrss_audit_mb']:.0f} MB"
        )
    print(
        f"checkdmarc: {report['checkdmarc_domains_per_round']} domains a round, {med['checkdmarc_domains_per_s']:.0f} "
        f"domains/s median (best {best['checkdmarc_domains_per_s']:.0f}); its SPF check alone "
        f"{med['checkdmarc_spf_only_domains_per_s']:.0f}/s"
    )
    if dask:
        print(
            f"dask engine ({args.dask_workers} worker processes): {dask['tenants_per_s']:.0f} tenants/s "
            f"= {dask['tenants_per_s'] / med['checkdmarc_domains_per_s']:.1f}x checkdmarc"
        )
    what = "+".join(k.upper() for k in ("spf", "mx", "dmarc") if k in args.checks.split(","))
    print(
        f"ratio vs checkdmarc {what} (target >= 10x), audit --jobs {args.jobs}, per round: "
        + ", ".join(f"{w:.1f}x" for w in every["ratio"])
        + f"; median {med['ratio']:.1f}x, best {best['ratio']:.1f}x wall; per CPU second median "
        f"{med['ratio_per_cpu_second']:.1f}x, best {best['ratio_per_cpu_second']:.1f}x "
        "(CPU time is steadier than wall time on a shared machine)"
    )
    one = report["one_process_median"]
    if one:
        print(
            f"audit --jobs 1 (one process), medians: {one['audit_tenants_per_s']:.0f} tenants/s, "
            f"{one['ratio']:.1f}x wall, {one['ratio_per_cpu_second']:.1f}x per CPU second"
        )


if __name__ == "__main__":
    main()
