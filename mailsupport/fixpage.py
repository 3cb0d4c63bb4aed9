"""The customer fix report: one tenant's fix plan as a self-contained page, as plain text and as JSON.

For the customer's IT contact, not for the support engineer: a verdict line; numbered steps,
each with where to make the change, the value now next to the new one (the exact record or
setting), why (the evidence, the messages named), and how to check it worked; the date, kit
version, DNS source, what was checked and what was not; technical detail (an SPF evaluation
trace, the connection test's transcript) folded in ``<details>``. All three renderings are
made from one :class:`~mailsupport.fixplan.FixPlan`, so they say the same thing.

The page needs nothing from outside: inline CSS only (with a print stylesheet: a step never
splits across pages, no backgrounds needed to read it, link targets printed), no script, no
font, image or stylesheet link, and a Content-Security-Policy that forbids loading any. Every
value from a tenant, a finding or a message goes through :func:`html.escape`.

API::

    plan_for(result, *, created, version) -> FixPlan       a TenantResult (audit) as a fix plan
    render_fix_html(plan) / render_fix_text(plan) / render_fix_json(plan) -> str
    page_stem(tenant, taken) -> str                          a file name for a tenant's page
    write_fix_files(plan, out_dir, stem) -> FixFiles         the .html, .txt and .json files
    write_tenant_pages(results, out_dir) -> {source: href}   every tenant's files, for the fleet report's links
    write_fix_report(tenant_file, out_dir, *, sample, connect, zones, nameserver, replay_sandbox) -> FixReport
                                                             what ``mailsupport report`` runs
    with_replay_evidence(plan, evidence) -> FixPlan          the catch-all step quoting a replay's counts

Layer 5 (presentation): may call the audit (layer 4) to run the checks; must not import the
sandbox or clients.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .fixes import FixStep
from .fixplan import FixPlan, make_plan
from .model import Finding, MessageRef

__all__ = [
    "plan_for",
    "render_fix_html",
    "render_fix_text",
    "render_fix_json",
    "page_stem",
    "FixFiles",
    "write_fix_files",
    "write_tenant_pages",
    "TENANT_PAGES",
    "FixReport",
    "write_fix_report",
    "KIND_CHECKED",
    "created_now",
    "with_replay_evidence",
    "CATCH_ALL_SETTING",
]

#: Where the catch-all header is set (the catch-all diagnosis's step ``host``).
CATCH_ALL_SETTING = "inbound.catch_all_header"

#: The folder (inside an audit's or the demo's output) that holds one fix report per tenant.
TENANT_PAGES = "tenants"

#: What each audit check kind looks at, as the report's "What was checked" says it.
KIND_CHECKED = {
    "config": "Email Setup settings as typed: required fields, port and TLS, the download-then-delete box, "
    "the failed-emails address, aliases, the size limit",
    "spf": "SPF record of {domains}: does it authorise the vendor's servers",
    "dmarc": "DMARC and DKIM of {domains}: will receivers accept mail the practice system sends",
    "mx": "MX records, for the Office 365 catch-all rule",
    "settings": "Connection test of the mailbox (POP3) and the SMTP server, step by step",
    "samples": "Mailbox sample: which catch-all header routes it, Gmail consolidation, message sizes",
}
_NOT_RUN = {
    "settings": "The connection to the mailbox and the SMTP server was not tested in this run.",
    "samples": "No mailbox sample was given, so the catch-all header, Gmail consolidation and message sizes "
    "were not checked.",
}
_KIND_RE = re.compile(r"^the (\w+) check")


def created_now() -> str:
    """The current date and time as the report prints it (UTC, to the minute)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _kind_of(f: Finding) -> str:
    kind = next((v for k, v in f.evidence if k == "check kind"), "")
    if not kind:
        m = _KIND_RE.match(f.summary)
        kind = m.group(1) if m else ""
    return kind


