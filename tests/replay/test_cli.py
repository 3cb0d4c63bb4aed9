"""`mailsupport replay`: text, JSON and HTML output, --out files, exit codes, escaping, no secrets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mailsupport.samples.generate import mbox_bytes, plain_message, postfix_copy

from .conftest import REPO, SAMPLES, TENANTS

pytestmark = pytest.mark.timeout(120)
TENANT = str(TENANTS / "smithlaw-sample-catchall.toml")
MBOX = str(SAMPLES / "catchall-postfix.mbox")


def test_json_has_before_and_after_counts_and_messages(cli):
    """--format json: before and after, each with routed counts by kind and one entry per copy; no secret."""
    code, out, err = cli("replay", "--tenant", TENANT, MBOX, "--format", "json")
    d = json.loads(out)
    assert code == 0 and err == ""
    assert d["before"]["routed"]["failed"] == 9 and d["after"]["routed"]["alias"] == 4
    assert len(d["before"]["messages"]) == len(d["after"]["messages"]) == 9
    assert d["profiles"] == {"postfix": 9} and d["recommended_header"] == "X-Original-To"
    assert "canary-4b1d-" not in out


def test_text_names_each_message_and_the_out_folder_gets_json_and_html(cli, tmp_path):
    """Text output: the counts, the evidence sentence, each message by file, Message-ID and subject; --out
    writes replay.json and replay.html."""
    code, out, _ = cli("replay", "--tenant", TENANT, MBOX, "--out", str(tmp_path / "r"))
    assert code == 0
    assert "9 of 9 went to failed emails; with X-Original-To, 1." in out
    assert '#1 catchall-postfix.mbox #1 <pf1@example.net> "Contract for matter 1042"' in out
    assert json.loads((tmp_path / "r" / "replay.json").read_text())["after"]["failed"] == 1
    assert "<table" in (tmp_path / "r" / "replay.html").read_text()


def test_html_escapes_what_the_customer_mail_says(cli, tmp_path):
    """A subject and address carrying markup are shown escaped in the HTML page, never as markup."""
    hostile = "<script>alert(1)</script>"
    raw = postfix_copy(
        plain_message(to=["1042@smithlaw.example"], subject=hostile, message_id="<img src=x>@evil"),
        original_to="1042@smithlaw.example",
    )
    sample = tmp_path / "hostile.mbox"
    sample.write_bytes(mbox_bytes([raw]))
    code, out, _ = cli("replay", "--tenant", TENANT, str(sample), "--format", "html")
    assert code == 0 and hostile not in out and "<img src=x>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (("--change", "users[7].aliases+=x@smithlaw.example"), "users[7]: there is no item [7]"),
        (("--change", "catch_all_header=Subject"), "inbound.catch_all_header: expected one of"),
        (("--profile", "sendmail"), "--profile: expected auto or one of"),
    ],
    ids=["missing-item", "bad-header", "bad-profile"],
)
def test_bad_changes_and_profiles_exit_2_naming_the_path(cli, args, words):
    """A change or profile that does not fit is a configuration error (exit 2) naming where, before any
    sandbox starts."""
    code, out, err = cli("replay", "--tenant", TENANT, MBOX, *args)
    assert code == 2 and out == "" and words in err


def test_the_command_runs_as_a_program():
    """`python -m mailsupport replay` in a subprocess: exit 0, the counts on stdout, no progress bar on a
    pipe (stderr stays empty), no secret anywhere."""
    out = subprocess.run(
        [sys.executable, "-m", "mailsupport", "replay", "--tenant", TENANT, MBOX],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=100,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Replay of 9 message(s) through postfix (9)") and out.stderr == ""
    assert "canary-4b1d-" not in out.stdout + out.stderr
