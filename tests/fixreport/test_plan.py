"""The fix plan: steps deduplicated and ordered, the verdict, and the data round trips."""

from __future__ import annotations

import json

import pytest

from mailsupport.fixes import ORDER_ADVICE, ORDER_CONNECTION, ORDER_DNS, ORDER_POLICY, ORDER_ROUTING, FixStep
from mailsupport.fixplan import FixPlan, make_plan, order_steps, step_for
from mailsupport.model import Finding, MessageRef, Severity

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _step(host, rtype, new, *, sev=W, order=ORDER_DNS, resolves=(), **kw):
    return FixStep(host=host, rtype=rtype, new=new, severity=sev, order=order, resolves=resolves, **kw)


SPF = _step(
    "a.example", "TXT", "v=spf1 include:_spf.actionstep.com ~all", sev=E, resolves=(("spf.no-record", "a.example"),)
)
SPF_FROM_DMARC = _step(
    "A.example.",
    "TXT",
    "v=spf1 mx include:_spf.actionstep.com ~all",
    resolves=(("dmarc.spf-not-aligned", "a.example"),),
)
DMARC = _step("_dmarc.a.example", "TXT", "v=DMARC1; p=none", resolves=(("dmarc.no-record", "a.example"),))
HEADER = _step(
    "inbound.catch_all_header",
    "setting",
    "X-Original-To",
    order=ORDER_ROUTING,
    resolves=(("catchall.header-choice", "catch-all mailbox"),),
)
HEADER_AGAIN = _step(
    "inbound.catch_all_header",
    "setting",
    "X-Original-To",
    sev=E,
    order=ORDER_ROUTING,
    resolves=(("catchall.header-forgeable", "catch-all mailbox"),),
)
ADVICE_A = _step("users", "advice", "keep messages under 10 MB", order=ORDER_ADVICE)
ADVICE_B = _step("users", "advice", "share files as links", order=ORDER_ADVICE)
PORT = _step("inbound.server.tls", "setting", "port 995, TLS implicit", sev=E, order=ORDER_CONNECTION)
POLICY = _step("_dmarc.b.example", "TXT", "v=DMARC1; p=quarantine", sev=INFO, order=ORDER_POLICY)


@pytest.mark.parametrize(
    "steps, expected",
    [
        ([SPF, SPF_FROM_DMARC], [("TXT", "a.example", SPF.new)]),
        ([SPF, DMARC], [("TXT", "a.example", SPF.new), ("TXT", "_dmarc.a.example", DMARC.new)]),
        ([HEADER, HEADER_AGAIN], [("setting", "inbound.catch_all_header", "X-Original-To")]),
        ([ADVICE_A, ADVICE_B], [("advice", "users", ADVICE_A.new), ("advice", "users", ADVICE_B.new)]),
        (
            [ADVICE_A, HEADER, SPF, DMARC, PORT, POLICY],
            [
                ("setting", "inbound.server.tls", PORT.new),
                ("TXT", "a.example", SPF.new),
                ("TXT", "_dmarc.a.example", DMARC.new),
                ("setting", "inbound.catch_all_header", "X-Original-To"),
                ("advice", "users", ADVICE_A.new),
                ("TXT", "_dmarc.b.example", POLICY.new),
            ],
        ),
    ],
    ids=[
        "one-spf-record-per-domain",
        "spf-and-dmarc-are-two-records",
        "one-setting-once",
        "two-pieces-of-advice",
        "worst-first-then-connection-dns-routing-advice",
    ],
)
def test_order_steps_merges_one_change_and_orders_worst_first(steps, expected):
    """Steps that change the same thing become one; the rest are worst first, then by order, then as given."""
    assert [(s.rtype, s.host, s.new) for s in order_steps(steps)] == expected


def test_a_merged_step_resolves_every_finding_and_takes_the_worst_severity():
    """The first step's values stay; the findings it resolves are joined and the severity is the worst."""
    (spf,) = order_steps([SPF_FROM_DMARC, SPF])
    assert spf.new == SPF_FROM_DMARC.new
    assert spf.checks == ("dmarc.spf-not-aligned", "spf.no-record") and spf.severity is E
    (header,) = order_steps([HEADER, HEADER_AGAIN])
    assert header.severity is E and len(header.resolves) == 2


def test_step_for_matches_check_and_subject():
    """A finding maps to the step naming its (check, subject); another subject with the same check does not."""
    f = Finding(check="spf.no-record", severity=E, subject="a.example", summary="none")
    other = Finding(check="spf.no-record", severity=E, subject="b.example", summary="none")
    assert step_for([DMARC, SPF], f) is SPF and step_for([DMARC, SPF], other) is None


