"""Tenant files: loading, presets, validation errors with exact paths, secrets that never print."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mailsupport.config import (
    CATCH_ALL_HEADERS,
    PRESETS,
    MailboxKind,
    Provider,
    TlsMode,
    iter_tenant_files,
    load_tenant,
    parse_tenant,
    tenant_to_dict,
)
from mailsupport.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"

MINIMAL = {"org_key": "acme", "domains": ["acme.example"], "provider": "other"}


def test_sample_tenant_loads_with_its_fields():
    """The bundled sample tenant loads; catch-all, header choice, users, aliases and matters come through."""
    t = load_tenant(SAMPLE)
    assert t.org_key == "smithlaw"
    assert t.inbound is not None and t.inbound.kind is MailboxKind.CATCH_ALL
    assert t.inbound.catch_all_header == "X-Original-To"
    assert t.inbound.confirm_download_then_delete is True
    assert t.alias_map()["conveyancing@smithlaw.example"] == "jane@smithlaw.example"
    assert [m.id for m in t.matters] == ["1042", "1043"]
    assert t.matter_domain == "smithlaw.actionstep.example"
    assert t.zones and all(Path(z).is_absolute() for z in t.zones)


def test_every_sample_tenant_loads():
    """Every tenant file shipped in data/samples/tenants/ is valid."""
    files = iter_tenant_files([REPO / "data" / "samples" / "tenants"])
    assert files
    for f in files:
        load_tenant(f, environ={})


@pytest.mark.parametrize(
    ("provider", "pop_host", "pop_port", "pop_tls"),
    [
        ("office365", "outlook.office365.com", 995, TlsMode.IMPLICIT),
        ("gmail", "pop.gmail.com", 995, TlsMode.IMPLICIT),
        ("exchange", None, 995, TlsMode.IMPLICIT),
        ("other", None, 995, TlsMode.IMPLICIT),
    ],
)
def test_presets_fill_known_server_settings(provider, pop_host, pop_port, pop_tls):
    """Choosing a provider fills its known POP3 host, port and TLS mode."""
    t = parse_tenant({**MINIMAL, "provider": provider, "inbound": {"address": "m@acme.example"}})
    assert (t.inbound.server.host, t.inbound.server.port, t.inbound.server.tls) == (pop_host, pop_port, pop_tls)


def test_presets_required_fields_follow_the_help_page():
    """O365 and Gmail need address + password, Exchange adds the server, Other needs everything."""
    assert set(PRESETS[Provider.OFFICE365].required) == {"inbound.address", "inbound.server.password"}
    assert "inbound.server.host" in PRESETS[Provider.EXCHANGE].required
    assert {"inbound.server.host", "inbound.server.port", "inbound.server.username"} <= set(
        PRESETS[Provider.OTHER].required
    )
    assert PRESETS[Provider.OUTBOUND_ONLY].fetches is False


def test_outbound_only_refuses_an_inbound_mailbox():
    """An outbound-only tenant with an [inbound] table is a configuration error at that path."""
    with pytest.raises(ConfigError) as err:
        parse_tenant({**MINIMAL, "provider": "outbound-only", "inbound": {"address": "m@acme.example"}})
    assert err.value.path == "inbound"


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"domains": ["a.example"]}, "org_key", "required"),
        ({**MINIMAL, "org_key": "Acme Law"}, "org_key", "DNS label"),
        ({**MINIMAL, "domains": ["ok.example", "not a domain"]}, "domains[1]", "domain name"),
        ({**MINIMAL, "provider": "yahoo"}, "provider", "expected one of"),
        (
            {
                **MINIMAL,
                "users": [
                    {"address": "a@acme.example"},
                    {"address": "b@acme.example"},
                    {"address": "c@acme.example", "aliases": ["nope"]},
                ],
            },
            "users[2].aliases[0]",
            "email address",
        ),
        (
            {**MINIMAL, "users": [{"address": "a@acme.example", "aliases": ["a@acme.example"]}]},
            "users[0].aliases[0]",
            "already used at users[0].address",
        ),
        (
            {**MINIMAL, "inbound": {"address": "m@acme.example", "catch_all_header": "X-Foo"}},
            "inbound.catch_all_header",
            "Delivered-To",
        ),
        (
            {**MINIMAL, "inbound": {"address": "m@acme.example", "server": {"port": 99999}}},
            "inbound.server.port",
            "0 to 65535",
        ),
        (
            {**MINIMAL, "inbound": {"address": "m@acme.example", "server": {"prot": 995}}},
            "inbound.server.prot",
            "not a known field",
        ),
        ({**MINIMAL, "matters": [{"id": "1"}, {"id": "1"}]}, "matters[1].id", "twice"),
        (
            {**MINIMAL, "failed_email_address": "it@acme.example\r\nBcc: x@evil.example"},
            "failed_email_address",
            "must not contain CR",
        ),
        ({**MINIMAL, "size_limit": "10MB"}, "size_limit", "whole number"),
    ],
    ids=[
        "missing-org-key",
        "bad-org-key",
        "bad-domain",
        "unknown-provider",
        "bad-alias",
        "alias-clash",
        "bad-header",
        "port-range",
        "typo-field",
        "duplicate-matter",
        "crlf",
        "size-type",
    ],
)
def test_config_errors_name_the_exact_path(data, path, words):
    """A broken field raises ConfigError whose path is the field's exact path and says what is expected."""
    with pytest.raises(ConfigError) as err:
        parse_tenant(data, source="t.toml")
    assert err.value.path == path
    assert words in str(err.value)
    assert str(err.value).startswith(f"t.toml: {path}: ")


