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
