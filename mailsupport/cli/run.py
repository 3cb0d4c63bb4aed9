"""``mailsupport run``: poll a tenant's mailbox and send its queue, once or every N seconds.

``--once`` prints one JSON summary (fetched, routed per kind, forwarded as failed, deleted,
skipped as already seen, kept on the server, errors, and the send pass) and exits 0 when the
poll met no error, 3 when it did. ``--every 300`` polls like the product (every 5 minutes),
printing one JSON line per poll, until Ctrl-C (on a terminal a bar on stderr counts the
polls; ``--quiet`` hides it). The store (Maildir + SQLite index) defaults to
``./mailsupport-store/<org key>``. Thin: parses, calls :func:`mailsupport.pipeline.run_once`,
prints; imports the library lazily (never the sandbox).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", help="fetch, route, store and send a tenant's mail (once or every N seconds)",
                       description="Poll the tenant's POP3 mailbox (store durably before any DELE), route every "
                                   "message, forward failed ones, and send the outgoing queue.")
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="the tenant file (.toml/.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one poll, print the JSON summary (default)")
    mode.add_argument("--every", type=float, metavar="SECONDS", help="poll every SECONDS until Ctrl-C")
    p.add_argument("--store", type=Path, metavar="DIR", help="store directory (default ./mailsupport-store/ORGKEY)")
    p.add_argument("--accept-listing-change", action="store_true",
                   help="fetch even if the mailbox lists far more or fewer messages than the last poll left")
    p.add_argument("--quiet", "-q", action="store_true", help="with --every: no progress bar on the terminal")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..config import load_tenant
    from ..pipeline import FetchPolicy, run_once
    from ..store import Store

    tenant = load_tenant(args.tenant)
    store_dir = args.store or Path("mailsupport-store") / tenant.org_key
    policy = FetchPolicy(accept_listing_change=args.accept_listing_change)
    if args.every is not None and args.every <= 0:
        print("mailsupport run: --every needs a positive number of seconds", file=sys.stderr)
        return 2
    with Store(store_dir) as store:
        if args.every is None:
            summary = run_once(tenant, store, policy=policy)
            print(json.dumps(summary, indent=2, sort_keys=True))
            return 3 if summary["errors"] or summary["send"]["errors"] else 0
        from ..progress import progress

        bar = progress(unit="polls", desc="run", quiet=args.quiet)  # polls, on stderr, only on a terminal
        try:
            while True:
                started = time.monotonic()
                summary = run_once(tenant, store, policy=policy)
                bar.write(json.dumps(summary, sort_keys=True))
                bar.update(1, note=f"last poll fetched {summary.get('fetched', 0)}")
                time.sleep(max(0.0, args.every - (time.monotonic() - started)))
        except KeyboardInterrupt:
            bar.close()
            return 0