def test_catch_all_header_choice_is_case_insensitive_and_canonical():
    """`delivered-to` in a file becomes the canonical `Delivered-To`."""
    t = parse_tenant({**MINIMAL, "inbound": {"address": "m@acme.example", "catch_all_header": "received-FOR"}})
    assert t.inbound.catch_all_header == "Received-for"
    assert set(CATCH_ALL_HEADERS) >= {t.inbound.catch_all_header}


def test_catch_all_domain_defaults_to_the_mailbox_domain():
    """A catch-all mailbox with no explicit domains covers its own address's domain."""
    t = parse_tenant({**MINIMAL, "inbound": {"address": "m@Acme.example", "kind": "catch-all"}})
    assert t.inbound.effective_catch_all_domains == ("acme.example",)


def test_secrets_never_print_and_errors_do_not_echo_them():
    """Passwords are Secrets: repr/str of the tenant hide them, and a wrong-typed password is not echoed."""
    t = parse_tenant({**MINIMAL, "inbound": {"address": "m@acme.example", "server": {"password": "canary-4b1d-cfg"}}})
    assert "canary-4b1d-cfg" not in repr(t) and "canary-4b1d-cfg" not in str(t)
    assert t.inbound.server.password.reveal() == "canary-4b1d-cfg"
    with pytest.raises(ConfigError) as err:
        parse_tenant({**MINIMAL, "inbound": {"address": "m@acme.example", "server": {"password": 123456789}}})
    assert "123456789" not in str(err.value)


def test_password_env_reference_is_resolved_from_the_given_environment():
    """`password_env` names a variable; a missing one is an error at that path."""
    data = {**MINIMAL, "inbound": {"address": "m@acme.example", "server": {"password_env": "ACME_POP"}}}
    t = parse_tenant(data, environ={"ACME_POP": "s3cret"})
    assert t.inbound.server.password.reveal() == "s3cret"
    with pytest.raises(ConfigError) as err:
        parse_tenant(data, environ={})
    assert err.value.path == "inbound.server.password_env"


def test_export_hides_secrets_and_round_trips(tmp_path):
    """tenant_to_dict shows *** for secrets; revealed, the export loads back as JSON to an equal tenant."""
    t = load_tenant(SAMPLE)
    shown = json.dumps(tenant_to_dict(t))
    assert "canary" not in shown and '"***"' in shown
    exported = tmp_path / "t.json"
    exported.write_text(json.dumps(tenant_to_dict(t, reveal_secrets=True)))
    again = load_tenant(exported)
    assert again.inbound == t.inbound and again.users == t.users and again.matters == t.matters


def test_broken_toml_and_missing_file_are_config_errors(tmp_path):
    """Syntax errors and unreadable files are ConfigErrors naming the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent('org_key = "x"\n[inbound\n'))
    with pytest.raises(ConfigError, match="invalid TOML") as err:
        load_tenant(bad)
    assert err.value.source == str(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_tenant(tmp_path / "missing.toml")


def test_tenant_text_is_read_whole_and_within_the_cap(tmp_path):
    """A file is read to its end, exactly; one over the 4 MiB cap (sparse, nothing written) is refused by size."""
    from mailsupport.tenantfile import MAX_TENANT_BYTES, read_tenant_text

    text = 'description = "caf\u00e9"\n' * 500
    small = tmp_path / "t.toml"
    small.write_text(text, encoding="utf-8")
    assert read_tenant_text(small) == text
    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(MAX_TENANT_BYTES + 1)
    with pytest.raises(ConfigError, match="over the 4,194,304-byte cap"):
        read_tenant_text(big)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_tenant_text_longer_than_its_stat_size_is_read_whole():
    """A regular file whose size stat() under-reports (as one growing while read; /proc files say 0)
    is still read to its end, not cut at the reported size."""
    from mailsupport.tenantfile import read_tenant_text

    assert Path("/proc/self/status").stat().st_size == 0
    text = read_tenant_text("/proc/self/status")
    assert text.startswith("Name:") and "\nPid:" in text