def plan_for(result: Any, *, created: str = "", version: str = "", domains: Iterable[str] = ()) -> FixPlan:
    """The fix plan of one audited tenant (a :class:`~mailsupport.audit.result.TenantResult`).

    "Checked" lists the kinds that ran and did not fail; "not checked" the kinds that did not
    apply or run, and why. ``domains`` names the domains in the SPF/DMARC lines (default: the
    domains the SPF counts name).
    """
    from . import __version__

    names = list(domains) or [d for d, _n in result.spf_lookups]
    where = ", ".join(names) or "the tenant's domains"
    broken = {_kind_of(f) for f in result.findings if f.check in ("audit.check-failed", "audit.check-unavailable")}
    # the mx kind looks only at Office 365 tenants (their catch-all rule needs the MX): for others it checked nothing
    ran = [
        k
        for k in result.checks
        if k in KIND_CHECKED and k not in broken and not (k == "mx" and result.provider != "office365")
    ]
    checked = [KIND_CHECKED[k].format(domains=where) for k in ran]
    not_checked = [_NOT_RUN[k] for k in ("settings", "samples") if k not in result.checks]
    findings = [f for f in result.findings if f.check != "audit.check-skipped"]
    return make_plan(
        result.fixes,
        findings,
        tenant=result.tenant,
        provider=result.provider,
        created=created or created_now(),
        version=version or __version__,
        dns_source=result.dns_source or "no DNS was asked",
        checked=checked,
        not_checked=not_checked,
        traces=result.traces,
    )


# ----------------------------------------------------------------------------- HTML

_CSS = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;margin:2em auto;
 max-width:60em;padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:2px solid #444}
