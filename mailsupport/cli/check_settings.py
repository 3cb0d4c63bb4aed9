"""``mailsupport check-settings``: the connection doctor for one tenant's email settings.

Thin: build the settings from ``--tenant FILE`` and/or flags, optionally keep them as a
draft first (``--draft-dir``), run :func:`mailsupport.doctor.check_settings`, print the ladder
and findings as text or JSON. Passwords never come from a flag value: they come from the
tenant file, an environment variable named by ``--password-env``/``--token-env``, or a
prompt (``--ask-password``). ``--sandbox PROFILE`` tests against an embedded sandbox that
stands in for the provider. Exit 0 when both directions pass, 1 when not, 2 for unusable
settings or usage, 3 when the check itself could not run. Every rung has a deadline derived
from ``--timeout`` (see docs/limits.md), and everything printed (the live ladder, the text or
JSON report) and saved (the draft's report) is scrubbed of the tenant's passwords and tokens
in every form, whatever the server echoed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC
from typing import Any

from .options import add_format

__all__ = ["register", "build_settings"]

_TLS = ("implicit", "starttls", "none")
_PROVIDERS = ("outbound-only", "office365", "exchange", "gmail", "other", "sandbox")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-settings`` subcommand."""
    p = sub.add_parser(
        "check-settings",
        help="test a tenant's POP3 and SMTP settings rung by rung (connection doctor)",
        description="Reproduce the Email Setup page's save-time connection test step by step (DNS, TCP, "
        "TLS, greeting, capabilities, login, a harmless last step), name the step that failed "
        "with the server's exact words, and say what to change. Nothing is sent or deleted.",
    )
    p.add_argument("--tenant", metavar="FILE", help="tenant file (.toml/.json); flags below override it")
    add_format(p)
    p.add_argument("--provider", choices=_PROVIDERS, help="provider preset (default: the file's, else other)")
    p.add_argument("--org-key", default=None, help="tenant key when no file is given (default: typed)")
    p.add_argument("--address", help="the inbound mailbox address (login / email address)")
    p.add_argument("--failed-address", help="where failed emails go (help page, Step 4)")
    for d, name in (("pop", "POP3"), ("smtp", "SMTP")):
        p.add_argument(f"--{d}-host", help=f"{name} server name")
        p.add_argument(f"--{d}-port", type=int, help=f"{name} port")
        p.add_argument(f"--{d}-tls", choices=_TLS, help=f"{name} TLS mode")
        p.add_argument(f"--{d}-user", help=f"{name} user name")
    p.add_argument("--from", dest="from_address", help="SMTP sender address for the MAIL FROM test")
    p.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    p.add_argument("--smtp-password-env", metavar="VAR", help="a different SMTP password from this variable")
    p.add_argument("--token-env", metavar="VAR", help="an OAuth2 access token (XOAUTH2) from this variable")
    p.add_argument("--ask-password", action="store_true", help="prompt for the password (not echoed)")
    p.add_argument("--ca-file", metavar="FILE", help="also trust this CA (e.g. the sandbox's)")
    p.add_argument("--nameserver", metavar="HOST[:PORT]", help="DNS server for the DNS rung and the MX check")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="timeout of each read (default: the tenant's, 30); each rung may take 3x it per exchange",
    )
    p.add_argument("--only", choices=("pop3", "smtp"), help="check one direction only")
    p.add_argument(
        "--sandbox",
        metavar="PROFILE",
        help="test against an embedded sandbox standing in for the provider (profile: postfix, "
        "exim, gmail, office365, office365-2026, ...) instead of the real servers",
    )
    p.add_argument(
        "--draft-dir",
        metavar="DIR",
        help="keep the settings as a draft here before testing, with the report afterwards "
        "(a folder of your own, not writable by others; made 0700 if missing)",
    )
    p.set_defaults(func=_run)


def _env(name: str) -> str:
    from ..errors import ConfigError

    if name not in os.environ:
        raise ConfigError(f"environment variable {name} is not set", path="--password-env/--token-env")
    return os.environ[name]


