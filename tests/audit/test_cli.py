"""``mailsupport audit`` end to end on the bundled sample tenants and a generated fleet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mailsupport.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples" / "tenants"
OFFLINE = ["--checks", "config,spf,mx"]


def test_html_report_and_state_are_written_to_out(tmp_path, capsys):
    """With --out, the state file has one line per tenant and report.html lists them; exit 1 on errors."""
    code = main(["audit", str(SAMPLES), *OFFLINE, "--format", "html", "--out", str(tmp_path)])
    assert code == 1
    state = (tmp_path / "audit-state.jsonl").read_text().splitlines()
    tenants = {json.loads(x)["tenant"] for x in state}
    assert len(state) == len(tenants) >= 20
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4
    assert all(f"<td>{t}</td>" in page for t in tenants)


@pytest.mark.parametrize("fail_on,expected", [("never", 0), ("critical", 0), ("error", 1), ("info", 1)])
def test_exit_code_follows_fail_on(fail_on, expected, capsys):
    """Exit 1 only when a finding reaches --fail-on (sample tenants have errors, no criticals)."""
    assert (
        main(["audit", str(SAMPLES / "kellyco.toml"), "--checks", "config", "--format", "csv", "--fail-on", fail_on])
        == expected
    )


def test_csv_and_json_go_to_stdout(capsys):
    """Without --out the report goes to stdout: CSV with the report columns, JSON one finding per line."""
    main(["audit", str(SAMPLES / "kellyco.toml"), "--checks", "config", "--format", "csv", "--fail-on", "never"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["check"] for r in rows} >= {"settings.port-tls-impossible", "settings.size-limit"}
    assert {r["tenant"] for r in rows} == {"kellyco"}
    main(["audit", str(SAMPLES / "kellyco.toml"), "--checks", "config", "--format", "json", "--fail-on", "never"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(rows) and lines[0]["tenant"] == "kellyco"


def test_resume_skips_done_tenants_and_reports_all(tmp_path, capsys):
    """A resumed run adds only the missing tenants; the report still covers every tenant."""
    out = tmp_path / "out"
    main(["audit", str(SAMPLES / "kellyco.toml"), "--checks", "config", "--out", str(out), "--format", "csv"])
    main(
        [
            "audit",
            str(SAMPLES / "kellyco.toml"),
            str(SAMPLES / "reidlaw.toml"),
            "--checks",
            "config",
            "--out",
            str(out),
            "--format",
            "csv",
            "--resume",
        ]
    )
    state = [json.loads(x)["tenant"] for x in (out / "audit-state.jsonl").read_text().splitlines()]
    assert state == ["kellyco", "reidlaw"]
    rows = list(csv.DictReader((out / "findings.csv").open()))
    assert {r["tenant"] for r in rows} == {"kellyco", "reidlaw"}


def test_no_password_reaches_any_output(tmp_path, capsys):
    """Sample passwords (canary-4b1d-...) appear in no report format, state file, stdout or stderr."""
    for fmt in ("text", "csv", "json", "html"):
        main(["audit", str(SAMPLES), *OFFLINE, "--format", fmt, "--out", str(tmp_path / fmt)])
        main(["audit", str(SAMPLES), *OFFLINE, "--format", fmt])
    captured = capsys.readouterr()
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "canary-4b1d" not in captured.out + captured.err + written
    assert "canary-4b1d" in (SAMPLES / "kellyco.toml").read_text()  # the canary is really there


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--resume"], "--resume needs --out"),
        (["--checks", "spf,dkim"], "unknown check kind"),
        (["--fail-on", "sometimes"], "unknown severity"),
        (["--concurrency", "0"], "at least 1"),
    ],
)
def test_usage_errors_exit_2_with_a_message(argv, message, capsys):
    """Bad options exit 2 and say what to change."""
    assert main(["audit", str(SAMPLES), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_path_exits_2(tmp_path, capsys):
    """A path that does not exist is a usage error naming it."""
    assert main(["audit", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_a_generated_fleet_with_broken_files_still_finishes(tmp_path, capsys):
    """Broken tenant files become findings in the CSV; the run finishes and reports every tenant."""
    from mailsupport.audit.generate import generate_fleet

    fleet = generate_fleet(tmp_path / "f", 30)
    (fleet.tenants_dir / "broken.toml").write_text("org_key = 42\n")
    main(
        [
            "audit",
            str(fleet.tenants_dir),
            *OFFLINE,
            "--format",
            "csv",
            "--concurrency",
            "4",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    state = (tmp_path / "out" / "audit-state.jsonl").read_text().splitlines()
    assert len({json.loads(x)["tenant"] for x in state}) == 31
    rows = list(csv.DictReader((tmp_path / "out" / "findings.csv").open()))
    assert [r["check"] for r in rows if r["tenant"] == "broken"] == ["audit.tenant-invalid"]


def _run_with_stderr(tmp_path, stderr):
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mailsupport",
            "audit",
            str(SAMPLES),
            "--checks",
            "config",
            "--format",
            "csv",
            "--out",
            str(tmp_path),
            "--fail-on",
            "never",
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        timeout=60,
    )


def test_progress_shows_on_a_terminal_only(tmp_path):
    """On a terminal (a real pty) stderr shows the tenants bar at N/N; piped, it carries no progress line."""
    import os
    import pty
    import subprocess

    master, slave = pty.openpty()
    try:
        assert _run_with_stderr(tmp_path / "tty", slave).returncode == 0
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the child side is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    shown = b"".join(chunks).decode()
    total = len(list(SAMPLES.glob("*.toml")))
    assert "audit: 100%" in shown and f"{total}/{total}" in shown and "tenants/s" in shown
    piped = _run_with_stderr(tmp_path / "pipe", subprocess.PIPE).stderr.decode()
    assert "audit:" not in piped and "csv report" in piped


def test_resume_matches_tenants_however_the_path_is_spelled(tmp_path, capsys, monkeypatch):
    """A tenant audited via an absolute path is skipped on --resume when named relatively."""
    out = tmp_path / "out"
    main(["audit", str(SAMPLES / "kellyco.toml"), "--checks", "config", "--out", str(out)])
    monkeypatch.chdir(SAMPLES)
    main(["audit", "kellyco.toml", "./reidlaw.toml", "--checks", "config", "--out", str(out), "--resume"])
    state = [json.loads(x)["tenant"] for x in (out / "audit-state.jsonl").read_text().splitlines()]
    assert state == ["kellyco", "reidlaw"]


def test_reports_are_identical_run_to_run(tmp_path, capsys):
    """Tenants finish in any order, but the report is sorted: two runs give byte-identical CSV and HTML."""
    for run in ("a", "b"):
        for fmt in ("csv", "html"):
            main(
                [
                    "audit",
                    str(SAMPLES),
                    *OFFLINE,
                    "--format",
                    fmt,
                    "--out",
                    str(tmp_path / run),
                    "--concurrency",
                    "8" if run == "a" else "3",
                    "--fail-on",
                    "never",
                ]
            )
    for name in ("findings.csv", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    tenants = [r["tenant"] for r in csv.DictReader((tmp_path / "a" / "findings.csv").open())]
    assert tenants == sorted(tenants)


def test_zone_option_answers_every_tenant_from_the_given_files(tmp_path, capsys):
    """``--zone`` (for the whole run) finds what each tenant's own ``zones`` find."""
    from mailsupport.audit.generate import generate_fleet

    fleet = generate_fleet(tmp_path / "f", 12)
    zones = [a for _origin, p in fleet.zones for a in ("--zone", str(p))]
    base = ["audit", str(fleet.tenants_dir), "--checks", "spf,mx", "--format", "csv", "--fail-on", "never"]
    main(base)
    own = capsys.readouterr().out
    main([*base, *zones])
    assert capsys.readouterr().out == own and own.count("\n") > 5


def test_a_bad_nameserver_is_a_usage_error(capsys):
    """``--nameserver`` with a bad port exits 2 and shows the expected form."""
    assert main(["audit", str(SAMPLES / "kellyco.toml"), "--nameserver", "127.0.0.1:99999"]) == 2
    assert "port must be 1-65535, e.g. 127.0.0.1:5353" in capsys.readouterr().err
