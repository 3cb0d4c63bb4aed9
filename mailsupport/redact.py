"""Scrubbing secrets out of text that came from a server (or anywhere else) before it is shown.

Owns :class:`Redactor` and :func:`secret_forms`. A misbehaving or merely chatty server may quote
what the client sent: ``-ERR invalid login for password hunter2``, ``535 5.7.8 bad credentials
for AUTH PLAIN AGFsaWNlAGh1bnRlcjI=``, a LOGIN exchange's base64 user name and password, an
XOAUTH2 bearer token. Those words end up in exceptions, findings, JSON summaries, reports and
draft files, so every place that takes a server's words in runs them through a
:class:`Redactor` built from the settings it used.

What counts as a form of a secret (:func:`secret_forms`):

* the secret itself, and its percent-encoded (URL) form;
* its base64 encoding **at any alignment inside a longer blob** (SASL PLAIN is
  ``base64(authzid NUL user NUL password)``, XOAUTH2 is ``base64("user=" u "\\x01auth=Bearer "
  token "\\x01\\x01")``, so the secret sits at an offset of 0, 1 or 2 bytes modulo 3): for each
  offset, the run of base64 characters that depends only on the secret's bytes. A base64 token
  containing such a run is replaced whole;
* the exact SASL strings a client builds (PLAIN with and without an authorisation identity,
  LOGIN's base64 password, XOAUTH2's initial response), as a belt to those braces.

Replacements are ``***``. Secrets shorter than :data:`MIN_PLAIN` characters are still
replaced in base64 form but not as plain text (replacing every ``a`` would destroy the text
and protect nothing a human could not guess). Pure (layer 2): standard library and
:mod:`mailsupport.model` only. Base64 forms are found at every alignment for secrets of 4 bytes or more.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

from .model import Secret

__all__ = ["Redactor", "secret_forms", "MASK", "MIN_PLAIN"]

MASK = "***"
#: Shortest secret replaced as plain text.
MIN_PLAIN = 3
#: Shortest base64 run (characters) matched: every alignment of a secret of 4+ bytes yields one.
_MIN_B64 = 4
#: A maximal run of base64 characters with its padding (a token that may hold a secret's core).
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{4,}=*")


def _b64_cores(data: bytes) -> list[str]:
    """For each byte offset 0..2 inside a longer blob, the base64 characters fixed by ``data`` alone."""
    cores = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + data).decode("ascii").rstrip("=")
        lead = (0, 2, 3)[k]  # characters that mix the k unknown leading bytes in
        n = k + len(data)
        trail = 0 if n % 3 == 0 else 1  # the last character mixes in the bytes that follow
        core = enc[lead : len(enc) - trail]
        if len(core) >= _MIN_B64:
            cores.append(core)
    return cores


def _percent(s: str, *, plus: bool = False) -> str:
    """RFC 3986 percent-encoding of ``s`` (``+`` for spaces when ``plus``, as HTML forms do)."""
    out = "".join(
        c if c.isascii() and (c.isalnum() or c in "-._~") else "".join(f"%{b:02X}" for b in c.encode()) for c in s
    )
    return out.replace("%20", "+") if plus else out


def _plain(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)


def secret_forms(secret: str | Secret, *, usernames: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``(literal strings, base64 cores)`` under which ``secret`` could appear in a server's words."""
    s = _plain(secret)
    if not s:
        return [], []
    raw = s.encode("utf-8")
    literals = {s, _percent(s), _percent(s, plus=True)} if len(s) >= MIN_PLAIN else set()
    for user in usernames:
        u = user.encode("utf-8")
        for blob in (
            b"\0" + u + b"\0" + raw,
            u + b"\0" + u + b"\0" + raw,
            b"user=" + u + b"\x01auth=Bearer " + raw + b"\x01\x01",
        ):
            literals.add(base64.b64encode(blob).decode("ascii"))
    literals.add(base64.b64encode(raw).decode("ascii"))
    cores = _b64_cores(raw)
    return sorted((x for x in literals if x), key=len, reverse=True), cores


class Redactor:
    """Replaces every form of the given secrets in a text with ``***``.

    ``Redactor([settings.password, settings.oauth_token], usernames=[settings.username])``;
    ``None`` and empty secrets are ignored, so a redactor for settings without secrets is a
    no-op. Calling it on ``bytes`` decodes them as UTF-8 (with replacement) first.
    """

    __slots__ = ("_pattern", "_cores")

    def __init__(self, secrets: Iterable[str | Secret | None], *, usernames: Iterable[str | None] = ()) -> None:
        users = [u for u in usernames if u]
        literals: set[str] = set()
        cores: set[str] = set()
        for secret in secrets:
            if secret is None:
                continue
            more, found = secret_forms(secret, usernames=users)
            literals.update(more)
            cores.update(found)
        # longest alternatives first so a whole SASL blob goes before a plain substring of it
        self._pattern = (
            re.compile("|".join(re.escape(x) for x in sorted(literals, key=len, reverse=True))) if literals else None
        )
        self._cores = tuple(sorted(cores, key=len, reverse=True))

    def __call__(self, text: str | bytes) -> str:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not text:
            return text
        # Base64 first, whole tokens: a core is made of base64 characters only, so it lies inside
        # one maximal run; the run is found by a linear scan only when a core occurs at all (a
        # single regex "run around a core" backtracks quadratically on long base64 runs).
        if self._cores and any(core in text for core in self._cores):
            text = _B64_RUN.sub(self._token, text)
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def _token(self, match: re.Match[str]) -> str:
        token = match.group()
        return MASK if any(core in token for core in self._cores) else token

    def __bool__(self) -> bool:
        return self._pattern is not None or bool(self._cores)

    def __repr__(self) -> str:
        return "Redactor(***)"

    @classmethod
    def for_settings(cls, *settings: object) -> Redactor:
        """A redactor for the ``password``, ``oauth_token`` and ``username`` of server settings
        (any objects with those attributes; missing ones are skipped)."""
        secrets: list[str | Secret | None] = []
        users: list[str | None] = []
        for s in settings:
            if s is None:
                continue
            secrets += [getattr(s, "password", None), getattr(s, "oauth_token", None)]
            users.append(getattr(s, "username", None))
        return cls(secrets, usernames=users)
