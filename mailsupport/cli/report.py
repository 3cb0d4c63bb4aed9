"""``mailsupport report``: one tenant's fix report for the customer's IT contact.

Thin: parse, call :func:`mailsupport.fixpage.write_fix_report` (every check on the tenant, the
fix steps ordered into one plan), print where the files went. Writes ``fix-report.html`` (one
self-contained page), ``fix-report.txt`` (the same plan for an e-mail) and ``fix-report.json``
(the same plan as data) into ``--out``. ``--replay`` replays the mailbox sample through the
embedded sandbox (:mod:`mailsupport.replay`) and the catch-all step quotes the counts. Exit codes: 0 written (whatever it found), 2 usage or
an unreadable tenant file, 3 the checks could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .options import add_dns_options


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="one tenant's fix report: numbered steps with the exact records and settings to change",
        description="Run every check on one tenant (Email Setup settings, SPF, DMARC/DKIM, MX, and with a "
        "sample the catch-all header, consolidation and sizes; with --connect the connection "
        "test) and write its fix report: a self-contained HTML page for the customer's IT "
        "contact, the same as plain text and as JSON.",
    )
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="tenant file (.toml/.json)")
    p.add_argument(
        "--sample",
        type=Path,
        metavar="PATH",
        help="the customer's mailbox sample (mbox, Maildir, folder or zip of .eml); "
        "default: the tenant file's own, if any",
    )
    p.add_argument(
        "--connect", action="store_true", help="also test the connection to the tenant's mailbox and SMTP server"
    )
    p.add_argument(
        "--replay",
        action="store_true",
        help="replay the mailbox sample through the embedded sandbox with the current and the "
        "recommended catch-all header, and quote the counts in the catch-all step",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="where to write fix-report.html, fix-report.txt and fix-report.json",
    )
    add_dns_options(
        p,
        zone_help="answer DNS from these zone files (repeatable; default: the tenant file's zones, "
        "else the system resolver)",
        nameserver_help="ask this DNS server for every question",
        timeout=False,
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="timeout of each DNS question and server read (default 30)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..dnslookup import parse_nameserver
    from ..fixpage import write_fix_report

    for label, path in (("--tenant", args.tenant), ("--sample", args.sample)):
        if path is not None and not path.exists():
            print(f"mailsupport report: {label}: no such file or folder: {path}", file=sys.stderr)
            return 2
    nameserver = parse_nameserver(args.nameserver) if args.nameserver else None
    sandbox = None
    if args.replay:
        from ..sandbox import Sandbox as sandbox  # started only for the replay, on loopback
    report = write_fix_report(
        args.tenant,
        args.out,
        sample=args.sample,
        connect=args.connect,
        zones=args.zone,
        nameserver=nameserver,
        timeout=args.timeout,
        environ=dict(os.environ),
        replay_sandbox=sandbox,
    )
    print(report.plan.verdict)
    for label, path in (
        ("page", report.files.html_path),
        ("text", report.files.text_path),
        ("json", report.files.json_path),
    ):
        print(f"{label + ':':6}{path.resolve()}")
    return 0
