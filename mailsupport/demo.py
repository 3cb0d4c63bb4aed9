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

then writes into ``out_dir`` the fleet report ``report.html`` (self-contained, every value
escaped; each tenant linked to its fix report), ``findings.csv`` (with each finding's evidence
and fix columns) and one fix report per tenant in ``tenants/`` (``NAME.html``, ``.txt``,
``.json``: :mod:`mailsupport.fixpage`). A step that fails becomes a ``demo.step-failed``
finding and the rest go on. The output folder's ``pipeline-store/`` and ``tenants/`` are
recreated on each run.

Presentation layer: it only calls the package (and starts the sandbox).
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from .config import iter_tenant_files, load_tenant
from .errors import ConfigError
from .fixes import FixStep
from .model import Finding, Severity
from .tenant import Provider, Tenant

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
    """Where the demo wrote its outputs, and what it found (tenant name, finding).

    ``tenant_pages`` maps each tenant's name to its fix report page (a path inside ``out_dir``).
    """

    out_dir: Path
    html_path: Path
    csv_path: Path
    findings: tuple[tuple[str, Finding], ...]
    pipeline: dict | None = None
    tenant_pages: dict[str, Path] = field(default_factory=dict)


def _step_failed(step: str, exc: BaseException) -> Finding:
    return Finding(
        check="demo.step-failed",
        severity=Severity.ERROR,
        subject=step,
        summary=f"the {step} step could not run: {type(exc).__name__}: {exc}",
        remedy="Run that step on its own (see the README's command list) to see the full error.",
    )


def _pipeline_demo(sb, tenant: Tenant, store_dir: Path, sample_messages: Sequence[Path]) -> tuple[dict, str]:
    """The guided pipeline run, then real sample mail and a client's reply to our answer, polled again.

    Returns (summary, escaped HTML of the decisions table and the summary).
    """
    from .errors import SmtpRejected
    from .pipeline import decision_rows, run_once
    from .pipeline.demo import run_pipeline_demo
    from .store import Store

    shutil.rmtree(store_dir, ignore_errors=True)
    live = sb.tenant_settings(tenant)
    domain = (tenant.inbound.effective_catch_all_domains or (tenant.domains[0],))[0]
    matter = tenant.matters[0].id if tenant.matters else "1042"
    with Store(store_dir) as store:
        first = run_pipeline_demo(sb, tenant, store)
        refused = []
        for path in sample_messages:  # real messages from public corpora, to a matter address
            try:
                sb.deliver(path.read_bytes(), "sample-sender@outside.example", [f"{matter}@{domain}"])
            except SmtpRejected as exc:  # a real server refuses it too (e.g. a line over RFC 5321's 1000 octets)
                refused.append({"sample": path.name, "refused": str(exc)})
        if first.get("answer_message_id"):
            reply = EmailMessage()
            reply["From"] = "Client <client@outside.example>"
            reply["To"] = tenant.outbound.from_address or tenant.inbound.address
            reply["Subject"] = "Re: Re: your email"
            reply["Message-ID"] = make_msgid(domain="outside.example")
            reply["In-Reply-To"] = first["answer_message_id"]
            reply["References"] = first["answer_message_id"]
            reply.set_content("Thanks, one more document to follow.\n")
            sb.deliver(reply.as_bytes(), "client@outside.example", [str(reply["To"])])
        second = run_once(live, store)
        rows = decision_rows(store)
    summary = {
        "first_poll": first["poll"],
        "send": first["send"],
        "second_poll": second,
        "outbox": len(sb.outbox),
        "refused_at_delivery": refused,
    }
    return summary, _pipeline_html(summary, rows)


def _pipeline_html(summary: dict, rows: Sequence[dict]) -> str:
    """The pipeline section: what each poll did in one short table, then the routing decisions."""
    from .display import table_html

    def routed(poll: dict) -> str:
        return ", ".join(f"{kind} {n}" for kind, n in sorted(poll.get("routed", {}).items())) or "nothing"

    first, second, send = summary["first_poll"], summary["second_poll"], summary["send"]
    counts = table_html(
        ("step", "what happened"),
        [
            (
                "first poll",
                f"fetched {first.get('fetched', 0)}, deleted {first.get('deleted', 0)} after storing; "
                f"routed: {routed(first)}; errors: {len(first.get('errors', []))}",
            ),
            ("send", f"sent {send.get('sent', 0)}, failed {send.get('failed', 0)}; {summary['outbox']} left the firm"),
            ("second poll", f"fetched {second.get('fetched', 0)}; routed: {routed(second)}"),
            (
                "refused at delivery",
                "; ".join(f"{r['sample']}: {r['refused']}" for r in summary["refused_at_delivery"]) or "none",
            ),
        ],
    )
    decisions = table_html(
        ("source", "kind", "target", "reason"),
        [tuple(r.get(c, "") for c in ("source", "kind", "target", "reason")) for r in rows],
        title="Routing decisions",
    )
    return counts + decisions


