"""The DMARC policy record (RFC 7489 §6.3, §6.4): a parser that keeps every tag's position.

:func:`parse_dmarc` turns the TXT text published at ``_dmarc.<domain>`` into a
:class:`DmarcRecord` or raises :class:`DmarcSyntaxError` (with the offset of the problem and
:meth:`~DmarcSyntaxError.marked`, a caret line under it), the way :mod:`mailsupport.spf.parse`
does for SPF. What is checked:

* ``v=DMARC1`` first (§6.3: "MUST be the first tag"), exactly that text (§6.4 ABNF);
* ``p`` present with ``none``, ``quarantine`` or ``reject`` (§6.3: REQUIRED for policy
  records); ``sp`` and DMARCbis' ``np`` likewise when present;
* ``adkim``/``aspf`` are ``r`` or ``s``; ``pct`` an integer 0–100; ``ri`` an integer;
  ``fo`` a colon list of ``0``, ``1``, ``d``, ``s``; ``rf`` a colon list of keywords;
* ``rua``/``ruf`` are comma lists of URIs with a scheme (``mailto:``...), each optionally
  followed by ``!size`` with a ``k``/``m``/``g``/``t`` unit (§6.4 ``dmarc-uri``);
* a tag given twice is an error; an unknown tag is kept in :attr:`DmarcRecord.unknown` and
  otherwise ignored (§6.3: "Unknown tags MUST be ignored").

Receivers discard a record that does not parse (§6.6.3): for them the domain has no policy.

Pure (layer 2): standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import RecordSyntaxError

__all__ = ["DmarcRecord", "DmarcSyntaxError", "DmarcTag", "parse_dmarc", "is_dmarc_record", "POLICIES"]

POLICIES = ("none", "quarantine", "reject")
_KNOWN = ("v", "p", "sp", "np", "adkim", "aspf", "pct", "rua", "ruf", "ri", "fo", "rf", "psd", "t")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s!,;]+(?:!\d+[kmgtKMGT]?)?\Z")
_FO = frozenset("01ds")


class DmarcSyntaxError(RecordSyntaxError):
    """A DMARC record breaks the RFC 7489 grammar (receivers then ignore it); ``tag`` is the tag
    in which the problem was found (see :class:`~mailsupport.errors.RecordSyntaxError`)."""

    PART = "tag"

    def __init__(self, reason: str, *, record: str, position: int, tag: str = "") -> None:
        super().__init__(reason, record=record, position=position, part=tag)

    @property
    def tag(self) -> str:
        """The tag in which the problem was found."""
        return self.part


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcTag:
    """One ``name=value`` of the record as written, with the offset of its name."""

    name: str
    value: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcRecord:
    """A parsed DMARC record; defaults are RFC 7489's (§6.3) where the tag is absent.

    ``sp`` is None when absent (then ``p`` applies to subdomains); ``rua``/``ruf`` keep the
    URIs as written (size suffix included); ``unknown`` holds tags receivers ignore.
    """

    text: str
    tags: tuple[DmarcTag, ...]
    p: str
    sp: str | None = None
    np: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    ri: int = 86400
    fo: str = "0"
    rf: str = "afrf"
    unknown: tuple[str, ...] = ()

    def policy_for(self, *, subdomain: bool) -> str:
        """The policy a receiver applies: ``sp`` for a subdomain of the record's domain, else ``p``."""
        return (self.sp or self.p) if subdomain else self.p

    def tag(self, name: str) -> DmarcTag | None:
        """The tag as written, or None."""
        return next((t for t in self.tags if t.name == name), None)

    def with_tags(self, **changes: str) -> str:
        """The record text with tags replaced or added (order kept, new tags after ``p``)."""
        out: list[tuple[str, str]] = [(t.name, t.value) for t in self.tags]
        for name, value in changes.items():
            for i, (n, _v) in enumerate(out):
                if n == name:
                    out[i] = (name, value)
                    break
            else:
                at = next((i + 1 for i, (n, _v) in enumerate(out) if n == "p"), len(out))
                out.insert(at, (name, value))
        return "; ".join(f"{n}={v}" for n, v in out)


def is_dmarc_record(text: str) -> bool:
    """True for TXT text that starts with the DMARC version tag (§6.6.3 step 3 keeps only these)."""
    head = text.lstrip()[:12].replace(" ", "").replace("\t", "")
    return head[:2].lower() == "v=" and head[2:8].upper() == "DMARC1"


