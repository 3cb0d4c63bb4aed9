"""Every outgoing message reaches DATA with CRLF line ends and dot-stuffed once: no SMTP smuggling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsupport.config import load_tenant
from mailsupport.pipeline import ingest_message, send_queued
from mailsupport.signature import crlf_line_ends
from mailsupport.smtp import SmtpClient
from mailsupport.store import Store
from mailsupport.testing.lenientsmtp import LenientSmtpServer
from mailsupport.testing.mailgen import pipeline_tenant

pytestmark = pytest.mark.timeout(60)
ANY_LINE_END = re.compile(rb"\r\n|\r|\n")
TENANT = Path(__file__).resolve().parents[2] / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"

#: Line-end shapes around a lone dot, as a lenient server would read them (id -> bytes).
SHAPES = {
    "cr-dot-crlf": b"before\r.\r\nafter",
    "cr-dot-cr": b"before\r.\rafter",
    "lf-dot-lf": b"before\n.\nafter",
    "lf-dot-crlf": b"before\n.\r\nafter",
    "crlf-dot-crlf": b"before\r\n.\r\nafter",
    "dot-line-start": b"before\r\n..leading dots\r\n.\rafter",
    "smuggled-commands": (
        b"hello\r.\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@outside.example>\r\n"
        b"DATA\r\nSubject: forged\r\n\r\nforged body"
    ),
}


def _message(shape: bytes) -> bytes:
    return b"Subject: line ends\r\nMessage-ID: <shape@catchall.example>\r\n\r\n" + shape + b"\r\nthe end\r\n"


def _lines(raw: bytes) -> tuple[bytes, ...]:
    """The lines of ``raw`` (any line end), without the empty remainder after the last one."""
    parts = ANY_LINE_END.split(raw)
    return tuple(parts[:-1] if parts and parts[-1] == b"" else parts)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"a\rb\r", b"a\r\nb\r\n"),
        (b"a\r\r\nb\n\rc", b"a\r\n\r\nb\r\n\r\nc"),
        (b"", b""),
    ],
    ids=["crlf-unchanged", "bare-lf", "bare-cr", "mixed", "empty"],
)
def test_crlf_line_ends_table(before: bytes, after: bytes) -> None:
    """CRLF, bare CR and bare LF each become one CRLF; nothing else changes."""
    assert crlf_line_ends(before) == after


def test_canonical_message_is_returned_without_a_copy() -> None:
    """A message already in CRLF form is returned as the same object (the send path's usual case)."""
    raw = _message(b"body")
    assert crlf_line_ends(raw) is raw


@given(
    st.binary(max_size=300) | st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"x"]), max_size=40).map(b"".join)
)
def test_crlf_line_ends_keeps_lines_and_leaves_no_bare_cr_or_lf(raw: bytes) -> None:
    """For any bytes: the same lines as any line-end reading gives, and every CR/LF in a CRLF pair."""
    out = crlf_line_ends(raw)
    assert out.count(b"\r") == out.count(b"\n") == out.count(b"\r\n")
    assert ANY_LINE_END.split(out) == ANY_LINE_END.split(raw)


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_lenient_server_receives_one_message_with_its_lines_intact(shape: bytes) -> None:
    """Sent through SmtpClient, no dot shape ends DATA early on a server that splits at CR or LF."""
    raw = _message(shape)
    with LenientSmtpServer() as server:
        settings = pipeline_tenant(smtp_port=server.port).outbound.server
        with SmtpClient(settings) as client:
            assert client.send(raw, "mailbox@catchall.example", ["client@outside.example"]).code == 250
        assert server.wait_closed(1)
    assert [m.rcpt_tos for m in server.messages] == [("<client@outside.example>",)]
    assert server.messages[0].lines == _lines(raw)
    assert not any("attacker" in c for c in server.commands)


@pytest.fixture
def world():
    """The embedded sandbox (aiosmtpd submission with STARTTLS) and its tenant settings."""
    sandbox_mod = pytest.importorskip("mailsupport.sandbox")
    tenant = load_tenant(TENANT, environ={})
    with sandbox_mod.Sandbox([tenant]) as sb:
        yield sb, sb.tenant_settings(tenant)


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_sandbox_receives_the_message_in_crlf_form(world, shape: bytes) -> None:
    """The sandbox's strict server gets exactly one message, equal to the message with CRLF line ends."""
    sb, tenant = world
    raw = _message(shape)
    with SmtpClient(tenant.outbound.server) as client:
        client.send(raw, "matters@smithlaw.example", ["client@outside.example"])
    [sent] = sb.outbox
    assert sent.data == crlf_line_ends(raw)
    assert b"\r\n" + b"\r\n".join(_lines(raw)[-3:]) + b"\r\n" in sent.data


def test_failed_forward_of_a_smuggling_message_arrives_as_one(tmp_path: Path) -> None:
    """An unroutable message with CR.CR shapes is forwarded as one message holding all its lines."""
    original = (
        b"From: x@outside.example\r\nTo: nobody@elsewhere.example\r\n\r\n"
        + SHAPES["smuggled-commands"]
        + b"\r\nlast\r\n"
    )
    with LenientSmtpServer() as server, Store(tmp_path / "store") as store:
        tenant = pipeline_tenant(smtp_port=server.port)
        result = ingest_message(tenant, store, original)
        assert result.forwarded_as_failed
        summary = send_queued(tenant, store)
        assert summary.sent == 1, summary.errors
        assert server.wait_closed(1)
    [forward] = server.messages
    assert forward.rcpt_tos == ("<it@catchall.example>",)
    lines, want = forward.lines, _lines(original)
    assert any(lines[i : i + len(want)] == want for i in range(len(lines))), "the original's lines, in order"
    assert not any("attacker" in c for c in server.commands)
