"""``mailsupport spf DOMAIN...``: check domains' SPF against the vendor's rules.

Thin: parse the options, build one DNS lookup (zone files offline with ``--zone``, a given
server with ``--nameserver``, else the system resolver; one answer cache for the run),
call :func:`mailsupport.spf.check_domains_async`, format text or JSON. Exit codes: 0 no
finding at error or above, 1 findings, 2 usage, 3 the check could not run.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys

from .options import add_dns_options, add_format, findings_exit


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``spf`` subcommand."""
    p = sub.add_parser(
        "spf",
        help="check domains' SPF records: verdict, lookup tree, findings, suggested record",
        description="Evaluate each domain's SPF record (RFC 7208) for the vendor's sending IPs (from the "
        "vendor include's own record) or for --ip, explain the result as a lookup tree, "
        "and suggest the smallest edit that fixes any problem.",
    )
    p.add_argument("domains", nargs="+", metavar="DOMAIN", help="domains to check")
    p.add_argument("--ip", help="check this client IP instead of the vendor's sending IPs")
    p.add_argument("--sender", default="", metavar="ADDR", help="MAIL FROM address (default postmaster@DOMAIN)")
    p.add_argument("--helo", default="", metavar="NAME", help="HELO/EHLO name (for the %%{h} macro)")
    p.add_argument(
        "--vendor-include", default=None, metavar="NAME", help="the vendor's SPF include (default _spf.actionstep.com)"
    )
    add_dns_options(p)
    add_format(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from ..dnslookup import make_lookup
    from ..errors import ConfigError
    from ..model import Severity
    from ..spf.diagnose import check_domains_async
    from ..tenant import DEFAULT_VENDOR_INCLUDE

    if args.ip:
        try:
            ipaddress.ip_address(args.ip)
        except ValueError:
            raise ConfigError(f"--ip {args.ip!r} is not an IPv4 or IPv6 address") from None
    lookup = make_lookup(zones=args.zone, nameserver=args.nameserver, timeout=args.timeout)
    results = asyncio.run(
        check_domains_async(
            args.domains,
            vendor_include=args.vendor_include or DEFAULT_VENDOR_INCLUDE,
            lookup=lookup,
            ip=args.ip,
            sender=args.sender,
            helo=args.helo,
        )
    )
    if args.format == "json":
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n\n".join(r.to_text() for r in results) + "\n")
    if all(r.verdict == "temperror" and not r.records for r in results):
        print(
            f"mailsupport: operation failed: no SPF record could be fetched from {lookup.source} "
            "(timeout or SERVFAIL); check --nameserver/--zone and try again",
            file=sys.stderr,
        )
        return 3
    return findings_exit((f.severity for r in results for f in r.findings), Severity.ERROR)