h3{font-size:1.08em;margin:.2em 0 .5em}
.verdict{font-size:1.12em;font-weight:600;padding:.6em .8em;border:2px solid #444;border-left-width:10px}
.verdict.action-needed{border-color:#a01010}.verdict.recommended{border-color:#b86e00}.verdict.ok{border-color:#2e7d32}
.meta{color:#444;font-size:.92em}
ol.steps{list-style:none;padding:0;margin:0}
.step{border:1px solid #999;border-left:6px solid #666;padding:.7em 1em;margin:1em 0;break-inside:avoid;
 page-break-inside:avoid}
.step.error,.step.critical{border-left-color:#a01010}.step.warning{border-left-color:#b86e00}
.step.info{border-left-color:#2f6f9f}
.num{font-weight:700}.sev{font-weight:600;text-transform:uppercase;font-size:.8em;letter-spacing:.04em;
 border:1px solid currentColor;padding:0 .35em;margin-left:.4em;white-space:nowrap}
dl.fix{display:grid;grid-template-columns:9.5em 1fr;gap:.35em .8em;margin:.4em 0}
dl.fix dt{font-weight:600}dl.fix dd{margin:0}dl.fix dd>p:first-child{margin-top:0}dl.fix dd>:last-child{margin-bottom:0}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.92em}
code.value{display:block;white-space:pre-wrap;overflow-wrap:anywhere;border:1px dashed #888;padding:.25em .5em}
code.value.new{border:2px solid #2e7d32;font-weight:600}
table{border-collapse:collapse;font-size:.9em;margin:.3em 0}
th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
ul.messages{margin:.2em 0;padding-left:1.3em}
table.also{width:100%}table.also td:nth-child(1){white-space:nowrap}table.also td:nth-child(2){min-width:9em}
table.also td:nth-child(5) code{overflow-wrap:normal;white-space:nowrap}
details{margin:.4em 0}summary{cursor:pointer;color:#333}
pre{white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid #ccc;padding:.5em;max-height:40em;overflow:auto}
.resolves{color:#555;font-size:.85em}
@media print{
 body{margin:0;max-width:none;font-size:10.5pt;color:#000}
 .verdict,.step{border-color:#000 !important}
 a[href]:not([href^="#"])::after{content:" (" attr(href) ")"}
 pre{max-height:none;overflow:visible}
 h2{break-after:avoid;page-break-after:avoid}
}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop (a bare command is framed)."""
    text = text.strip()
    if not text:
        return ""
    if text.startswith("dig "):
        return f"Run `{text}`: it answers with the new value (caches may show the old one for up to its TTL)."
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _now_value(s: FixStep) -> str:
    if s.current:
        return s.current
    return "(nothing published)" if s.is_dns else "(not known)"


def _message_html(m: MessageRef) -> str:
    bits = [f"<code>{_e(m.place)}</code>"]
    if m.message_id:
        bits.append(f"<code>{_e(m.message_id)}</code>")
    bits.append(f"&ldquo;{_e(m.subject)}&rdquo;" if m.subject else "(no subject)")
    if m.from_:
        bits.append(f"from {_e(m.from_)}")
    if m.date:
        bits.append(f"on {_e(m.date)}")
    return "<li>" + " ".join(bits) + "</li>"


def _pairs_html(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table class='evidence'>{rows}</table>" if rows else ""


def _step_html(n: int, s: FixStep) -> str:
    sev = str(s.severity)
    why = f"<p>{_e(_sentence(s.why))}</p>" if s.why else ""
    why += _pairs_html(s.evidence)
    if s.messages:
        why += (
            f"<p>The messages that show it ({len(s.messages)}):</p><ul class='messages'>"
            + "".join(_message_html(m) for m in s.messages)
            + "</ul>"
        )
    detail = f"<details><summary>Technical detail</summary><pre>{_e(s.detail)}</pre></details>" if s.detail else ""
    checks = ", ".join(s.checks)
    return (
        f"<li class='step {_e(sev)}' id='step-{n}'><h3><span class='num'>Step {n}.</span> {_e(s.title)}"
        f"<span class='sev'>{_e(sev)}</span></h3><dl class='fix'>"
        f"<dt>Where</dt><dd>{_e(s.where)}</dd>"
        f"<dt>Now</dt><dd><code class='value current'>{_e(_now_value(s))}</code></dd>"
        f"<dt>Change to</dt><dd><code class='value new'>{_e(s.new)}</code></dd>"
        f"<dt>Why</dt><dd>{why or '&nbsp;'}</dd>"
        f"<dt>Check it worked</dt><dd>{_e(_sentence(s.verify)) or '&nbsp;'}</dd></dl>"
        + (f"<p class='resolves'>Resolves: {_e(checks)}</p>" if checks else "")
        + f"{detail}</li>\n"
    )


def _finding_html(f: Finding) -> str:
    extra = _pairs_html(f.evidence + ((("detail", f.detail),) if f.detail else ()))
    if f.messages:
        extra += "<ul class='messages'>" + "".join(_message_html(m) for m in f.messages[:10]) + "</ul>"
    folded = f"<details><summary>Evidence</summary>{extra}</details>" if extra else ""
    return (
        f"<tr><td><span class='sev'>{_e(f.severity)}</span></td><td>{_e(f.subject)}</td>"
        f"<td>{_e(f.summary)}{folded}</td><td>{_e(f.remedy)}</td><td><code>{_e(f.check)}</code></td></tr>\n"
    )


def render_fix_html(plan: FixPlan) -> str:
    """The fix report page (see the module docstring)."""
    title = f"Email fix report: {plan.tenant}"
    status = plan.status.replace(" ", "-")
    parts = [
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n",
        f"<header><h1>{_e(title)}</h1>\n<p class='verdict {_e(status)}' id='verdict'>{_e(plan.verdict)}</p>\n"
        f"<p class='meta'>Prepared {_e(plan.created)} with mailsupport {_e(plan.version)}"
        + (f" &middot; provider preset: {_e(plan.provider)}" if plan.provider else "")
        + f" &middot; DNS answers from {_e(plan.dns_source)}</p></header>\n",
    ]
    parts.append("<h2>What to change</h2>\n")
    if plan.steps:
        parts.append(
            "<ol class='steps'>\n" + "".join(_step_html(i, s) for i, s in enumerate(plan.steps, 1)) + "</ol>\n"
        )
    else:
        parts.append("<p>Nothing to change.</p>\n")
    others = plan.unresolved
    if others:
        parts.append(
            "<h2>Also found</h2>\n<p>These have no single change to make; each says what to do.</p>\n"
            "<table class='also'><thead><tr><th>severity</th><th>about</th><th>what</th><th>what to do</th>"
            "<th>check</th></tr></thead><tbody>\n" + "".join(_finding_html(f) for f in others) + "</tbody></table>\n"
        )
    parts.append("<h2>What was checked</h2>\n<ul>" + "".join(f"<li>{_e(c)}</li>" for c in plan.checked) + "</ul>\n")
    if plan.not_checked:
        parts.append("<h3>Not checked</h3>\n<ul>" + "".join(f"<li>{_e(c)}</li>" for c in plan.not_checked) + "</ul>\n")
    if plan.traces:
        parts.append(
            "<h2>Technical detail</h2>\n"
            + "".join(f"<details><summary>{_e(t)}</summary><pre>{_e(x)}</pre></details>\n" for t, x in plan.traces)
        )
    parts.append("</body></html>\n")
    return "".join(parts)


# ----------------------------------------------------------------------------- text and JSON


def _wrap_field(name: str, value: str, width: int = 17) -> list[str]:
    lines = (value or "").splitlines() or [""]
    pad = " " * (width + 2)
    return [f"  {name + ':':<{width}}{lines[0]}"] + [pad + line for line in lines[1:]]


def render_fix_text(plan: FixPlan) -> str:
    """The same plan as plain text (for an e-mail): every step's values whole, traces at the end."""
    title = f"Email fix report: {plan.tenant}"
    out = [
        title,
        "=" * len(title),
        "",
        plan.verdict,
        "",
        f"Prepared {plan.created} with mailsupport {plan.version}"
        + (f"; provider preset: {plan.provider}" if plan.provider else "")
        + f"; DNS answers from {plan.dns_source}.",
        "",
        "WHAT TO CHANGE",
        "",
    ]
    if not plan.steps:
        out += ["Nothing to change.", ""]
    for i, s in enumerate(plan.steps, 1):
        out.append(f"Step {i} of {len(plan.steps)} [{s.severity}]: {s.title}")
        out += _wrap_field("Where", s.where)
        out += _wrap_field("Now", _now_value(s))
        out += _wrap_field("Change to", s.new)
        out += _wrap_field("Why", _sentence(s.why))
        out += [f"    - {k}: {v}" for k, v in s.evidence]
        out += [
            f"    - message: {m.label(200)}"
            + (f" from {m.from_}" if m.from_ else "")
            + (f" on {m.date}" if m.date else "")
            for m in s.messages
        ]
        out += _wrap_field("Check it worked", _sentence(s.verify))
        if s.checks:
            out += _wrap_field("Resolves", ", ".join(s.checks))
        if s.detail:
            out += _wrap_field("Detail", s.detail)
        out.append("")
    others = plan.unresolved
    if others:
        out += ["ALSO FOUND (no single change to make)", ""]
        for f in others:
            out.append(f"- [{f.severity}] {f.subject}: {f.summary}")
            if f.remedy:
                out.append(f"  What to do: {f.remedy}")
            out += [f"  - {k}: {v}" for k, v in f.evidence]
            out += [f"  - message: {m.label(200)}" for m in f.messages[:10]]
            out.append(f"  ({f.check})")
        out.append("")
    out += ["WHAT WAS CHECKED", ""] + [f"- {c}" for c in plan.checked] + [""]
    if plan.not_checked:
        out += ["NOT CHECKED", ""] + [f"- {c}" for c in plan.not_checked] + [""]
    for t, x in plan.traces:
        out += [f"TECHNICAL DETAIL: {t}", "", x, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_fix_json(plan: FixPlan) -> str:
    """The same plan as JSON (:meth:`FixPlan.to_dict`, indented)."""
    return json.dumps(plan.to_dict(), ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------- files


def page_stem(tenant: str, taken: set[str] | None = None) -> str:
    """A file name stem for ``tenant``'s page: letters, digits, ``.``, ``_``, ``-`` only (others
    become ``-``), at most 80 characters, and not one already in ``taken`` (which it joins)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", tenant).strip(".-")[:80] or "tenant"
    if taken is not None:
        base, n = stem, 2
        while stem.lower() in taken:
            stem = f"{base}-{n}"
            n += 1
        taken.add(stem.lower())
    return stem


@dataclass(frozen=True, slots=True, kw_only=True)
class FixFiles:
    """The three renderings of one plan, written."""

    html_path: Path
    text_path: Path
    json_path: Path


def write_fix_files(plan: FixPlan, out_dir: str | os.PathLike[str], stem: str) -> FixFiles:
    """Write ``stem.html``, ``stem.txt`` and ``stem.json`` into ``out_dir`` (made if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = FixFiles(html_path=out / f"{stem}.html", text_path=out / f"{stem}.txt", json_path=out / f"{stem}.json")
    files.html_path.write_text(render_fix_html(plan), encoding="utf-8")
    files.text_path.write_text(render_fix_text(plan), encoding="utf-8")
    files.json_path.write_text(render_fix_json(plan), encoding="utf-8")
    return files


def write_tenant_pages(results: Iterable[Any], out_dir: str | os.PathLike[str], *, created: str = "") -> dict[str, str]:
    """Write each result's fix report into ``out_dir/tenants/`` (``<tenant>.html``, ``.txt``, ``.json``,
    one name per tenant file); returns tenant file (``source``, else the tenant name) -> the page's
    path relative to ``out_dir``, for the fleet report to link. Streams: one tenant at a time."""
    folder = Path(out_dir) / TENANT_PAGES
    taken: set[str] = set()
    links: dict[str, str] = {}
    created = created or created_now()
    for r in results:
        stem = page_stem(r.tenant, taken)
        write_fix_files(plan_for(r, created=created), folder, stem)
        links[r.source or r.tenant] = f"{TENANT_PAGES}/{stem}.html"
    return links


@dataclass(frozen=True, slots=True, kw_only=True)
class FixReport:
    """What :func:`write_fix_report` made: the plan, the audited result and the files."""

    plan: FixPlan
    result: Any
    files: FixFiles


def write_fix_report(
    tenant_file: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    sample: str | os.PathLike[str] | None = None,
    connect: bool = False,
    zones: Iterable[str] = (),
    nameserver: tuple[str, int] | None = None,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
    stem: str = "fix-report",
    replay_sandbox: Callable[..., Any] | None = None,
) -> FixReport:
    """Run every check on one tenant and write its fix report (``fix-report.html``, ``.txt``, ``.json``).

    ``sample`` replaces the tenant file's mailbox sample; ``connect`` runs the connection test
    against the tenant's servers; DNS comes from ``nameserver``, else ``zones``, else the tenant
    file's zones, else the system resolver. ``replay_sandbox`` (a sandbox factory such as
    :class:`mailsupport.sandbox.Sandbox`; the caller chooses, this module starts none itself)
    replays the sample with the current and the recommended catch-all header, and the catch-all
    step quotes the counts (:func:`with_replay_evidence`). A tenant file that cannot be loaded raises
    :class:`~mailsupport.errors.ConfigError`; customer problems are the report's content.
    """
    from .audit.checks import CHECK_KINDS
    from .audit.runner import AuditOptions, audit_one

    options = AuditOptions(
        checks=CHECK_KINDS,
        connect=connect,
        nameserver=nameserver,
        zones=tuple(zones),
        timeout=timeout,
        traces=True,
        environ=environ,
    )
    result = audit_one(tenant_file, options, sample=sample)
    plan = plan_for(result)
    step = next((s for s in plan.steps if s.host == CATCH_ALL_SETTING), None)
    if replay_sandbox is not None and step is not None:
        from dataclasses import replace as _replace

        from .config import load_tenant
        from .replay import plan_replay, run_replay

        tenant = load_tenant(tenant_file, environ=environ)
        if sample is not None:
            tenant = _replace(tenant, sample=os.path.abspath(sample))
        if tenant.sample:
            # the sample through the sandbox twice: the current header, then the step's new one
            replayed = run_replay(plan_replay(tenant, [tenant.sample]), sandbox_factory=replay_sandbox)
            plan = with_replay_evidence(plan, replayed.evidence())
    return FixReport(plan=plan, result=result, files=write_fix_files(plan, out_dir, stem))


def with_replay_evidence(plan: FixPlan, evidence: str) -> FixPlan:
    """``plan`` with its catch-all step quoting a replay of the customer's own sample (``evidence``,
    the sentence :meth:`mailsupport.replay.ReplayResult.evidence` gives): the counts that show
    the change works on their mail, not only on the diagnosis's reading of it."""
    from dataclasses import replace as _replace

    steps = tuple(
        _replace(
            s,
            why=f"{s.why} Replayed on your own mail: {evidence}".strip(),
            evidence=(*s.evidence, ("replay", evidence)),
        )
        if s.host == CATCH_ALL_SETTING
        else s
        for s in plan.steps
    )
    return _replace(
        plan,
        steps=steps,
        checked=(
            *plan.checked,
            "Replay of the mailbox sample through the sandbox, with the current and the recommended catch-all header",
        ),
    )
