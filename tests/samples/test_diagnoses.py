"""Each sample check id fires on the sample that shows it, and stays quiet where it should."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest

from mailsupport.config import Provider
from mailsupport.diagnose.catchall import CATCHALL_CHECKS, diagnose_catch_all
from mailsupport.diagnose.consolidation import CONSOLIDATION_CHECKS, diagnose_consolidation
from mailsupport.diagnose.sample import SAMPLE_CHECKS, diagnose_all, diagnose_sample
from mailsupport.diagnose.size import SIZE_CHECKS, diagnose_size
from mailsupport.samples import scan, summarize
from mailsupport.samples.generate import demo_tenant, gmail_copy, padded_message, plain_message, postfix_copy

from .conftest import REAL, SAMPLES

POSTFIX_MBOX = SAMPLES / "catchall-postfix.mbox"
GMAIL_MBOX = SAMPLES / "gmail-takeout-consolidated.mbox"


def _checks(findings):
    return sorted({f.check for f in findings})


def test_check_tables_are_complete():
    """Every check id a diagnosis can emit is documented with a one-line meaning."""
    assert set(CATCHALL_CHECKS) == {"catchall.header-choice", "catchall.header-missing", "catchall.header-forgeable"}
    assert set(CONSOLIDATION_CHECKS) == {"gmail.alias-consolidated"}
    assert set(SIZE_CHECKS) == {"size.over-recommended", "size.over-provider-limit", "size.encoding-overhead"}
    assert SAMPLE_CHECKS == {**CATCHALL_CHECKS, **CONSOLIDATION_CHECKS, **SIZE_CHECKS}
    assert all(v and "\n" not in v for v in SAMPLE_CHECKS.values())


def test_postfix_catch_all_recommends_x_original_to(tenant):
    """On a Postfix catch-all, Delivered-To names only the mailbox; X-Original-To routes the rest."""
    report = diagnose_catch_all(scan(POSTFIX_MBOX), tenant)
    rows = {r.header: r for r in report.rows}
    assert report.recommended_header == "X-Original-To"
    assert (rows["Delivered-To"].carries, rows["Delivered-To"].mailbox, rows["Delivered-To"].real_target) == (9, 9, 0)
    assert (rows["X-Original-To"].real_target, rows["X-Original-To"].failed) == (8, 1)
    # the two copies of a two-recipient message carry no `for` clause (as Postfix writes them: docs/architecture.md, Real servers on loopback)
    assert rows["Received-for"].missing == 2
    choice = next(f for f in report.findings if f.check == "catchall.header-choice")
    assert choice.severity.name == "ERROR" and "Delivered-To" in choice.summary
    assert "X-Original-To" in choice.remedy
    assert any(k == "Delivered-To" and "misroutes 9" in v for k, v in choice.evidence)
    assert "<pf6@example.net>" in choice.detail  # the unknown address is named


def test_header_forgeable_names_every_sender_written_header(tenant):
    """pf8's sender wrote X-Original-To and Delivered-To below the entry hop: one finding per header names the
    message; both are shadowed by the receiving side's copies, and the recommended/current ones are warnings."""
    report = diagnose_catch_all(scan(POSTFIX_MBOX), tenant)
    forged = {dict(f.evidence)["header"]: f for f in report.findings if f.check == "catchall.header-forgeable"}
    assert set(forged) == {"X-Original-To", "Delivered-To"}
    for f in forged.values():
        assert "<pf8@example.net>" in f.detail and [m.message_id for m in f.messages] == ["<pf8@example.net>"]
        assert f.severity.name == "WARNING"  # recommended (X-Original-To), current (Delivered-To)
    assert "recommended header" in forged["X-Original-To"].summary
    assert "current header" in forged["Delivered-To"].summary
    rows = {r.header: r for r in report.rows}
    assert (rows["X-Original-To"].sender_written, rows["X-Original-To"].sender_only) == (1, 0)


def test_current_setting_already_best_is_not_an_error(tenant):
    """A tenant already on the recommended header is told so (a warning: one message still fails)."""
    t = replace(tenant, inbound=replace(tenant.inbound, catch_all_header="X-Original-To"))
    choice = next(f for f in diagnose_catch_all(scan(POSTFIX_MBOX), t).findings if f.check == "catchall.header-choice")
    assert choice.severity.name == "WARNING" and "current setting" in choice.summary


