"""Progress bars: drawn on a terminal's stderr, never when piped or quiet, never inside the data on stdout."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mailsupport.progress import progress, scan_progress, shown
from mailsupport.testing.terminal import run_on_terminal

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "sizes-mixed.mbox"
TENANTS = REPO / "data" / "samples" / "tenants"
BAR = "%|"  # every drawn tqdm bar with a total has it

pytestmark = pytest.mark.timeout(120)


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal (0 x 0, as a fresh pseudo-terminal)."""

    def isatty(self) -> bool:
        return True


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mailsupport", *args]


def test_a_bar_is_shown_only_on_a_terminal_and_not_when_quiet():
    """shown() is true for a terminal, false for a pipe-like stream and for quiet."""
    assert shown(stream=FakeTerminal())
    assert not shown(stream=io.StringIO())
    assert not shown(stream=FakeTerminal(), quiet=True)


def test_a_silent_progress_wraps_nothing():
    """Off a terminal, track() hands the iterable back unwrapped and write() still prints the line."""
    items = [1, 2, 3]
    silent = progress(stream=io.StringIO())
    assert not silent.active
    assert type(silent.track(items)) is type(iter(items))
    out = io.StringIO()
    silent.write("step done", file=out)
    assert out.getvalue() == "step done\n"


def test_scan_progress_counts_bytes_and_ends_exact(tmp_path):
    """Each message advances by its encoded size; a finished path sets the exact byte count; never past the total."""
    a, b = tmp_path / "a.eml", tmp_path / "b.eml"
    a.write_bytes(b"x" * 1000)
    b.write_bytes(b"y" * 3000)
    term = FakeTerminal()
    bar = scan_progress([a, b], stream=term)

    class Summary:
        encoded_size = 900

    assert list(bar.track([Summary()])) and bar.count == 900
    bar.path_done()
    assert bar.count == 1000
    list(bar.track([Summary()] * 10))  # 9000 claimed, 3000 left in the total
    assert bar.count == 4000
    bar.path_done()
    bar.close()
    assert bar.count == 4000 and "3.91k/3.91k" in term.getvalue()  # 4000 bytes in kiB


def test_calling_the_progress_counts_one_item_with_a_note():
    """A Progress is an on_result callback: each call is one item; notes show after the bar."""
    term = FakeTerminal()
    bar = progress(total=3, unit="tenants", desc="audit", stream=term)
    bar("r1")
    bar.update(1, note="1 with errors")
    bar.close()
    assert bar.count == 2 and "2/3" in term.getvalue() and "1 with errors" in term.getvalue()


def test_tqdm_is_not_imported_without_a_bar():
    """A piped run never loads tqdm (import weight)."""
    code = (
        "import io, sys; from mailsupport.progress import progress, scan_progress; "
        "progress(stream=io.StringIO()); scan_progress(['x'], stream=io.StringIO()); "
        "print('tqdm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_scan_draws_a_byte_bar_on_the_terminal_and_keeps_stdout_clean(fmt):
    """Under a pseudo-terminal stderr shows the scan's bytes reaching 100%; stdout stays parseable CSV/JSON."""
    run = run_on_terminal(_cli("scan", str(SAMPLE), "--format", fmt), cwd=str(REPO))
    assert run.returncode == 0
    assert "scan: 100%" in run.terminal and "528k/528k" in run.terminal and "iB/s" in run.terminal
    assert BAR not in run.stdout and "\r" not in run.stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(run.stdout)))
    else:
        rows = json.loads(run.stdout)
    assert len(rows) == 3


def test_scan_rows_and_bar_share_a_terminal_without_tearing():
    """With stdout on the same terminal, every table row arrives whole on its own line."""
    run = run_on_terminal(_cli("scan", str(SAMPLE)), stdout_on_terminal=True, cwd=str(REPO))
    assert run.returncode == 0 and BAR in run.terminal
    lines = [line.split("\r")[-1] for line in run.terminal.split("\r\n")]
    assert any(line.startswith("position ") for line in lines)
    assert sum(1 for line in lines if re.match(r"[123] {10,}\d+ ", line)) == 3
    assert "3 message(s), 0 with problems" in lines


