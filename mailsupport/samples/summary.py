"""The fast path: one raw message in, one :class:`~mailsupport.headers.MessageSummary` out.

One regex pass over the header block (:func:`~mailsupport.headerblock.scan_header_block`: only the
fields the diagnoses read) plus a counting MIME walk (:func:`~mailsupport.sizes.measure_body`):
no full MIME parse, no decoding of bodies, sizes counted exactly. Values a mailbox repeats
(To/Cc lists, delivery headers, MIME part headers) are memoised in small bounded maps. Never
raises for a broken message: whatever went wrong is in ``problems``. Every field equals a
plain reference implementation (``tests/samples/test_fastpath.py``).

Pure (layer 2 logic): no files, no sockets; must not import the readers' I/O, diagnoses or
presentation modules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..chain import entry_of
from ..headerblock import scan_header_block, split_header_block
from ..headers import MessageSummary, candidates_below, decode_text, provider_from_scan
from ..sizes import measure_body

__all__ = ["summarize", "address_list"]

#: What ``bytes.isspace`` counts as white space; a message of nothing else is empty.
_SPACE = b" \t\n\r\x0b\x0c"
_NOT_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\([^()]*\)')
_TOKEN = re.compile(r"<([^<>]*)>|([^\s,<>;:\"]+@[^\s,<>;:\"]+)")


def address_list(value: str) -> tuple[str, ...]:
    """Addresses of a To/Cc value, lower-cased domain; display names and comments dropped.

    Fast and lenient: quoted display names (which may contain ``@`` or commas) and comments
    are removed before looking for ``<addr>`` or bare ``local@domain`` tokens.
    """
    if not value:
        return ()
    text = _QUOTED.sub(" ", value)
    out = []
    for bracketed, bare in _TOKEN.findall(text):
        addr = (bracketed or bare).strip()
        if "@" in addr:
            local, _, domain = addr.rpartition("@")
            out.append(f"{local}@{domain.lower().rstrip('.')}")
    return tuple(out)


def summarize(
    raw: bytes | bytearray,
    *,
    source: str,
    position: str,
    mx_hosts: Sequence[str] = (),
    start: int = 0,
    end: int | None = None,
) -> MessageSummary:
    """Summarize one message; a broken one still gives a summary whose ``problems`` say why.

    ``mx_hosts`` are the tenant's own MX/relay hosts in front of the mailbox, whose hops belong
    to the receiving chain (:func:`mailsupport.chain.receiving_chain`). ``start``/``end``: the
    message is ``raw[start:end]``, looked at in place (an mbox reader's buffer).
    """
    if end is None:
        end = len(raw)
    try:
        return _summarize(raw, start, end, source, position, mx_hosts)
    except Exception as exc:  # lenient by contract: one bad message never stops a scan
        return MessageSummary(
            source=source,
            position=position,
            encoded_size=end - start,
            raw_size=end - start,
            problems=(f"could not summarize: {type(exc).__name__}: {exc}",),
        )


#: Memo of :func:`address_list` per To/Cc value (a mailbox repeats the same recipients); bounded in
#: entries and in value length (a long list is parsed each time, never kept).
_ADDRESS_MEMO: dict[str, tuple[str, ...]] = {}
_MEMO_MAX = 4096
_MEMO_KEY_MAX = 1024


def _addresses_of(value: str) -> tuple[str, ...]:
    found = _ADDRESS_MEMO.get(value)
    if found is None:
        found = address_list(value)
        if len(value) <= _MEMO_KEY_MAX:
            if len(_ADDRESS_MEMO) >= _MEMO_MAX:
                _ADDRESS_MEMO.clear()
            _ADDRESS_MEMO[value] = found
    return found


def _summarize(
    raw: bytes | bytearray, start: int, end: int, source: str, position: str, mx_hosts: Sequence[str]
) -> MessageSummary:
    if start >= end or (raw[start] in _SPACE and _NOT_SPACE.search(raw, start, end) is None):
        # blank lines only: their bytes are the message's size, as measure() counts them
        return MessageSummary(
            source=source,
            position=position,
            raw_size=end - start,
            encoded_size=end - start,
            problems=("empty message",),
        )
    problems: list[str] = []
    block, body_offset = split_header_block(raw, start, end)
    scan = scan_header_block(block)
    if not scan.has_fields:
        problems.append("no header fields: this does not look like an email message")
    elif body_offset >= end and not raw.endswith(b"\n\n", start, end) and not raw.endswith(b"\r\n\r\n", start, end):
        problems.append("no empty line between header and body")
    first = scan.first
    # the scan's first-value map holds the top-level Content-* values measure_body reads
    raw_size, attachments, size_problems = measure_body(raw, body_offset, first, start=start, end=end)
    if size_problems:
        problems.extend(size_problems)
    provider, evidence = provider_from_scan(scan)
    subject = first.get("subject", "")
    sender = first.get("from", "")
    trace = scan.trace
    entry, boundary, entry_by = entry_of(trace, mx_hosts) if trace else (0, -1, "")
    return MessageSummary(
        source=source,
        position=position,
        message_id=first.get("message-id", ""),
        date=first.get("date", ""),
        from_=decode_text(sender) if "=?" in sender else sender,
        to=_addresses_of(first["to"]) if "to" in first else (),
        cc=_addresses_of(first["cc"]) if "cc" in first else (),
        subject=decode_text(subject) if "=?" in subject else subject,
        raw_size=raw_size,
        encoded_size=end - start,
        attachments=tuple(attachments),
        candidates=candidates_below(trace, boundary) if trace else (),
        entry_hop=entry,
        entry_by=entry_by,
        provider=provider,
        provider_evidence=evidence,
        problems=tuple(problems),
    )
