"""``mailsupport run --once`` and ``mailsupport ingest``: thin commands over the pipeline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailsupport.cli import main
from mailsupport.config import tenant_to_dict
from mailsupport.store import Store
from mailsupport.testing.mailgen import catchall_message, pipeline_tenant
from mailsupport.testing.realservers import write_maildir

REPO = Path(__file__).resolve().parents[2]
REAL_SAMPLES = REPO / "data" / "samples" / "real"


def write_tenant(path: Path, **kw) -> Path:
    path.write_text(json.dumps(tenant_to_dict(pipeline_tenant(**kw), reveal_secrets=True)))
    return path


@pytest.mark.realservers
def test_run_once_prints_the_summary(dovecot, pop_user, tmp_path: Path, capsys) -> None:
    """run --once polls, prints the JSON summary, and a second run skips nothing twice."""
    user, maildir = pop_user
    write_maildir(maildir, [catchall_message(1, "1001@catchall.example"), catchall_message(2, "x@catchall.example")])
    tenant = write_tenant(tmp_path / "t.json", pop_port=dovecot.port, username=user, confirm_delete=False)
    code = main(["run", "--tenant", str(tenant), "--once", "--store", str(tmp_path / "s")])
    out = json.loads(capsys.readouterr().out)
    assert (out["fetched"], out["routed"], out["forwarded_as_failed"]) == (2, {"failed": 1, "matter": 1}, 1)
    assert out["send"]["errors"] and code == 3  # the failed forward cannot be sent: no SMTP server on port 1
    main(["run", "--tenant", str(tenant), "--once", "--store", str(tmp_path / "s")])
    again = json.loads(capsys.readouterr().out)
    assert (again["fetched"], again["skipped_as_already_seen"]) == (0, 2)


def test_run_with_unreachable_server_reports_and_exits_3(tmp_path: Path, capsys) -> None:
    """A server that refuses connections is an error in the summary, not a traceback."""
    tenant = write_tenant(tmp_path / "t.json", pop_port=1)
    assert main(["run", "--tenant", str(tenant), "--once", "--store", str(tmp_path / "s")]) == 3
    out = json.loads(capsys.readouterr().out)
    assert "cannot connect" in out["errors"][0]["message"]


def test_ingest_real_malformed_samples_all_land_somewhere(tmp_path: Path, capsys) -> None:
    """Every real sample (malformed ones included) is stored and either routed or failed-forwarded."""
    files = sorted(REAL_SAMPLES.glob("*.eml"))
    assert len(files) >= 30, f"the real samples are missing from {REAL_SAMPLES}"
    tenant = write_tenant(tmp_path / "t.json")
    assert main(["ingest", "--tenant", str(tenant), "--store", str(tmp_path / "s"), *map(str, files)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(files)
    for line in lines:
        assert line["error"] == "" and line["created"]
        assert line["kind"] in ("matter", "alias", "user", "reply", "failed")
        assert line["forwarded_as_failed"] == (line["kind"] == "failed")
    with Store(tmp_path / "s") as st:
        assert len(list(st.messages())) == len(files)
        assert len(st.queued()) == sum(1 for line in lines if line["kind"] == "failed")


def test_ingest_twice_stores_once_and_unreadable_file_reported(tmp_path: Path, capsys) -> None:
    """The same file ingested twice is stored once; a missing file is reported with exit 3."""
    eml = tmp_path / "m.eml"
    eml.write_bytes(catchall_message(5, "conveyancing@catchall.example"))
    tenant = write_tenant(tmp_path / "t.json")
    store = str(tmp_path / "s")
    assert main(["ingest", "--tenant", str(tenant), "--store", store, str(eml), str(eml)]) == 0
    first, second = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (first["kind"], first["target"], first["created"], second["created"]) == (
        "alias",
        "jane@catchall.example",
        True,
        False,
    )
    assert main(["ingest", "--tenant", str(tenant), "--store", store, str(tmp_path / "missing.eml")]) == 3
    assert "cannot read" in json.loads(capsys.readouterr().out)["error"]


def test_ingest_with_known_envelope_recipient(tmp_path: Path, capsys) -> None:
    """--rcpt gives the envelope: a message whose headers name nobody is filed to that matter."""
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: c@outside.example\r\nTo: someone@else.example\r\nSubject: x\r\n\r\nbody\r\n")
    tenant = write_tenant(tmp_path / "t.json")
    assert (
        main(
            [
                "ingest",
                "--tenant",
                str(tenant),
                "--store",
                str(tmp_path / "s"),
                "--format",
                "text",
                "--rcpt",
                "1002@smithlaw.actionstep.example",
                str(eml),
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.strip().split("\t")
    assert line[1:3] == ["matter", "1002"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_ingest_of_a_fifo_is_reported_and_never_blocks(tmp_path: Path, capsys) -> None:
    """A FIFO named .eml given to ingest is an error row saying what it is (exit 3); nothing waits for a writer."""
    fifo = tmp_path / "pipe.eml"
    os.mkfifo(fifo)
    tenant = write_tenant(tmp_path / "t.json")
    assert main(["ingest", "--tenant", str(tenant), "--store", str(tmp_path / "s"), str(fifo)]) == 3
    assert "FIFO" in json.loads(capsys.readouterr().out)["error"]
