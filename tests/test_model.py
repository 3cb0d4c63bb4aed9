"""Secret and Finding: the value types every layer shares."""

from __future__ import annotations

import pickle

import pytest

from mailsupport.model import MESSAGE_COLUMNS, Finding, MessageRef, Secret, Severity, findings_to_rows


def test_secret_hides_its_value_everywhere():
    """str, repr, format and f-strings show *** only; reveal() gives the value."""
    s = Secret("canary-4b1d-model")
    percent = "%s" % s  # noqa: UP031 (the %-operator is one of the ways a value gets printed)
    for shown in (str(s), repr(s), f"{s}", f"{s!r}", percent, format(s, ">20"), repr([s]), repr({"p": s})):
        assert "canary" not in shown
    assert s.reveal() == "canary-4b1d-model"


def test_secret_refuses_pickling_and_mutation():
    """A Secret cannot be pickled (to disk or a process pool) nor changed."""
    s = Secret("x")
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(AttributeError):
        s._value = "y"


def test_secret_equality_compares_values_without_revealing():
    """Two secrets with the same value are equal (for config diffs)."""
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b") and Secret("a") != "a"


def test_severity_parses_and_orders():
    """Severities parse case-insensitively and order info < warning < error < critical."""
    assert Severity.parse("Warning") is Severity.WARNING
    assert Severity.INFO < Severity.WARNING < Severity.ERROR < Severity.CRITICAL
    with pytest.raises(ValueError, match="expected one of"):
        Severity.parse("fatal")


def test_findings_flatten_to_rows_with_extra_columns():
    """findings_to_rows gives string rows with the tenant column first and evidence joined."""
    f = Finding(
        check="spf.no-record",
        severity=Severity.ERROR,
        subject="a.example",
        summary="No SPF record",
        remedy="Publish one",
        evidence=(("TXT", "none"),),
    )
    (row,) = findings_to_rows([f], tenant="acme")
    assert list(row)[0] == "tenant"
    assert row["severity"] == "error" and row["evidence"] == "TXT=none"
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        f.check = "x"


def test_finding_rows_name_the_message_for_notebook_tables():
    """A per-message finding's row has its Message-ID, Subject, Date, From, file and position; the label
    clips a long subject and says where the message is."""
    ref = MessageRef(
        message_id="<m@x>",
        subject="Re: " + "long " * 30,
        date="Tue, 4 Nov 2025 10:00:00 +0000",
        from_="a@x",
        source="/data/box.mbox",
        position="12",
    )
    (row,) = findings_to_rows(
        [
            Finding(
                check="size.over-recommended",
                severity=Severity.WARNING,
                subject=ref.label(),
                summary="big",
                messages=(ref,),
            )
        ]
    )
    assert {c: row[c] for c in MESSAGE_COLUMNS} == {
        "message_id": "<m@x>",
        "message_subject": ref.subject,
        "message_date": "Tue, 4 Nov 2025 10:00:00 +0000",
        "message_from": "a@x",
        "message_file": "/data/box.mbox",
        "message_position": "12",
    }
    assert ref.label().startswith('box.mbox #12 <m@x> "Re: long') and len(ref.label()) < 90
    (plain,) = findings_to_rows([Finding(check="spf.no-record", severity=Severity.ERROR, subject="d", summary="s")])
    assert all(plain[c] == "" for c in MESSAGE_COLUMNS)


def test_pickled_by_values_round_trips_frozen_dataclasses_and_their_subclasses():
    """A summary (nested evidence and attachments) comes back equal and of its class; so do copies, and a
    subclass with a field of its own keeps it."""
    import copy
    from dataclasses import dataclass

    from mailsupport.headers import MessageSummary, RecipientEvidence
    from mailsupport.model import pickled_by_values
    from mailsupport.sizes import AttachmentSize

    evidence = RecipientEvidence(
        header="Delivered-To", address="a@b.example", raw="a@b.example", index=1, trusted=True, position="above-entry"
    )
    attachment = AttachmentSize(
        filename="x.pdf", content_type="application/pdf", encoding="base64", encoded_size=8, raw_size=6
    )
    summary = MessageSummary(
        source="s", position="1", to=("a@b.example",), attachments=(attachment,), candidates=(evidence,)
    )
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps([summary, summary], protocol=protocol))
        assert back == [summary, summary] and type(back[0].candidates[0]) is RecipientEvidence
    assert copy.copy(summary) == summary and copy.deepcopy(summary) == summary

    @pickled_by_values
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Base:
        a: int

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Sub(Base):
        b: str = ""

    globals().update(Base=Base, Sub=Sub)  # pickle finds classes by module-level name
    Base.__qualname__, Sub.__qualname__ = "Base", "Sub"
    try:
        assert pickle.loads(pickle.dumps(Base(a=1))) == Base(a=1)
        back = pickle.loads(pickle.dumps(Sub(a=1, b="x")))
        assert type(back) is Sub and back == Sub(a=1, b="x")
    finally:
        del globals()["Base"], globals()["Sub"]
