"""``mailsupport replay --tenant FILE SAMPLE...``: the customer's own mail through their settings, before and after.

Plans the replay (:func:`mailsupport.replay.plan_replay`: each message's server, envelope and
transaction; the catch-all header the diagnosis recommends), then runs it on two embedded
sandboxes (:func:`mailsupport.replay.run_replay`) and prints where every message went with the
tenant's current settings and with the change: ``--profile`` picks the server for every message
(default ``auto``: the one each message's receiving chain shows), ``--change KEY=VALUE`` (or
``KEY+=VALUE`` for a list; repeatable) replaces the recommended header. ``--format`` is
``text``, ``json`` (``before`` and ``after``, each with ``routed`` counts by kind and its
``messages``) or ``html`` (a page, every value escaped); ``--out DIR`` also writes
``replay.json`` and ``replay.html`` there. A progress bar (messages) goes to stderr on a
terminal, unless ``--quiet``. Exit codes: 0 the replay ran, 2 usage or configuration error
(a bad ``--change`` names its path), 3 a sandbox failed. Thin: parses, calls the library, formats.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay`` subcommand."""
    p = sub.add_parser(
        "replay",
        help="replay a mailbox sample through the tenant's settings, before and after",
        description="Send every message of a customer's mailbox sample again, as the server that "
        "received it would have, through the real pipeline on two embedded sandboxes: "
        "once with the tenant's current settings, once with the change (default: the "
        "catch-all header the diagnosis recommends). The sample is only read.",
    )
    p.add_argument("samples", nargs="+", metavar="SAMPLE", help="mbox, Maildir, folder or zip of .eml, .eml or .msg")
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="the tenant file (.toml/.json)")
    p.add_argument(
        "--profile",
        default="auto",
        metavar="auto|NAME",
        help="the receiving server for every message: postfix, exim, received-for, gmail, office365 or "
        "exchange (default auto: each message's own, from its receiving chain)",
    )
    p.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting to try instead of the recommended header, as the tenant file names it: "
        "catch_all_header=Envelope-To, users[0].aliases+=sales@firm.example (repeatable)",
    )
    p.add_argument("--format", choices=("text", "json", "html"), default="text", help="output format (default text)")
    p.add_argument("--out", type=Path, metavar="DIR", help="also write replay.json and replay.html into DIR")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (shown on stderr only on a terminal)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from ..config import load_tenant
    from ..progress import progress
    from ..replay import parse_change, plan_replay, run_replay
    from ..sandbox import Sandbox

    tenant = load_tenant(args.tenant)
    changes = [parse_change(c) for c in args.change]
    plan = plan_replay(tenant, args.samples, profile=args.profile, changes=changes or None)
    with progress(total=len(plan.messages), unit="msg", desc="replay", quiet=args.quiet) as bar:
        result = run_replay(plan, sandbox_factory=Sandbox, progress=bar)
    data = result.to_dict()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "replay.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (args.out / "replay.html").write_text(result.html_page(), encoding="utf-8")
    if args.format == "json":
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "html":
        sys.stdout.write(result.html_page())
    else:
        sys.stdout.write(result.format_text() + "\n")
        if args.out is not None:
            sys.stdout.write(f"wrote {args.out / 'replay.json'} and {args.out / 'replay.html'}\n")
    return 0
