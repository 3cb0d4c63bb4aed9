"""What an address means for a tenant: matter, alias, user, the mailbox itself, or unknown."""

from __future__ import annotations

import pytest

from mailsupport.addresses import TargetKind, classify_address, extract_addresses, normalize_address
from mailsupport.config import parse_tenant

TENANT = parse_tenant(
    {
        "org_key": "smithlaw",
        "domains": ["smithlaw.example"],
        "wildcard_domain": "actionstep.example",
        "inbound": {"address": "matters@smithlaw.example", "kind": "catch-all"},
        "users": [{"address": "jane@smithlaw.example", "aliases": ["conveyancing@smithlaw.example"]}],
        "matters": [{"id": "1042", "name": "Estate of Brown"}],
    }
)
NO_MATTER_LIST = parse_tenant(
    {
        "org_key": "smithlaw",
        "wildcard_domain": "actionstep.example",
        "inbound": {"address": "matters@smithlaw.example", "kind": "catch-all"},
    }
)


@pytest.mark.parametrize(
    ("tenant", "address", "kind", "target"),
    [
        (TENANT, "1042@smithlaw.actionstep.example", TargetKind.MATTER, "1042"),
        (TENANT, "1042@SmithLaw.ActionStep.example", TargetKind.MATTER, "1042"),
        (TENANT, "9999@smithlaw.actionstep.example", TargetKind.UNKNOWN, ""),
        (TENANT, "1042@smithlaw.example", TargetKind.MATTER, "1042"),
        (TENANT, "Conveyancing@smithlaw.example", TargetKind.ALIAS, "jane@smithlaw.example"),
        (TENANT, '"Jane" <jane@SMITHLAW.example>', TargetKind.USER, "jane@smithlaw.example"),
        (TENANT, "matters@smithlaw.example", TargetKind.MAILBOX, "matters@smithlaw.example"),
        (TENANT, "nobody@smithlaw.example", TargetKind.UNKNOWN, ""),
        (TENANT, "someone@elsewhere.example", TargetKind.UNKNOWN, ""),
        (NO_MATTER_LIST, "777@smithlaw.example", TargetKind.MATTER, "777"),
        (NO_MATTER_LIST, "777@smithlaw.actionstep.example", TargetKind.MATTER, "777"),
        (NO_MATTER_LIST, "abc@smithlaw.actionstep.example", TargetKind.UNKNOWN, ""),
        (TENANT, "not-an-address", TargetKind.UNKNOWN, ""),
    ],
    ids=[
        "matter-wildcard",
        "matter-case",
        "unknown-matter",
        "matter-on-catch-all",
        "alias",
        "user",
        "mailbox",
        "unknown-on-catch-all",
        "foreign",
        "numeric-any",
        "numeric-wildcard",
        "non-numeric-wildcard",
        "garbage",
    ],
)
def test_classify_address(tenant, address, kind, target):
    """Each address gets the kind and target the product's filing rules give it, with a reason."""
    got = classify_address(tenant, address)
    assert got.kind is kind
    assert got.target == target
    assert got.reason


def test_real_targets_are_matter_alias_and_user_only():
    """Only matters, aliases and users count as places a message is really filed."""
    assert {k for k in TargetKind if k.is_real_target} == {TargetKind.MATTER, TargetKind.ALIAS, TargetKind.USER}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<A@Example.COM>", "A@example.com"),
        ('"Name, With Comma" <x@y.example>', "x@y.example"),
        ("mailto:x@Y.example", "x@y.example"),
        ("  x@y.example.  ", "x@y.example"),
    ],
)
def test_normalize_address(value, expected):
    """Names and brackets go, the domain is lower-cased, the local part kept."""
    assert normalize_address(value) == expected


def test_extract_addresses_handles_lists_and_groups():
    """Comma lists, display names and groups all yield their addresses in order."""
    assert extract_addresses('a@x.example, "B" <b@x.example>, team: c@x.example;') == (
        "a@x.example",
        "b@x.example",
        "c@x.example",
    )
