"""``mailsupport run``: poll a tenant's mailbox and send its queue, once or every N seconds.

``--once`` prints one JSON summary (fetched, routed per kind, forwarded as failed, deleted,
skipped as already seen, kept on the server, new messages behind reused UIDLs, errors, and the
send pass) — always, whatever went wrong, with the error in it — and exits 0 when nothing
went wrong, 2 when the settings (or the tenant file) cannot work, 3 when an operation failed.
Settings are checked before the mailbox is touched (:func:`mailsupport.pipeline.run_config_problems`):
a tenant whose outbound server is unusable is not fetched from. ``--every 300`` polls like the
product (every 5 minutes), printing one JSON line per poll, until Ctrl-C (or a settings error); on a
terminal a bar on stderr counts the polls (``--quiet`` hides it).
The store (Maildir + SQLite index) defaults to ``./mailsupport-store/<org key>``.
``--max-message-mb`` raises (or lowers) the largest message retrieved. Every string printed
passes through the tenant's :class:`~mailsupport.redact.Redactor` (a server may echo a secret).
Thin: parses, calls :func:`mailsupport.pipeline.run_once`, prints; imports the library lazily
(never the sandbox).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .options import usage_error


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="fetch, route, store and send a tenant's mail (once or every N seconds)",
        description="Poll the tenant's POP3 mailbox (store durably before any DELE), route every "
        "message, forward failed ones, and send the outgoing queue.",
    )
    p.add_argument("--tenant", required=True, type=Path, metavar="FILE", help="the tenant file (.toml/.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one poll, print the JSON summary (default)")
    mode.add_argument("--every", type=float, metavar="SECONDS", help="poll every SECONDS until Ctrl-C")
    p.add_argument("--store", type=Path, metavar="DIR", help="store directory (default ./mailsupport-store/ORGKEY)")
    p.add_argument(
        "--accept-listing-change",
        action="store_true",
        help="fetch even if the mailbox lists far more or fewer messages than the last poll left",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="with --every: no progress bar on the terminal")
    p.add_argument(
        "--max-message-mb",
        type=float,
        metavar="MB",
        help="retrieve messages up to MB megabytes (default 160); larger ones stay on the server",
    )
    p.set_defaults(func=_run)


def _summary(account: str, stage: str, message: str) -> dict[str, Any]:
    """A summary of a run that did nothing, with its one error."""
    from ..pipeline import PollSummary, SendSummary

    out = PollSummary(account=account, errors=({"stage": stage, "uidl": "", "message": message},)).to_dict()
    out["send"] = SendSummary().to_dict()
    return out


def _exit_code(summary: dict[str, Any]) -> int:
    errors = [*summary["errors"], *summary["send"]["errors"]]
    if any(e.get("stage") == "config" for e in errors):
        return 2
    return 3 if errors else 0


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrub) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v, scrub) for v in value]
    return value


def _run(args: argparse.Namespace) -> int:
    from ..config import load_tenant
    from ..errors import ConfigError, StoreError
    from ..limits import DEFAULT_LIMITS
    from ..pipeline import FetchPolicy, account_id, run_once
    from ..redact import Redactor
    from ..store import Store

    if args.every is not None and args.every <= 0:
        return usage_error("run", "--every needs a positive number of seconds")
    try:
        tenant = load_tenant(args.tenant, environ=os.environ)  # password_env = "VAR" resolves
    except ConfigError as exc:
        print(json.dumps(_summary("", "config", f"{exc}; nothing was fetched or sent"), indent=2, sort_keys=True))
        return 2
    account = account_id(tenant)
    limits = DEFAULT_LIMITS
    if args.max_message_mb is not None:
        if not 0 < args.max_message_mb <= 1 << 20:
            print(
                json.dumps(
                    _summary(
                        account,
                        "config",
                        f"--max-message-mb must be between 0 and {1 << 20}, not {args.max_message_mb:g}",
                    ),
                    indent=2,
                    sort_keys=True,
                )
            )
            return 2
        from dataclasses import replace

        limits = replace(DEFAULT_LIMITS, max_message_bytes=int(args.max_message_mb * (1 << 20)))
    scrub = Redactor.for_settings(
        tenant.inbound.server if tenant.inbound else None, tenant.outbound.server, tenant.vendor_relay
    )
    store_dir = args.store or Path("mailsupport-store") / tenant.org_key
    policy = FetchPolicy(accept_listing_change=args.accept_listing_change, limits=limits)

    def emit(summary: dict[str, Any], write: Callable[[str], None] | None = None, **dump: Any) -> int:
        text = json.dumps(_scrubbed(summary, scrub), sort_keys=True, **dump)
        if write is None:
            print(text, flush=True)
        else:
            write(text)
        return _exit_code(summary)

    try:
        store = Store(store_dir)
    except StoreError as exc:
        return emit(_summary(account, "store", f"{exc}; nothing was fetched or sent"), indent=2)
    with store:
        if args.every is None:
            return emit(run_once(tenant, store, policy=policy), indent=2)
        from ..progress import progress

        bar = progress(unit="polls", desc="run", quiet=args.quiet)  # polls, on stderr, only on a terminal
        try:
            while True:
                started = time.monotonic()
                summary = run_once(tenant, store, policy=policy)
                code = emit(summary, write=bar.write)
                bar.update(1, note=f"last poll fetched {summary.get('fetched', 0)}")
                if code == 2:
                    bar.close()
                    return 2  # settings do not fix themselves: stop instead of failing every poll
                time.sleep(max(0.0, args.every - (time.monotonic() - started)))
        except KeyboardInterrupt:
            bar.close()
            return 0
