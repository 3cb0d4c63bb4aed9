"""``mailsupport sandbox``: serve the embedded sandbox mail world until Ctrl-C or SIGTERM.

The first line on stdout is ONE JSON object with the endpoints (``mx``, ``smtp``,
``smtp_tls``, ``pop3``, ``pop3_tls``, ``dns`` as ``{"host", "port", "tls"}``), ``ca_file``,
``profile`` and ``mailboxes`` — no secrets — so scripts can read it and connect. Exit code 0
on Ctrl-C/SIGTERM, 2 for a bad tenant or zone file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .options import usage_error


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` subcommand (imports nothing heavy: the servers load only when it runs)."""
    p = sub.add_parser(
        "sandbox",
        help="serve the sandbox SMTP/POP3/DNS servers on 127.0.0.1 until Ctrl-C",
        description="Start real SMTP, POP3 and DNS servers on 127.0.0.1 (ephemeral ports) seeded "
        "from tenant files; print the endpoints as one JSON line, then serve until "
        "Ctrl-C or SIGTERM.",
    )
    p.add_argument(
        "--tenant",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a tenant file (.toml/.json) whose mailboxes and logins to create (repeatable)",
    )
    p.add_argument(
        "--profile",
        default="postfix",
        metavar="NAME",
        help="provider behaviour to reproduce: postfix (default), exim, received-for, gmail, office365, office365-2026",
    )
    p.add_argument(
        "--zone",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="an extra DNS zone file to serve (repeatable); tenants' own zones are always served",
    )
    p.add_argument(
        "--size-limit",
        type=int,
        default=None,
        metavar="BYTES",
        help="SMTP message size limit (default: Postfix's 10240000; 0 = none)",
    )
    p.add_argument("--no-advertise-size", action="store_true", help="do not show SIZE in the EHLO reply")
    p.add_argument(
        "--certificate",
        default="good",
        choices=("good", "expired", "wrong-host", "self-signed"),
        help="which server certificate to serve (default: good)",
    )
    p.add_argument("--apop", action="store_true", help="offer APOP (timestamp in the POP3 greeting)")
    p.add_argument(
        "--tls-only-auth",
        action="store_true",
        help="refuse POP3 logins before STLS too (as Dovecot's disable_plaintext_auth does)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..config import load_tenant
    from ..sandbox import Sandbox
    from ..sandbox.profiles import get_profile

    try:
        get_profile(args.profile)
    except ValueError as exc:
        return usage_error("sandbox", str(exc))
    tenants = [load_tenant(path, environ=os.environ) for path in args.tenant]
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox(
            tenants,
            profile=args.profile,
            zones=args.zone,
            smtp_size_limit=args.size_limit,
            advertise_size=not args.no_advertise_size,
            certificate=args.certificate,
            apop=args.apop,
            plaintext_auth=() if args.tls_only_auth else ("pop3",),
        ) as sb:
            sys.stdout.write(json.dumps(sb.endpoints(), sort_keys=True) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
