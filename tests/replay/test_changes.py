"""The KEY=VALUE change language: the tenant file's own paths, = and +=, validated like a tenant file."""

from __future__ import annotations

import pytest

from mailsupport.errors import ConfigError
from mailsupport.replay.changes import Change, apply_changes, parse_change

GOOD = [
    ("catch_all_header=Envelope-To", lambda t: t.inbound.catch_all_header, "Envelope-To"),
    ("inbound.catch_all_header = x-original-to", lambda t: t.inbound.catch_all_header, "X-Original-To"),
    (
        "users[0].aliases+=sales@smithlaw.example",
        lambda t: t.users[0].aliases,
        ("conveyancing@smithlaw.example", "jane.smith@smithlaw.example", "sales@smithlaw.example"),
    ),
    ("users[2].aliases+=frontdesk@smithlaw.example", lambda t: t.users[2].aliases, ("frontdesk@smithlaw.example",)),
    (
        'inbound.mx_hosts=["mx.example.net", "10.0.0.0/8"]',
        lambda t: t.inbound.mx_hosts,
        ("mx.example.net", "10.0.0.0/8"),
    ),
    ("matters[0].id=2042", lambda t: t.matters[0].id, "2042"),
    (
        'users+={address="zed@smithlaw.example", aliases=["z@smithlaw.example"]}',
        lambda t: (t.users[-1].address, t.users[-1].aliases),
        ("zed@smithlaw.example", ("z@smithlaw.example",)),
    ),
    ("size_limit=300000", lambda t: t.size_limit, 300000),
    ("confirm_download_then_delete=false", lambda t: t.inbound.confirm_download_then_delete, False),
    ("failed_email_address=helpdesk@smithlaw.example", lambda t: t.failed_email_address, "helpdesk@smithlaw.example"),
]


@pytest.mark.parametrize("text, read, expected", GOOD, ids=[g[0].split("=")[0].rstrip("+ ") for g in GOOD])
def test_a_change_sets_the_field_it_names(catchall_tenant, text, read, expected):
    """Each change lands on the field its path names (a catch-all setting may omit inbound.; = on a text field
    keeps the text; TOML values for the rest; += appends) and nothing else changes."""
    changed = apply_changes(catchall_tenant, [parse_change(text)])
    assert read(changed) == expected
    assert changed.source == catchall_tenant.source and changed.zones == catchall_tenant.zones
    assert changed.inbound.server.password == catchall_tenant.inbound.server.password


BAD = [
    ("users[7].name=x", "users[7]", "there is no item [7]: users has items users[0] to users[2]"),
    ("users[0].aliases+=not-an-address", "users[0].aliases[2]", "expected an email address"),
    ("inbound.catch_all_header=Subject", "inbound.catch_all_header", "expected one of Delivered-To"),
    ("inbound.catch_all_headr=Envelope-To", "inbound.catch_all_headr", "is not a known field"),
    ("catch_all_header+=Envelope-To", "inbound.catch_all_header", "+= appends to a list"),
    ("inbound.server.password=hunter2", "inbound.server.password", "passwords and tokens are not changed"),
    ("users[0].aliases+=raj@smithlaw.example", "users[1].address", "is already used at users[0].aliases[2]"),
    ("nonsense", "--change", "expected KEY=VALUE or KEY+=VALUE"),
    ("domains[0].x=1", "domains[0]", "is not a table"),
]


@pytest.mark.parametrize("text, path, words", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_a_bad_change_is_a_config_error_naming_its_path(catchall_tenant, text, path, words):
    """A change that does not fit raises ConfigError with the path of the field, as the tenant loader names it,
    and never echoes a password."""
    with pytest.raises(ConfigError) as info:
        apply_changes(catchall_tenant, [parse_change(text)])
    assert info.value.path == path and words in str(info.value)
    assert "canary-4b1d-" not in str(info.value) and "hunter2" not in str(info.value)


def test_no_change_is_the_tenant_itself(catchall_tenant):
    """Applying nothing gives the very tenant back; changes apply in order."""
    assert apply_changes(catchall_tenant, []) is catchall_tenant
    changed = apply_changes(
        catchall_tenant,
        [
            Change(path="inbound.catch_all_header", op="=", value="Envelope-To"),
            Change(path="inbound.catch_all_header", op="=", value="X-Original-To"),
        ],
    )
    assert changed.inbound.catch_all_header == "X-Original-To"
