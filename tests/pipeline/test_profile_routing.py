"""A catch-all routed through every sandbox profile with the header that profile supports.

Each message goes through the sandbox MX on loopback (a real SMTP transaction, one recipient each)
into the catch-all mailbox; every stored copy is then routed with the tenant's catch-all header
set to what the profile writes. Postfix, Exim, sendmail's for clause and Google's edge hop file
every message to its target; Exchange (online and on-premises) keeps no envelope recipient, so
every copy goes to failed mail and the diagnosis says to change the server.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailsupport.config import load_tenant
from mailsupport.diagnose.catchall import diagnose_catch_all
from mailsupport.headers import recipients_for
from mailsupport.routing import RouteKind, route_message
from mailsupport.samples import summarize
from mailsupport.samples.generate import plain_message
from mailsupport.sandbox import Sandbox

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
pytestmark = pytest.mark.timeout(120)

MAILBOX = "matters@smithlaw.example"
#: recipient -> (kind, target) the router must file it to
EXPECTED = {
    "1042@smithlaw.example": (RouteKind.MATTER, "1042"),
    "conveyancing@smithlaw.example": (RouteKind.ALIAS, "jane@smithlaw.example"),
    "raj@smithlaw.example": (RouteKind.USER, "raj@smithlaw.example"),
    "nosuch@smithlaw.example": (RouteKind.FAILED, "it@smithlaw.example"),
}
#: profile (and options) -> the catch-all header it supports (None: none)
PROFILE_HEADERS = [
    ("postfix", {}, "X-Original-To"),
    ("exim", {}, "Envelope-To"),
    ("received-for", {}, "Received-for"),
    ("gmail", {}, "Received-for"),
    ("gmail", {"x_gm_original_to": True}, "X-Gm-Original-To"),
    ("office365", {}, None),
    ("exchange", {}, None),
]


def _delivered(profile: str, options: dict) -> list[bytes]:
    """Every copy the profile stores for one single-recipient transaction per address of EXPECTED."""
    tenant = load_tenant(SAMPLES / "tenants" / "smithlaw-postfix.toml", environ={})
    with Sandbox([tenant], profile=profile) as sb:
        sb.set_profile(profile, **options)
        for n, rcpt in enumerate(EXPECTED, start=1):
            sb.deliver(
                plain_message(to=[rcpt], subject=f"to {rcpt}", message_id=f"p{n}@outside.example", n=n),
                "client@outside.example",
                [rcpt],
            )
        return [m.data for m in sb.mailbox(MAILBOX)]


@pytest.mark.parametrize(
    "profile, options, header",
    PROFILE_HEADERS,
    ids=[p + ("+x-gm-original-to" if o else "") for p, o, _h in PROFILE_HEADERS],
)
def test_catch_all_through_each_profile(profile, options, header):
    """With the profile's own header every copy is filed to its target (and the diagnosis recommends that
    header); without one every copy fails and the diagnosis names no header. Router and scan agree."""
    tenant = load_tenant(SAMPLES / "tenants" / "smithlaw-postfix.toml", environ={})
    copies = _delivered(profile, options)
    assert len(copies) == len(EXPECTED)
    routed = replace(tenant, inbound=replace(tenant.inbound, catch_all_header=header or "Delivered-To"))
    summaries = [summarize(raw, source=profile, position=str(i)) for i, raw in enumerate(copies, start=1)]
    for raw, s in zip(copies, summaries):
        decision = route_message(routed, raw)
        rcpt = s.to[0]
        expected = EXPECTED[rcpt] if header else (RouteKind.FAILED, "it@smithlaw.example")
        assert (decision.kind, decision.target) == expected, decision.trace
        assert decision.recipients == recipients_for(s.candidates, routed.inbound.catch_all_header)
        if header:
            assert decision.recipients == (rcpt,)
    report = diagnose_catch_all(summaries, routed)
    assert report.recommended_header == header
    if header is None:
        (missing,) = [f for f in report.findings if f.check == "catchall.header-missing"]
        assert missing.severity.name == "ERROR" and "Exchange" in missing.remedy
