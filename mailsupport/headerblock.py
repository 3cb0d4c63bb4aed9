"""The raw header block of a message: where it ends, every field, and the fast scan of a few.

Owns :func:`split_header_block` (header block and body offset, LF or CRLF), :func:`header_digest`
(what identifies a stored copy against a server's ``TOP n 0``), :func:`parse_fields`
(every field, unfolded) and the fast path's :func:`scan_header_block`: one regex pass over the
block that picks out only the fields the diagnoses read (:data:`SCANNED`: the envelope headers,
``Received``, the addressing and MIME fields; ``X-MS-Exchange-Organization-*`` counted) into a
:class:`HeaderScan`, with each envelope header's and ``Received`` line's field index.
:mod:`mailsupport.headers` builds recipient evidence, fingerprints and summaries from it.

:func:`to_scan` makes the same :class:`HeaderScan` of whatever a caller holds (raw bytes or str,
an :class:`email.message.Message`, ``(name, value)`` pairs).

Pure (layer 2): no sockets, no clock, no files; imports nothing of the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "split_header_block",
    "header_digest",
    "parse_fields",
    "SCANNED",
    "HeaderScan",
    "scan_header_block",
    "ENVELOPE_HEADERS",
    "CANONICAL",
    "to_scan",
]

#: The envelope headers: the fields a delivering hop writes the envelope recipient into, as
#: spelled canonically. :data:`mailsupport.config.CATCH_ALL_HEADERS` is these and ``Received-for``
#: (the ``for`` clause of a ``Received`` line); defined here, the lowest module, so that a scan
#: process never imports the tenant configuration.
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Gm-Original-To")
#: Lower-case envelope header name -> canonical name.
CANONICAL = {name.lower(): name for name in ENVELOPE_HEADERS}


# One header field: name, colon, value with its folded continuation lines (RFC 5322 §2.2,
# §3.2.2 folding). Field names are printable ASCII except colon (RFC 5322 §3.6.8).
_FIELD_RE = re.compile(r"^([!-9;-~]+)[ \t]*:(.*(?:\n[ \t].*)*)", re.M)
_UNFOLD_RE = re.compile(r"\r?\n")


# the empty line ending the header block: LF or CRLF form, whichever comes first (RFC 5322 §2.1)
_BLANK_RE = re.compile(rb"\n\r?\n")


def split_header_block(raw: bytes | bytearray, start: int = 0, end: int | None = None) -> tuple[bytes | bytearray, int]:
    """``(header_block, body_offset)`` of a raw message (LF or CRLF line ends).

    The header block ends at the first empty line (RFC 5322 §2.1); a message without one is
    all header and its body offset is its end. The block keeps the line break of its last
    line. ``start``/``end``: the message is ``raw[start:end]`` (the body offset counts in
    ``raw``), so a reader's buffer is looked at in place. The block is a slice of ``raw``: a
    ``bytearray`` buffer gives a ``bytearray`` block (no copy to ``bytes``).
    """
    if end is None:
        end = len(raw)
    m = _BLANK_RE.search(raw, start, end)
    if m is None:
        return raw[start:end], end
    return raw[start : m.start() + 1], m.end()


def header_digest(raw: bytes) -> str:
    """SHA-256 (hex) of a message's header block, line ends as LF, trailing empty lines dropped.

    The same for a whole message and for its ``TOP n 0`` answer (the header block and the
    empty line after it, RFC 1939 §7), and for CRLF and LF copies of it: what tells whether a
    stored copy and a listed message are the same without retrieving the message.
    """
    import hashlib  # here: the scan never needs it (a few ms of its start)

    block = split_header_block(raw)[0]
    return hashlib.sha256(block.replace(b"\r\n", b"\n").rstrip(b"\n")).hexdigest()


def parse_fields(block: bytes | bytearray) -> list[tuple[str, str]]:
    """Every header field of a header block as ``(name, unfolded value)``, top to bottom.

    Lenient: lines that are not fields (no colon, a leading ``From `` line) are skipped;
    bytes that are not UTF-8 become U+FFFD instead of failing.
    """
    text = block.decode("utf-8", "replace")
    return [
        (name, (_UNFOLD_RE.sub("", value) if "\n" in value else value).strip())
        for name, value in _FIELD_RE.findall(text)
    ]


#: Lower-case names the fast scan picks out (besides X-MS-Exchange-Organization-*).
SCANNED = (
    *CANONICAL,
    "received",
    "message-id",
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
)
#: The envelope headers (CATCH_ALL_HEADERS lower-cased, ``Received-for`` being a Received line) and Received.
_TRACE = frozenset(CANONICAL) | {"received"}
# A literal "\n" first lets the regex engine jump from line to line (the block gets a "\n" prepended).
# Every line that starts a field (not a continuation line) gives one match, so a match's ordinal is
# its field index: a scanned name with its value and folded continuation lines (RFC 5322 §2.2.3),
# or, through the empty lookahead branch, nothing for any other line.


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` factored by common prefixes (``c(?:c|ontent-...)``).

    The regex engine tries the branches of a plain alternation one by one at every line
    start; factored, it rejects a line after one character.
    """
    groups: dict[str, list[str]] = {}
    done = False
    for word in words:
        if word:
            groups.setdefault(word[0], []).append(word[1:])
        else:
            done = True
    alts = [re.escape(first) + _alternation(rest) for first, rest in sorted(groups.items())]
    if not alts:
        return ""
    if len(alts) == 1 and not done:
        return alts[0]
    return "(?:" + "|".join(alts) + ")" + ("?" if done else "")


_MS_ORG = "x-ms-exchange-organization-"


