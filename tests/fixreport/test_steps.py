"""Each diagnosis turns its findings into fix steps: tables of findings in, steps (where, now, new) out."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mailsupport.config import ServerSettings, TlsMode, parse_tenant
from mailsupport.diagnose.catchall import diagnose_catch_all
from mailsupport.diagnose.consolidation import diagnose_consolidation
from mailsupport.diagnose.size import diagnose_size
from mailsupport.dmarc import check_domain as check_dmarc
from mailsupport.dnslookup import CachedLookup, ZoneLookup
from mailsupport.doctor.fixes import settings_fixes
from mailsupport.doctor.preflight import preflight
from mailsupport.fixplan import step_for
from mailsupport.model import Finding, Severity
from mailsupport.samples import scan, summarize
from mailsupport.samples.generate import demo_tenant, plain_message, postfix_copy
from mailsupport.spf import check_domain
from mailsupport.zones import load_zone_files

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
ZONES = SAMPLES / "zones"
SPF_CASES = (
    "no-record",
    "multiple-records",
    "syntax-error",
    "vendor-include-missing",
    "vendor-include-after-all",
    "terms-after-all",
    "too-many-lookups",
    "too-many-void-lookups",
    "ptr-deprecated",
    "permissive-all",
    "vendor-ip-not-permitted",
)
SPF_ZONE_FILES = [ZONES / "actionstep-vendor.zone"] + [
    ZONES / f"{c}.example.zone" for c in (*SPF_CASES, "dns-temporary-failure")
]
PASSWORD = "canary-4b1d-fixsteps-pw"


@pytest.fixture(scope="module")
def spf_lookup():
    """The SPF sample zones, answered offline."""
    return CachedLookup(ZoneLookup(load_zone_files(SPF_ZONE_FILES)))


# ----------------------------------------------------------------------------- SPF


@pytest.mark.parametrize("case", SPF_CASES)
def test_spf_step_publishes_the_suggested_record_and_it_clears_the_errors(case, spf_lookup):
    """One TXT step at the domain: the record now, the exact suggested record, every fixable finding resolved;
    evaluated as the domain's record, the new value leaves no error."""
    domain = f"{case}.example"
    check = check_domain(domain, lookup=spf_lookup)
    (step,) = check.fixes
    assert (step.rtype, step.host, step.new) == ("TXT", domain, check.suggested_record)
    assert step.current == "\n".join(check.records)
    assert {(f.check, f.subject) for f in check.findings} <= set(step.resolves)
    assert step.severity == max(f.severity for f in check.findings)
    assert f"dig +short TXT {domain}" in step.verify and step.why
    after = check_domain(domain, lookup=spf_lookup, record=step.new)
    assert [f.check for f in after.findings if f.severity >= Severity.ERROR] == []


def test_spf_step_detail_is_the_trace_only_when_asked(spf_lookup):
    """The evaluation trace rides on the step as folded detail only with detail=True."""
    check = check_domain("vendor-include-missing.example", lookup=spf_lookup)
    assert check.fixes[0].detail == ""
    (step,) = check.fix_steps(detail=True)
    assert "vendor-include-missing.example:" in step.detail and "~all" in step.detail


def test_spf_without_a_fixable_problem_has_no_step(spf_lookup):
    """A domain whose DNS fails, or whose record is fine, gets no record to publish."""
    assert check_domain("dns-temporary-failure.example", lookup=spf_lookup).fixes == ()
    assert (
        check_domain(
            "smithlaw.example",
            lookup=CachedLookup(
                ZoneLookup(load_zone_files([ZONES / "actionstep-vendor.zone", ZONES / "smithlaw.example.zone"]))
            ),
        ).fixes
        == ()
    )


# ----------------------------------------------------------------------------- DMARC

DMARC_CASES = (
    "dmarc-no-record",
    "dmarc-multiple-records",
    "dmarc-syntax-error",
    "dmarc-policy-none",
    "dmarc-spf-not-aligned",
    "dmarc-dkim-not-aligned",
    "dmarc-would-fail",
    "dkim-key-invalid",
    "dkim-key-too-short",
)


@pytest.mark.parametrize("case", DMARC_CASES)
def test_every_dmarc_problem_is_resolved_by_a_step_that_checks_without_the_kit(case):
    """Each DMARC/DKIM finding of the sample zones names a step resolving it; no step's check is a kit command."""
    zones = [ZONES / "actionstep-vendor.zone", ZONES / f"{case}.example.zone"]
    check = check_dmarc(f"{case}.example", lookup=CachedLookup(ZoneLookup(load_zone_files(zones))), paths=["vendor"])
    problems = list(check.findings)
    assert problems and all(step_for(check.fixes, f) is not None for f in problems), [
        f.check for f in problems if step_for(check.fixes, f) is None
    ]
    assert all("mailsupport" not in s.verify and "--" not in s.verify for s in check.fixes)