def build_settings(args: argparse.Namespace, *, environ: Any = None) -> dict[str, Any]:
    """The settings mapping (tenant-file shape, secrets revealed) from ``--tenant`` plus flags."""
    from ..config import load_tenant, tenant_to_dict

    if args.tenant:
        data = tenant_to_dict(load_tenant(args.tenant), reveal_secrets=True)
    else:
        data = {"org_key": args.org_key or "typed", "provider": args.provider or "other"}
    if args.org_key:
        data["org_key"] = args.org_key
    if args.provider:
        data["provider"] = args.provider
    if args.failed_address:
        data["failed_email_address"] = args.failed_address
    fetches = data.get("provider") != "outbound-only"
    inbound = data.setdefault("inbound", {}) if fetches else None
    if inbound is not None:
        if args.address:
            inbound["address"] = args.address
        server = inbound.setdefault("server", {})
        for key, value in (
            ("host", args.pop_host),
            ("port", args.pop_port),
            ("tls", args.pop_tls),
            ("username", args.pop_user),
            ("ca_file", args.ca_file),
        ):
            if value is not None:
                server[key] = value
    outbound = data.setdefault("outbound", {})
    if args.from_address:
        outbound["from_address"] = args.from_address
    oserver = outbound.setdefault("server", {})
    for key, value in (
        ("host", args.smtp_host),
        ("port", args.smtp_port),
        ("tls", args.smtp_tls),
        ("username", args.smtp_user),
        ("ca_file", args.ca_file),
    ):
        if value is not None:
            oserver[key] = value
    password = None
    if args.password_env:
        password = _env(args.password_env)
    elif args.ask_password:
        import getpass

        password = getpass.getpass("Password (not shown): ")
    if password is not None:
        if inbound is not None:
            inbound["server"]["password"] = password
        oserver["password"] = password
    if args.smtp_password_env:
        oserver["password"] = _env(args.smtp_password_env)
    if args.token_env:
        token = _env(args.token_env)
        if inbound is not None:
            inbound["server"]["oauth_token"] = token
        oserver["oauth_token"] = token
    if inbound is not None and not inbound.get("address") and not args.tenant:
        inbound.pop("address", None)
    return data


def _run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ..config import parse_tenant
    from ..doctor import DraftStore, check_settings, redactor_for

    data = build_settings(args)
    store = DraftStore(args.draft_dir) if args.draft_dir else None
    if store is not None:  # nothing lost: keep what was typed before testing anything
        store.save_draft(data, now=datetime.now(UTC))
    tenant = parse_tenant(data, source=args.tenant or "<flags>")
    redact = redactor_for(tenant)
    dns = None
    if args.nameserver:
        from ..dnslookup import make_lookup

        dns = make_lookup(nameserver=args.nameserver)
    directions = (args.only,) if args.only else ("pop3", "smtp")
    live = None
    if args.format == "text" and sys.stdout.isatty():
        from ..doctor.report import format_rung

        def live(direction, rung):  # the ladder as it runs, on a terminal
            print(f"{direction}:{format_rung(rung.redacted(redact))}", flush=True)

    if args.sandbox:
        report = _check_on_sandbox(tenant, args.sandbox, timeout=args.timeout, on_rung=live, directions=directions)
    else:
        report = check_settings(tenant, dns=dns, timeout=args.timeout, on_rung=live, directions=directions)
    report = report.redacted(redact)  # the doctor scrubs already: a second guard at the output
    if store is not None:
        store.record_result(tenant.org_key, report, now=datetime.now(UTC))
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_text(rungs=live is None))
    return 0 if report.ok else 1


def _check_on_sandbox(tenant: Any, profile: str, **kwargs: Any) -> Any:
    """Run the doctor against an embedded sandbox seeded with ``tenant`` (its DNS answers too)."""
    from ..dnslookup import ResolverLookup
    from ..doctor import check_settings
    from ..errors import ConfigError
    from ..sandbox.sandbox import Sandbox

    try:
        sandbox = Sandbox([tenant], profile=profile)
    except ValueError as exc:
        raise ConfigError(str(exc), path="--sandbox") from None
    with sandbox:
        dns = ResolverLookup.for_nameserver(sandbox.dns.address, timeout=5.0)
        return check_settings(sandbox.tenant_settings(tenant), dns=dns, **kwargs)
