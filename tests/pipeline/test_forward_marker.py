"""The anti-loop marker counts only when the store's key proves the kit wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.pipeline import ingest_message
from mailsupport.pipeline.failed import FORWARD_MARKER, MarkerCheck, check_marker, forward_marker
from mailsupport.store import Store
from mailsupport.testing.mailgen import pipeline_tenant

TENANT = pipeline_tenant()
FAILED_ADDRESS = "it@catchall.example"


def _unroutable(extra_headers: bytes = b"") -> bytes:
    return (
        b"From: stranger@outside.example\r\nTo: nobody@elsewhere.example\r\n"
        b"Message-ID: <unroutable-1@outside.example>\r\nSubject: who gets this\r\n"
        + extra_headers
        + b"\r\nplease file me\r\n"
    )


def _come_back(store: Store, raw: bytes):
    """Ingest ``raw`` as mail arriving for the failed-emails address on the catch-all domain."""
    return ingest_message(TENANT, store, raw, envelope_recipients=[FAILED_ADDRESS])


def test_our_forward_coming_back_is_not_forwarded_again(tmp_path: Path) -> None:
    """A genuine forward that returns is filed as failed once, with no second forward (no loop)."""
    with Store(tmp_path / "store") as store:
        first = ingest_message(TENANT, store, _unroutable())
        assert first.forwarded_as_failed
        [queued] = store.queued()
        assert check_marker(queued.raw, store.forward_key()) is MarkerCheck.OURS
        back = _come_back(store, queued.raw)
        assert back.created and not back.forwarded_as_failed
        assert any("our own failed-mail forward" in step for step in back.decision.trace)
        assert len(store.queued()) == 1


@pytest.mark.parametrize(
    "marker",
    [
        b"failed",
        b"failed; mac=0123456789abcdef0123456789abcdef",
        b"anything at all",
    ],
    ids=["old-plain-marker", "made-up-proof", "junk-value"],
)
def test_a_forged_marker_is_ignored_and_the_trace_says_so(tmp_path: Path, marker: bytes) -> None:
    """A sender's own marker does not stop the forward: forwarded once, the trace says it is not ours."""
    raw = _unroutable(FORWARD_MARKER.encode() + b": " + marker + b"\r\n")
    with Store(tmp_path / "store") as store:
        result = ingest_message(TENANT, store, raw)
        assert result.forwarded_as_failed
        assert any("not written by this kit" in step for step in result.decision.trace)
        [queued] = store.queued()
        assert queued.rcpt_tos == (FAILED_ADDRESS,)
        assert store.decisions()[0]["trace"] == list(result.decision.trace)
        back = _come_back(store, queued.raw)  # our forward of it carries our proof: the loop stops there
        assert not back.forwarded_as_failed and len(store.queued()) == 1


def test_a_marker_made_with_another_stores_key_is_not_ours(tmp_path: Path) -> None:
    """A real forward copied from another store (another key) is forwarded here like any unroutable mail."""
    with Store(tmp_path / "a") as a, Store(tmp_path / "b") as b:
        ingest_message(TENANT, a, _unroutable())
        [from_a] = a.queued()
        assert check_marker(from_a.raw, b.forward_key()) is MarkerCheck.NOT_OURS
        assert _come_back(b, from_a.raw).forwarded_as_failed


def test_marker_proof_depends_on_key_and_message_id() -> None:
    """The proof changes with the key and with the Message-ID; whitespace folding does not change it."""
    key, other = b"k" * 32, b"o" * 32
    base = forward_marker(key, "<f1@catchall.example>")
    assert base.startswith("failed; mac=") and len(base) == len("failed; mac=") + 32
    assert base != forward_marker(other, "<f1@catchall.example>")
    assert base != forward_marker(key, "<f2@catchall.example>")
    assert base == forward_marker(key, " <f1@catchall.example>\r\n ")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"", MarkerCheck.NONE),
        (b"X-Mailsupport-Forward: failed\r\n", MarkerCheck.NOT_OURS),
        (b"x-mailsupport-forward: MARK\r\n", MarkerCheck.OURS),
        (b"X-Mailsupport-Forward: failed\r\nX-Mailsupport-Forward: MARK\r\n", MarkerCheck.OURS),
    ],
    ids=["no-marker", "plain-marker", "our-proof-any-case", "ours-among-forged"],
)
def test_check_marker_table(headers: bytes, expected: MarkerCheck) -> None:
    """check_marker tells no marker, a marker without our proof, and ours (header name in any case)."""
    key = b"s" * 32
    mark = forward_marker(key, "<unroutable-1@outside.example>").encode()
    assert check_marker(_unroutable(headers.replace(b"MARK", mark)), key) is expected