def run_demo(
    *, samples_dir: Path, out_dir: Path, progress: Callable[[str], None] = lambda s: None, profile: str = "postfix"
) -> DemoResult:
    """Run every check on the sandbox and the samples; write the report and CSV into ``out_dir``."""
    from .audit import AuditOptions, TenantResult, audit_paths
    from .display import ladder_html
    from .dnslookup import ResolverLookup
    from .doctor import check_settings
    from .fixpage import TENANT_PAGES, write_tenant_pages
    from .report import render_html, write_csv
    from .sandbox import Sandbox

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tenant_files = iter_tenant_files([samples_dir / "tenants"])
    tenants: list[Tenant] = []
    results: dict[str, TenantResult] = {}

    def add(
        name: str,
        findings: Sequence[Finding],
        fixes: Sequence[FixStep] = (),
        traces: Sequence[tuple[str, str]] = (),
        check: str = "",
    ) -> None:
        """Append findings (and their fix steps, traces and check kind) to a tenant's result,
        skipping findings the audit already reported."""
        r = results.get(name) or TenantResult.of(name, (), provider=provider_of.get(name, ""))
        known = {(f.check, f.subject) for f in r.findings}
        new = tuple(f for f in findings if (f.check, f.subject) not in known)
        keys = {(f.check, f.subject) for f in new}
        results[name] = replace(
            r,
            findings=r.findings + new,
            fixes=r.fixes + tuple(s for s in fixes if set(s.resolves) & keys),
            traces=r.traces + tuple(traces),
            checks=r.checks + ((check,) if check and check not in r.checks else ()),
        )

    for path in tenant_files:
        try:
            tenants.append(load_tenant(path, environ={}))
        except ConfigError as exc:  # the audit reports it with its path; just skip it here
            progress(f"skipping {path.name}: {exc}")
    provider_of = {t.org_key: str(t.provider) for t in tenants}
    sandbox_tenants = [t for t in tenants if t.provider is Provider.SANDBOX]
    zones = sorted((samples_dir / "zones").glob("*.zone"))
    sections: list[tuple[str, str]] = []
    pipeline_summary = None
    progress(
        f"starting the sandbox ({profile} profile) for {len(sandbox_tenants)} sandbox tenants "
        f"of {len(tenants)} sample tenants, {len(zones)} zone files"
    )
    with Sandbox(sandbox_tenants, profile=profile, zones=zones) as sb:
        progress(
            "sandbox: "
            + ", ".join(
                f"{name} 127.0.0.1:{ep['port']}"
                for name, ep in sb.endpoints().items()
                if isinstance(ep, dict) and "port" in ep
            )
        )
        # 1. the batch audit over every sample tenant, DNS from the sandbox
        try:
            audited = audit_paths(
                tenant_files,
                AuditOptions(
                    checks=("config", "spf", "dmarc", "mx", "samples"),
                    nameserver=sb.dns.address,
                    environ={},
                    traces=True,
                ),
            )
            results.update({r.tenant: r for r in audited})  # keeps each tenant's SPF lookup counts
            progress(f"audit: {len(audited)} tenants, {sum(len(r.findings) for r in audited)} findings")
        except Exception as exc:  # noqa: BLE001 - the demo reports and carries on
            add("(demo)", [_step_failed("audit", exc)])
        # 2. the connection doctor against each sandbox tenant's accounts
        ladders = []
        lookup = ResolverLookup.for_nameserver(sb.dns.address)
        for t in sandbox_tenants:
            try:
                report = check_settings(sb.tenant_settings(t), dns=lookup, timeout=5)
                add(
                    t.org_key,
                    report.findings,
                    report.fixes,
                    (("Connection test (POP3 and SMTP), step by step", report.format_text()),),
                    check="settings",
                )
                ladders.append(
                    f"<details><summary>{html.escape(t.org_key)}: {'PASS' if report.ok else 'FAIL'} "
                    f"({len(report.findings)} findings)</summary>{ladder_html(report)}</details>"
                )
                progress(f"doctor: {t.org_key}: {'PASS' if report.ok else 'FAIL'}")
            except Exception as exc:  # noqa: BLE001
                add(t.org_key, [_step_failed("connection doctor", exc)])
        sections.append(("Connection doctor on the sandbox accounts", "".join(ladders)))
        # 3. the pipeline for real on the first sandbox tenant with a catch-all mailbox
        target = next((t for t in sandbox_tenants if t.inbound is not None), None)
        if target is not None:
            try:
                samples = sorted((samples_dir / "real").glob("*.eml"))[:6]
                pipeline_summary, table = _pipeline_demo(sb, target, out_dir / "pipeline-store", samples)
                sections.append((f"Pipeline: fetch, route, store, send for {target.org_key}", table))
                progress(
                    f"pipeline: {target.org_key}: fetched {pipeline_summary['first_poll'].get('fetched')} "
                    f"then {pipeline_summary['second_poll'].get('fetched')}; sent {pipeline_summary['outbox']}"
                )
            except Exception as exc:  # noqa: BLE001
                add(target.org_key, [_step_failed("pipeline", exc)])

    tenant_results = [results[name] for name in sorted(results)]
    csv_path = out_dir / "findings.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        write_csv(tenant_results, fh)
    shutil.rmtree(out_dir / TENANT_PAGES, ignore_errors=True)
    links = write_tenant_pages(tenant_results, out_dir)
    html_path = out_dir / "report.html"
    html_path.write_text(
        render_html(
            tenant_results,
            title="mailsupport demo: sample tenants on the sandbox",
            sections=sections,
            link_for=lambda r: links.get(r.source or r.tenant),
        ),
        encoding="utf-8",
    )
    flat = tuple((r.tenant, f) for r in tenant_results for f in r.findings)
    progress(f"{len(flat)} findings over {len(tenant_results)} tenants; a fix report each in {out_dir / TENANT_PAGES}")
    pages = {r.tenant: out_dir / links[r.source or r.tenant] for r in tenant_results}
    return DemoResult(
        out_dir=out_dir,
        html_path=html_path,
        csv_path=csv_path,
        findings=flat,
        pipeline=pipeline_summary,
        tenant_pages=pages,
    )
