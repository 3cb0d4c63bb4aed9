"""``mailsupport diagnose {catch-all,consolidation,size,all} PATH...``: the mailbox-sample diagnoses.

The tenant comes from ``--tenant FILE`` and/or flags (``--catch-all-domain``,
``--catch-all-mailbox``, ``--alias ADDR=USER``, ``--user``, ``--provider``, ``--mx-host``); flags
add to or override the file. ``--mx-host`` names the tenant's own MX or gateway hosts in front
of the mailbox, whose hops belong to the receiving chain. Text output lists the findings with
the messages each is about (file #position, Message-ID, subject) and, for catch-all, the
per-header table; JSON has ``findings`` (``check``, ``severity``, ``subject``, ``summary``,
``remedy``, ``evidence``, ``messages``: Message-ID, subject, date, from, source, position) and,
for catch-all, ``recommended_header`` and ``headers``.
Exit codes: 0 clean, 1 a finding at or above ``--fail-on`` (default ``error``), 2 usage.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from .options import add_fail_on, add_format, fail_on, findings_exit

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``diagnose`` subcommand."""
    p = sub.add_parser(
        "diagnose",
        help="catch-all header, Gmail consolidation and size diagnoses of a mailbox sample",
        description="Diagnose a mailbox sample: which catch-all header routes it, which users a "
        "Google catch-all's consolidation left out, which messages are too large.",
    )
    p.add_argument("which", choices=("catch-all", "consolidation", "size", "all"), help="the diagnosis to run")
    p.add_argument("paths", nargs="+", metavar="PATH", help="sample files or folders")
    p.add_argument(
        "--catch-all-domain",
        action="append",
        default=[],
        metavar="D",
        help="a catch-all domain (repeatable; default: the mailbox's domain)",
    )
    p.add_argument("--catch-all-mailbox", metavar="ADDR", help="the catch-all mailbox address")
    p.add_argument(
        "--alias", action="append", default=[], metavar="ADDR=USER", help="an alias and its user (repeatable)"
    )
    p.add_argument("--user", action="append", default=[], metavar="ADDR", help="a user address (repeatable)")
    p.add_argument("--provider", metavar="NAME", help="gmail, office365, exchange, postfix, mailgun, other")
    p.add_argument("--header", metavar="NAME", help="the catch-all header the tenant uses now")
    p.add_argument(
        "--mx-host",
        action="append",
        default=[],
        metavar="HOST",
        help="the tenant's own MX/gateway host, domain or network in front of the mailbox (repeatable)",
    )
    p.add_argument("--server-size", type=int, metavar="BYTES", help="the SIZE a server advertises (RFC 1870)")
    p.add_argument("--tenant", metavar="FILE", help="a tenant file (.toml/.json)")
    add_format(p)
    add_fail_on(p)
    p.set_defaults(func=_run)


def _text(result, out) -> None:
    ca = result.catch_all
    if ca is not None:
        out.write(
            f"Catch-all header over {ca.total} message(s): recommended "
            f"{ca.recommended_header or 'none works'} (current {ca.current_header or '-'})\n"
        )
        cols = ("header", "carries", "real_target", "mailbox", "failed", "missing", "sender_written", "sender_only")
        widths = [16 if c == "header" else len(c) for c in cols]
        out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip() + "\n")
        for r in ca.rows:
            out.write("  ".join(str(getattr(r, c)).ljust(w) for c, w in zip(cols, widths)).rstrip() + "\n")
        out.write("\n")
    if result.consolidation is not None:
        rep = result.consolidation.report
        out.write(f"Consolidation: {len(rep.cases)} of {rep.messages} message(s) lost copies\n\n")
    findings = result.findings
    for f in findings:
        out.write(f"[{f.severity}] {f.check}  {f.subject}\n    {f.summary}\n")
        for m in f.messages[:3]:
            out.write(f"    message: {m.label()} | {m.date or '(no date)'} | {m.from_ or '(no From)'}\n")
        if len(f.messages) > 3:
            out.write(f"    and {len(f.messages) - 3} more message(s)\n")
        if f.remedy:
            out.write(f"    remedy: {f.remedy}\n")
    out.write(f"{len(findings)} finding(s)\n")


def _run(args: argparse.Namespace) -> int:
    import json

    from ..diagnose.sample import diagnose_sample
    from ..diagnose.tenant import build_tenant

    level = fail_on(args)
    tenant = build_tenant(
        tenant_file=args.tenant,
        domains=args.catch_all_domain,
        mailbox=args.catch_all_mailbox,
        aliases=args.alias,
        users=args.user,
        provider=args.provider,
        header=args.header,
        mx_hosts=args.mx_host,
    )
    if args.which in ("catch-all", "consolidation", "all") and tenant.inbound is None:
        raise ConfigError(
            "the catch-all and consolidation diagnoses need the catch-all mailbox: "
            "give --catch-all-mailbox or --tenant",
            path="--catch-all-mailbox",
        )
    result = diagnose_sample(args.paths, tenant, args.which, provider=args.provider, server_size=args.server_size)
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _text(result, sys.stdout)
    return findings_exit((f.severity for f in result.findings), level)
