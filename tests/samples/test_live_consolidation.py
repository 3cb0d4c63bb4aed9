"""Shown live: the sandbox's gmail profile keeps one copy of a three-alias message, postfix keeps three.

One message is delivered through the sandbox MX to three addresses of the smithlaw catch-all,
fetched back over POP3 (nothing deleted) and given to the consolidation diagnosis.
"""

from __future__ import annotations

import pytest

from mailsupport.diagnose.consolidation import diagnose_consolidation
from mailsupport.samples import scan_pop3
from mailsupport.samples.generate import plain_message

from .conftest import SAMPLES

TENANT_FILE = SAMPLES / "tenants" / "smithlaw-postfix.toml"
RCPTS = ["conveyancing@smithlaw.example", "litigation@smithlaw.example", "mei@smithlaw.example"]

pytestmark = pytest.mark.timeout(60)


def _deliver_and_fetch(profile: str):
    from dataclasses import replace

    from mailsupport.config import Provider, load_tenant
    from mailsupport.model import Secret
    from mailsupport.sandbox.sandbox import Sandbox

    tenant = load_tenant(TENANT_FILE, environ={})
    app_password = Secret("canary-4b1d-app-password")  # Google wants an app password for POP3
    if profile == "gmail":
        tenant = replace(
            tenant, inbound=replace(tenant.inbound, server=replace(tenant.inbound.server, password=app_password))
        )
    sandbox = Sandbox(
        tenants=[tenant],
        profile=profile,
        app_passwords={tenant.inbound.server.username: app_password} if profile == "gmail" else None,
    ).start()
    try:
        raw = plain_message(to=RCPTS, subject="Three aliases, one message", message_id="live-3@example.net")
        sandbox.deliver(raw, "client@example.net", RCPTS)
        local = sandbox.tenant_settings(tenant)
        summaries = list(scan_pop3(local.inbound.server))
    finally:
        sandbox.stop()
    return replace(tenant, provider=Provider.GMAIL if profile == "gmail" else Provider.OTHER), summaries


def test_gmail_profile_keeps_one_copy_and_the_diagnosis_names_who_missed_it():
    """Through the gmail profile one copy arrives; two of the three targets never get it."""
    tenant, summaries = _deliver_and_fetch("gmail")
    assert len(summaries) == 1 and summaries[0].provider == "gmail"
    diag = diagnose_consolidation(summaries, tenant)
    (case,) = diag.report.cases
    assert case.copies == 1 and len(case.expected) == 3 and len(case.missed) >= 2
    assert any(
        f.check == "gmail.alias-consolidated"
        and "<live-3@example.net>" in f.subject
        and f.messages[0].message_id == "<live-3@example.net>"
        for f in diag.findings
    )


def test_postfix_profile_keeps_every_copy():
    """Through the postfix profile three copies arrive, each with its own X-Original-To: no finding."""
    tenant, summaries = _deliver_and_fetch("postfix")
    assert len(summaries) == 3
    originals = sorted(c.address for s in summaries for c in s.candidates if c.header == "X-Original-To" and c.trusted)
    assert originals == sorted(RCPTS)
    assert diagnose_consolidation(summaries, tenant).findings == ()
