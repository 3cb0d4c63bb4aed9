"""``mailsupport dmarc DOMAIN...``: will receivers accept the mail the product sends for these domains?

Thin: parse the options, build one DNS lookup (zone files offline with ``--zone``, a given
server with ``--nameserver``, else the system resolver), call
:func:`mailsupport.dmarc.check_domain_async` for each domain and path (``--path vendor``,
``own`` or both; default the tenant's path, else the vendor relay), and with ``--sample``
read the sample's Authentication-Results and verify its DKIM signatures
(:func:`mailsupport.dmarc.read_evidence`). Output text or JSON; the JSON carries the fix
steps as data (``fixes``: host, type, current, new, why, verify). Exit codes: 0 no finding
at error or above, 1 findings, 2 usage, 3 the check could not run.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys

from .options import add_dns_options, add_format, findings_exit


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``dmarc`` subcommand."""
    p = sub.add_parser(
        "dmarc",
        help="DMARC, DKIM and alignment of mail the product sends: per path, with the records to publish",
        description="For each domain and sending path (the vendor relay, or the tenant's own SMTP server) say "
        "whether SPF passes and aligns, whether DKIM can align, and the DMARC result a receiver "
        "would compute (RFC 7489), with the exact records to publish; --sample compares the "
        "Authentication-Results of real messages with the kit's own verification.",
    )
    p.add_argument("domains", nargs="*", metavar="DOMAIN", help="From domains to check (default: the tenant's)")
    p.add_argument(
        "--path",
        choices=("vendor", "own", "both"),
        default=None,
        help="sending path: vendor relay, own SMTP server, or both (default: the tenant's, else vendor)",
    )
    p.add_argument("--tenant", metavar="FILE", help="tenant file: its domains, [sending] settings and provider")
    p.add_argument("--sample", metavar="PATH", help="also read this sample (mbox, Maildir, folder, zip, .eml)")
    p.add_argument(
        "--ip",
        action="append",
        default=[],
        metavar="IP",
        help="the sending IP to evaluate SPF for (repeatable; default: the path's own)",
    )
    p.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="NAME",
        help="DKIM selector the path signs with (repeatable; default: the path's own)",
    )
    add_dns_options(p)
    add_format(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from ..config import load_tenant
    from ..dmarc.check import check_domain_async
    from ..dnslookup import make_lookup
    from ..errors import ConfigError
    from ..model import Severity

    for ip in args.ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ConfigError(f"--ip {ip!r} is not an IPv4 or IPv6 address") from None
    tenant = load_tenant(args.tenant, environ=os.environ) if args.tenant else None
    domains = list(args.domains) or (list(tenant.domains) if tenant else [])
    if not domains and not args.sample:
        raise ConfigError("give at least one DOMAIN, a --tenant file with domains, or a --sample")
    zones = list(args.zone) or ([] if args.nameserver or tenant is None else list(tenant.zones))
    lookup = make_lookup(zones=zones, nameserver=args.nameserver, timeout=args.timeout)
    paths = ("vendor", "own") if args.path == "both" else ((args.path,) if args.path else None)

    async def all_domains():
        return [
            await check_domain_async(
                d, tenant=tenant, paths=paths, lookup=lookup, ips=tuple(args.ip), selectors=tuple(args.selector)
            )
            for d in domains
        ]

    results = asyncio.run(all_domains()) if domains else []
    evidence = None
    if args.sample:
        from ..dmarc.evidence import read_evidence

        evidence = read_evidence(args.sample, lookup=lookup)
    if args.format == "json":
        from ..dmarc.render import evidence_to_dict

        out = {
            "domains": [r.to_dict() for r in results],
            "evidence": evidence_to_dict(evidence) if evidence is not None else None,
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        parts = [r.to_text() for r in results] + ([evidence.to_text()] if evidence is not None else [])
        sys.stdout.write("\n\n".join(parts) + "\n")
    if results and all(r.policy.status == "temperror" for r in results):
        print(
            f"mailsupport: operation failed: no DMARC record could be fetched from {lookup.source} "
            "(timeout or SERVFAIL); check --nameserver/--zone and try again",
            file=sys.stderr,
        )
        return 3
    return findings_exit((f.severity for r in results for f in r.findings), Severity.ERROR)
