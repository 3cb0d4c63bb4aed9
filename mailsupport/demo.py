"""The main job: every check the kit has, run on the embedded sandbox and the bundled samples.

:func:`run_demo` loads the sample tenants, starts the sandbox seeded from them (mailboxes,
logins, DNS zones) and runs, in order:

1. the batch audit of every sample tenant (config pre-flight, SPF of every domain with the
   vendor include, MX / Office 365 prerequisites, and the sample diagnoses — catch-all
   header, Gmail consolidation, sizes — for tenants that name a sample), DNS answered by the
   sandbox's DNS server;
2. the connection doctor against each sandbox tenant's POP3 and SMTP accounts;
3. the pipeline for real: outside senders mail the sandbox tenant, one poll fetches, stores
   durably, routes and forwards what cannot be filed, a reply is sent with signature and
   disclaimer, and the answer to it is routed back to its matter;

then writes ``report.html`` (self-contained, every value escaped) and ``findings.csv`` into
``out_dir``. A step that fails becomes a ``demo.step-failed`` finding and the rest go on.
The output folder's ``pipeline-store/`` is recreated on each run.

Presentation layer: it only calls the package (and starts the sandbox).
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from .config import Provider, Tenant, iter_tenant_files, load_tenant
from .errors import ConfigError
from .model import Finding, Severity

__all__ = ["DemoResult", "run_demo", "default_samples_dir", "DEMO_CHECKS"]

#: Check ids the demo itself reports.
DEMO_CHECKS = {
    "demo.step-failed": "a step of the demo could not run; the message says which and why",
}


def default_samples_dir() -> Path:
    """``data/samples/`` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "data" / "samples"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    """Where the demo wrote its outputs, and what it found (tenant name, finding)."""

    out_dir: Path
    html_path: Path
    csv_path: Path
    findings: tuple[tuple[str, Finding], ...]
    pipeline: dict | None = None


def _step_failed(step: str, exc: BaseException) -> Finding:
    return Finding(check="demo.step-failed", severity=Severity.ERROR, subject=step,
                   summary=f"the {step} step could not run: {type(exc).__name__}: {exc}",
                   remedy="Run that step on its own (see the README's command list) to see the full error.")


def _inbound_messages(tenant: Tenant, sample_messages: Sequence[Path]) -> list[tuple[bytes, str, list[str]]]:
    """Mail from outside senders to the tenant: a matter, an alias, a user, an unknown address, samples."""
    domain = tenant.inbound.effective_catch_all_domains[0] if tenant.inbound and tenant.inbound.effective_catch_all_domains \
        else (tenant.domains[0] if tenant.domains else "example.invalid")
    matter = tenant.matters[0].id if tenant.matters else "1001"
    alias = next((a for u in tenant.users for a in u.aliases), None)
    user = tenant.users[0].address if tenant.users else None
    wanted = [(f"{matter}@{domain}", "Documents for your matter"),
              (f"nobody-here@{domain}", "Enquiry to an address nobody owns")]
    if alias:
        wanted.append((alias, "Question for the conveyancing team"))
    if user:
        wanted.append((user, "Personal note"))
    if tenant.matter_domain:
        wanted.append((f"{matter}@{tenant.matter_domain}", "Straight to the matter address"))
    out = []
    for i, (rcpt, subject) in enumerate(wanted):
        msg = EmailMessage()
        msg["From"] = f"Client {i} <client{i}@outside.example>"
        msg["To"] = rcpt
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime(2026, 11, 2, 9, i, tzinfo=timezone.utc))
        msg["Message-ID"] = make_msgid(domain="outside.example")
        msg.set_content(f"Hello,\n\nthis is message {i} for {rcpt}.\n")
        out.append((msg.as_bytes(), f"client{i}@outside.example", [rcpt]))
    for path in sample_messages:
        out.append((path.read_bytes(), "sample-sender@outside.example", [f"{matter}@{domain}"]))
    return out


def _pipeline_demo(sb, tenant: Tenant, store_dir: Path, sample_messages: Sequence[Path]) -> tuple[dict, str]:
    """Deliver, poll, route, send a reply, route the answer back; returns (summary, HTML table)."""
    from .pipeline import decision_rows, run_once, send_queued, submit
    from .store import Store

    from .errors import SmtpRejected

    shutil.rmtree(store_dir, ignore_errors=True)
    live = sb.tenant_settings(tenant)
    refused = []
    for raw, sender, rcpts in _inbound_messages(tenant, sample_messages):
        try:
            sb.deliver(raw, sender, rcpts)
        except SmtpRejected as exc:  # a real server refuses it too (e.g. a line over RFC 5321's 1000 octets)
            refused.append({"to": rcpts, "bytes": len(raw), "refused": str(exc)})
    with Store(store_dir) as store:
        first = run_once(live, store)
        matter = tenant.matters[0].id if tenant.matters else ""
        from_addr = tenant.outbound.from_address or (tenant.inbound.address if tenant.inbound else "")
        sent_id = submit(live, store, from_addr=from_addr, to=["client0@outside.example"],
                         subject="Re: Documents for your matter", text="Thank you, received.", matter=matter)
        send = send_queued(live, store)
        reply = EmailMessage()
        reply["From"] = "Client 0 <client0@outside.example>"
        reply["To"] = from_addr
        reply["Subject"] = "Re: Re: Documents for your matter"
        reply["Message-ID"] = make_msgid(domain="outside.example")
        reply["In-Reply-To"] = sent_id
        reply["References"] = sent_id
        reply.set_content("One more document attached later.\n")
        sb.deliver(reply.as_bytes(), "client0@outside.example", [from_addr])
        second = run_once(live, store)
        rows = decision_rows(store)
    summary = {"first_poll": first, "send": send.to_dict(),
               "second_poll": second, "outbox": len(sb.outbox), "refused_at_delivery": refused}
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in ("source", "kind", "target", "reason"))
        + "</tr>" for r in rows)
    table = ("<table><tr><th>source</th><th>kind</th><th>target</th><th>reason</th></tr>"
             f"{cells}</table><pre>{html.escape(_json(summary))}</pre>")
    return summary, table


