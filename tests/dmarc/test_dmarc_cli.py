"""``mailsupport dmarc``: JSON with fix steps, text, tenant files, the sandbox nameserver, exit codes."""

from __future__ import annotations

import json

import pytest
from dmarc_suite import REPO, ZONES

from mailsupport import cli

VENDOR = str(ZONES / "actionstep-vendor.zone")


@pytest.fixture(autouse=True)
def only_dmarc_command(monkeypatch):
    """Register only the dmarc subcommand."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("dmarc",))


def test_json_carries_paths_findings_and_fix_steps(capsys):
    """--format json: per path the SPF/DKIM/DMARC verdicts, findings, and fix steps as data; errors exit 1."""
    code = cli.main(
        [
            "dmarc",
            "dmarc-would-fail.example",
            "--zone",
            VENDOR,
            "--zone",
            str(ZONES / "dmarc-would-fail.example.zone"),
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    (obj,) = out["domains"]
    (path,) = obj["paths"]
    assert (path["path"], path["spf"]["result"], path["dmarc"], path["disposition"]) == (
        "vendor",
        "fail",
        "fail",
        "reject",
    )
    assert {"check", "host", "type", "current", "new", "why", "verify"} <= set(obj["fixes"][0])
    assert "dmarc.would-fail" in {f["check"] for f in obj["findings"]}


def test_tenant_file_healthy_domain_exits_zero(capsys):
    """--tenant reads the domains and zones of the tenant file; a healthy domain exits 0."""
    code = cli.main(["dmarc", "--tenant", str(REPO / "data/samples/tenants/smithlaw-postfix.toml"), "--path", "vendor"])
    out = capsys.readouterr().out
    assert code == 0
    assert "DMARC: pass (aligned SPF and DKIM pass)" in out


def test_sandbox_nameserver_answers(capsys, dmarc_dns):
    """--nameserver asks the sandbox DNS server on loopback."""
    host, port = dmarc_dns.address
    code = cli.main(["dmarc", "dmarc-policy-none.example", "--nameserver", f"{host}:{port}"])
    assert code == 0 and "dmarc.policy-none" in capsys.readouterr().out


def test_servfail_for_every_domain_exits_three(capsys):
    """No DMARC record could be fetched at all: exit 3 with what to do."""
    code = cli.main(
        [
            "dmarc",
            "dmarc-dns-temporary-failure.example",
            "--zone",
            str(ZONES / "dmarc-dns-temporary-failure.example.zone"),
            "--zone",
            VENDOR,
        ]
    )
    assert code == 3 and "no DMARC record could be fetched" in capsys.readouterr().err


def test_bad_ip_is_a_usage_error(capsys):
    """A malformed --ip is refused with exit 2, naming the value."""
    assert cli.main(["dmarc", "smithlaw.example", "--ip", "300.1.1.1"]) == 2
    assert "300.1.1.1" in capsys.readouterr().err


def test_sample_gives_the_evidence_table(capsys):
    """--sample adds one evidence row per message, receiver's results beside the kit's."""
    code = cli.main(
        [
            "dmarc",
            "--sample",
            str(REPO / "data/samples/real/mailpit__testdata__plain-text.eml"),
            "--zone",
            VENDOR,
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    (row,) = out["evidence"]
    assert code == 0
    assert row["receiver"] == "mx.google.com" and row["receiver_dmarc"] == "pass (gmail.com)"
    assert row["kit_dkim"].startswith("permerror") and "not published now" in row["note"]