def _finding(check, sev, subject="a.example"):
    return Finding(check=check, severity=sev, subject=subject, summary=f"{check} found")


@pytest.mark.parametrize(
    "findings, steps, status, starts, says",
    [
        ([], [], "ok", "No change needed", ["no problem"]),
        ([_finding("dmarc.policy-none", INFO)], [POLICY], "ok", "No change needed", ["1 optional improvement"]),
        (
            [_finding("dmarc.no-record", W)],
            [DMARC],
            "recommended",
            "Recommended: 1 change below fixes 1 of the 1 problem",
            ["(1 warning)", "First: Publish a TXT record at _dmarc.a.example"],
        ),
        (
            [_finding("spf.no-record", E), _finding("dmarc.no-record", W), _finding("size.over-recommended", W, "m")],
            [SPF, DMARC],
            "action needed",
            "Action needed: 2 changes below fix 2 of the 3 problems",
            ["(1 error, 2 warnings)", "1 more needs a closer look"],
        ),
    ],
    ids=["nothing-found", "only-an-optional-step", "a-warning", "an-error-and-one-unresolved"],
)
def test_verdict_says_the_state_and_what_to_do(findings, steps, status, starts, says):
    """The verdict line: the status, how many changes fix how many problems, what is left, the first step."""
    plan = make_plan(steps, findings, tenant="t")
    assert plan.status == status and plan.verdict.startswith(starts)
    for text in says:
        assert text in plan.verdict


def test_the_runs_own_findings_become_not_checked_lines():
    """audit.check-skipped/unavailable/failed are not problems: their reasons go under "not checked"."""
    failed = Finding(
        check="audit.check-failed", severity=E, subject="t", summary="the spf check could not finish: boom"
    )
    plan = make_plan([], [failed, _finding("spf.no-record", E)], tenant="t", not_checked=["No sample was given."])
    assert [f.check for f in plan.findings] == ["spf.no-record"]
    assert plan.not_checked == ("No sample was given.", "The spf check could not finish: boom")
    assert [f.check for f in plan.unresolved] == ["spf.no-record"]


def test_fix_step_and_plan_round_trip_through_json():
    """A step (full and compact) and a whole plan read back equal from their JSON."""
    ref = MessageRef(message_id="<m@x>", subject="s", date="d", from_="f", source="box.mbox", position="3")
    step = _step(
        "inbound.catch_all_header",
        "setting",
        "X-Original-To",
        label="Email Setup > Catch-All Header",
        current="Delivered-To",
        why="w",
        verify="v",
        action="Set it",
        evidence=(("k", "v"),),
        messages=(ref,),
        detail="trace",
        path="vendor",
        resolves=(("catchall.header-choice", "mailbox"),),
    )
    for data in (step.to_dict(), step.to_dict(compact=True)):
        assert FixStep.from_dict(json.loads(json.dumps(data))) == step
    compact = step.to_dict(compact=True)
    assert "where" not in compact and "checks" not in FixStep(host="h", rtype="advice", new="n").to_dict(compact=True)
    plan = make_plan(
        [step, SPF],
        [_finding("spf.no-record", E)],
        tenant="t",
        provider="other",
        created="now",
        version="1",
        dns_source="zones",
        checked=["SPF"],
        not_checked=["x"],
        traces=[("T", "text")],
    )
    again = FixPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan and again.verdict == plan.verdict


def test_a_step_of_an_unknown_kind_is_refused():
    """rtype must be a DNS record type, setting, provider or advice."""
    with pytest.raises(ValueError, match="expected one of"):
        FixStep(host="h", rtype="SRV", new="x")


@pytest.mark.parametrize(
    "step, where, title",
    [
        (_step("a.example", "TXT", "v=spf1 -all"), "DNS: TXT record at a.example", "Publish a TXT record at a.example"),
        (
            _step("a.example", "MX", "0 mx", current="10 old"),
            "DNS: MX record at a.example",
            "Change the MX record at a.example",
        ),
        (
            _step("size_limit", "setting", "10 MB", label="Email Setup > Size limit"),
            "Email Setup > Size limit",
            "Change Email Setup > Size limit",
        ),
        (
            _step("sending.relay_dkim_domain", "setting", "a.example"),
            "tenant setting sending.relay_dkim_domain",
            "Change sending.relay_dkim_domain",
        ),
    ],
    ids=["dns-new", "dns-change", "setting-with-label", "setting-without-label"],
)
def test_where_and_title_are_said_in_words(step, where, title):
    """Without an explicit action, where and what to do are made from the record or the field."""
    assert (step.where, step.title) == (where, title)
