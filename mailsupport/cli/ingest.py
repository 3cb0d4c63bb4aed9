"""``mailsupport ingest``: push ``.eml`` files through the router (the plugin path).

Each message is routed exactly as a fetched one, stored durably with its decision, and a
failed one is queued for the failed-emails address (sent by the next ``mailsupport run``).
``-`` reads one message from standard input. Every message is read up to
``--max-message-mb`` (default 160 MB): a bigger one is reported with the limit, not read
further. Prints one JSON object per file (``--format json``, default) or a table line
(``text``). Exit 0 when every file was stored, 3 when one could not be read or stored. Thin:
parses, calls :func:`mailsupport.pipeline.ingest_files` (and ``ingest_message`` for stdin),
prints; imports the library lazily.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_format


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` subcommand."""
    p = sub.add_parser(
        "ingest",
        help="route .eml files through the same router (the plugin path)",
        description="Route and store messages pushed in directly, as the product's plugin does.",
    )
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="the tenant file (.toml/.json)")
    p.add_argument(
        "messages",
        nargs="+",
        type=Path,
        metavar="MESSAGE.eml",
        help="messages to ingest ('-': one message from standard input)",
    )
    p.add_argument("--store", type=Path, metavar="DIR", help="store directory (default ./mailsupport-store/ORGKEY)")
    add_format(p, ("json", "text"))
    p.add_argument(
        "--rcpt",
        action="append",
        default=None,
        metavar="ADDRESS",
        help="the envelope recipient, when known (repeatable); otherwise the tenant's catch-all "
        "header decides, as for fetched mail",
    )
    p.add_argument(
        "--max-message-mb",
        type=float,
        default=160.0,
        metavar="MB",
        help="the largest message read (default 160); bigger ones are reported, not ingested",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from ..config import load_tenant
    from ..errors import ConfigError
    from ..pipeline.ingest import ingest_files, ingest_stream
    from ..store import Store

    if not 0 < args.max_message_mb <= 1 << 20:
        raise ConfigError(f"must be between 0 and {1 << 20}, not {args.max_message_mb:g}", path="--max-message-mb")
    max_bytes = int(args.max_message_mb * (1 << 20))
    if [str(m) for m in args.messages].count("-") > 1:
        raise ConfigError("'-' (standard input) can be given once", path="messages")
    tenant = load_tenant(args.tenant)
    store_dir = args.store or Path("mailsupport-store") / tenant.org_key
    results = []
    with Store(store_dir) as store:
        for path in args.messages:
            if str(path) != "-":
                results += ingest_files(tenant, store, [path], envelope_recipients=args.rcpt, max_bytes=max_bytes)
                continue
            results.append(
                ingest_stream(tenant, store, sys.stdin.buffer, envelope_recipients=args.rcpt, max_bytes=max_bytes)
            )
    for r in results:
        if args.format == "json":
            d = r.to_dict()
            print(
                json.dumps(
                    {
                        k: d[k]
                        for k in ("source", "kind", "target", "reason", "created", "forwarded_as_failed", "error")
                    },
                    sort_keys=True,
                )
            )
        else:
            status = r.error or ("stored" if r.created else "already stored")
            print(f"{r.source}\t{r.decision.kind.value}\t{r.decision.target or '-'}\t{r.decision.reason}\t{status}")
    return 3 if any(r.error for r in results) else 0