def _json(value: object) -> str:
    import json

    return json.dumps(value, indent=2, default=str)


def run_demo(*, samples_dir: Path, out_dir: Path, progress: Callable[[str], None] = lambda s: None,
             profile: str = "postfix") -> DemoResult:
    """Run every check on the sandbox and the samples; write the report and CSV into ``out_dir``."""
    from .audit import AuditOptions, TenantResult, audit_paths
    from .doctor import check_settings
    from .dnslookup import ResolverLookup
    from .report import render_html, write_csv
    from .sandbox import Sandbox

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tenant_files = iter_tenant_files([samples_dir / "tenants"])
    tenants: list[Tenant] = []
    results: dict[str, list[Finding]] = {}
    for path in tenant_files:
        try:
            tenants.append(load_tenant(path, environ={}))
        except ConfigError as exc:  # the audit reports it with its path; just skip it here
            progress(f"skipping {path.name}: {exc}")
    sandbox_tenants = [t for t in tenants if t.provider is Provider.SANDBOX]
    zones = sorted((samples_dir / "zones").glob("*.zone"))
    sections: list[tuple[str, str]] = []
    pipeline_summary = None
    progress(f"starting the sandbox ({profile} profile) for {len(sandbox_tenants)} sandbox tenants "
             f"of {len(tenants)} sample tenants, {len(zones)} zone files")
    with Sandbox(sandbox_tenants, profile=profile, zones=zones) as sb:
        progress("sandbox: " + ", ".join(f"{name} 127.0.0.1:{ep['port']}" for name, ep in sb.endpoints().items()
                                          if isinstance(ep, dict) and "port" in ep))
        # 1. the batch audit over every sample tenant, DNS from the sandbox
        try:
            audited = audit_paths(tenant_files, AuditOptions(checks=("config", "spf", "mx", "samples"),
                                                             nameserver=sb.dns.address, environ={}))
            for r in audited:
                results.setdefault(r.tenant, []).extend(r.findings)
            progress(f"audit: {len(audited)} tenants, {sum(len(r.findings) for r in audited)} findings")
        except Exception as exc:  # noqa: BLE001 - the demo reports and carries on
            results.setdefault("(demo)", []).append(_step_failed("audit", exc))
        # 2. the connection doctor against each sandbox tenant's accounts
        ladders = []
        lookup = ResolverLookup.for_nameserver(sb.dns.address)
        for t in sandbox_tenants:
            try:
                report = check_settings(sb.tenant_settings(t), dns=lookup, timeout=5)
                known = {(f.check, f.subject) for f in results.get(t.org_key, [])}
                results.setdefault(t.org_key, []).extend(
                    f for f in report.findings if (f.check, f.subject) not in known)
                ladders.append(f"<h3>{html.escape(t.org_key)}</h3><pre>{html.escape(report.format_text())}</pre>")
                progress(f"doctor: {t.org_key}: {'PASS' if report.ok else 'FAIL'}")
            except Exception as exc:  # noqa: BLE001
                results.setdefault(t.org_key, []).append(_step_failed("connection doctor", exc))
        sections.append(("Connection doctor on the sandbox accounts", "".join(ladders)))
        # 3. the pipeline for real on the first sandbox tenant with a catch-all mailbox
        target = next((t for t in sandbox_tenants if t.inbound is not None), None)
        if target is not None:
            try:
                samples = sorted((samples_dir / "real").glob("*.eml"))[:6]
                pipeline_summary, table = _pipeline_demo(sb, target, out_dir / "pipeline-store", samples)
                sections.append((f"Pipeline: fetch, route, store, send for {target.org_key}", table))
                progress(f"pipeline: {target.org_key}: fetched {pipeline_summary['first_poll'].get('fetched')} "
                         f"then {pipeline_summary['second_poll'].get('fetched')}; sent {pipeline_summary['outbox']}")
            except Exception as exc:  # noqa: BLE001
                results.setdefault(target.org_key, []).append(_step_failed("pipeline", exc))

    by_tenant = {t.org_key: t for t in tenants}
    tenant_results = [TenantResult.of(name, tuple(fs), provider=str(by_tenant[name].provider)
                                      if name in by_tenant else "")
                      for name, fs in sorted(results.items())]
    csv_path = out_dir / "findings.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        write_csv(tenant_results, fh)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(tenant_results, title="mailsupport demo: sample tenants on the sandbox",
                                     sections=sections), encoding="utf-8")
    flat = tuple((r.tenant, f) for r in tenant_results for f in r.findings)
    progress(f"{len(flat)} findings over {len(tenant_results)} tenants")
    return DemoResult(out_dir=out_dir, html_path=html_path, csv_path=csv_path, findings=flat,
                      pipeline=pipeline_summary)
