"""Property tests (Hypothesis) of the tenant loader: any input is a Tenant or a ConfigError naming where.

The number of examples comes from the active Hypothesis profile; no test here sets it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsupport.config import Tenant, load_tenant, parse_tenant
from mailsupport.errors import ConfigError
from mailsupport.tenantfile import MAX_DEPTH, _scan, nesting_problem

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELDS = [
    "org_key",
    "domains",
    "wildcard_domain",
    "provider",
    "inbound",
    "outbound",
    "users",
    "matters",
    "address",
    "kind",
    "server",
    "host",
    "port",
    "tls",
    "password",
    "aliases",
    "name",
    "id",
    "size_limit",
    "failed_email_address",
    "catch_all_header",
    "timeout",
    "description",
]
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(
        ["acme", "acme.example", "a@acme.example", "other", "gmail", "catch-all", "implicit", "X-Original-To", "1042"]
    ),
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)
tenant_like = st.fixed_dictionaries(
    {"org_key": st.sampled_from(["acme", "Acme", ""])},
    optional={k: value for k in FIELDS[1:8] + ["size_limit", "description"]},
)


@SETTINGS
@given(data=st.one_of(tenant_like, value))
def test_any_parsed_value_is_a_tenant_or_a_config_error(data):
    """Whatever a JSON/TOML parser could hand over, validation returns a Tenant or raises ConfigError, whose
    message stays short (a huge or deep value is clipped)."""
    try:
        assert isinstance(parse_tenant(data, source="t.json"), Tenant)
    except ConfigError as exc:
        assert len(str(exc)) < 600


def _load(text: str, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"t{suffix}"
        p.write_text(text, encoding="utf-8")
        return load_tenant(p)


@SETTINGS
@given(
    text=st.one_of(st.text(max_size=300), st.text(alphabet="[]{}\",:=\n#'ab1 .", max_size=300)),
    suffix=st.sampled_from([".json", ".toml"]),
)
def test_any_file_text_loads_or_is_a_config_error(text, suffix):
    """Any file text, valid syntax or not, as JSON or TOML: a Tenant or a ConfigError, never another exception."""
    try:
        _load(text, suffix)
    except ConfigError:
        pass


@SETTINGS
@given(depth=st.integers(min_value=1, max_value=3000), suffix=st.sampled_from([".json", ".toml"]), inline=st.booleans())
def test_nesting_past_the_cap_names_the_field(depth, suffix, inline):
    """A value nested ``depth`` arrays (or inline tables) deep in users[0].aliases: past the cap (counting
    the three tables and arrays around it) it is a ConfigError naming that field and the depth; within
    it, an ordinary type error at the same field."""
    inner = "1"
    for _ in range(depth):
        inner = (
            ("{ k = " + inner + " }" if suffix == ".toml" else '{"k": ' + inner + "}") if inline else "[" + inner + "]"
        )
    if suffix == ".json":
        text = '{"org_key": "acme", "users": [{"address": "a@acme.example", "aliases": ' + inner + "}]}"
    else:
        text = 'org_key = "acme"\n[[users]]\naddress = "a@acme.example"\naliases = ' + inner + "\n"
    with pytest.raises(ConfigError) as err:
        _load(text, suffix)
    assert err.value.path.startswith("users[0].aliases")
    if depth + 3 > MAX_DEPTH:  # the file's root table, users and users[0] enclose aliases
        assert f"nested more than {MAX_DEPTH} deep" in str(err.value)


NESTING_PIECES = [
    "[",
    "{",
    "[[",
    "]]",
    "]",
    "}",
    ",",
    "\n",
    "a",
    "a.b.c",
    " = ",
    '"s.[{"',
    "'t'",
    "# [{.\n",
    "[a.b.c.d.e]\n",
    "[[x.y]]\n",
    "k = [",
    "k = {",
    '"""m\n[\n"""',
    ":",
    '{"k": [',
]


@SETTINGS
@given(
    text=st.lists(st.sampled_from(NESTING_PIECES), max_size=120).map("".join),
    json_syntax=st.booleans(),
    max_depth=st.integers(min_value=1, max_value=40),
)
def test_nesting_check_skips_the_scan_only_when_the_scan_finds_nothing(text, json_syntax, max_depth):
    """The counting shortcut never hides a problem: the answer is always the full token scan's
    (texts of brackets, braces, headers, dotted keys, strings and comments, around any cap)."""
    assert nesting_problem(text, json_syntax=json_syntax, max_depth=max_depth) == _scan(
        text, json_syntax=json_syntax, max_depth=max_depth
    )


SEPARATORS = {
    "NUL": "\x00",
    "TAB": "\t",
    "CR": "\r",
    "LF": "\n",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "VT": "\x0b",
}
PLACES = {
    "users[0].address": lambda bad: {"users": [{"address": f"jane{bad}@acme.example"}]},
    "users[0].aliases[1]": lambda bad: {
        "users": [{"address": "j@acme.example", "aliases": ["a@acme.example", f"b@acme.example{bad}"]}]
    },
    "users[0].name": lambda bad: {"users": [{"address": "j@acme.example", "name": f"Jane{bad}Doe"}]},
    "matters[0].name": lambda bad: {"matters": [{"id": "1042", "name": f"Smith{bad}"}]},
    "inbound.address": lambda bad: {"inbound": {"address": f"{bad}m@acme.example"}},
    "inbound.server.host": lambda bad: {"inbound": {"address": "m@acme.example", "server": {"host": f"mail{bad}"}}},
    "failed_email_address": lambda bad: {"failed_email_address": f"it@acme.example{bad}"},
}


@SETTINGS
@given(place=st.sampled_from(sorted(PLACES)), name=st.sampled_from(sorted(SEPARATORS)))
def test_control_characters_and_line_separators_are_refused_with_the_field(place, name):
    """NUL, TAB, CR, LF and the Unicode line separators in an address, alias, name or host: a ConfigError
    with that field's exact path, naming the character."""
    data = {"org_key": "acme", "domains": ["acme.example"], **PLACES[place](SEPARATORS[name])}
    with pytest.raises(ConfigError) as err:
        parse_tenant(data, source="t.toml")
    assert err.value.path == place and name in str(err.value)


@SETTINGS
@given(bad=st.sampled_from(["\r", "\n", "\x00", "\u2028"]), via_env=st.booleans())
def test_secrets_with_line_breaks_are_refused_without_showing_them(bad, via_env):
    """A password holding a line break or NUL is refused (it would end the login command) and the error
    never shows the password."""
    secret = f"hunter{bad}2"
    server = {"password_env": "PW"} if via_env else {"password": secret}
    data = {"org_key": "acme", "inbound": {"address": "m@acme.example", "server": server}}
    with pytest.raises(ConfigError) as err:
        parse_tenant(data, environ={"PW": secret})
    assert err.value.path.startswith("inbound.server.password") and "hunter" not in str(err.value)


def test_deep_json_file_through_the_cli_exits_2_naming_the_field(tmp_path, capsys):
    """`check-settings` on a tenant JSON nested 100,000 deep exits 2 (configuration error) with the field
    path, not a RecursionError."""
    from mailsupport.cli import main

    p = tmp_path / "deep.json"
    p.write_text(
        json.dumps({"org_key": "acme"})[:-1] + ', "users": [{"aliases": ' + "[" * 100_000 + "]" * 100_000 + "}]}"
    )
    assert main(["check-settings", "--tenant", str(p)]) == 2
    err = capsys.readouterr().err
    assert "users[0].aliases[0][0]" in err and "nested more than" in err and "Traceback" not in err
