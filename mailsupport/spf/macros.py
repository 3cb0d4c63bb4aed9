"""SPF macro strings (RFC 7208 §7): tokenizing, validating and expanding them.

Pure: the values of the macro letters are handed in by the evaluator (which does the DNS
work that ``%{p}`` needs). Imports only the standard library.

Grammar (§7.1)::

    macro-string  = *( macro-expand / macro-literal )
    macro-expand  = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
    macro-letter  = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
    transformers  = *DIGIT [ "r" ]
    delimiter     = "." / "-" / "+" / "," / "/" / "_" / "="
    macro-literal = %x21-24 / %x26-7E     ; visible characters except "%"

``c``, ``r`` and ``t`` are allowed only in explanation text (§7.2). An upper-case letter
means "URL-escape the value" (§7.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "Macro",
    "MacroError",
    "tokenize",
    "expand",
    "uses_letter",
    "truncate_domain",
    "DOMAIN_LETTERS",
    "EXP_LETTERS",
    "MAX_DOMAIN",
]

DOMAIN_LETTERS = frozenset("slodiphv")
EXP_LETTERS = DOMAIN_LETTERS | frozenset("crt")
_DELIMITERS = frozenset(".-+,/_=")
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}
#: The longest domain name a domain-spec may expand to (RFC 7208 §7.3; RFC 1035 §2.3.4 less the root dot).
MAX_DOMAIN = 253


class MacroError(ValueError):
    """A macro string breaks the §7.1 grammar; ``position`` is the offset in the string."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True, kw_only=True)
class Macro:
    """One ``%{...}`` expansion: letter, keep the rightmost ``digits`` parts (0 = all),
    ``reverse`` the parts, split on ``delimiters``, ``url_escape`` for upper-case letters."""

    letter: str
    digits: int = 0
    reverse: bool = False
    delimiters: str = ""
    url_escape: bool = False


def tokenize(text: str, *, explanation: bool = False) -> tuple[str | Macro, ...]:
    """Split ``text`` into literal strings and :class:`Macro` values, or raise MacroError.

    ``explanation=True`` allows ``c``, ``r``, ``t`` and the space character (explain-string,
    §6.2); otherwise only visible characters are allowed.
    """
    letters = EXP_LETTERS if explanation else DOMAIN_LETTERS
    tokens: list[str | Macro] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            if not ("\x21" <= ch <= "\x7e" or (explanation and ch == " ")):
                raise MacroError(f"character {ch!r} is not allowed here", i)
            literal.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt in _ESCAPES:
            literal.append(_ESCAPES[nxt])
            i += 2
            continue
        if nxt != "{":
            raise MacroError("'%' must be followed by '{', '%', '_' or '-' (write %% for a percent sign)", i)
        end = text.find("}", i + 2)
        if end < 0:
            raise MacroError("macro '%{' is not closed with '}'", i)
        body = text[i + 2 : end]
        if not body or body[0].lower() not in letters:
            allowed = "".join(sorted(letters))
            raise MacroError(f"unknown macro letter {body[:1]!r} (allowed here: {allowed})", i + 2)
        j = 1
        while j < len(body) and body[j].isdigit():
            j += 1
        digits_text = body[1:j]
        reverse = j < len(body) and body[j] in "rR"
        if reverse:
            j += 1
        delims = body[j:]
        if any(c not in _DELIMITERS for c in delims):
            raise MacroError(f"bad macro transformer or delimiter in %{{{body}}}", i + 2 + j)
        digits = int(digits_text) if digits_text else 0
        if digits_text and digits == 0:
            raise MacroError("a macro digit transformer must be nonzero (RFC 7208 §7.3)", i + 3)
        if literal:
            tokens.append("".join(literal))
            literal = []
        tokens.append(
            Macro(
                letter=body[0].lower(), digits=digits, reverse=reverse, delimiters=delims, url_escape=body[0].isupper()
            )
        )
        i = end + 1
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens)


def uses_letter(tokens: tuple[str | Macro, ...], letter: str) -> bool:
    """True if any macro in ``tokens`` expands ``letter``."""
    return any(isinstance(t, Macro) and t.letter == letter for t in tokens)


def _transform(value: str, macro: Macro) -> str:
    if not (macro.digits or macro.reverse or macro.delimiters):
        out = value
    else:
        delims = macro.delimiters or "."
        parts = [value]
        for d in delims:
            parts = [p for piece in parts for p in piece.split(d)]
        if macro.reverse:
            parts.reverse()
        if macro.digits:
            parts = parts[-macro.digits :]
        out = ".".join(parts)
    if macro.url_escape:
        # RFC 7208 §7.3: escape per RFC 3986, leaving the unreserved characters.
        out = _url_escape(out)
    return out


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _url_escape(text: str) -> str:
    """RFC 3986 §2.1 percent-encoding of every octet outside the unreserved set."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def expand(tokens: tuple[str | Macro, ...], values: Mapping[str, str]) -> str:
    """Expand ``tokens`` with ``values`` (letter → value); a missing letter expands to ''."""
    return "".join(t if isinstance(t, str) else _transform(values.get(t.letter, ""), t) for t in tokens)


def truncate_domain(name: str) -> str:
    """An expanded domain-spec as it is looked up: without its trailing dot and, when longer than
    :data:`MAX_DOMAIN` characters, with labels removed from the left until it fits (§7.3).

    One search for the first dot that leaves at most 253 characters (not one copy per label
    removed: a record of 16 KB of ``%{d}`` would otherwise cost a million copies of megabytes).
    A name whose last label alone is too long comes back as that label (no dot left to cut at).
    """
    if name.endswith("."):
        name = name[:-1]
    if len(name) <= MAX_DOMAIN:
        return name
    cut = name.find(".", len(name) - MAX_DOMAIN - 1)
    return name[cut + 1 :] if cut >= 0 else name[name.rfind(".") + 1 :]
