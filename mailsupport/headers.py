"""Header evidence of one message: envelope-recipient candidates, provider fingerprint, summary.

Owns :class:`RecipientEvidence`, :func:`envelope_candidates`, :func:`recipients_for`,
:class:`ProviderFingerprint`, :func:`fingerprint` and :class:`MessageSummary`. The header
parsers they build on (:func:`split_header_block`, :func:`parse_fields`, the fast scan's
:func:`scan_header_block` and :class:`HeaderScan`) live in :mod:`mailsupport.headerblock` and
are re-exported here; which evidence the receiving side wrote is decided by
:mod:`mailsupport.chain` (the receiving chain and its entry hop). Pure (layer 2): no sockets,
no clock, no files; must not import the clients, the sandbox, the diagnoses or any
presentation module.

API (also used by the pipeline's router)::

    cands = envelope_candidates(msg)            # email.message.Message, raw bytes/str, or
                                                # a sequence of (name, value) pairs
    addrs = recipients_for(cands, "X-Original-To")   # trusted addresses, last hop first

Facts this follows (``docs/provider-facts.md`` §1):

* ``Delivered-To``/``X-Original-To`` are **prepended** by each delivering hop (Postfix
  local(8)/virtual(8), qmail-local(8)), so the **first** occurrence belongs to the last hop.
* A header is evidence of the receiving side only when it sits **above the entry hop**: the
  first ``Received`` whose ``from`` side is outside the receiving organisation
  (:func:`mailsupport.chain.receiving_chain`; Gmail, Microsoft 365, amavis, LMTP and fetchmail
  add hops of their own above it). Anything below was written by the sending side, who can
  write any ``Delivered-To`` they like (forgeable).
* ``Received-for`` means the ``for <addr>`` clause of a ``Received`` line (RFC 5321 §4.4
  ``For`` clause); the clauses of the receiving chain's hops, down to and including the entry
  hop, are the receiving side's.
* Header names vary in case (``Delivered-to``, ``Envelope-to``); values may be bracketed
  (``<x@y>``) or comma lists (Exim ``Envelope-to`` batching several recipients).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .chain import entry_of
from .headerblock import CANONICAL, HeaderScan, parse_fields, scan_header_block, split_header_block, to_scan
from .model import MessageRef, pickled_by_values

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)

if TYPE_CHECKING:  # pragma: no cover
    from email.message import Message

    from .sizes import AttachmentSize

    #: What the header functions accept: a Message, raw bytes or str, (name, value) pairs or a HeaderScan.
    HeaderInput = Message | bytes | bytearray | memoryview | str | Sequence[tuple[str, str]] | HeaderScan

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
    "POSITIONS",
]

from .headerblock import SCANNED  # noqa: E402  (re-exported)


def _normalize_address(value: str) -> str:
    from .addresses import normalize_address

    return normalize_address(value)


RECEIVED_FOR = "Received-for"

#: Position labels of :attr:`RecipientEvidence.position`.
POSITIONS = {
    "above-entry": "above the entry hop: written by the receiving side",
    "receiving-chain": "the for clause of a Received line of the receiving chain: the receiving side",
    "below-entry": "below the entry hop: the sending side wrote it (an earlier hop or the sender)",
    "no-received": "the message has no Received line at all: nothing shows who wrote it",
}

_FOR_RE = re.compile(r"\bfor\s+<?([^\s<>;]+)>?", re.I)
_ADDR_RE = re.compile(r"<([^<>]*)>|([^\s,<>;\"]+)")
_BARE_RE = re.compile(r"[^\s,<>;\"(]+@[^\s,<>;\"(@]+")


@pickled_by_values
@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientEvidence:
    """One envelope-recipient candidate found in a message's header block.

    ``header`` is the canonical name from :data:`~mailsupport.config.CATCH_ALL_HEADERS`
    (``Received-for`` for the ``for`` clause of a ``Received`` line); ``address`` is one
    normalized address (a comma list gives one evidence per address); ``raw`` is the whole
    unfolded header value (for ``Received-for``, its ``for`` clause: ``for <a@b.example>``);
    ``index`` is the 0-based index of its header line in the block
    (continuation lines are not counted; a leading mbox ``From `` line is), so the smallest
    index is the last hop (prepended headers, Postfix local(8)). For an
    :class:`email.message.Message` or ``(name, value)`` pairs it is the field's ordinal.
    ``trusted`` is true when the receiving side wrote it: the field sits above the entry hop,
    or it is the ``for`` clause of a hop of the receiving chain, or the message has no
    ``Received`` at all (:mod:`mailsupport.chain`). ``position`` is one of :data:`POSITIONS`.
    """

    header: str
    address: str
    raw: str
    index: int
    trusted: bool
    position: str


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


def envelope_candidates(headers: HeaderInput, *, mx_hosts: Sequence[str] = ()) -> tuple[RecipientEvidence, ...]:
    """Every envelope-recipient candidate of a message, top (last hop) to bottom.

    ``headers`` is an :class:`email.message.Message`, the raw message (or just its header
    block) as bytes or str, or ``(name, value)`` pairs. Names are matched case-insensitively;
    bracketed values and comma lists are split into one :class:`RecipientEvidence` per
    address. ``Received`` lines give ``Received-for`` evidence when they carry a ``for``
    clause. ``mx_hosts`` are the tenant's own MX/relay hosts
    (:func:`mailsupport.chain.receiving_chain`).
    """
    return candidates_from_trace(to_scan(headers).trace, mx_hosts)


#: Memo of the evidence one non-``Received`` trace field gives, keyed by the field and its position.
#: A mailbox repeats the same few delivery headers thousands of times; the evidence is immutable, so
#: equal fields share it. Bounded: cleared when full, and only values up to _MEMO_KEY_MAX characters
#: are kept, so memory stays flat however long the scan and however odd the mail.
_EVIDENCE_MEMO: dict[tuple[tuple[int, str, str], str], tuple[RecipientEvidence, ...]] = {}
#: The same for ``Received-for`` evidence, keyed by the ``for`` clause, its field index and whether it is trusted.
_FOR_MEMO: dict[tuple[str, int, bool], RecipientEvidence] = {}
_MEMO_MAX = 4096
_MEMO_KEY_MAX = 1024


def candidates_from_trace(
    trace: Sequence[tuple[int, str, str]], mx_hosts: Sequence[str] = ()
) -> tuple[RecipientEvidence, ...]:
    """:func:`envelope_candidates` from a :class:`HeaderScan` trace (the fast path)."""
    if not trace:
        return ()
    return candidates_below(trace, entry_of(trace, mx_hosts)[1])


def candidates_below(trace: Sequence[tuple[int, str, str]], boundary: int) -> tuple[RecipientEvidence, ...]:
    """The candidates of a trace whose receiving chain ends at field index ``boundary``.

    ``boundary`` is :func:`mailsupport.chain.entry_of`'s (-1: no ``Received``): delivery
    headers above it and ``for`` clauses at or above it are trusted.
    """
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
            inside = i <= boundary
            clause = m.group(0)
            for_key = (clause, i, inside)
            hop = _FOR_MEMO.get(for_key)
            if hop is None:
                token = m.group(1)
                if "@" in token and token[:1] != "," and token[-1:] != "," and token[:7].lower() != "mailto:":
                    local, _, domain = token.rpartition("@")  # what normalize_address gives for such a token
                    address = f"{local}@{domain.lower().rstrip('.')}"
                else:
                    address = _normalize_address(token)
                hop = RecipientEvidence(
                    header=RECEIVED_FOR,
                    address=address,
                    raw=clause,
                    index=i,
                    trusted=inside,
                    position="receiving-chain" if inside else "below-entry",
                )
                if len(clause) <= _MEMO_KEY_MAX:
                    if len(_FOR_MEMO) >= _MEMO_MAX:
                        _FOR_MEMO.clear()
                    _FOR_MEMO[for_key] = hop
            out.append(hop)
            continue
        if boundary < 0:
            position = "no-received"
        elif i < boundary:
            position = "above-entry"
        else:
            position = "below-entry"
        ev_key = (entry, position)
        evidence = memo.get(ev_key)
        if evidence is None:
            canonical = CANONICAL[lname]
            trusted = position != "below-entry"
            evidence = tuple(
                RecipientEvidence(
                    header=canonical, address=addr, raw=value, index=i, trusted=trusted, position=position
                )
                for addr in _addresses(value)
            )
            if len(value) <= _MEMO_KEY_MAX:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[ev_key] = evidence
        out += evidence
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
    return fingerprint_from_scan(to_scan(headers))


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
    if provider == "other" and any(
        n == "envelope-to" and (top_index is None or i < top_index) for i, n, _v in scan.trace
    ):
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


@pickled_by_values
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSummary:
    """What the fast scan knows about one message of a sample.

    ``source`` is the sample (file, folder, ``pop3://host``) and ``position`` where in it
    (mbox ordinal, file name, POP3 message number). ``raw_size`` is the size the message
    would have with its bodies decoded (no base64/quoted-printable), ``encoded_size`` its size
    in bytes as stored/sent; ``attachments`` lists each attachment's sizes. ``candidates`` is
    every envelope-recipient candidate (:func:`envelope_candidates`); ``entry_hop`` and
    ``entry_by`` name the receiving chain's entry hop (its number among the ``Received``
    fields from the top, 0 when no hop's ``from`` side is outside, and its ``by`` host;
    :mod:`mailsupport.chain`); ``provider`` and ``provider_evidence`` come from
    :func:`fingerprint`. ``problems`` says what was wrong with a broken message (it is still
    a row, never an exception).
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
    attachments: tuple[AttachmentSize, ...] = ()
    candidates: tuple[RecipientEvidence, ...] = ()
    entry_hop: int = 0
    entry_by: str = ""
    provider: str = "other"
    provider_evidence: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def attachment_count(self) -> int:
        """How many attachments the message has."""
        return len(self.attachments)

    @property
    def ok(self) -> bool:
        """True when the message was read without problems."""
        return not self.problems

    def ref(self) -> MessageRef:
        """The :class:`~mailsupport.model.MessageRef` a finding about this message carries."""
        return MessageRef(
            message_id=self.message_id,
            subject=self.subject,
            date=self.date,
            from_=self.from_,
            source=self.source,
            position=self.position,
        )

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
            self.entry_hop,
            self.entry_by,
            self.provider,
            "; ".join(self.provider_evidence),
            "; ".join(self.problems),
        )

    def to_row(self) -> dict[str, object]:
        """A flat dict for a table/CSV/DataFrame row (lists joined with ``;``), keys :data:`ROW_COLUMNS`."""
        return dict(zip(ROW_COLUMNS, self.row()))


#: The keys of :meth:`MessageSummary.to_row`, in order.
ROW_COLUMNS = (
    "source",
    "position",
    "message_id",
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "raw_size",
    "encoded_size",
    "attachments",
    "attachment_sizes",
    "candidates",
    "entry_hop",
    "entry_by",
    "provider",
    "provider_evidence",
    "problems",
)
