"""``mailsupport ingest``: push ``.eml`` files through the router (the plugin path).

Each message is routed exactly as a fetched one, stored durably with its decision, and a
failed one is queued for the failed-emails address (sent by the next ``mailsupport run``).
Prints one JSON object per file (``--format json``, default) or a table line (``text``).
Exit 0 when every file was stored, 3 when one could not be read or stored. Thin: parses,
calls :func:`mailsupport.pipeline.ingest_files`, prints; imports the library lazily.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` subcommand."""
    p = sub.add_parser("ingest", help="route .eml files through the same router (the plugin path)",
                       description="Route and store messages pushed in directly, as the product's plugin does.")
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="the tenant file (.toml/.json)")
    p.add_argument("messages", nargs="+", type=Path, metavar="MESSAGE.eml", help="messages to ingest")
    p.add_argument("--store", type=Path, metavar="DIR", help="store directory (default ./mailsupport-store/ORGKEY)")
    p.add_argument("--format", choices=("json", "text"), default="json", help="output format (default json)")
    p.add_argument("--rcpt", action="append", default=None, metavar="ADDRESS",
                   help="the envelope recipient, when known (repeatable); otherwise the tenant's catch-all "
                        "header decides, as for fetched mail")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..config import load_tenant
    from ..pipeline import ingest_files
    from ..store import Store

    tenant = load_tenant(args.tenant)
    store_dir = args.store or Path("mailsupport-store") / tenant.org_key
    with Store(store_dir) as store:
        results = ingest_files(tenant, store, args.messages, envelope_recipients=args.rcpt)
    for r in results:
        if args.format == "json":
            d = r.to_dict()
            print(json.dumps({k: d[k] for k in ("source", "kind", "target", "reason", "created",
                                                "forwarded_as_failed", "error")}, sort_keys=True))
        else:
            status = r.error or ("stored" if r.created else "already stored")
            print(f"{r.source}\t{r.decision.kind.value}\t{r.decision.target or '-'}\t{r.decision.reason}\t{status}")
    return 3 if any(r.error for r in results) else 0
