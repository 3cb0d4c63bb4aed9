"""The router: one pure function deciding where a received message is filed, and why.

Owns :class:`RouteKind`, :class:`RouteDecision` and :func:`route_message`. The rules, in
the order the product applies them:

1. a **matter** address (``<matterID>@<orgkey>.<wildcard domain>`` or
   ``<matterID>@<catch-all domain>``);
2. an **alias** -> its user;
3. a **user**'s own address;
4. a **reply** to a message we sent: ``In-Reply-To``/``References`` (RFC 5322 §3.6.4) name a
   Message-ID we stored when sending -> the matter it was sent from;
5. otherwise **failed**: forwarded to the tenant's failed-emails address.

The envelope recipient is the routing truth. It comes from the SMTP envelope when there is
one (wildcard path, ``RCPT TO``), else from the tenant's catch-all header choice — only an
occurrence the receiving side wrote (above the receiving chain's entry hop, or the ``for``
clause of a hop of that chain: :func:`mailsupport.chain.receiving_chain`, the same function
the scan and every diagnosis use), never a copy the sender could have written — else, for a
single-address mailbox, the mailbox's own address. The trace names the entry hop and why.
``To``/``Cc`` are recorded as evidence only: a Bcc'd or list-expanded message has a ``To``
that is not its recipient.

What an address means is :func:`mailsupport.addresses.classify_address`'s job; this module
only orders and explains. Pure (layer 2): no I/O, no clock; the Message-IDs we sent arrive
as a mapping. Must not import clients, the store or presentation modules.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any

from .addresses import TargetKind, classify_address, extract_addresses
from .chain import receiving_chain
from .headerblock import parse_fields, split_header_block, to_scan
from .headers import candidates_below, recipients_for
from .tenant import MailboxKind, Tenant

__all__ = ["RouteKind", "RouteDecision", "route_message", "referenced_message_ids"]

_MSGID = re.compile(r"<([^<>\s]+)>")


class RouteKind(str, enum.Enum):
    """Where a message went: a matter, a user (directly or by alias), a reply's matter, or failed."""

    MATTER = "matter"
    ALIAS = "alias"
    USER = "user"
    REPLY = "reply"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteDecision:
    """The router's answer with everything needed to explain it.

    ``target`` is the matter id (matter, reply), the user's address (alias, user) or the
    failed-emails address (failed; ``""`` when the tenant has none). ``recipient`` is the
    envelope address that decided it (``""`` for reply/failed). ``trace`` lists the steps in
    order, in words; ``evidence`` holds ``(label, value)`` pairs from the message.
    """

    kind: RouteKind
    target: str
    reason: str
    recipient: str = ""
    recipients: tuple[str, ...] = ()
    recipient_source: str = ""
    trace: tuple[str, ...] = ()
    evidence: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as the store keeps it)."""
        return {
            "kind": self.kind.value,
            "target": self.target,
            "reason": self.reason,
            "recipient": self.recipient,
            "recipients": list(self.recipients),
            "recipient_source": self.recipient_source,
            "trace": list(self.trace),
            "evidence": [list(p) for p in self.evidence],
        }


def _fields(message: bytes | Message | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(message, Message):
        return [(str(k), str(v)) for k, v in message.raw_items()]
    if isinstance(message, (bytes, bytearray)):
        return parse_fields(split_header_block(bytes(message))[0])
    return [(str(k), str(v)) for k, v in message]


def referenced_message_ids(fields: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Message-IDs a message replies to: In-Reply-To first, then References newest first."""
    in_reply_to: list[str] = []
    references: list[str] = []
    for name, value in fields:
        lname = name.lower()
        if lname == "in-reply-to":
            in_reply_to.extend(_MSGID.findall(value))
        elif lname == "references":
            references.extend(_MSGID.findall(value))
    out: dict[str, None] = {}
    for mid in (*in_reply_to, *reversed(references)):
        out.setdefault(f"<{mid}>", None)
    return tuple(out)


_PRIORITY = {TargetKind.MATTER: RouteKind.MATTER, TargetKind.ALIAS: RouteKind.ALIAS, TargetKind.USER: RouteKind.USER}