def test_scan_piped_or_quiet_draws_nothing():
    """Piped stderr carries no bar; --quiet on a terminal draws none either."""
    piped = subprocess.run(
        _cli("scan", str(SAMPLE), "--format", "csv"), capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert piped.returncode == 0 and piped.stderr == ""
    quiet = run_on_terminal(_cli("scan", str(SAMPLE), "--format", "csv", "--quiet"), cwd=str(REPO))
    assert quiet.returncode == 0 and BAR not in quiet.terminal and "scan" not in quiet.terminal


def test_parallel_scan_of_a_big_mbox_reaches_the_whole_file(tmp_path):
    """A big mbox scanned by worker processes still ends at 100% of its bytes, and every row is printed."""
    body = (b"line of body text " * 4 + b"\n") * 400
    with (tmp_path / "big.mbox").open("wb") as fh:
        for i in range(300):
            fh.write(
                b"From sender@example.net Mon Nov  3 09:00:00 2025\nSubject: m%d\nMessage-ID: <m%d@x>\n\n" % (i, i)
            )
            fh.write(body + b"\n")
    assert (tmp_path / "big.mbox").stat().st_size > 8 * 1024 * 1024  # over the parallel threshold
    run = run_on_terminal(_cli("scan", str(tmp_path / "big.mbox"), "--format", "csv", "--jobs", "2"), cwd=str(REPO))
    assert run.returncode == 0
    assert "scan: 100%" in run.terminal
    assert len(list(csv.DictReader(io.StringIO(run.stdout)))) == 300


def test_audit_counts_tenants_on_a_terminal_and_keeps_json_clean():
    """The audit's bar counts every tenant file on stderr; the JSON lines on stdout carry none of it."""
    total = len(list(TENANTS.glob("*.toml")))
    run = run_on_terminal(
        _cli("audit", str(TENANTS), "--checks", "config", "--format", "json", "--fail-on", "never"), cwd=str(REPO)
    )
    assert run.returncode == 0
    assert f"{total}/{total}" in run.terminal and "tenants/s" in run.terminal
    assert BAR not in run.stdout
    assert all(json.loads(line)["tenant"] for line in run.stdout.splitlines())


def test_demo_counts_its_steps_on_the_terminal(tmp_path):
    """The demo's steps are counted on stderr and listed whole on stdout; --quiet prints only the outputs."""
    run = run_on_terminal(_cli("demo", "--out", str(tmp_path / "o")), cwd=str(REPO))
    assert run.returncode == 0
    assert "demo: " in run.terminal and " steps" in run.terminal
    assert "audit: " in run.stdout and "report:   " in run.stdout and "steps/s" not in run.stdout
    quiet = run_on_terminal(_cli("demo", "--out", str(tmp_path / "q"), "--quiet"), cwd=str(REPO))
    assert quiet.returncode == 0 and "steps/s" not in quiet.terminal
    assert quiet.stdout.splitlines()[0].startswith("report:   ")


def test_run_every_counts_polls_and_prints_clean_json_lines(tmp_path):
    """`run --every` on a terminal counts polls on stderr; stdout holds only one JSON summary per poll."""
    from mailsupport.config import load_tenant, tenant_to_dict
    from mailsupport.sandbox import Sandbox

    tenant = load_tenant(TENANTS / "smithlaw-postfix.toml", environ={})
    with Sandbox([tenant]) as sb:
        tenant_file = tmp_path / "t.json"
        tenant_file.write_text(json.dumps(tenant_to_dict(sb.tenant_settings(tenant), reveal_secrets=True)))
        sb.deliver(b"Subject: a\r\n\r\nx\r\n", "c@outside.example", ["1042@smithlaw.example"])
        run = run_on_terminal(
            _cli("run", "--tenant", str(tenant_file), "--every", "0.2", "--store", str(tmp_path / "store")),
            cwd=str(REPO),
            timeout=60,
            interrupt_when=lambda shown: "run: 2 polls" in shown,
        )
    assert run.returncode == 0  # Ctrl-C ends the loop cleanly
    summaries = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(summaries) >= 2 and summaries[0]["fetched"] == 1 and summaries[1]["fetched"] == 0
    assert "last poll fetched 1" in run.terminal and BAR not in run.stdout
