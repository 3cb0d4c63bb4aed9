"""The router: a table of messages and the decision each must get, with its reason."""

from __future__ import annotations

import pytest

from mailsupport.routing import RouteKind, referenced_message_ids, route_message
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant

TENANT = pipeline_tenant()


def received(recipient: str, *, header: str = "X-Original-To", extra: str = "", top: str = "") -> bytes:
    """A catch-all delivery with ``header`` carrying ``recipient`` above the Received line."""
    return (
        f"{top}{header}: {recipient}\r\nDelivered-To: mailbox@catchall.example\r\n"
        f"Received: from a.example by mx.catchall.example (Postfix) with ESMTP id X\r\n"
        f"{extra}From: someone@outside.example\r\nTo: whoever@catchall.example\r\n"
        f"Subject: s\r\n\r\nbody\r\n"
    ).encode()


CASES = [
    ("matter-on-catch-all-domain", received("1001@catchall.example"), RouteKind.MATTER, "1001"),
    ("matter-on-wildcard-domain", received("1002@smithlaw.actionstep.example"), RouteKind.MATTER, "1002"),
    ("matter-case-insensitive-domain", received("1003@SmithLaw.ActionStep.Example"), RouteKind.MATTER, "1003"),
    (
        "unknown-matter-on-wildcard-domain",
        received("9999@smithlaw.actionstep.example"),
        RouteKind.FAILED,
        "it@catchall.example",
    ),
    ("alias-to-user", received("conveyancing@catchall.example"), RouteKind.ALIAS, "jane@catchall.example"),
    ("user-own-address", received("Jane@catchall.example"), RouteKind.USER, "jane@catchall.example"),
    ("unknown-address", received("nobody@catchall.example"), RouteKind.FAILED, "it@catchall.example"),
    (
        "forged-header-below-received-ignored",
        received("nobody@catchall.example", extra="X-Original-To: 1001@catchall.example\r\n"),
        RouteKind.FAILED,
        "it@catchall.example",
    ),
    (
        "header-choice-respected",
        received("1001@catchall.example", header="Delivered-To"),
        RouteKind.FAILED,
        "it@catchall.example",
    ),
    ("no-header-at-all", b"just some text without a header\r\n", RouteKind.FAILED, "it@catchall.example"),
    ("empty-message", b"", RouteKind.FAILED, "it@catchall.example"),
]


@pytest.mark.parametrize("raw, kind, target", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_route_table(raw: bytes, kind: RouteKind, target: str) -> None:
    """Each message is filed by the first matching rule, or failed with the failed-emails address."""
    d = route_message(TENANT, raw)
    assert (d.kind, d.target) == (kind, target), d.trace
    assert d.reason and d.trace


def test_matter_beats_user_when_both_are_recipients() -> None:
    """With two trusted recipients, the matter rule comes before the user rule."""
    raw = received("jane@catchall.example", top="X-Original-To: 1002@catchall.example\r\n")
    d = route_message(TENANT, raw)
    assert (d.kind, d.target) == (RouteKind.MATTER, "1002")
    assert any("also addressed to jane@catchall.example" in step for step in d.trace)


def test_reply_to_our_sent_message_routes_to_its_matter() -> None:
    """In-Reply-To naming a Message-ID we sent files the reply to that matter."""
    raw = received("nobody@catchall.example", extra="In-Reply-To: <sent-1@catchall.example>\r\n")
    d = route_message(TENANT, raw, sent_matters={"<sent-1@catchall.example>": "1003"})
    assert (d.kind, d.target) == (RouteKind.REPLY, "1003")


def test_reply_via_references_when_in_reply_to_is_foreign() -> None:
    """References is searched newest first when In-Reply-To is not ours."""
    raw = received(
        "nobody@catchall.example",
        extra="In-Reply-To: <x@else>\r\nReferences: <a@b> <sent-2@catchall.example> <x@else>\r\n",
    )
    d = route_message(TENANT, raw, sent_matters={"<sent-2@catchall.example>": "1001"})
    assert (d.kind, d.target) == (RouteKind.REPLY, "1001")


def test_address_rules_come_before_the_reply_rule() -> None:
    """A reply sent to a user's address goes to the user (rule 3 before rule 4)."""
    raw = received("jane@catchall.example", extra="In-Reply-To: <sent-1@catchall.example>\r\n")
    d = route_message(TENANT, raw, sent_matters={"<sent-1@catchall.example>": "1003"})
    assert d.kind is RouteKind.USER


def test_smtp_envelope_overrides_headers() -> None:
    """On the wildcard path the RCPT TO address is the envelope, whatever the headers say."""
    d = route_message(
        TENANT, received("nobody@catchall.example"), envelope_recipients=["1001@smithlaw.actionstep.example"]
    )
    assert (d.kind, d.target, d.recipient_source) == (RouteKind.MATTER, "1001", "SMTP envelope")


def test_to_header_is_evidence_not_routing() -> None:
    """A To naming a matter does not route the message when no trusted envelope header exists."""
    raw = b"Received: from a by b\r\nTo: 1001@catchall.example\r\nSubject: x\r\n\r\nbody\r\n"
    d = route_message(TENANT, raw)
    assert d.kind is RouteKind.FAILED
    assert ("To", "1001@catchall.example") in d.evidence
    assert any("evidence only" in step for step in d.trace)


def test_single_mailbox_uses_its_own_address() -> None:
    """A single-address mailbox of a user routes everything to that user."""
    tenant = pipeline_tenant(inbound={"address": "jane@catchall.example", "kind": "single"})
    d = route_message(tenant, received("1001@catchall.example"))
    assert (d.kind, d.target) == (RouteKind.USER, "jane@catchall.example")


def test_failed_without_failed_address_says_it_is_kept() -> None:
    """Without a failed-emails address the decision says the message stays in the store."""
    tenant = pipeline_tenant(failed_email_address=None)
    d = route_message(tenant, received("nobody@catchall.example"))
    assert d.kind is RouteKind.FAILED and d.target == ""
    assert "kept in the store" in d.trace[-1]


def test_referenced_ids_order() -> None:
    """In-Reply-To first, then References from newest to oldest, without repeats."""
    fields = [("References", "<a@x> <b@x> <c@x>"), ("In-Reply-To", "<c@x>")]
    assert referenced_message_ids(fields) == ("<c@x>", "<b@x>", "<a@x>")


def test_decision_is_json_ready() -> None:
    """to_dict holds only plain values."""
    import json

    d = route_message(TENANT, catchall_message(1, "1001@catchall.example"))
    assert json.loads(json.dumps(d.to_dict()))["kind"] == "matter"
