"""Header evidence of one message: envelope-recipient candidates, provider fingerprint, summary.

Owns :class:`RecipientEvidence`, :func:`envelope_candidates`, :func:`recipients_for`,
:class:`ProviderFingerprint`, :func:`fingerprint` and :class:`MessageSummary`. The header
parsers they build on (:func:`split_header_block`, :func:`parse_fields`, the fast scan's
:func:`scan_header_block` and :class:`HeaderScan`) live in :mod:`mailsupport.headerblock` and
are re-exported here. Pure (layer 2): no sockets, no clock, no files; must not import the
clients, the sandbox, the diagnoses or any presentation module.

API (also used by the pipeline's router)::

    cands = envelope_candidates(msg)            # email.message.Message, raw bytes/str, or
                                                # a sequence of (name, value) pairs
    addrs = recipients_for(cands, "X-Original-To")   # trusted addresses, last hop first

Facts this follows (``shared/facts/provider-facts.md`` §1):

* ``Delivered-To``/``X-Original-To`` are **prepended** by each delivering hop (Postfix
  local(8)/virtual(8), qmail-local(8)), so the **first** occurrence belongs to the last hop.
* A header is only evidence of the receiving side when it sits **above the topmost
  ``Received:`` line** (the receiving server adds its own ``Received`` first and the
  delivery headers on top of it, RFC 5321 §4.4). Anything below was written by an earlier
  hop or by the sender, who can write any ``Delivered-To`` they like (forgeable).
* ``Received-for`` means the ``for <addr>`` clause of a ``Received`` line (RFC 5321 §4.4
  ``For`` clause); only the topmost ``Received`` belongs to the receiving server.
* Header names vary in case (``Delivered-to``, ``Envelope-to``); values may be bracketed
  (``<x@y>``) or comma lists (Exim ``Envelope-to`` batching several recipients).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from .headerblock import (_TRACE, _UNFOLD_RE, CANONICAL, SCANNED, HeaderScan, parse_fields, scan_header_block,
                          split_header_block)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)

if TYPE_CHECKING:  # pragma: no cover
    from email.message import Message

    from .sizes import AttachmentSize

__all__ = [
    "RecipientEvidence",
    "envelope_candidates",
    "candidates_from_trace",
    "recipients_for",
    "ProviderFingerprint",
    "fingerprint",
    "fingerprint_from_scan",
    "provider_from_scan",
    "HeaderScan",
    "scan_header_block",
    "SCANNED",
    "decode_text",
    "MessageSummary",
    "ROW_COLUMNS",
    "split_header_block",
    "parse_fields",
    "HeaderInput",
    "POSITIONS",
]



def _normalize_address(value: str) -> str:
    from .addresses import normalize_address
    return normalize_address(value)


RECEIVED_FOR = "Received-for"

#: Position labels of :attr:`RecipientEvidence.position`.
POSITIONS = {
    "above-received": "above the topmost Received line: written by the receiving server",
    "topmost-received": "the for clause of the topmost Received line: the receiving server",
    "below-received": "below the topmost Received line: an earlier hop or the sender wrote it",
    "no-received": "the message has no Received line at all: nothing shows who wrote it",
}

_FOR_RE = re.compile(r"\bfor\s+<?([^\s<>;]+)>?", re.I)
_ADDR_RE = re.compile(r"<([^<>]*)>|([^\s,<>;\"]+)")
_BARE_RE = re.compile(r"[^\s,<>;\"(]+@[^\s,<>;\"(@]+")

# email.message is imported only when a Message is given (it pulls in email.utils, socket, urllib...)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Union
    HeaderInput = Union["Message", bytes, bytearray, memoryview, str, Sequence[tuple[str, str]], "HeaderScan"]


def __getattr__(name: str) -> object:
    """``HeaderInput``: what the header functions accept (a Message, raw bytes or str, (name, value)
    pairs or a :class:`HeaderScan`), as a ``typing.Union`` made on first use so that a scan process
    does not import :mod:`typing`."""
    if name == "HeaderInput":
        from typing import Union
        return Union["Message", bytes, bytearray, memoryview, str, Sequence[tuple[str, str]], "HeaderScan"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")




def _scan_of(headers: HeaderInput) -> HeaderScan:
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
        pairs = [(str(k), str(v)) for k, v in headers]
    first: dict[str, str] = {}
    trace = []
    ms_org = 0
    for i, (name, value) in enumerate(pairs):
        lname = name.lower()
        value = _UNFOLD_RE.sub("", value).strip() if "\n" in value else value.strip()
        if lname in _TRACE:
            trace.append((i, lname, value))
        if lname.startswith("x-ms-exchange-organization-"):
            ms_org += 1
        first.setdefault(lname, value)
    first_field = pairs[0][0].lower() if pairs else ""
    return HeaderScan(first=first, trace=trace, ms_org=ms_org, first_field=first_field, has_fields=bool(pairs))


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientEvidence:
    """One envelope-recipient candidate found in a message's header block.

    ``header`` is the canonical name from :data:`~mailsupport.config.CATCH_ALL_HEADERS`
    (``Received-for`` for the ``for`` clause of a ``Received`` line); ``address`` is one
    normalized address (a comma list gives one evidence per address); ``raw`` is the whole
    unfolded header value; ``index`` is the 0-based index of its header line in the block
    (continuation lines are not counted; a leading mbox ``From `` line is), so the smallest
    index is the last hop (prepended headers, Postfix local(8)). For an
    :class:`email.message.Message` or ``(name, value)`` pairs it is the field's ordinal. ``trusted`` is true when the receiving side wrote it: the
    field sits above the topmost ``Received`` line, or it is the ``for`` clause of that
    topmost ``Received`` itself, or the message has no ``Received`` at all. ``position`` is
    one of :data:`POSITIONS`.
    """

    header: str
    address: str
    raw: str
    index: int
    trusted: bool
    position: str


_EVIDENCE_FIELDS = ("header", "address", "raw", "index", "trusted", "position")
if tuple(f.name for f in fields(RecipientEvidence)) != _EVIDENCE_FIELDS:  # pragma: no cover - a guard for editors
    raise AssertionError("headers._EVIDENCE_FIELDS must list RecipientEvidence's fields in order")
_set_header, _set_address, _set_raw, _set_index, _set_trusted, _set_ev_position = (
    RecipientEvidence.__dict__[name].__set__ for name in _EVIDENCE_FIELDS)


def _new_evidence(header: str, address: str, raw: str, index: int, trusted: bool, position: str) -> RecipientEvidence:
    """``RecipientEvidence(...)`` with the fields given positionally (the per-message ``Received-for`` evidence).

    The same frozen object as the dataclass ``__init__`` makes (a test compares them), with the
    slots set through their descriptors (see :func:`_new_summary`).
    """
    obj = object.__new__(RecipientEvidence)
    _set_header(obj, header)
    _set_address(obj, address)
    _set_raw(obj, raw)
    _set_index(obj, index)
    _set_trusted(obj, trusted)
    _set_ev_position(obj, position)
    return obj


def _addresses(value: str) -> list[str]:
    if _BARE_RE.fullmatch(value) and not value[:7].lower() == "mailto:":
        local, _, domain = value.rpartition("@")  # one bare address: the common case
        return [f"{local}@{domain.lower().rstrip('.')}"]
    out = []
    for bracketed, bare in _ADDR_RE.findall(value):
        token = (bracketed or bare).strip()
        if not token:
            continue
        if "@" in token and "<" not in token and not token.lower().startswith("mailto:"):
            local, _, domain = token.rpartition("@")  # fast path of normalize_address
            out.append(f"{local}@{domain.lower().rstrip('.')}")
            continue
        addr = _normalize_address(token)
        if addr:
            out.append(addr)
    return out


def envelope_candidates(headers: HeaderInput) -> tuple[RecipientEvidence, ...]:
    """Every envelope-recipient candidate of a message, top (last hop) to bottom.

    ``headers`` is an :class:`email.message.Message`, the raw message (or just its header
    block) as bytes or str, or ``(name, value)`` pairs. Names are matched case-insensitively;
    bracketed values and comma lists are split into one :class:`RecipientEvidence` per
    address. ``Received`` lines give ``Received-for`` evidence when they carry a ``for``
    clause.
    """
    return candidates_from_trace(_scan_of(headers).trace)


#: Memo of the evidence one non-``Received`` trace field gives, keyed by the field and its position.
#: A mailbox repeats the same few delivery headers thousands of times; the evidence is immutable, so
#: equal fields share it. Bounded: cleared when full, and only values up to _MEMO_KEY_MAX characters
#: are kept, so memory stays flat however long the scan and however odd the mail.
_EVIDENCE_MEMO: dict[tuple[tuple[int, str, str], str], tuple[RecipientEvidence, ...]] = {}
_FOR_MEMO: dict[str, str] = {}
_MEMO_MAX = 4096
_MEMO_KEY_MAX = 1024


def candidates_from_trace(trace: Sequence[tuple[int, str, str]]) -> tuple[RecipientEvidence, ...]:
    """:func:`envelope_candidates` from a :class:`HeaderScan` trace (the fast path)."""
    if not trace:
        return ()
    top_received = None
    for i, n, _v in trace:
        if n == "received":
            top_received = i
            break
    out: list[RecipientEvidence] = []
    memo = _EVIDENCE_MEMO
    for entry in trace:
        i, lname, value = entry
        if lname == "received":
            at = value.find("for")
            if at < 0:
                at = value.lower().find("for")
                if at < 0:
                    continue
            m = _FOR_RE.search(value, max(0, at - 1))
            if not m:
                continue
            token = m.group(1)
            address = _FOR_MEMO.get(token)
            if address is None:
                if "@" in token and token[:1] != "," and token[-1:] != "," and token[:7].lower() != "mailto:":
                    local, _, domain = token.rpartition("@")  # what normalize_address gives for such a token
                    address = f"{local}@{domain.lower().rstrip('.')}"
                else:
                    address = _normalize_address(token)
                if len(token) <= _MEMO_KEY_MAX:
                    if len(_FOR_MEMO) >= _MEMO_MAX:
                        _FOR_MEMO.clear()
                    _FOR_MEMO[token] = address
            top = i == top_received
            out.append(_new_evidence(RECEIVED_FOR, address, value, i, top,
                                     "topmost-received" if top else "below-received"))
            continue
        if top_received is None:
            position = "no-received"
        elif i < top_received:
            position = "above-received"
        else:
            position = "below-received"
        key = (entry, position)
        found = memo.get(key)
        if found is None:
            canonical = CANONICAL[lname]
            trusted = position != "below-received"
            found = tuple(RecipientEvidence(header=canonical, address=addr, raw=value, index=i,
                                            trusted=trusted, position=position) for addr in _addresses(value))
            if len(value) <= _MEMO_KEY_MAX:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[key] = found
        out += found
    return tuple(out)


def recipients_for(candidates: Iterable[RecipientEvidence], header_choice: str) -> tuple[str, ...]:
    """The trusted addresses ``header_choice`` gives (case-insensitive name), last hop first.

    Only evidence written by the receiving side counts (``trusted``); duplicates are dropped,
    first occurrence kept. An unknown header name gives ``()``.
    """
    wanted = header_choice.strip().lower()
    seen: dict[str, None] = {}
    for ev in candidates:
        if ev.trusted and ev.header.lower() == wanted:
            seen.setdefault(ev.address, None)
    return tuple(seen)


# --------------------------------------------------------------------------- fingerprint

PROVIDERS = ("gmail", "exchange", "postfix", "exim", "qmail", "other")

_GMAIL_BY = re.compile(r"\bby\s+(?:mx\.google\.com|[0-9a-f:.]+)\s+with\s+SMTP\s+id\s+\S*csp?\d+", re.I)
_GMAIL_MX = re.compile(r"\bby\s+mx\.google\.com\b", re.I)
_MS_BY = re.compile(r"\bby\s+\S+\.(?:outlook|protection\.outlook|prod\.outlook)\.com\b|Microsoft SMTP Server", re.I)
_POSTFIX = re.compile(r"\(Postfix\)", re.I)
_EXIM = re.compile(r"\(Exim\b|\bwith\s+e?smtp[sa]*\s+\(Exim", re.I)
_QMAIL = re.compile(r"^\(qmail\s+\d+|\bqmail\b", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderFingerprint:
    """Which system delivered the message into the mailbox, and the header lines that show it.

    ``provider`` is one of ``gmail``, ``exchange`` (Exchange / Office 365), ``postfix``,
    ``exim``, ``qmail``, ``other``. The delivering hop is the topmost ``Received`` line, so
    the evidence starts there; systems seen only further down are listed in ``seen``.
    """

    provider: str
    evidence: tuple[str, ...] = ()
    seen: tuple[str, ...] = ()


def _classify_received(value: str) -> tuple[str, str] | None:
    # cheap substring tests first (as real servers spell them, then any case): the regexes run
    # only on lines that can match
    for v in (value, value.lower()):
        if ("google.com" in v or "csp" in v) and (_GMAIL_BY.search(value) or _GMAIL_MX.search(value)):
            return "gmail", "Received by a Google mailbox host"
        if ("outlook.com" in v or "Microsoft SMTP" in v or "microsoft smtp" in v) and _MS_BY.search(value):
            return "exchange", "Received by an Exchange/Office 365 host"
        if "(Postfix)" in v or "(postfix)" in v:
            return "postfix", "Received line names (Postfix)"
        if ("Exim" in v or "exim" in v) and _EXIM.search(value):
            return "exim", "Received line names Exim"
        if "qmail" in v and _QMAIL.search(value):
            return "qmail", "Received line names qmail"
    return None


def fingerprint(headers: HeaderInput) -> ProviderFingerprint:
    """Guess the delivering system from the header block (see :class:`ProviderFingerprint`).

    Order of evidence: the topmost ``Received`` line, then headers only the delivering side
    writes (``X-MS-Exchange-Organization-*`` for Exchange, MS-OXCMAIL §2.2.3.2.28;
    ``Delivered-To`` as the very first header followed by a Google ``Received``;
    ``Envelope-to`` above the topmost ``Received`` for Exim's default ``local_delivery``).
    """
    return fingerprint_from_scan(_scan_of(headers))


def fingerprint_from_scan(scan: HeaderScan) -> ProviderFingerprint:
    """:func:`fingerprint` from a :class:`HeaderScan` (the fast path)."""
    received = [v for _i, n, v in scan.trace if n == "received"]
    seen: list[str] = []
    for value in received:
        hit = _classify_received(value)
        if hit and hit[0] not in seen:
            seen.append(hit[0])
    provider, evidence = provider_from_scan(scan)
    return ProviderFingerprint(provider=provider, evidence=evidence, seen=tuple(seen))


def provider_from_scan(scan: HeaderScan) -> tuple[str, tuple[str, ...]]:
    """``(provider, evidence)`` of :func:`fingerprint_from_scan` without ``seen``.

    Only the topmost ``Received`` line is classified (the delivering hop): what a summary needs.
    """
    top_index = None
    top_value = ""
    for i, n, v in scan.trace:
        if n == "received":
            top_index, top_value = i, v
            break
    evidence: list[str] = []
    provider = "other"
    if top_index is not None:
        hit = _classify_received(top_value)
        if hit:
            provider = hit[0]
            evidence.append(f"{hit[1]}: Received: {' '.join(top_value.split())[:120]}")
    if provider == "other" and scan.ms_org:
        provider = "exchange"
        evidence.append(f"{scan.ms_org} X-MS-Exchange-Organization-* header(s)")
    if provider == "other" and any(n == "envelope-to" and (top_index is None or i < top_index)
                                   for i, n, _v in scan.trace):
        provider = "exim"
        evidence.append("Envelope-to above the topmost Received (Exim local_delivery)")
    if provider == "gmail" and scan.first_field == "delivered-to":
        evidence.append(f"Delivered-To is the first header: {scan.first.get('delivered-to', '')[:80]}")
    return provider, tuple(evidence)


def decode_text(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?utf-8?q?...?=``) leniently; plain text is returned as is."""
    if "=?" not in value:
        return value
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except Exception:  # malformed encoded words: keep the raw text (lenient by design)
        return value


# --------------------------------------------------------------------------- summary

@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSummary:
    """What the fast scan knows about one message of a sample.

    ``source`` is the sample (file, folder, ``pop3://host``) and ``position`` where in it
    (mbox ordinal, file name, POP3 message number). ``raw_size`` is the size the message
    would have with its bodies decoded (no base64/quoted-printable), ``encoded_size`` its size
    in bytes as stored/sent; ``attachments`` lists each attachment's sizes. ``candidates`` is
    every envelope-recipient candidate (:func:`envelope_candidates`); ``provider`` and
    ``provider_evidence`` come from :func:`fingerprint`. ``problems`` says what was wrong
    with a broken message (it is still a row, never an exception).
    """

    source: str
    position: str
    message_id: str = ""
    date: str = ""
    from_: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    raw_size: int = 0
    encoded_size: int = 0
    attachments: tuple["AttachmentSize", ...] = ()
    candidates: tuple[RecipientEvidence, ...] = ()
    provider: str = "other"
    provider_evidence: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def attachment_count(self) -> int:
        """How many attachments the message has."""
        return len(self.attachments)

    @property
    def ok(self) -> bool:
        """True when the message was read without problems."""
        return not self.problems

    def row(self) -> tuple[object, ...]:
        """The values of :meth:`to_row` as a tuple in :data:`ROW_COLUMNS` order (no dict built)."""
        return (
            self.source,
            self.position,
            self.message_id,
            self.date,
            self.from_,
            ";".join(self.to),
            ";".join(self.cc),
            self.subject,
            self.raw_size,
            self.encoded_size,
            len(self.attachments),
            ";".join([str(a.encoded_size) for a in self.attachments]) if self.attachments else "",
            ";".join([f"{c.header}: {c.address} ({c.position})" for c in self.candidates]),
            self.provider,
            "; ".join(self.provider_evidence),
            "; ".join(self.problems),
        )

    def to_row(self) -> dict[str, object]:
        """A flat dict for a table/CSV/DataFrame row (lists joined with ``;``), keys :data:`ROW_COLUMNS`."""
        return dict(zip(ROW_COLUMNS, self.row()))


#: The fields of :class:`MessageSummary`, in order (the positional arguments of :func:`_new_summary`).
_SUMMARY_FIELDS = ("source", "position", "message_id", "date", "from_", "to", "cc", "subject", "raw_size",
                   "encoded_size", "attachments", "candidates", "provider", "provider_evidence", "problems")
if tuple(f.name for f in fields(MessageSummary)) != _SUMMARY_FIELDS:  # pragma: no cover - a guard for editors
    raise AssertionError("headers._SUMMARY_FIELDS must list MessageSummary's fields in order")
(_set_source, _set_position, _set_message_id, _set_date, _set_from, _set_to, _set_cc, _set_subject, _set_raw_size,
 _set_encoded_size, _set_attachments, _set_candidates, _set_provider, _set_provider_evidence,
 _set_problems) = (MessageSummary.__dict__[name].__set__ for name in _SUMMARY_FIELDS)
_new_object = object.__new__


def _new_summary(source: str, position: str, message_id: str, date: str, from_: str, to: tuple[str, ...],
                 cc: tuple[str, ...], subject: str, raw_size: int, encoded_size: int,
                 attachments: tuple["AttachmentSize", ...], candidates: tuple[RecipientEvidence, ...],
                 provider: str, provider_evidence: tuple[str, ...], problems: tuple[str, ...]) -> MessageSummary:
    """``MessageSummary(...)`` with every field given positionally, for the fast scan (one per message).

    The same frozen object the dataclass ``__init__`` makes (a test compares them), built by
    setting the slots through their descriptors: the generated ``__init__`` of a frozen class
    calls ``object.__setattr__`` per field after parsing 15 keyword arguments (about 1.9 us
    here, this about 0.9 us). Fields must be given in :data:`_SUMMARY_FIELDS` order.
    """
    obj = _new_object(MessageSummary)
    _set_source(obj, source)
    _set_position(obj, position)
    _set_message_id(obj, message_id)
    _set_date(obj, date)
    _set_from(obj, from_)
    _set_to(obj, to)
    _set_cc(obj, cc)
    _set_subject(obj, subject)
    _set_raw_size(obj, raw_size)
    _set_encoded_size(obj, encoded_size)
    _set_attachments(obj, attachments)
    _set_candidates(obj, candidates)
    _set_provider(obj, provider)
    _set_provider_evidence(obj, provider_evidence)
    _set_problems(obj, problems)
    return obj


#: The keys of :meth:`MessageSummary.to_row`, in order.
ROW_COLUMNS = ("source", "position", "message_id", "date", "from", "to", "cc", "subject", "raw_size",
               "encoded_size", "attachments", "attachment_sizes", "candidates", "provider",
               "provider_evidence", "problems")