# ----------------------------------------------------------------------------- catch-all, size, consolidation


@pytest.fixture(scope="module")
def postfix_sample():
    """The bundled Postfix catch-all sample, scanned."""
    return list(scan(SAMPLES / "catchall-postfix.mbox"))


def test_catch_all_step_selects_the_header_with_the_counts_and_the_messages(postfix_sample):
    """Routing by Delivered-To: the step sets the Catch-All Header to X-Original-To, each header's counts as
    evidence, and the messages Delivered-To misroutes named."""
    tenant = demo_tenant()
    tenant = replace(tenant, inbound=replace(tenant.inbound, catch_all_header="Delivered-To"))
    report = diagnose_catch_all(postfix_sample, tenant)
    (step,) = [s for s in report.fixes if s.rtype == "setting"]
    assert (step.host, step.label, step.current, step.new) == (
        "inbound.catch_all_header",
        "Email Setup > Catch-All Header",
        "Delivered-To",
        "X-Original-To",
    )
    counts = dict(step.evidence)
    assert counts["X-Original-To"].startswith("files 8 of 9") and counts["Delivered-To"].startswith("files 0 of 9")
    assert len(step.messages) == 9 and step.messages[0].message_id == "<pf1@example.net>"
    assert step.resolves == (("catchall.header-choice", "catch-all mailbox"),)
    assert "1042@smithlaw.example" in step.verify


def test_catch_all_already_right_needs_no_setting_step(postfix_sample):
    """A tenant already routing by the recommended header gets no header step."""
    tenant = demo_tenant()
    tenant = replace(tenant, inbound=replace(tenant.inbound, catch_all_header="X-Original-To"))
    assert [s for s in diagnose_catch_all(postfix_sample, tenant).fixes if s.rtype == "setting"] == []


def test_no_working_header_gives_the_mail_server_change():
    """When no header routes the sample, the step is on the delivering server, with the Postfix setting."""
    tenant = demo_tenant()
    msgs = [
        summarize(
            postfix_copy(
                plain_message(to=["1042@smithlaw.example"], subject="a", message_id=f"{i}@x"),
                original_to=None,
                single=False,
                n=i,
            ),
            source="t",
            position=str(i),
        )
        for i in range(3)
    ]
    (step,) = diagnose_catch_all(msgs, tenant).fixes
    assert step.rtype == "provider" and "enable_original_recipient" in step.new
    assert step.resolves == (("catchall.header-missing", "catch-all mailbox"),) and step.severity is Severity.ERROR


def test_size_step_is_the_advice_naming_the_messages_over_a_limit():
    """Messages over the server's SIZE: one advice step resolving every size finding, the largest named first."""
    summaries = list(scan(SAMPLES / "sizes-mixed.mbox"))
    diagnosis = diagnose_size(summaries, server_size=100_000)
    (step,) = diagnosis.fixes
    assert step.rtype == "advice" and step.new.startswith("each message under 10 MB")
    assert {(f.check, f.subject) for f in diagnosis.findings} == set(step.resolves)
    sizes = [r.encoded_size for r in diagnosis.rows]
    assert step.messages[0] == max(diagnosis.rows, key=lambda r: r.encoded_size).message
    assert f"of {len(sizes)} messages" in step.current
    assert diagnose_size(summaries[:0]).fixes == ()


def test_consolidation_step_is_the_provider_option_with_the_messages():
    """A Google catch-all that dropped copies: the hosting option, the other option as evidence, messages named."""
    tenant = demo_tenant()
    diagnosis = diagnose_consolidation(list(scan(SAMPLES / "gmail-takeout-consolidated.mbox")), tenant, google=True)
    (step,) = diagnosis.fixes
    assert step.rtype == "provider" and "one copy per envelope recipient" in step.new
    assert dict(step.evidence)["or instead"].startswith("route messages")
    assert step.messages and all(step_for((step,), f) for f in diagnosis.findings if f.severity >= Severity.WARNING)


# ----------------------------------------------------------------------------- settings (pre-flight and ladder)


