"""Fixtures for the sandbox tests: sample tenants and a running Sandbox per test."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailsupport.config import load_tenant
from mailsupport.sandbox import Sandbox

TENANTS = Path(__file__).resolve().parents[2] / "data" / "samples" / "tenants"


def tenant(name: str):
    """A sample tenant by file stem, with zone files that do not exist (yet) dropped."""
    t = load_tenant(TENANTS / f"{name}.toml", environ={})
    return dataclasses.replace(t, zones=tuple(z for z in t.zones if Path(z).exists()))


@pytest.fixture
def smithlaw():
    """The Postfix catch-all sample tenant (matters@smithlaw.example)."""
    return tenant("smithlaw-postfix")


@pytest.fixture
def sandbox(smithlaw):
    """A running sandbox seeded with the smithlaw tenant, postfix profile."""
    with Sandbox([smithlaw], profile="postfix") as sb:
        yield sb


def message(
    subject: str = "Hello",
    *,
    message_id: str = "<m1@outside.example>",
    to: str = "1042@smithlaw.example",
    body: str = "Hello there.\r\n",
) -> bytes:
    """A small RFC 5322 message."""
    return (
        f"From: Client <client@outside.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()
