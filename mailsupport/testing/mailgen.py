"""Deterministic test messages shaped like a Postfix catch-all delivery, and tenants to match.

Owns :func:`catchall_message` (the headers Postfix's virtual(8) really writes, measured on Postfix 3.7:
``X-Original-To`` and ``Delivered-To`` above the receiving ``Received: ... for <addr>``),
:func:`padded_message` (about N bytes, for benchmarks) and :func:`pipeline_tenant` (a tenant
pointed at a POP3/SMTP server on loopback).

Layer 6 (testing); no randomness, no clock beyond a fixed date.
"""

from __future__ import annotations

from typing import Any

from ..config import parse_tenant
from ..tenant import Tenant

__all__ = ["catchall_message", "padded_message", "pipeline_tenant", "TEST_DATE"]

TEST_DATE = "Thu, 26 Nov 2026 09:00:00 +0000"


def catchall_message(
    index: int,
    recipient: str,
    *,
    mailbox: str = "mailbox@catchall.example",
    sender: str = "client@outside.example",
    subject: str | None = None,
    body: str = "",
    forged_to: str | None = None,
    extra_headers: str = "",
) -> bytes:
    """One message as a catch-all mailbox receives it; ``forged_to`` adds a sender-written
    ``X-Original-To`` below the Received line (which the router must ignore)."""
    forged = f"X-Original-To: {forged_to}\r\n" if forged_to else ""
    text = (
        f"Return-Path: <{sender}>\r\n"
        f"X-Original-To: {recipient}\r\n"
        f"Delivered-To: {mailbox}\r\n"
        f"Received: from client.outside.example (client.outside.example [192.0.2.10])\r\n"
        f"\tby mx.catchall.example (Postfix) with ESMTP id Q{index:08d}\r\n"
        f"\tfor <{recipient}>; {TEST_DATE}\r\n"
        f"{forged}"
        f"From: Client {index} <{sender}>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: {subject if subject is not None else f'Message {index}'}\r\n"
        f"Date: {TEST_DATE}\r\n"
        f"Message-ID: <msg{index:06d}@outside.example>\r\n"
        f"{extra_headers}"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n"
        f"{body or f'Body of message {index}.'}\r\n"
    )
    return text.encode("utf-8")


def padded_message(index: int, recipient: str, size: int = 50_000) -> bytes:
    """A catch-all message of about ``size`` bytes (76-character lines, like base64 bodies)."""
    line = ("abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:76]
    lines = max(1, size // 78)
    body = "\r\n".join(f"{line[:70]}{n:06d}" for n in range(lines))
    return catchall_message(index, recipient, body=body)


def pipeline_tenant(
    *,
    pop_port: int = 0,
    smtp_port: int = 0,
    username: str = "mailbox",
    password: str = "secret",
    confirm_delete: bool = True,
    catch_all_header: str = "X-Original-To",
    domain: str = "catchall.example",
    ca_file: str | None = None,
    tls: str = "none",
    **extra: Any,
) -> Tenant:
    """A catch-all tenant on loopback servers: matters 1001-1003, user jane (alias conveyancing),
    failed mail to it@<domain>. ``extra`` overrides top-level tenant fields."""
    server: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": pop_port,
        "tls": tls,
        "username": username,
        "password": password,
        "allow_plaintext_auth": tls == "none",
        "timeout": 10,
    }
    if ca_file:
        server["ca_file"] = ca_file
    data: dict[str, Any] = {
        "org_key": "smithlaw",
        "domains": [domain],
        "wildcard_domain": "actionstep.example",
        "provider": "other",
        "failed_email_address": f"it@{domain}",
        "division_signature": "Smith & Co Lawyers\nLevel 3, 1 Main St",
        "disclaimer": "This email is confidential.",
        "inbound": {
            "address": f"mailbox@{domain}",
            "kind": "catch-all",
            "catch_all_header": catch_all_header,
            "confirm_download_then_delete": confirm_delete,
            "server": server,
        },
        "outbound": {
            "from_address": f"mailbox@{domain}",
            "server": {"host": "127.0.0.1", "port": smtp_port or 1, "tls": "none", "timeout": 10},
        },
        "users": [
            {
                "address": f"jane@{domain}",
                "name": "Jane Smith",
                "signature": "Jane Smith\nSolicitor",
                "aliases": [f"conveyancing@{domain}"],
            }
        ],
        "matters": [{"id": "1001", "name": "Purchase of 1 Main St"}, {"id": "1002"}, {"id": "1003"}],
    }
    data.update(extra)
    return parse_tenant(data, source="<pipeline test tenant>")
