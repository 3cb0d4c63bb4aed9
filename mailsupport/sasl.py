"""SASL XOAUTH2: the only way into Office 365 mailboxes now, and Google's recommended way.

Pure helpers (no I/O) used by the POP3 and SMTP clients and the connection doctor:
:func:`xoauth2_initial_response` builds the client's string, :func:`parse_xoauth2_error`
reads the base64 JSON challenge a server sends back when the token is refused.

The format (Google "OAuth 2.0 Mechanism", Microsoft "Authenticate an IMAP, POP or SMTP
connection using OAuth"): ``base64("user=" user "\\x01auth=Bearer " token "\\x01\\x01")``.
On failure the server answers a continuation carrying base64 JSON such as
``{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}``; the client
then sends an empty line and gets the final error.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from .model import Secret

__all__ = ["xoauth2_initial_response", "Xoauth2Error", "parse_xoauth2_error"]


def xoauth2_initial_response(user: str, token: Secret) -> str:
    """The base64 XOAUTH2 initial client response for ``user`` with bearer ``token``."""
    if any(c in user for c in "\x01\r\n"):
        raise ValueError("the XOAUTH2 user name must not contain control characters")
    raw = f"user={user}\x01auth=Bearer {token.reveal()}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


@dataclass(frozen=True, slots=True, kw_only=True)
class Xoauth2Error:
    """The JSON a server sends when it refuses a token: ``status`` ("401" expired/invalid,
    "400" bad request), the accepted ``schemes`` and the ``scope`` the token needs."""

    status: str
    schemes: str = ""
    scope: str = ""


def parse_xoauth2_error(challenge: str | bytes) -> Xoauth2Error | None:
    """Decode a server's base64 JSON XOAUTH2 error challenge; ``None`` when it is not one."""
    if isinstance(challenge, bytes):
        challenge = challenge.decode("ascii", "replace")
    try:
        data = json.loads(base64.b64decode(challenge.strip(), validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or "status" not in data:
        return None
    return Xoauth2Error(
        status=str(data.get("status", "")), schemes=str(data.get("schemes", "")), scope=str(data.get("scope", ""))
    )
