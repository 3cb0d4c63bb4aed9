"""``mailsupport spf``: JSON keys, text output, offline zones, the sandbox nameserver, exit codes."""

from __future__ import annotations

import json

import pytest
from spf_suite import SPF_ZONES, ZONES

from mailsupport import cli

VENDOR_ZONE = str(ZONES / "actionstep-vendor.zone")


@pytest.fixture(autouse=True)
def only_spf_command(monkeypatch):
    """Register only the spf subcommand (other helpers' commands may not be importable yet)."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("spf",))


def _zone(name: str) -> str:
    return str(ZONES / f"{name}.zone")


def test_json_output_has_the_documented_keys(capsys):
    """--format json prints one object per domain with the documented keys; findings exit 1."""
    code = cli.main(
        [
            "spf",
            "vendor-include-after-all.example",
            "--zone",
            VENDOR_ZONE,
            "--zone",
            _zone("vendor-include-after-all.example"),
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    (obj,) = out
    assert {
        "domain",
        "records",
        "verdict",
        "dns_lookups",
        "void_lookups",
        "findings",
        "suggested_record",
        "trace",
    } <= set(obj)
    assert obj["verdict"] == "softfail"
    assert {"check", "severity", "summary", "remedy"} <= set(obj["findings"][0])
    assert obj["suggested_record"] == "v=spf1 mx include:_spf.actionstep.com ~all"
    assert obj["trace"]["terms"][1]["term"] == "~all"


def test_healthy_domain_exits_zero_with_text(capsys):
    """A correct record: exit 0, text names the verdict and the lookup count."""
    code = cli.main(["spf", "smithlaw.example", "--zone", VENDOR_ZONE, "--zone", _zone("smithlaw.example")])
    out = capsys.readouterr().out
    assert code == 0
    assert "verdict: pass" in out and "DNS lookups: 2/10" in out


def test_ip_sender_helo_options(capsys):
    """--ip checks that client; --sender sets the MAIL FROM."""
    code = cli.main(
        [
            "spf",
            "smithlaw.example",
            "--zone",
            VENDOR_ZONE,
            "--zone",
            _zone("smithlaw.example"),
            "--ip",
            "198.51.100.25",
            "--sender",
            "jane@smithlaw.example",
            "--helo",
            "mail.smithlaw.example",
            "--format",
            "json",
        ]
    )
    (obj,) = json.loads(capsys.readouterr().out)
    assert code == 0 and obj["verdict"] == "pass" and obj["verdicts"] == {"198.51.100.25": "pass"}


def test_many_domains_against_the_sandbox_nameserver(dns_server, sample_zone_data, capsys):
    """--nameserver asks the sandbox DNS server over UDP; several domains in one run."""
    dns_server.set_zone_data(sample_zone_data)
    host, port = dns_server.address
    code = cli.main(
        ["spf", "smithlaw.example", "ptr-deprecated.example", "--nameserver", f"{host}:{port}", "--format", "json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert [o["domain"] for o in out] == ["smithlaw.example", "ptr-deprecated.example"]
    assert [f["check"] for f in out[1]["findings"]] == ["spf.ptr-deprecated"]
    assert code == 0  # a warning is below the error threshold


def test_vendor_include_option(capsys):
    """--vendor-include changes which include is required."""
    code = cli.main(
        [
            "spf",
            "smithlaw.example",
            "--zone",
            VENDOR_ZONE,
            "--zone",
            _zone("smithlaw.example"),
            "--vendor-include",
            "_spf.other.example",
            "--format",
            "json",
        ]
    )
    (obj,) = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "spf.vendor-include-missing" in {f["check"] for f in obj["findings"]}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["spf", "x.example", "--ip", "not-an-ip"], "not an IPv4"),
        (["spf", "x.example", "--zone", "/nonexistent.zone"], "cannot read zone file"),
        (["spf", "x.example", "--nameserver", "127.0.0.1:0"], "port"),
        (["spf", "x.example", "--nameserver", "127.0.0.1", "--zone", "a.zone"], "not both"),
    ],
)
def test_usage_errors_exit_two(argv, message, capsys):
    """Bad options exit 2 with a message saying what to fix."""
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_unreachable_dns_exits_three(dns_server, capsys):
    """When no record can be fetched at all (every query times out), exit 3."""
    from mailsupport.zones import ZoneData

    dns_server.set_zone_data(ZoneData.from_mapping({"slow.example": ["TIMEOUT"]}))
    host, port = dns_server.address
    code = cli.main(
        [
            "spf",
            "slow.example",
            "--nameserver",
            f"{host}:{port}",
            "--timeout",
            "0.3",
            "--vendor-include",
            "slow.example",
        ]
    )
    assert code == 3
    assert "operation failed" in capsys.readouterr().err


def test_every_sample_zone_loads(capsys):
    """All SPF sample zones load together offline."""
    argv = ["spf", "smithlaw.example"]
    for z in SPF_ZONES:
        argv += ["--zone", str(z)]
    assert cli.main(argv) == 0
