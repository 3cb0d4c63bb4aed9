"""What a replayed message is: the sample's copy without its receiving side, and its SMTP envelope.

Owns :func:`strip_receiving_side` (:class:`Stripped`), :func:`original_recipients` and
:data:`TRACE_FIELDS`. A message in a customer's mailbox is the sender's message plus what the
customer's receiving server wrote on top of it. Replaying it "as that server would have" means
taking the receiving side's part away and letting a sandbox profile write its own, while
everything the sending side wrote stays byte for byte, forged delivery headers included:

* removed: the ``Received`` hops of the receiving chain (down to and including the entry hop,
  :func:`mailsupport.chain.receiving_chain`, the walk the router uses), every
  :data:`TRACE_FIELDS` field above the entry hop (``Delivered-To``, ``X-Original-To``,
  ``Return-Path``, ``Authentication-Results``…), and ``X-MS-Exchange-Organization-*`` wherever it is
  (Exchange appends it at the end of the header block). A message without any ``Received``
  shows nothing of who wrote its delivery headers; the router takes them as the receiving
  side's, so they are removed as well;
* kept: every other field, in place, and the body; a leading mbox ``From_`` line is dropped
  (it is no header field).

The SMTP client side is taken from the entry hop: its ``from`` host is the HELO and its peer
the client address the sandbox is told about (Postfix's XCLIENT), so the profile's own entry
hop records the same outside address and the receiving chain of the replayed copy ends where
the sample's did. The envelope sender is the ``Return-Path`` the receiving side wrote.

:func:`original_recipients` reads the RCPT TO addresses back from the receiving side's
evidence (trusted :class:`~mailsupport.headers.RecipientEvidence`), preferring the headers that
keep the address *as sent* over ``Delivered-To`` (the final mailbox).

Pure (layer 2): no sockets, no files, no clock; imports the chain, the header parsers and the
evidence functions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..chain import ReceivingChain, receiving_chain
from ..headerblock import scan_header_block, split_header_block
from ..headers import RecipientEvidence, candidates_below

__all__ = [
    "TRACE_FIELDS",
    "Stripped",
    "strip_receiving_side",
    "original_recipients",
    "trusted_candidates",
    "AS_SENT",
    "field_spans",
]

#: Fields a receiving server writes when it files a message (lower case). Removed when they sit above the
#: entry hop (anywhere when the message has no ``Received``): the profile writes its own.
TRACE_FIELDS = frozenset(
    {
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "x-gm-original-to",
        "return-path",
        "delivery-date",
        "x-received",
        "received-spf",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
    }
)
_MS_ORG = b"x-ms-exchange-organization-"
#: Evidence headers that keep the recipient as the sender's server gave it (RCPT TO), most faithful first.
AS_SENT = ("X-Original-To", "Envelope-To", "X-Envelope-To", "X-Gm-Original-To", "Received-for")
_NAME_RE = re.compile(rb"([!-9;-~]+)[ \t]*:")  # used with .match(block, pos): anchored at pos
_HELO_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$|^\[[0-9A-Fa-f:.]+\]$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Stripped:
    """A sample message with its receiving side removed (see the module docstring).

    ``data`` is what the replay sends; ``removed`` the names of the fields taken away, top
    first; ``helo`` and ``client_address`` the SMTP client the entry hop recorded
    (``client_address`` is ``""`` when the chain names none, ``"UNAVAILABLE"`` when the entry
    hop is outside but recorded no address); ``mail_from`` the envelope sender (``""``: the
    null sender); ``chain`` the sample's receiving chain; ``entry_id`` the entry hop's queue id
    (copies of one SMTP transaction share it).
    """

    data: bytes
    removed: tuple[str, ...]
    helo: str
    client_address: str
    mail_from: str
    chain: ReceivingChain
    entry_id: str = ""


def field_spans(block: bytes) -> list[tuple[int, int, int, bytes]]:
    """``(field index, start, end, lower-case name)`` of every field of a header block.

    Indexes count the lines that start a field (continuation lines excluded), as
    :func:`~mailsupport.headerblock.scan_header_block` counts them; a line that is not a field
    (an mbox ``From_`` line) has an empty name.
    """
    out: list[tuple[int, int, int, bytes]] = []
    at = 0
    index = -1
    n = len(block)
    while at < n:
        end = block.find(b"\n", at)
        end = n if end < 0 else end + 1
        if block[at : at + 1] in (b" ", b"\t") and out:
            i, start, _old, name = out[-1]
            out[-1] = (i, start, end, name)
        else:
            index += 1
            m = _NAME_RE.match(block, at, end)
            out.append((index, at, end, m.group(1).lower() if m else b""))
        at = end
    return out


def _return_path(value: str) -> str:
    value = value.strip()
    m = re.search(r"<([^<>]*)>", value)
    addr = (m.group(1) if m else value).strip()
    return addr if "@" in addr else ""


def strip_receiving_side(raw: bytes, *, mx_hosts: Sequence[str] = ()) -> Stripped:
    """The sample message ``raw`` without the fields its receiving side wrote (see the module docstring).

    ``mx_hosts`` are the tenant's own MX/gateway hosts (their hops belong to the chain).
    Never raises for message content; a message without a header block comes back unchanged.
    """
    block = split_header_block(raw)[0]
    scan = scan_header_block(block)
    chain = receiving_chain(scan, mx_hosts=mx_hosts)
    hops = {h.index for h in chain.chain}
    boundary = chain.boundary
    spans = field_spans(block)
    keep: list[bytes] = []
    removed: list[str] = []
    mail_from = ""
    for index, start, end, name in spans:
        above = boundary is None or index < boundary
        drop = (
            index in hops
            or name.startswith(_MS_ORG)
            or (above and name.decode("ascii") in TRACE_FIELDS)
            or (index == 0 and not name and block[start : start + 5] == b"From ")
        )
        if drop:
            if name:
                removed.append(block[start:end].split(b":", 1)[0].decode("ascii", "replace").strip())
            if name == b"return-path" and not mail_from:
                mail_from = _return_path(block[start:end].split(b":", 1)[1].decode("utf-8", "replace"))
            continue
        keep.append(block[start:end])
    entry = chain.entry_hop
    if entry is not None:
        source, address = entry, entry.peer or "UNAVAILABLE"
    else:  # no outside hop: the bottom one stands in (a local or LAN-internal client)
        source = chain.hops[-1] if chain.hops else None
        address = source.peer if source is not None else ""
    helo = source.from_host.rstrip(".") if source is not None else ""
    if not _HELO_RE.match(helo):
        helo = "unknown"  # no from clause, or a HELO no EHLO command could carry
    data = b"".join(keep) + raw[len(block) :]
    return Stripped(
        data=data,
        removed=tuple(removed),
        helo=helo,
        client_address=address,
        mail_from=mail_from,
        chain=chain,
        entry_id=entry.id if entry is not None else "",
    )


def original_recipients(candidates: Iterable[RecipientEvidence], *, mailbox: str = "") -> tuple[tuple[str, str], ...]:
    """``(address, header)`` of the RCPT TO addresses the receiving side's evidence names.

    The first header of :data:`AS_SENT` with trusted evidence gives the addresses; without
    any, ``Delivered-To`` (the final mailbox). Of a header written by several hops (a
    re-delivery through fetchmail, amavis or an LMTP store adds its own), the deepest field
    counts: the one written first, before any rewriting; one field may name several addresses
    (Exim's ``Envelope-to`` of a batched delivery). ``mailbox`` (the catch-all mailbox's own
    address) is left out when another address is named. ``()`` when the receiving side wrote
    no recipient at all.
    """
    trusted = [ev for ev in candidates if ev.trusted]
    for header in (*AS_SENT, "Delivered-To"):
        found = [ev for ev in trusted if ev.header == header]
        if not found:
            continue
        deepest = max(ev.index for ev in found)
        found = [ev for ev in found if ev.index == deepest]
        out: dict[str, str] = {}
        for ev in found:
            out.setdefault(ev.address, header)
        if mailbox and len(out) > 1:
            out.pop(next((a for a in out if a.lower() == mailbox.lower()), ""), None)
        return tuple(out.items())
    return ()


def trusted_candidates(raw: bytes, *, mx_hosts: Sequence[str] = ()) -> tuple[RecipientEvidence, ...]:
    """The receiving side's evidence of ``raw`` (what :func:`original_recipients` and the replay's
    missing-copy check read)."""
    scan = scan_header_block(split_header_block(raw)[0])
    chain = receiving_chain(scan, mx_hosts=mx_hosts)
    return tuple(
        ev for ev in candidates_below(scan.trace, -1 if chain.boundary is None else chain.boundary) if ev.trusted
    )
