"""`mailsupport report` end to end (bundled tenants, samples and zones; --connect against the sandbox), and
`mailsupport audit --per-tenant`: the pages, their links, and the fleet report around them."""

from __future__ import annotations

import csv
import html
import json
import re
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mailsupport.cli import main
from mailsupport.config import load_tenant, tenant_to_dict
from mailsupport.sandbox import Sandbox

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
TENANTS = SAMPLES / "tenants"
CANARY = "canary-4b1d-"


def _outputs(out: Path) -> str:
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.suffix in (".html", ".txt", ".json")]
    return "".join(p.read_text() for p in files)


def _no_secret(text: str) -> None:
    """Fail, without echoing the text, when a canary password is in it."""
    leaked = CANARY in text
    assert not leaked, "a tenant password reached an output"


def test_report_command_writes_the_three_files_with_the_exact_spf_record(tmp_path):
    """`python -m mailsupport report` on a sample tenant (its own zone files): exit 0, the verdict printed,
    the page, text and JSON written, the exact SPF record to publish in each, no password anywhere."""
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailsupport",
            "report",
            "--tenant",
            str(TENANTS / "chenpartners.toml"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Action needed: ") and f"page: {out / 'fix-report.html'}" in run.stdout
    record = "v=spf1 include:_spf.google.com include:_spf.actionstep.com ~all"
    for name in ("fix-report.html", "fix-report.txt", "fix-report.json"):
        assert record in (out / name).read_text(), name
    data = json.loads((out / "fix-report.json").read_text())
    assert data["steps"][0]["where"] == "DNS: TXT record at chenpartners.example (at the DNS host of the domain)"
    _no_secret(_outputs(out) + run.stdout + run.stderr)


def _without_sample(tmp_path: Path) -> Path:
    """The catch-all sample tenant as a JSON file that names no sample (zones kept, absolute)."""
    tenant = replace(load_tenant(TENANTS / "smithlaw-sample-catchall.toml", environ={}), sample=None)
    path = tmp_path / "smithlaw.json"
    path.write_text(json.dumps(tenant_to_dict(tenant, reveal_secrets=True)))
    return path


def test_sample_option_adds_the_catch_all_step_and_without_it_says_not_checked(tmp_path, capsys):
    """Without --sample the page says the sample checks did not run; with the customer's mbox the first step
    sets the Catch-All Header, naming the messages."""
    tenant_file = _without_sample(tmp_path)
    assert main(["report", "--tenant", str(tenant_file), "--out", str(tmp_path / "a")]) == 0
    plain = json.loads((tmp_path / "a" / "fix-report.json").read_text())
    assert any("No mailbox sample was given" in line for line in plain["not_checked"])
    assert not any(s["host"] == "inbound.catch_all_header" for s in plain["steps"])
    assert (
        main(
            [
                "report",
                "--tenant",
                str(tenant_file),
                "--sample",
                str(SAMPLES / "catchall-postfix.mbox"),
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    data = json.loads((tmp_path / "b" / "fix-report.json").read_text())
    header = next(s for s in data["steps"] if s["host"] == "inbound.catch_all_header")
    assert (header["current"], header["new"], header["number"]) == ("Delivered-To", "X-Original-To", 1)
    assert {m["message_id"] for m in header["messages"]} >= {"<pf1@example.net>", "<pf8@example.net>"}
    assert not any("sample" in line for line in data["not_checked"])
    page = (tmp_path / "b" / "fix-report.html").read_text()
    assert "Email Setup &gt; Catch-All Header" in page and "&lt;pf1@example.net&gt;" in page
    _no_secret(_outputs(tmp_path / "a") + _outputs(tmp_path / "b") + capsys.readouterr().out)


def test_replay_puts_the_counts_of_the_customers_own_mail_into_the_catch_all_step(tmp_path, capsys):
    """With --replay the sample goes through the sandbox twice and the catch-all step quotes what the current
    and the recommended header did to it, with the same counts as a replay run on its own."""
    from mailsupport.replay import plan_replay, run_replay

    tenant_file = _without_sample(tmp_path)
    mbox = SAMPLES / "catchall-postfix.mbox"
    assert (
        main(["report", "--tenant", str(tenant_file), "--sample", str(mbox), "--replay", "--out", str(tmp_path / "r")])
        == 0
    )
    data = json.loads((tmp_path / "r" / "fix-report.json").read_text())
    header = next(s for s in data["steps"] if s["host"] == "inbound.catch_all_header")
    tenant = replace(load_tenant(tenant_file, environ={}), sample=str(mbox))
    expected = run_replay(plan_replay(tenant, [str(mbox)]), sandbox_factory=Sandbox).evidence()
    assert ["replay", expected] in [list(pair) for pair in header["evidence"]]
    assert "went to failed emails; with X-Original-To" in expected
    assert any("Replay of the mailbox sample" in line for line in data["checked"])
    page = (tmp_path / "r" / "fix-report.html").read_text()
    assert html.escape(expected, quote=True) in page
    _no_secret(_outputs(tmp_path / "r") + capsys.readouterr().out)


@pytest.fixture(scope="module")
def sandbox():
    """The sandbox standing in for smithlaw's own Postfix, with its zones."""
    tenant = load_tenant(TENANTS / "smithlaw-postfix.toml", environ={})
    with Sandbox([tenant], profile="postfix", zones=[Path(z) for z in tenant.zones]) as sb:
        yield sb, tenant


def _pointed_file(tmp_path: Path, sb: Sandbox, tenant, **smtp) -> Path:
    pointed = sb.tenant_settings(tenant)
    if smtp:
        pointed = pointed.with_servers(
            inbound=pointed.inbound.server, outbound=replace(pointed.outbound.server, **smtp)
        )
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(tenant_to_dict(pointed, reveal_secrets=True)))
    return path


def _nameserver(sb: Sandbox) -> str:
    host, port = sb.dns.address
    return f"{host}:{port}"


def test_connect_runs_the_connection_test_against_the_sandbox(sandbox, tmp_path, capsys):
    """--connect tests the sandbox's POP3 and SMTP: the run is listed as checked, its transcript folded in
    <details>, and no password reaches any file or output."""
    sb, tenant = sandbox
    out = tmp_path / "out"
    code = main(
        [
            "report",
            "--tenant",
            str(_pointed_file(tmp_path, sb, tenant)),
            "--connect",
            "--nameserver",
            _nameserver(sb),
            "--out",
            str(out),
            "--timeout",
            "5",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    data = json.loads((out / "fix-report.json").read_text())
    assert any(c.startswith("Connection test of the mailbox") for c in data["checked"])
    assert not any("connection" in line for line in data["not_checked"])
    assert data["dns_source"] == f"nameserver {_nameserver(sb)}"
    (trace,) = [t for t in data["traces"] if t["title"].startswith("Connection test")]
    assert "PASS" in trace["text"].splitlines()[0]
    page = (out / "fix-report.html").read_text()
    assert re.search(r"<details><summary>Connection test \(POP3 and SMTP\), step by step</summary><pre>", page)
    _no_secret(_outputs(out) + printed.out + printed.err)


def test_connect_with_a_wrong_smtp_port_gives_the_port_to_type(sandbox, tmp_path, capsys):
    """An SMTP port where nothing listens: a step names the SMTP port field, the port typed now and 587."""
    sb, tenant = sandbox
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                "--tenant",
                str(_pointed_file(tmp_path, sb, tenant, port=closed)),
                "--connect",
                "--nameserver",
                _nameserver(sb),
                "--out",
                str(out),
                "--timeout",
                "3",
            ]
        )
        == 0
    )
    data = json.loads((out / "fix-report.json").read_text())
    step = next(s for s in data["steps"] if s["host"] == "outbound.server.port")
    assert (step["current"], step["new"]) == (str(closed), "587")
    assert step["checks"] == ["settings.connection-refused"] and data["status"] == "action needed"
    _no_secret(_outputs(out) + capsys.readouterr().out)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tenant", "missing.toml", "--out", "o"], "--tenant: no such file or folder"),
        (
            ["--tenant", str(TENANTS / "chenpartners.toml"), "--sample", "nowhere.mbox", "--out", "o"],
            "--sample: no such file or folder",
        ),
    ],
    ids=["missing-tenant", "missing-sample"],
)
def test_missing_inputs_exit_2_with_a_message(argv, message, tmp_path, capsys, monkeypatch):
    """A tenant file or sample that does not exist is a usage error naming it; nothing is written."""
    monkeypatch.chdir(tmp_path)
    assert main(["report", *argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_broken_tenant_file_exits_2_naming_the_field(tmp_path, capsys):
    """A tenant file that does not validate: exit 2 with the field's path, no report written."""
    bad = tmp_path / "bad.toml"
    bad.write_text('org_key = "x"\nprovider = "nonsense"\n')
    assert main(["report", "--tenant", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "provider" in capsys.readouterr().err and not (tmp_path / "o" / "fix-report.html").exists()


# ----------------------------------------------------------------------------- audit --per-tenant


def test_audit_per_tenant_writes_a_page_each_and_the_fleet_report_links_them(tmp_path, capsys):
    """Two tenants: a fix report each in DIR/tenants/, report.html with charts linking each tenant to its page."""
    out = tmp_path / "audit"
    main(
        [
            "audit",
            str(TENANTS / "chenpartners.toml"),
            str(TENANTS / "greenbaker.toml"),
            "--per-tenant",
            "--format",
            "html",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    capsys.readouterr()
    page = (out / "report.html").read_text()
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert links == [("tenants/chenpartners.html", "chenpartners"), ("tenants/greenbaker.html", "greenbaker")]
    assert all((out / href).is_file() for href, _name in links)
    assert page.count("<svg") == 4
    green = json.loads((out / "tenants" / "greenbaker.json").read_text())
    assert green["steps"][0]["new"] == "v=spf1 mx include:_spf.actionstep.com ~all"
    _no_secret(_outputs(out))


def test_a_single_tenant_audit_has_no_fleet_charts_and_csv_has_the_fix_columns(tmp_path, capsys):
    """One tenant: no charts; findings.csv keeps evidence and gives where, now and the new record per finding."""
    out = tmp_path / "audit"
    main(["audit", str(TENANTS / "pateldavies.toml"), "--format", "html", "--out", str(out), "--quiet"])
    assert "<svg" not in (out / "report.html").read_text()
    main(["audit", str(TENANTS / "pateldavies.toml"), "--format", "csv", "--out", str(out), "--quiet"])
    capsys.readouterr()
    with (out / "findings.csv").open(newline="") as fh:
        rows = {r["check"]: r for r in csv.DictReader(fh)}
    after_all = rows["spf.vendor-include-after-all"]
    assert after_all["evidence"].startswith("record=v=spf1 include:_spf.google.com ~all include:_spf.actionstep.com")
    assert after_all["fix_where"].startswith("DNS: TXT record at pateldavies.example")
    assert after_all["fix_current"] == "v=spf1 include:_spf.google.com ~all include:_spf.actionstep.com mx"
    assert after_all["fix_new"].startswith("v=spf1 include:_spf.google.com mx include:_spf.actionstep.com")
    assert rows["spf.vendor-ip-not-permitted"]["fix_new"] == after_all["fix_new"]


def test_per_tenant_needs_out(capsys):
    """--per-tenant without --out is a usage error."""
    assert main(["audit", str(TENANTS / "chenpartners.toml"), "--per-tenant"]) == 2
    assert "--per-tenant needs --out" in capsys.readouterr().err