def _tenant(provider="other", *, inbound=None, **top):
    server = {
        "host": "mail.firm.example",
        "port": 995,
        "tls": "implicit",
        "username": "matters@firm.example",
        "password": PASSWORD,
    }
    server.update(inbound or {})
    data = {
        "org_key": "firm",
        "domains": ["firm.example"],
        "provider": provider,
        "failed_email_address": "it@elsewhere.example",
        "inbound": {
            "address": "matters@firm.example",
            "kind": "catch-all",
            "confirm_download_then_delete": True,
            "server": server,
        },
        "outbound": {
            "from_address": "matters@firm.example",
            "server": {"host": "mail.firm.example", "port": 587, "tls": "starttls"},
        },
        "users": [{"address": "jane@firm.example", "aliases": ["conveyancing@firm.example"]}],
    }
    data.update(top)
    return parse_tenant(data, source="<test>")


PREFLIGHT = [
    (
        "port-tls-impossible",
        dict(inbound={"tls": "starttls"}),
        "settings.port-tls-impossible",
        "inbound.server.tls",
        "port 995, TLS starttls",
        "port 995, TLS implicit",
    ),
    (
        "plaintext-password",
        dict(inbound={"port": 110, "tls": "none"}),
        "settings.plaintext-auth",
        "inbound.server.tls",
        "port 110, TLS none",
        "port 995, TLS implicit",
    ),
    (
        "password-missing",
        dict(inbound={"password": ""}),
        "settings.required-field-missing",
        "inbound.server.password",
        "(empty)",
        "the value your provider gives",
    ),
    (
        "exchange-server-missing",
        dict(provider="exchange", inbound={"host": None}),
        "settings.exchange-server-missing",
        "inbound.server.host",
        "(empty)",
        "your Exchange server's name, e.g. mail.yourfirm.com",
    ),
    (
        "not-confirmed",
        dict(inbound=None, confirm=False),
        "settings.download-delete-not-confirmed",
        "inbound.confirm_download_then_delete",
        "not ticked",
        "ticked, for a new mailbox used only by the practice system",
    ),
    (
        "failed-address-loop",
        dict(failed_email_address="matters@firm.example"),
        "settings.failed-address-loop",
        "failed_email_address",
        "matters@firm.example",
        "jane@firm.example",
    ),
    (
        "size-limit",
        dict(size_limit=50_000_000),
        "settings.size-limit",
        "size_limit",
        "50,000,000 bytes",
        "10,000,000 bytes (10 MB)",
    ),
    (
        "alias-is-mailbox",
        dict(users=[{"address": "jane@firm.example", "aliases": ["matters@firm.example"]}]),
        "settings.alias-is-mailbox",
        "users[jane@firm.example].aliases",
        "matters@firm.example",
        "(none)",
    ),
]


@pytest.mark.parametrize("name, change, check, host, current, new", PREFLIGHT, ids=[p[0] for p in PREFLIGHT])
def test_preflight_finding_becomes_the_field_to_type(name, change, check, host, current, new):
    """Each pre-flight finding gives the Email Setup field (or setting), the value now and the value to type."""
    change = dict(change)
    provider = change.pop("provider", "other")
    confirm = change.pop("confirm", True)
    tenant = _tenant(provider, inbound=change.pop("inbound", None), **change)
    if not confirm:
        tenant = replace(tenant, inbound=replace(tenant.inbound, confirm_download_then_delete=False))
    findings = preflight(tenant)
    (f,) = [f for f in findings if f.check == check]
    step = step_for(settings_fixes(tenant, findings), f)
    assert step is not None and (step.rtype, step.host, step.current, step.new) == ("setting", host, current, new)
    assert step.severity is f.severity and "Email Setup" in step.verify


def _ladder(check, direction="pop3", evidence=(), tenant=None):
    tenant = tenant or _tenant()
    server = tenant.inbound.server if direction == "pop3" else tenant.outbound.server
    return tenant, Finding(
        check=check,
        severity=Severity.ERROR,
        subject=f"{direction} {server.endpoint}",
        summary=f"{check} happened",
        remedy="what the doctor advises",
        evidence=evidence,
    )


