"""Pre-flight tables: what the doctor reports from typed settings alone, with no connection."""

from __future__ import annotations

import copy

import pytest

from mailsupport.config import parse_tenant
from mailsupport.doctor import SETTINGS_CHECKS, preflight, preflight_data
from mailsupport.model import Severity

BASE = {
    "org_key": "smithlaw",
    "domains": ["smithlaw.example"],
    "provider": "other",
    "failed_email_address": "it@elsewhere.example",
    "inbound": {
        "address": "matters@smithlaw.example",
        "kind": "catch-all",
        "confirm_download_then_delete": True,
        "server": {
            "host": "mail.smithlaw.example",
            "port": 995,
            "tls": "implicit",
            "username": "matters@smithlaw.example",
            "password": "pw-typed",
        },
    },
    "outbound": {
        "from_address": "matters@smithlaw.example",
        "server": {
            "host": "mail.smithlaw.example",
            "port": 587,
            "tls": "starttls",
            "username": "matters@smithlaw.example",
            "password": "pw-typed",
        },
    },
}


def _with(**changes):
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data
        parts = path.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return data


def _checks(data):
    tenant, findings = preflight_data(data)
    return sorted({f.check for f in findings})


def test_good_settings_have_no_errors():
    """A complete 'Other' set-up passes pre-flight without errors."""
    tenant, findings = preflight_data(BASE)
    assert tenant is not None
    assert [f for f in findings if f.severity >= Severity.ERROR] == []


CASES = [
    ("pop3-995-starttls", _with(inbound__server__tls="starttls"), "settings.port-tls-impossible"),
    ("pop3-110-implicit", _with(inbound__server__port=110), "settings.port-tls-impossible"),
    ("smtp-465-starttls", _with(outbound__server__port=465), "settings.port-tls-impossible"),
    ("smtp-587-implicit", _with(outbound__server__tls="implicit"), "settings.port-tls-impossible"),
    (
        "smtp-25-implicit",
        _with(outbound__server__port=25, outbound__server__tls="implicit"),
        "settings.port-tls-impossible",
    ),
    ("not-confirmed", _with(inbound__confirm_download_then_delete=False), "settings.download-delete-not-confirmed"),
    ("failed-on-catch-all", _with(failed_email_address="oops@smithlaw.example"), "settings.failed-address-loop"),
    ("failed-is-mailbox", _with(failed_email_address="matters@smithlaw.example"), "settings.failed-address-loop"),
    ("failed-missing", _with(failed_email_address=None), "settings.failed-address-missing"),
    (
        "alias-is-mailbox",
        _with(users=[{"address": "jane@smithlaw.example", "aliases": ["matters@smithlaw.example"]}]),
        "settings.alias-is-mailbox",
    ),
    ("size-huge", _with(size_limit=50_000_000), "settings.size-limit"),
    ("size-tiny", _with(size_limit=1000), "settings.size-limit"),
    ("plaintext-auth", _with(inbound__server__tls="none", inbound__server__port=110), "settings.plaintext-auth"),
    ("host-missing", _with(inbound__server__host=None), "settings.required-field-missing"),
    ("password-missing", _with(inbound__server__password=None), "settings.required-field-missing"),
    ("bad-address", _with(failed_email_address="not an address"), "settings.invalid-field"),
]


@pytest.mark.parametrize("data,check", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_preflight_finds(data, check):
    """Each broken setting yields its documented check id."""
    assert check in _checks(data)
    assert check in SETTINGS_CHECKS


@pytest.mark.parametrize(
    "failed,users,severity",
    [
        ("matters@smithlaw.example", [], Severity.ERROR),
        (
            "conveyancing@smithlaw.example",
            [{"address": "jane@smithlaw.example", "aliases": ["conveyancing@smithlaw.example"]}],
            Severity.ERROR,
        ),
        ("it@smithlaw.example", [], Severity.WARNING),
        ("jane@smithlaw.example", [{"address": "jane@smithlaw.example"}], None),
    ],
    ids=["mailbox-itself", "alias", "unknown-on-catch-all", "real-user"],
)
def test_failed_address_loop_severity(failed, users, severity):
    """The mailbox itself or an alias loops for sure; an unknown address probably; a user's own address not."""
    _, findings = preflight_data(_with(failed_email_address=failed, users=users))
    found = [f.severity for f in findings if f.check == "settings.failed-address-loop"]
    assert found == ([] if severity is None else [severity])


def test_exchange_needs_the_server_field():
    """Exchange without a server name is named as such, not as a generic missing field."""
    tenant = parse_tenant(
        {
            "org_key": "x",
            "provider": "exchange",
            "failed_email_address": "a@b.example",
            "inbound": {"address": "m@x.example", "confirm_download_then_delete": True, "server": {"password": "p"}},
        }
    )
    checks = [f.check for f in preflight(tenant)]
    assert "settings.exchange-server-missing" in checks
    assert "settings.required-field-missing" not in checks


def test_office365_needs_only_address_and_password():
    """Office 365 with address + password needs nothing else (user name defaults to the address)."""
    tenant = parse_tenant(
        {
            "org_key": "x",
            "provider": "office365",
            "failed_email_address": "a@b.example",
            "inbound": {"address": "m@x.example", "confirm_download_then_delete": True, "server": {"password": "p"}},
        }
    )
    assert [f.check for f in preflight(tenant) if f.severity >= Severity.ERROR] == []


def test_gmail_pop_keeps_mail_is_informational():
    """A Gmail mailbox gets the POP disposition note as info, not as an error."""
    tenant = parse_tenant(
        {
            "org_key": "x",
            "provider": "gmail",
            "failed_email_address": "a@b.example",
            "inbound": {
                "address": "m@x.example",
                "kind": "catch-all",
                "confirm_download_then_delete": True,
                "server": {"password": "p"},
            },
        }
    )
    found = {f.check: f for f in preflight(tenant)}
    assert found["settings.gmail-pop-keeps-mail"].severity is Severity.INFO


def test_outbound_only_requires_smtp_fields():
    """Outbound only asks for the SMTP address, server, port, user and password."""
    tenant = parse_tenant({"org_key": "x", "provider": "outbound-only", "failed_email_address": "a@b.example"})
    missing = {dict(f.evidence)["field"] for f in preflight(tenant) if f.check == "settings.required-field-missing"}
    assert missing == {
        "outbound.from_address",
        "outbound.server.host",
        "outbound.server.username",
        "outbound.server.password",
    }


def test_invalid_field_is_named_and_no_exception():
    """A value that cannot be parsed becomes a finding naming the field."""
    tenant, findings = preflight_data(_with(inbound__server__port="nine-nine-five"))
    assert tenant is None
    assert findings[0].check == "settings.invalid-field"
    assert "inbound.server.port" in findings[0].summary


def test_findings_never_carry_the_password():
    """No pre-flight text shows a typed password."""
    _, findings = preflight_data(_with(inbound__server__tls="none", inbound__server__port=110))
    assert all("pw-typed" not in str(f.to_dict()) for f in findings)
