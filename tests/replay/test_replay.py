"""Replays of the bundled samples on real sandboxes: the router's counts agree with the catch-all diagnosis,
Google's consolidation shows as missing copies, refusals are reported, big samples stream, nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mailsupport.diagnose.catchall import diagnose_catch_all
from mailsupport.errors import SampleError
from mailsupport.replay import parse_change, plan_replay, replay, run_replay
from mailsupport.samples import scan
from mailsupport.samples.generate import demo_tenant, mbox_bytes, padded_message, plain_message, postfix_copy
from mailsupport.sandbox import Sandbox

from .conftest import MAILBOX, REAL, SAMPLES, real_tenant, sample_tenant

pytestmark = pytest.mark.timeout(180)

#: sample path, its tenant, whether every message is one its profile reproduces in full
BUNDLED = [
    ("catchall-postfix.mbox", lambda: sample_tenant("smithlaw-sample-catchall"), True),
    ("gmail-takeout-consolidated.mbox", lambda: sample_tenant("smithlaw-sample-gmail"), True),
    ("sizes-mixed.mbox", lambda: sample_tenant("smithlaw-sample-sizes"), True),
    ("messages", demo_tenant, True),
    ("real", real_tenant, False),
]


def _row(report, header):
    row = next(r for r in report.rows if r.header == header)
    return {"real": row.real_target, "failed": row.failed + row.mailbox + row.missing}


@pytest.mark.parametrize("name, make_tenant, whole", BUNDLED, ids=[b[0] for b in BUNDLED])
def test_replay_counts_agree_with_the_catch_all_diagnosis(name, make_tenant, whole):
    """Replayed through the real pipeline, the copies go where the diagnosis's per-header table says, for the
    current header (before) and the recommended one (after): over the messages replayed exactly, on every
    bundled sample, and over the whole sample where every server is one a profile reproduces (the router and
    the table read the same receiving chain and the same address rules)."""
    tenant = make_tenant()
    path = SAMPLES / name
    summaries = list(scan(path))
    report = diagnose_catch_all(summaries, tenant)  # the table, computed here independently of the replay
    result = replay(tenant, [str(path)], sandbox_factory=Sandbox)
    current = tenant.inbound.catch_all_header
    assert result.before.header == current
    assert result.after.header == (report.recommended_header or current)
    assert result.before.agrees and result.after.agrees, (result.before.to_dict(), result.after.to_dict())
    plan_exact = {(m.ref.source, m.ref.position) for m in result.messages if m.exact and m.transaction}
    exact_report = diagnose_catch_all([s for s in summaries if (s.source, s.position) in plan_exact], tenant)
    for p in (result.before, result.after):
        assert dict(p.exact) == _row(exact_report, p.header)
        if whole:
            assert {"real": p.real, "failed": p.failed} == _row(report, p.header), p.to_dict()
    if not whole:
        approximate = [m for m in result.messages if not m.exact]
        assert approximate and len(plan_exact) >= 10
        assert all("approximate" in m.profile_reason or "no profile writes" in m.profile_reason for m in approximate)


def test_gmail_consolidation_shows_missing_copies_and_postfix_none():
    """Through the gmail profile (the sample's own server) the consolidated messages keep one copy and the
    other recipients get none; through postfix every recipient gets a copy of its own, and routed by
    X-Original-To (the header postfix writes) every copy reaches its matter or user."""
    tenant = sample_tenant("smithlaw-sample-gmail")
    sample = [str(SAMPLES / "gmail-takeout-consolidated.mbox")]
    gmail = replay(tenant, sample, sandbox_factory=Sandbox)
    assert dict(gmail.profiles) == {"gmail": 6}
    missing = {(ref.message_id, rcpt) for ref, rcpt in gmail.missing_copies}
    assert missing == {
        ("<gm2@example.net>", "litigation@smithlaw.example"),
        ("<gm3@example.net>", "jane@smithlaw.example"),
        ("<gm4@example.net>", "mei@smithlaw.example"),
        ("<gm4@example.net>", "conveyancing@smithlaw.example"),
    }
    assert sum(len(m.copies) for m in gmail.messages) == 6
    postfix = replay(tenant, sample, sandbox_factory=Sandbox, profile="postfix")
    assert postfix.missing_copies == ()
    assert sum(len(m.copies) for m in postfix.messages) == 10
    assert postfix.after.header == "X-Original-To" and postfix.after.real == 10 and postfix.after.failed == 0
    gm4 = next(m for m in postfix.messages if m.ref.message_id == "<gm4@example.net>")
    assert sorted(c.after.target for c in gm4.copies) == [
        "jane@smithlaw.example",
        "mei@smithlaw.example",
        "raj@smithlaw.example",
    ]
    assert [c.recovered for c in gm4.copies] == [False, True, True]


def test_forged_header_is_ignored_in_the_replay_as_for_real(catchall_tenant):
    """The sender's own X-Original-To below the entry hop reaches the replayed copy, and the router ignores it
    there as it would for real: the copy goes to the matter the receiving side's header names."""
    result = replay(catchall_tenant, [str(SAMPLES / "catchall-postfix.mbox")], sandbox_factory=Sandbox)
    forged = next(m for m in result.messages if m.ref.message_id == "<pf8@example.net>")
    (copy,) = forged.copies
    assert (copy.after.kind, copy.after.target) == ("matter", "1043")
    assert any("ignored X-Original-To: jane@smithlaw.example" in step for step in copy.after.trace)


def test_the_sample_is_only_read(catchall_tenant, tmp_path):
    """Every byte and the modification time of the sample are as they were after a replay."""
    sample = tmp_path / "copy.mbox"
    sample.write_bytes((SAMPLES / "catchall-postfix.mbox").read_bytes())
    before = (hashlib.sha256(sample.read_bytes()).hexdigest(), sample.stat().st_mtime_ns)
    replay(catchall_tenant, [str(sample)], sandbox_factory=Sandbox)
    assert (hashlib.sha256(sample.read_bytes()).hexdigest(), sample.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.mbox"]


def test_refused_messages_and_recipients_are_reported(tmp_path):
    """A message over the Postfix profile's size limit and a recipient it will not relay are reported as
    refused, with the server's reply, in both passes; the other messages are routed as usual."""
    big = padded_message(10_400_000, n=1)
    outside = postfix_copy(
        plain_message(to=["someone@elsewhere.example"], subject="not ours", message_id="o@x", n=2),
        original_to="someone@elsewhere.example",
        n=2,
    )
    fine = postfix_copy(
        plain_message(to=["1042@smithlaw.example"], subject="ok", message_id="k@x", n=3),
        original_to="1042@smithlaw.example",
        n=3,
    )
    sample = tmp_path / "refusals.mbox"
    sample.write_bytes(mbox_bytes([big, outside, fine]))
    result = replay(demo_tenant(header="X-Original-To"), [str(sample)], sandbox_factory=Sandbox)
    kinds = {m.number: [(c.before.kind, c.after.kind) for c in m.copies] for m in result.messages}
    assert kinds == {1: [("refused", "refused")], 2: [("refused", "refused")], 3: [("matter", "matter")]}
    size = result.messages[0].copies[0].before.reason
    assert "552 5.3.4 Message size exceeds fixed limit" in size and "postfix" in size
    assert "Relay access denied" in result.messages[1].copies[0].after.reason
    assert result.before.count("refused") == 2 and "2 refused by the server" in result.evidence()


def test_a_big_sample_streams_in_batches(tmp_path):
    """With a batch of 5, 23 transactions are delivered and polled five at a time: the sandboxes never hold
    more than a batch, every message is counted once on the progress, and every copy is routed."""
    messages = [
        postfix_copy(
            plain_message(to=[f"10{n % 2 + 42}@smithlaw.example"], subject=f"m{n}", message_id=f"s{n}@x", n=n),
            original_to=f"10{n % 2 + 42}@smithlaw.example",
            n=n,
        )
        for n in range(23)
    ]
    sample = tmp_path / "big.mbox"
    sample.write_bytes(mbox_bytes(messages))
    sandboxes = []

    def factory(*args, **kwargs):
        sb = Sandbox(*args, **kwargs)
        sandboxes.append(sb)
        return sb

    class Counter:
        count = 0
        most = 0

        def update(self, n):
            self.count += n
            self.most = max([self.most] + [len(sb.mailbox(MAILBOX)) for sb in sandboxes if sb.running])

    bar = Counter()
    plan = plan_replay(demo_tenant(header="X-Original-To"), [str(sample)])
    result = run_replay(plan, sandbox_factory=factory, progress=bar, batch=5)
    assert bar.count == 23 and 0 < bar.most <= 5
    assert result.before.real == result.after.real == 23
    assert len(sandboxes) == 2 and not any(sb.running for sb in sandboxes)


def test_a_sample_changed_after_planning_is_an_error(catchall_tenant, tmp_path):
    """If the sample's bytes change between the plan and the run, the replay stops with a SampleError
    saying so, instead of replaying other mail than it planned."""
    sample = tmp_path / "s.mbox"
    sample.write_bytes((SAMPLES / "catchall-postfix.mbox").read_bytes())
    plan = plan_replay(catchall_tenant, [str(sample)])
    sample.write_bytes(sample.read_bytes().replace(b"Please see the attached.", b"Please see the attachment"))
    with pytest.raises(SampleError, match="sample changed"):
        run_replay(plan, sandbox_factory=Sandbox)


def test_a_change_of_the_tenant_model_is_replayed(catchall_tenant):
    """--change in the tenant file's terms: with X-Original-To and the unknown address made an alias of Jane,
    every copy of the catch-all sample reaches a matter or user."""
    changes = [
        parse_change("catch_all_header=X-Original-To"),
        parse_change("users[0].aliases+=nosuchperson@smithlaw.example"),
    ]
    result = replay(catchall_tenant, [str(SAMPLES / "catchall-postfix.mbox")], sandbox_factory=Sandbox, changes=changes)
    assert result.after.settings == (
        "inbound.catch_all_header = X-Original-To",
        "users[0].aliases += nosuchperson@smithlaw.example",
    )
    assert (result.before.failed, result.after.failed, result.after.real) == (9, 0, 9)
    wrong = next(m for m in result.messages if m.ref.message_id == "<pf6@example.net>")
    assert (wrong.copies[0].after.kind, wrong.copies[0].after.target) == ("alias", "jane@smithlaw.example")


def test_to_dict_has_before_and_after_with_routed_counts_and_messages(catchall_tenant):
    """The JSON shape other tools read: before/after each with routed counts by kind and its messages (named
    as findings name them), and the evidence sentence with the counts."""
    result = replay(catchall_tenant, [str(SAMPLES / "catchall-postfix.mbox")], sandbox_factory=Sandbox)
    d = result.to_dict()
    assert d["before"]["routed"] == {"matter": 0, "alias": 0, "user": 0, "reply": 0, "failed": 9}
    assert d["after"]["routed"] == {"matter": 3, "alias": 4, "user": 1, "reply": 0, "failed": 1}
    first = d["after"]["messages"][0]
    assert first["message"] == {
        "message_id": "<pf1@example.net>",
        "subject": "Contract for matter 1042",
        "date": "Mon, 3 Nov 2025 09:00:01 +0000",
        "from": "Client <client@example.net>",
        "source": str(SAMPLES / "catchall-postfix.mbox"),
        "position": "1",
    }
    assert (first["kind"], first["target"]) == ("matter", "1042")
    assert d["evidence"] == (
        "With the current setting (catch-all header Delivered-To) 9 of 9 went to failed emails; with X-Original-To, 1."
    )


def test_real_messages_that_repeat_a_message_id_are_dropped_by_gmail():
    """Two real Gmail messages share a Message-ID: the gmail profile keeps the first and drops the second,
    which the replay reports as not kept, with its recipient missing."""
    result = replay(real_tenant(), [str(REAL)], sandbox_factory=Sandbox)
    dropped = [m for m in result.messages if any(c.before.kind == "not-kept" for c in m.copies)]
    assert [m.ref.position for m in dropped] == ["mikel__plain_emails__raw_email_with_at_display_name.eml"]
    assert dropped[0].missing == ("raasdnil@gmail.com",)
    assert Path(REAL).is_dir()


def test_matter_domain_mail_goes_through_the_wildcard_path(catchall_tenant, tmp_path):
    """A recipient on the matter domain (<id>@<orgkey>.<wildcard domain>) is filed by the product's wildcard
    path with the SMTP envelope, in both passes, whatever the catch-all header."""
    rcpt = f"1043@{catchall_tenant.matter_domain}"
    raw = postfix_copy(plain_message(to=[rcpt], subject="matter mail", message_id="w@x"), original_to=rcpt)
    sample = tmp_path / "wildcard.mbox"
    sample.write_bytes(mbox_bytes([raw]))
    result = replay(catchall_tenant, [str(sample)], sandbox_factory=Sandbox)
    (copy,) = result.messages[0].copies
    assert (copy.before.kind, copy.before.target, copy.after.kind) == ("matter", "1043", "matter")
    assert any("SMTP RCPT TO" in step for step in copy.before.trace)
