"""``mailsupport audit``: every check over many tenant files, one report.

Thin: parse, run :func:`mailsupport.audit.runner.run_audit` (or the Dask engine), then
render the report from the state file with :mod:`mailsupport.report`; with ``--per-tenant``
first write each tenant's fix report into ``DIR/tenants/`` (:func:`mailsupport.fixpage.write_tenant_pages`)
and link the HTML report's tenants to them. The state file
(``DIR/audit-state.jsonl`` with ``--out``) gets one JSON line per tenant as it finishes;
``--resume`` keeps it and skips the tenants in it. A progress bar (tenants) goes to stderr,
only on a terminal and without ``--quiet``. Exit codes: 0 clean, 1 a finding at or above ``--fail-on``, 2 usage or
configuration error, 3 the run itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .options import add_dns_options, add_fail_on, add_format, fail_on, findings_exit, usage_error

FORMATS = {"text": "report.txt", "csv": "findings.csv", "json": "findings.jsonl", "html": "report.html"}
STATE_NAME = "audit-state.jsonl"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand."""
    p = sub.add_parser(
        "audit",
        help="audit many tenant files: config, SPF, DMARC, MX, settings, samples; one report",
        description="Run every check over tenant files (or folders of them) concurrently, writing each "
        "tenant's findings as it finishes, and render one report (text, CSV, JSON lines or HTML).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="tenant files (.toml/.json) or folders of them")
    p.add_argument(
        "--checks",
        default="config,spf,dmarc,mx,settings,samples",
        help="comma-separated check kinds: config,spf,dmarc,mx,settings,samples (default: all; "
        "settings needs --connect, samples a sample path in the tenant file)",
    )
    p.add_argument("--connect", action="store_true", help="run the connection doctor (inbound and outbound)")
    p.add_argument("--concurrency", type=int, default=32, metavar="N", help="tenants audited at once (default 32)")
    p.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes of the local engine, sharing --concurrency (default: one per CPU, at most 4; "
        "runs of fewer than 128 tenants stay in one process)",
    )
    add_format(p, tuple(FORMATS), what="report format")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help=f"write {STATE_NAME} and the report here (default: report to stdout)"
    )
    add_fail_on(p)
    p.add_argument("--resume", action="store_true", help=f"keep DIR/{STATE_NAME} and skip the tenants in it")
    p.add_argument(
        "--per-tenant",
        action="store_true",
        help="also write each tenant's fix report (DIR/tenants/NAME.html, .txt, .json; needs --out); "
        "the HTML report links each tenant to its page",
    )
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local (asyncio, default) or dask (tenant shards on dask.distributed)",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a LocalCluster)")
    add_dns_options(
        p,
        zone_help="answer DNS from these zone files for every tenant (repeatable)",
        nameserver_help="ask this DNS server for every question",
        timeout=False,
    )
    p.add_argument("--title", default="mailsupport audit", help="title of the HTML report")
    p.add_argument(
        "--notebook",
        type=Path,
        metavar="OUT.ipynb",
        help="instead, execute the audit notebook with these paths and checks and save it here",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (shown on stderr only on a terminal)")
    p.set_defaults(func=_run)


class _Counter:
    """The ``on_result`` callback: one tick of the bar per tenant, and how many had errors."""

    def __init__(self, bar) -> None:
        self.bar = bar
        self.bad = 0

    def __call__(self, result) -> None:
        from ..model import Severity

        if result.worst is not None and result.worst >= Severity.ERROR:
            self.bad += 1
            self.bar.note(f"{self.bad} with errors")
        self.bar.update(1)


def _run(args: argparse.Namespace) -> int:
    from ..audit.runner import AuditOptions, iter_paths, iter_results, parse_checks, read_state, run_audit
    from ..dnslookup import parse_nameserver

    level = fail_on(args)
    try:
        checks = parse_checks(args.checks)
    except ValueError as exc:
        return usage_error("audit", str(exc))
    if args.concurrency < 1:
        return usage_error("audit", "--concurrency must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        return usage_error("audit", "--jobs must be at least 1")
    if args.resume and args.out is None:
        return usage_error("audit", "--resume needs --out DIR (the state file lives there)")
    if args.per_tenant and args.out is None:
        return usage_error("audit", "--per-tenant needs --out DIR (the pages are written there)")
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        return usage_error("audit", f"no such file or folder: {', '.join(missing)}")
    if args.notebook is not None:
        from ..audit.notebook import run_audit_notebook

        # the notebook never connects: leave out the settings kind rather than report it skipped
        nb_checks = [c for c in checks if c != "settings"] or ["config"]
        out = run_audit_notebook(
            args.notebook, paths=[str(Path(p).resolve()) for p in args.paths], checks=",".join(nb_checks)
        )
        print(f"notebook: {out}")
        return 0
    from ..forkpool import default_jobs

    options = AuditOptions(
        checks=checks,
        connect=args.connect,
        concurrency=args.concurrency,
        jobs=args.jobs if args.jobs is not None else default_jobs(),
        nameserver=parse_nameserver(args.nameserver) if args.nameserver else None,
        zones=tuple(args.zone),
        environ=dict(os.environ),
        traces=args.per_tenant,
    )
    import tempfile

    tmp = None
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        state_path = args.out / STATE_NAME
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mailsupport-audit-")
        state_path = Path(tmp.name) / STATE_NAME
    try:
        skip = read_state(state_path) if args.resume else set()
        from ..progress import progress

        bar = progress(
            total=lambda: sum(1 for _ in iter_paths(args.paths)), unit="tenants", desc="audit", quiet=args.quiet
        )
        with bar, state_path.open("a" if args.resume else "w", encoding="utf-8") as state:
            # results are counted for the bar only when one is drawn (with --jobs they would be
            # read back from the workers' lines just for that)
            kw = dict(state=state, skip=skip, on_result=_Counter(bar) if bar.active else None)
            if args.engine == "dask":
                from ..audit.dask_engine import run_audit_dask

                run_audit_dask(args.paths, options, scheduler=args.scheduler, **kw)
            else:
                run_audit(args.paths, options, **kw)
        worst = _write_report(args, state_path, iter_results)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return findings_exit(() if worst is None else (worst,), level)


def _write_report(args: argparse.Namespace, state_path: Path, iter_results):
    """Render the chosen format from the state file; returns the worst severity seen."""
    from .. import report

    worst = [None]

    def results():
        for r in iter_results(state_path, ordered=True):  # the same report run to run
            w = r.worst
            if w is not None and (worst[0] is None or w > worst[0]):
                worst[0] = w
            yield r

    links: dict[str, str] = {}
    if args.per_tenant:
        from ..fixpage import write_tenant_pages

        links = write_tenant_pages(iter_results(state_path, ordered=True), args.out)
        print(f"fix reports: {args.out / 'tenants'} ({len(links)} tenants)", file=sys.stderr)
    if args.out is not None:
        target = args.out / FORMATS[args.format]
        with target.open("w", encoding="utf-8", newline="") as fp:
            _write(args, report, results(), fp, links)
        print(f"{args.format} report: {target}", file=sys.stderr)
    else:
        _write(args, report, results(), sys.stdout)
    return worst[0]


def _write(args, report, results, fp, links=None) -> None:
    if args.format == "csv":
        report.write_csv(results, fp)
    elif args.format == "json":
        report.write_jsonl(results, fp)
    elif args.format == "html":
        report.write_html(
            results, fp, title=args.title, link_for=(lambda r: links.get(r.source or r.tenant)) if links else None
        )
    else:
        report.write_text(results, fp)
