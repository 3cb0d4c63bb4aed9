"""Server side of SASL XOAUTH2 (the client side is :mod:`mailsupport.sasl`): parse, refuse.

Pure helpers shared by the sandbox's SMTP and POP3 servers. The client string is
``user=<user>\\x01auth=Bearer <token>\\x01\\x01``; a refusal sends the base64 JSON
``{"status":"401","schemes":"bearer","scope":...}`` as a continuation (Google) before the
final error.
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["parse_xoauth2", "error_challenge", "parse_plain"]


def parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """``(user, token)`` from the decoded XOAUTH2 client response, ``None`` if malformed."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields = {}
    for part in text.split("\x01"):
        if "=" in part:
            key, _, value = part.partition("=")
            fields[key] = value
    auth = fields.get("auth", "")
    if "user" not in fields or not auth.lower().startswith("bearer "):
        return None
    return fields["user"], auth[7:].strip()


def error_challenge(scope: str = "https://mail.google.com/") -> str:
    """The base64 JSON a server sends to refuse a token (status 401, scheme bearer)."""
    payload = json.dumps({"status": "401", "schemes": "bearer", "scope": scope}, separators=(",", ":"))
    return base64.b64encode(payload.encode("ascii")).decode("ascii")


def parse_plain(blob: bytes) -> tuple[str, str] | None:
    """``(user, password)`` from a decoded SASL PLAIN response (RFC 4616 §2), ``None`` if malformed."""
    parts = blob.split(b"\x00")
    if len(parts) != 3:
        return None
    try:
        authzid, user, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        return None
    if not user:
        return None
    return user, password


def b64(text: str) -> bytes | None:
    """Decode base64 text; ``None`` when it is not base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