def test_header_missing_when_some_messages_lack_it(tenant):
    """Messages without the recommended header are counted and named."""
    msgs = [
        summarize(
            postfix_copy(
                plain_message(to=["1042@smithlaw.example"], subject="a", message_id="a@x"),
                original_to="1042@smithlaw.example",
            ),
            source="t",
            position="1",
        ),
        summarize(
            postfix_copy(
                plain_message(to=["1043@smithlaw.example"], subject="b", message_id="b@x"),
                original_to="1043@smithlaw.example",
            ),
            source="t",
            position="2",
        ),
        summarize(plain_message(to=["1043@smithlaw.example"], subject="c", message_id="c@x"), source="t", position="3"),
    ]
    report = diagnose_catch_all(msgs, tenant)
    missing = [f for f in report.findings if f.check == "catchall.header-missing"]
    assert report.recommended_header == "X-Original-To"
    assert len(missing) == 1 and "3 <c@x>" in missing[0].detail


def test_no_header_works_says_what_to_change_on_the_server(tenant):
    """When every header names only the mailbox, the finding is an error with the server-side fix."""
    msgs = [
        summarize(
            postfix_copy(
                plain_message(to=["1042@smithlaw.example"], subject="a", message_id=f"{i}@x"),
                original_to=None,
                single=False,
                n=i,
            ),
            source="t",
            position=str(i),
        )
        for i in range(3)
    ]
    report = diagnose_catch_all(msgs, tenant)
    (f,) = report.findings
    assert report.recommended_header is None
    assert f.check == "catchall.header-missing" and f.severity.name == "ERROR"
    assert "enable_original_recipient" in f.remedy  # Postfix-delivered: the Postfix fix


def test_real_sample_mail_test_13_routes_by_x_original_to(real):
    """On the real root@localhost sample, Delivered-To fails and X-Original-To reaches the user."""
    from mailsupport.config import Inbound, MailboxKind, Tenant, User

    t = Tenant(
        org_key="bank",
        inbound=Inbound(
            address="root@localhost", kind=MailboxKind.CATCH_ALL, catch_all_domains=("coastbankcalifornia.com",)
        ),
        users=(User(address="dpinnix@coastbankcalifornia.com"),),
    )
    report = diagnose_catch_all(list(scan(REAL / "spamscope__mails__mail_test_13.eml")), t)
    rows = {r.header: r for r in report.rows}
    assert rows["Delivered-To"].mailbox == 1 and rows["X-Original-To"].real_target == 1
    assert report.recommended_header == "X-Original-To"


def test_gmail_consolidation_names_who_never_got_it():
    """Three Takeout messages named several aliases but arrived once; the missed users are named."""
    diag = diagnose_consolidation(scan(GMAIL_MBOX), demo_tenant(Provider.GMAIL))
    cases = {c.message_id: c for c in diag.report.cases}
    assert set(cases) == {"<gm2@example.net>", "<gm3@example.net>", "<gm4@example.net>"}
    assert cases["<gm2@example.net>"].missed == ("alias:raj@smithlaw.example",)
    assert set(cases["<gm4@example.net>"].missed) == {"user:mei@smithlaw.example", "alias:jane@smithlaw.example"}
    sample = [f for f in diag.findings if f.subject == "sample"]
    assert len(sample) == 1 and "3 of 6 messages (50.0 %)" in sample[0].summary
    assert all("Bcc" in f.remedy or "bcc" in f.remedy for f in diag.findings)


def test_postfix_copies_are_not_consolidated(tenant):
    """The same two-alias message as two Postfix copies is complete: no finding."""
    assert diagnose_consolidation(scan(POSTFIX_MBOX), tenant).findings == ()


def test_real_duplicate_message_id_pairs_are_grouped():
    """The real duplicate pairs (cpython msg_04/msg_44, mikel basic/at_display_name) group as two copies."""
    diag = diagnose_consolidation(scan(REAL), demo_tenant())
    copies = {mid: n for mid, n, _expected in diag.report.copies_per_message}
    assert copies["<15261.36209.358846.118674@anthem.python.org>"] == 2
    assert copies["<6B7EC235-5B17-4CA8-B2B8-39290DEB43A3@test.lindsaar.net>"] == 2
    assert diag.report.without_message_id == 2  # spamscope mail_test_12 and mikel bad_date_header have none


