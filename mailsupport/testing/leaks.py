"""Does a text still show a secret? The check every leak test asserts against.

Owns :func:`revealed`: true when the secret appears in the text plainly, percent-encoded
(as in a URL or a form), or inside any base64 token at any alignment (SASL ``AUTH PLAIN``
and ``LOGIN`` blobs, XOAUTH2 strings, a token a server quoted only in part). It is the
test-side mirror of :class:`mailsupport.redact.Redactor`: the redactor masks, this finds
what was left unmasked.

Layer 6 (testing); standard library only.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

__all__ = ["revealed"]

_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")


def revealed(secret: str, text: str) -> bool:
    """True when ``text`` still shows ``secret``: plainly, percent-encoded, or in a base64 token."""
    if not secret:
        return False
    if secret in text or quote(secret, safe="") in text or quote_plus(secret) in text:
        return True
    needle = secret.encode()
    for token in _B64_TOKEN.findall(text):
        for cut in range(4):  # the token may have been sliced off at any alignment
            piece = token[cut:]
            piece = piece[: len(piece) - len(piece) % 4]
            try:
                if needle in base64.b64decode(piece):
                    return True
            except ValueError:
                continue
    return False