LADDER = [
    (
        "wrong-host-office365",
        "settings.certificate-wrong-host",
        "pop3",
        _tenant("office365"),
        ("setting", "inbound.server.host", "mail.firm.example", "outlook.office365.com"),
    ),
    (
        "refused-port",
        "settings.connection-refused",
        "pop3",
        _tenant(inbound={"port": 1995}),
        ("setting", "inbound.server.port", "1995", "995"),
    ),
    (
        "starttls-missing",
        "settings.starttls-not-offered",
        "smtp",
        None,
        ("setting", "outbound.server.tls", "port 587, TLS starttls", "port 465, TLS implicit"),
    ),
    (
        "tls-mismatch-465",
        "settings.tls-mode-mismatch",
        "smtp",
        _tenant(
            outbound={
                "from_address": "matters@firm.example",
                "server": {"host": "mail.firm.example", "port": 465, "tls": "starttls"},
            }
        ),
        ("setting", "outbound.server.tls", "port 465, TLS starttls", "port 465, TLS implicit"),
    ),
    (
        "basic-auth-retired",
        "settings.o365-basic-auth-retired",
        "pop3",
        _tenant("office365"),
        ("setting", "inbound.server.oauth_token", "password", "OAuth2 access token (XOAUTH2), issued for this mailbox"),
    ),
    (
        "wrong-password",
        "settings.auth-failed",
        "pop3",
        None,
        (
            "setting",
            "inbound.server.password",
            "(set)",
            "the mailbox's current password (retype it; the user name is usually the full address)",
        ),
    ),
    (
        "too-slow",
        "settings.server-too-slow",
        "pop3",
        None,
        ("provider", "pop3 mail.firm.example:995", "", "what the doctor advises"),
    ),
    (
        "sender-refused",
        "settings.sender-rejected",
        "smtp",
        None,
        ("setting", "outbound.from_address", "matters@firm.example", "an address the SMTP account may send as"),
    ),
]


@pytest.mark.parametrize("name, check, direction, tenant, expected", LADDER, ids=[x[0] for x in LADDER])
def test_ladder_finding_becomes_the_field_to_type_or_the_provider_ask(name, check, direction, tenant, expected):
    """A classified ladder failure names the field and the value to type (the preset's server, the port that
    goes with the TLS mode, OAuth2), or asks the provider with the doctor's remedy."""
    tenant, f = _ladder(check, direction, tenant=tenant)
    (step,) = settings_fixes(tenant, [f])
    assert (step.rtype, step.host, step.current, step.new) == expected
    assert step.resolves == ((f.check, f.subject),)


def test_office365_mx_finding_becomes_the_mx_record():
    """The Office 365 catch-all MX finding asks for the domain's MX at Exchange Online Protection."""
    tenant = _tenant("office365")
    f = Finding(
        check="settings.o365-mx-not-protection-outlook",
        severity=Severity.ERROR,
        subject="domain firm.example",
        summary="MX elsewhere",
        evidence=(("MX", "eu-smtp-inbound-1.mimecast.com"),),
    )
    (step,) = settings_fixes(tenant, [f])
    assert (step.rtype, step.host, step.current, step.new) == (
        "MX",
        "firm.example",
        "eu-smtp-inbound-1.mimecast.com",
        "0 firm-example.mail.protection.outlook.com",
    )
    assert "dig +short MX firm.example" in step.verify


def test_no_settings_step_carries_a_password():
    """Steps built from every pre-flight finding of a tenant with a password show no form of it."""
    tenant = _tenant(inbound={"port": 110, "tls": "none"}, failed_email_address="matters@firm.example")
    findings = preflight(tenant) + [_ladder(c)[1] for c in ("settings.auth-failed", "settings.o365-basic-auth-retired")]
    steps = settings_fixes(tenant, findings)
    assert len(steps) >= 4 and PASSWORD not in json.dumps([s.to_dict() for s in steps])


# ----------------------------------------------------------------------------- no placeholders, no flags


def test_a_missing_server_name_is_said_in_words_not_as_a_placeholder():
    """The endpoint of settings not typed yet reads as words; the Exchange pre-flight subject has no '?'."""
    assert ServerSettings(host=None, port=995).endpoint == "server name not set, port 995"
    assert ServerSettings(host="mail.x", port=0, tls=TlsMode.IMPLICIT).endpoint == "mail.x, port not set"
    tenant = _tenant("exchange", inbound={"host": None})
    (f,) = [f for f in preflight(tenant) if f.check == "settings.exchange-server-missing"]
    assert f.subject == "pop3 server name not set, port 995" and "?" not in f.subject


_FLAG = re.compile(r"(?<![\w-])--[a-z]")
_CUSTOMER_TEXT = ("remedy", "new", "verify", "action", "why", "label", "current")


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_remedy_or_fix_step_text_in_the_package_carries_a_command_line_flag():
    """Every string written as a finding's remedy, a remedy table entry or a fix step's customer-facing text
    is free of command-line flags (the customer has no kit to run)."""
    bad = []
    for path in sorted((REPO / "mailsupport").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            texts: list[str] = []
            if isinstance(node, ast.keyword) and node.arg in _CUSTOMER_TEXT:
                texts = _strings(node.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "REMED" in t.id for t in node.targets
            ):
                texts = _strings(node.value)
            bad += [f"{path.relative_to(REPO)}:{node.lineno}: {t!r}" for t in texts if _FLAG.search(t)]
    assert bad == []
