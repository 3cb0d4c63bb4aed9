"""Does a text still show a secret? For tests of every output a hostile server's echo reaches.

Owns :func:`revealed`: the secret plainly, percent-encoded, or base64-encoded inside any token
at any alignment (a SASL PLAIN/LOGIN/XOAUTH2 blob quoted back by a server), so a test can
assert an output holds the password in *no* form while the server's other words remain.

Layer 6 (testing); standard library only.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import quote

__all__ = ["revealed"]

_TOKEN = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")


def revealed(secret: str, text: str) -> bool:
    """True when ``text`` still shows ``secret`` plainly, percent-encoded, or inside any base64
    token (decoded from each of its four possible cuts, padded or not)."""
    if secret in text or quote(secret, safe="") in text:
        return True
    raw = secret.encode("utf-8")
    for token in _TOKEN.findall(text):
        token = token.rstrip("=")
        for cut in range(4):  # the token may have been sliced off at any alignment
            piece = token[cut:]
            # keep the last partial quantum, padded: a SASL PLAIN blob ends with the password
            piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece
            piece += "=" * (-len(piece) % 4)
            try:
                if raw in base64.b64decode(piece):
                    return True
            except (ValueError, binascii.Error):
                continue
    return False