def test_non_google_loss_is_only_info():
    """One copy for two aliases on a Postfix-delivered mailbox is reported as info, not blamed on Google."""
    msg = plain_message(
        to=["conveyancing@smithlaw.example", "litigation@smithlaw.example"], subject="x", message_id="x@x"
    )
    s = summarize(
        postfix_copy(msg, original_to="conveyancing@smithlaw.example", single=False), source="t", position="1"
    )
    diag = diagnose_consolidation([s], demo_tenant())
    assert [f.severity.name for f in diag.findings] == ["INFO"]
    g = summarize(gmail_copy(msg), source="t", position="1")
    assert [f.severity.name for f in diagnose_consolidation([g], demo_tenant()).findings] == ["WARNING", "WARNING"]


def test_size_checks_on_synthetic_messages():
    """12 MB: over the advice and Postfix, pushed over by base64; 30 MB: over Gmail send; 8 MB: clean."""
    sums = [
        summarize(padded_message(t, n=i), source="t", position=name)
        for i, (name, t) in enumerate((("small", 8_000_000), ("twelve", 12_000_000), ("thirty", 30_000_000)))
    ]
    diag = diagnose_size(sums)
    by = {}
    for f in diag.findings:
        (ref,) = f.messages  # a size finding names its message: file, position, Message-ID, subject
        assert f.subject == ref.label() and ref.source == "t" and ref.message_id
        by.setdefault(ref.position, set()).add(f.check)
    assert "small" not in by
    assert by["twelve"] == {"size.over-recommended", "size.over-provider-limit", "size.encoding-overhead"}
    assert "size.over-provider-limit" in by["thirty"]
    thirty = next(
        f for f in diag.findings if f.messages[0].position == "thirty" and f.check == "size.over-provider-limit"
    )
    assert thirty.subject.startswith("t #thirty <")
    assert "Gmail send" in thirty.summary and "Gmail receive" not in thirty.summary
    assert "scan.pdf" in thirty.detail


def test_size_server_size_and_tenant_limit():
    """A server's advertised SIZE and the tenant's limit are limits too."""
    s = summarize(padded_message(3_000_000), source="t", position="m")
    diag = diagnose_size([s], provider="gmail", server_size=2_500_000)
    f = next(f for f in diag.findings if f.check == "size.over-provider-limit")
    assert "Server SIZE" in f.summary
    assert diagnose_size([s], provider="gmail").findings == ()


def test_diagnose_all_and_json_shape(tenant):
    """The one-call entry gives findings and, for catch-all, the recommended header and table."""
    result = diagnose_sample([POSTFIX_MBOX], tenant, "all")
    d = result.to_dict()
    assert d["recommended_header"] == "X-Original-To" and len(d["headers"]) == 6
    assert {"check", "severity", "subject", "summary", "remedy", "evidence"} <= set(d["findings"][0])
    assert diagnose_all(POSTFIX_MBOX, tenant) == result.findings
    with pytest.raises(ValueError, match="unknown diagnosis"):
        diagnose_sample([POSTFIX_MBOX], tenant, "nope")


def test_html_escapes_customer_text(tenant):
    """Message ids, subjects and header names from the sample are escaped in every _repr_html_."""
    evil = "<script>alert(1)</script>"
    msg = plain_message(
        to=["conveyancing@smithlaw.example", "litigation@smithlaw.example"], subject=evil, message_id=f"{evil}@x"
    )
    s = summarize(gmail_copy(msg), source="t", position=evil)
    outputs = [
        diagnose_catch_all([s], tenant)._repr_html_(),
        diagnose_consolidation([s], demo_tenant(Provider.GMAIL))._repr_html_(),
        diagnose_size([replace(s, encoded_size=11_000_000)])._repr_html_(),
    ]
    for out in outputs:
        assert "<script>" not in out
    assert html.escape(evil) in outputs[1] and html.escape(evil) in outputs[2]


def test_demo_diagnoses_on_bundled_samples():
    """The demo hook gives findings for each of the three diagnoses on data/samples."""
    from mailsupport.diagnose.sample import demo_diagnoses

    result = demo_diagnoses(SAMPLES)
    checks = {k: {f.check for f in v.findings} for k, v in result.items()}
    assert "catchall.header-choice" in checks["catch-all"]
    assert checks["consolidation"] == {"gmail.alias-consolidated"}
    assert "size.over-provider-limit" in checks["size"]