def _split(text: str) -> list[tuple[int, str]]:
    """``(offset, chunk)`` for each ``;``-separated chunk, whitespace-trimmed, empty ones dropped."""
    out: list[tuple[int, str]] = []
    start = 0
    for part in text.split(";"):
        stripped = part.strip(" \t")
        if stripped:
            out.append((start + part.index(stripped[0]), stripped))
        start += len(part) + 1
    return out


def _uris(value: str, tag: DmarcTag, text: str) -> tuple[str, ...]:
    out = []
    offset = tag.position + text[tag.position :].index("=") + 1
    for raw in value.split(","):
        uri = raw.strip(" \t")
        if not _URI.match(uri):
            pos = offset + text[offset:].find(uri) if uri else offset
            raise DmarcSyntaxError(
                f"{uri!r} is not a report URI (expected e.g. mailto:dmarc@example.com)",
                record=text,
                position=max(pos, tag.position),
                tag=tag.name,
            )
        out.append(uri)
    return tuple(out)


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse one DMARC record (see the module docstring); raises :class:`DmarcSyntaxError`."""
    chunks = _split(text)
    tags: list[DmarcTag] = []
    seen: dict[str, DmarcTag] = {}
    for pos, chunk in chunks:
        name, eq, value = chunk.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not eq or not _TAG_NAME.match(name):
            raise DmarcSyntaxError(f"{chunk!r} is not a tag=value pair", record=text, position=pos)
        tag = DmarcTag(name=name.lower(), value=value, position=pos)
        if tag.name in seen:
            raise DmarcSyntaxError(f"tag {tag.name!r} appears twice", record=text, position=pos, tag=tag.name)
        seen[tag.name] = tag
        tags.append(tag)
    if not tags or tags[0].name != "v":
        raise DmarcSyntaxError(
            "the record must start with v=DMARC1", record=text, position=tags[0].position if tags else 0
        )
    if tags[0].value != "DMARC1":
        raise DmarcSyntaxError(
            f"version {tags[0].value!r}: only 'DMARC1' exists", record=text, position=tags[0].position, tag="v"
        )

    def fail(tag: DmarcTag, reason: str) -> DmarcSyntaxError:
        return DmarcSyntaxError(reason, record=text, position=tag.position, tag=tag.name)

    def policy(name: str) -> str | None:
        tag = seen.get(name)
        if tag is None:
            return None
        if tag.value.lower() not in POLICIES:
            raise fail(tag, f"{name}={tag.value!r}: expected none, quarantine or reject")
        return tag.value.lower()

    p = policy("p")
    if p is None:
        raise DmarcSyntaxError(
            "the required p= tag (none, quarantine or reject) is missing",
            record=text,
            position=len(text.rstrip()),
            tag="p",
        )
    values: dict = {"sp": policy("sp"), "np": policy("np")}
    for name in ("adkim", "aspf"):
        tag = seen.get(name)
        if tag is not None:
            if tag.value.lower() not in ("r", "s"):
                raise fail(tag, f"{name}={tag.value!r}: expected r (relaxed) or s (strict)")
            values[name] = tag.value.lower()
    for name, high in (("pct", 100), ("ri", 2**32 - 1)):
        tag = seen.get(name)
        if tag is not None:
            if not tag.value.isdigit() or int(tag.value) > high:
                raise fail(tag, f"{name}={tag.value!r}: expected a whole number from 0 to {high}")
            values[name] = int(tag.value)
    for name in ("rua", "ruf"):
        tag = seen.get(name)
        if tag is not None:
            values[name] = _uris(tag.value, tag, text)
    tag = seen.get("fo")
    if tag is not None:
        parts = [x.strip() for x in tag.value.split(":")]
        if not all(x in _FO for x in parts):
            raise fail(tag, f"fo={tag.value!r}: expected 0, 1, d or s, separated by ':'")
        values["fo"] = ":".join(parts)
    tag = seen.get("rf")
    if tag is not None:
        if not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", x.strip()) for x in tag.value.split(":")):
            raise fail(tag, f"rf={tag.value!r}: expected report format keywords separated by ':'")
        values["rf"] = tag.value
    unknown = tuple(t.name for t in tags if t.name not in _KNOWN)
    return DmarcRecord(
        text=text, tags=tuple(tags), p=p, unknown=unknown, **{k: v for k, v in values.items() if v is not None}
    )