def _envelope(
    tenant: Tenant, fields: list[tuple[str, str]], envelope_recipients: Sequence[str] | None, trace: list[str]
) -> tuple[tuple[str, ...], str]:
    if envelope_recipients is not None:
        trace.append(f"envelope recipients from SMTP RCPT TO: {', '.join(envelope_recipients) or '(none)'}")
        return tuple(envelope_recipients), "SMTP envelope"
    inbound = tenant.inbound
    if inbound is None:
        trace.append("the tenant has no inbound mailbox and the message has no SMTP envelope")
        return (), ""
    if inbound.kind is MailboxKind.SINGLE:
        trace.append(f"single-address mailbox: the envelope recipient is {inbound.address}")
        return (inbound.address,), "mailbox address"
    header = inbound.catch_all_header
    scan = to_scan(fields)
    chain = receiving_chain(scan, mx_hosts=inbound.mx_hosts)
    cands = candidates_below(scan.trace, -1 if chain.boundary is None else chain.boundary)
    for ev in cands:
        if ev.header.lower() == header.lower() and not ev.trusted:
            trace.append(f"ignored {ev.header}: {ev.address} ({ev.position}: the sender could have written it)")
    found = recipients_for(cands, header)
    if found:
        trace.append(f"catch-all header {header} (written by the receiving side): {', '.join(found)}")
    else:
        others = sorted({f"{ev.header}: {ev.address}" for ev in cands if ev.trusted})
        hint = f"; trusted headers present: {'; '.join(others)}" if others else ""
        trace.append(f"no {header} header written by the receiving side{hint}")
    hop = chain.entry_hop
    if hop is not None:
        trace.append(f"entry hop {hop.number} of {len(chain.hops)} (by {hop.by_host or '?'}): {hop.reason}")
    elif chain.hops:
        trace.append(
            f"no hop's from side is outside: the bottom of the {len(chain.hops)} Received field(s) "
            f"bounds the receiving side's evidence"
        )
    return found, f"{header} header"


def route_message(
    tenant: Tenant,
    message: bytes | Message | Sequence[tuple[str, str]],
    *,
    envelope_recipients: Sequence[str] | None = None,
    sent_matters: Mapping[str, str] | None = None,
) -> RouteDecision:
    """Decide where ``message`` is filed for ``tenant``.

    ``message`` is the raw message (only its header block is read), an
    :class:`email.message.Message` or ``(name, value)`` header pairs. ``envelope_recipients``
    are the SMTP ``RCPT TO`` addresses when the message arrived over SMTP (wildcard path);
    ``sent_matters`` maps Message-IDs we sent (with angle brackets) to their matter. Never
    raises for any message content: unreadable input is routed as failed, with the reason.
    """
    fields = _fields(message)
    trace: list[str] = []
    evidence: list[tuple[str, str]] = []
    for name, value in fields:
        if name.lower() in ("to", "cc", "message-id", "in-reply-to", "from", "subject"):
            evidence.append((name, value[:300]))
    if not fields:
        trace.append("no header fields could be read: the message is not in RFC 5322 form")
    recipients, source = _envelope(tenant, fields, envelope_recipients, trace)

    best = None
    others: list[str] = []
    for addr in recipients:
        target = classify_address(tenant, addr)
        trace.append(f"{target.address}: {target.kind.value} ({target.reason})")
        if target.kind in _PRIORITY:
            if best is None or list(_PRIORITY).index(target.kind) < list(_PRIORITY).index(best.kind):
                if best is not None:
                    others.append(best.address)
                best = target
            else:
                others.append(target.address)
    if best is not None:
        kind = _PRIORITY[best.kind]
        if others:
            trace.append(f"also addressed to {', '.join(others)}; the {kind.value} rule comes first")
        return RouteDecision(
            kind=kind,
            target=best.target,
            reason=f"{best.address} is {best.reason}",
            recipient=best.address,
            recipients=tuple(recipients),
            recipient_source=source,
            trace=tuple(trace),
            evidence=tuple(evidence),
        )

    refs = referenced_message_ids(fields)
    sent = sent_matters or {}
    for mid in refs:
        matter = sent.get(mid)
        if matter:
            trace.append(f"replies to {mid}, which we sent from matter {matter}")
            return RouteDecision(
                kind=RouteKind.REPLY,
                target=matter,
                reason=f"a reply to our message {mid} sent from matter {matter}",
                recipients=tuple(recipients),
                recipient_source=source,
                trace=tuple(trace),
                evidence=tuple(evidence),
            )
    if refs:
        trace.append(f"references {len(refs)} Message-ID(s), none of them sent by us")

    shown = [a for name, v in fields if name.lower() in ("to", "cc") for a in extract_addresses(v)]
    if not recipients and shown:
        trace.append(f"To/Cc name {', '.join(shown[:5])}, but they are evidence only, not the envelope")
    why = (
        "no envelope recipient could be determined"
        if not recipients
        else f"no matter, alias or user for {', '.join(recipients)}"
    )
    failed = tenant.failed_email_address or ""
    where = f"forwarded to {failed}" if failed else "no failed_email_address configured: kept in the store"
    trace.append(f"failed: {where}")
    return RouteDecision(
        kind=RouteKind.FAILED,
        target=failed,
        reason=why,
        recipients=tuple(recipients),
        recipient_source=source,
        trace=tuple(trace),
        evidence=tuple(evidence),
    )