def _case_free_names(words: Iterable[str]) -> str:
    """A regex matching ``words`` in any case: one branch per first letter in each case, the rest ``(?i:...)``.

    Equal to ``(?i:`` :func:`_alternation` ``)``, but a branch starting with a case-sensitive letter
    is rejected after one comparison, where a case-insensitive one is entered and backed out of;
    about 20 % faster over real header blocks. ``X-MS-Exchange-Organization-`` matches with any suffix.
    """
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in sorted(groups.items()):
        rest = "(?i:" + _alternation(rests).replace(r"organization\-", r"organization\-[!-9;-~]*") + ")"
        for letter in sorted({first.upper(), first.lower()}):
            branches.append(re.escape(letter) + rest)
    return "(?:" + "|".join(branches) + ")"


# Run on the decoded block with a "\n" prepended. The blanks after the colon are left out of the
# value (stripped anyway), so most values need no strip copy. re.ASCII: names match case-insensitively
# in ASCII only, as on the wire.
_LINE_RE = re.compile(
    r"\n(?:(" + _case_free_names((*SCANNED, _MS_ORG)) + r")[ \t]*:[ \t]*(.*(?:\n[ \t].*)*)|(?=[^ \t]))", re.A
)
#: What ``bytes.strip()`` strips: the ASCII whitespace of the raw value.
_WS = " \t\n\r\x0b\x0c"
_NAMES = {n: n for n in SCANNED}
# the spellings real mail uses, so most names need no .lower() (any other case still works)
_NAMES.update({n.title(): n for n in SCANNED})
for _k, _v in (
    ("Message-ID", "message-id"),
    ("X-Original-To", "x-original-to"),
    ("X-Envelope-To", "x-envelope-to"),
    ("X-Gm-Original-To", "x-gm-original-to"),
    ("Delivered-to", "delivered-to"),
    ("Envelope-to", "envelope-to"),
    ("Content-type", "content-type"),
    ("CC", "cc"),
):
    _NAMES[_k] = _v
_ANY_FIELD_RE = re.compile(rb"^[!-9;-~]+[ \t]*:", re.M)


@dataclass(slots=True)
class HeaderScan:
    """What the fast scan picked out of one header block (internal, mutable while built).

    ``first``: first value of each :data:`SCANNED` name; ``trace``: ``(field index, lower-case
    name, value)`` of every envelope header and ``Received``, top to bottom; ``ms_org``: how
    many ``X-MS-Exchange-Organization-*`` fields; ``first_field``: lower-case name of field 0
    when it is a scanned one; ``has_fields``: whether the block has any header field at all.
    """

    first: dict[str, str]
    trace: list[tuple[int, str, str]]
    ms_org: int = 0
    first_field: str = ""
    has_fields: bool = True


def scan_header_block(block: bytes | bytearray) -> HeaderScan:
    """Pick the header fields the diagnoses need out of a raw header block, without parsing the rest.

    Field indexes count header lines, continuation lines excluded (so they agree with
    :func:`parse_fields` positions for blocks without stray non-field lines). One regex pass
    gives one match per line that is not a continuation line; only scanned names are decoded.
    """
    first: dict[str, str] = {}
    trace: list[tuple[int, str, str]] = []
    ms_org = 0
    index = -1
    names = _NAMES
    # decoding the whole block once equals decoding each value: fields are split at ASCII line
    # breaks, where UTF-8 decoding resynchronises
    for name, value in _LINE_RE.findall("\n" + block.decode("utf-8", "replace")):
        index += 1
        if not name:
            continue
        name = names.get(name) or names.get(name.lower())
        if name is None:
            ms_org += 1
            continue
        if "\n" in value:
            value = value.replace("\r\n", "").replace("\n", "")
        value = value.strip(_WS)  # the same object when there is nothing to strip
        if name in _TRACE:
            trace.append((index, name, value))
            if name not in first:
                first[name] = value
        elif name not in first:
            first[name] = value
    first_field = "delivered-to" if block[:13].lower() == b"delivered-to:" else ""
    has = bool(first) or ms_org > 0 or _ANY_FIELD_RE.search(block) is not None
    return HeaderScan(first, trace, ms_org, first_field, has)


def to_scan(headers: object) -> HeaderScan:
    """The :class:`HeaderScan` of a message given in any form the header functions accept.

    ``headers`` is a :class:`HeaderScan` (returned as is), the raw message or its header block
    as bytes or str, an :class:`email.message.Message` or ``(name, value)`` pairs (field
    indexes are then the pairs' ordinals).
    """
    if isinstance(headers, HeaderScan):
        return headers
    if isinstance(headers, (bytes, bytearray, memoryview)):
        return scan_header_block(split_header_block(bytes(headers))[0])
    if isinstance(headers, str):
        return scan_header_block(split_header_block(headers.encode("utf-8", "surrogateescape"))[0])
    from email.message import Message

    if isinstance(headers, Message):
        pairs = [(str(k), str(v)) for k, v in headers.raw_items()]
    else:
        pairs = [(str(k), str(v)) for k, v in headers]  # type: ignore[attr-defined]
    first: dict[str, str] = {}
    trace = []
    ms_org = 0
    for i, (name, value) in enumerate(pairs):
        lname = name.lower()
        value = _UNFOLD_RE.sub("", value).strip() if "\n" in value else value.strip()
        if lname in _TRACE:
            trace.append((i, lname, value))
        if lname.startswith(_MS_ORG):
            ms_org += 1
        first.setdefault(lname, value)
    first_field = pairs[0][0].lower() if pairs else ""
    return HeaderScan(first=first, trace=trace, ms_org=ms_org, first_field=first_field, has_fields=bool(pairs))
