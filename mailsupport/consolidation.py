"""Gmail alias consolidation: one delivered copy where a catch-all should have had several.

Google keeps one copy of a message per mailbox and Message-ID (``docs/provider-facts.md``
§2: no primary Google document, observed behaviour), so a message whose
To/Cc names three of the tenant's aliases on a Google-hosted catch-all arrives **once**; a
Postfix catch-all would store three copies, one per envelope recipient, each with its own
``X-Original-To``. A router that files by the envelope header then files the one copy to one
target, and the other users never get the message.

:func:`consolidate` groups a sample's summaries by Message-ID and, for each message, compares
the tenant targets named in To/Cc (on the catch-all) with the copies that arrived and the
targets their trusted envelope headers name. Bcc recipients are invisible here (they are in
no header), so the count of missed users is a lower bound.

Pure (layer 2): no I/O; must not import clients, the sandbox, diagnoses or presentation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .addresses import classify_address
from .headers import MessageSummary
from .model import MessageRef
from .tenant import Tenant

__all__ = ["ConsolidationCase", "ConsolidationReport", "consolidate", "catch_all_targets"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidationCase:
    """One Message-ID: the targets its To/Cc name on the catch-all, the copies that arrived.

    ``expected`` are the addressed catch-all addresses (one envelope recipient each);
    ``targets`` the distinct targets they resolve to (aliases resolve to their users);
    ``reached`` the targets some copy's trusted envelope header names; ``missed`` the
    targets no copy reached. ``consolidated`` is true when fewer copies arrived than
    addresses were named and at least one target was missed. ``google`` says whether a
    copy was delivered by Google (fingerprint) or the tenant is on Gmail. ``messages`` says
    where each copy is (:class:`~mailsupport.model.MessageRef`, one per position).
    """

    message_id: str
    subject: str
    positions: tuple[str, ...]
    messages: tuple[MessageRef, ...]
    expected: tuple[str, ...]
    targets: tuple[str, ...]
    copies: int
    reached: tuple[str, ...]
    missed: tuple[str, ...]
    google: bool

    @property
    def consolidated(self) -> bool:
        """Fewer copies than named catch-all addresses, and some target never got one."""
        return self.copies < len(self.expected) and bool(self.missed)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidationReport:
    """Every Message-ID of a sample with its copies; ``cases`` only those that lost copies."""

    messages: int
    copies_per_message: tuple[tuple[str, int, int], ...]
    cases: tuple[ConsolidationCase, ...]
    without_message_id: int = 0

    @property
    def rate(self) -> float:
        """Share of distinct messages that lost copies (0.0 for an empty sample)."""
        return len(self.cases) / self.messages if self.messages else 0.0


def catch_all_targets(tenant: Tenant, addresses: Iterable[str]) -> dict[str, str]:
    """Address -> target id for the addresses that land in the tenant's catch-all and mean something.

    An address lands in the catch-all when its domain is one of the catch-all domains (or the
    matter domain); it means something when :func:`~mailsupport.addresses.classify_address`
    says matter, alias or user.
    """
    inbound = tenant.inbound
    domains = set(inbound.effective_catch_all_domains if inbound else ())
    if tenant.matter_domain:
        domains.add(tenant.matter_domain)
    out: dict[str, str] = {}
    for addr in addresses:
        domain = addr.rpartition("@")[2].lower()
        if domain not in domains:
            continue
        target = classify_address(tenant, addr)
        if target.kind.is_real_target:
            out.setdefault(target.address.lower(), f"{target.kind}:{target.target}")
    return out


def consolidate(
    summaries: Iterable[MessageSummary], tenant: Tenant, *, google: bool | None = None
) -> ConsolidationReport:
    """Group by Message-ID and find the messages whose copies were consolidated.

    ``google`` forces the Google verdict (``None``: a copy fingerprinted ``gmail`` or a
    Gmail tenant). Messages without a Message-ID cannot be grouped and are only counted.
    Holds one small record per distinct Message-ID, not the messages.
    """
    groups: dict[str, list[MessageSummary]] = {}
    no_id = 0
    for s in summaries:
        if not s.message_id:
            no_id += 1
            continue
        groups.setdefault(s.message_id, []).append(s)
    tenant_google = str(tenant.provider) == "gmail"
    counts = []
    cases = []
    for mid, copies in groups.items():
        named: dict[str, str] = {}
        for s in copies:
            for addr, target in catch_all_targets(tenant, s.to + s.cc).items():
                named.setdefault(addr, target)
        counts.append((mid, len(copies), len(named)))
        if len(named) < 2 or len(copies) >= len(named):
            continue
        reached: dict[str, None] = {}
        for s in copies:
            for ev in s.candidates:
                if ev.trusted and ev.address.lower() in named:
                    reached.setdefault(named[ev.address.lower()], None)
        targets = tuple(dict.fromkeys(named.values()))
        missed = tuple(t for t in targets if t not in reached)
        is_google = google if google is not None else (tenant_google or any(s.provider == "gmail" for s in copies))
        case = ConsolidationCase(
            message_id=mid,
            subject=copies[0].subject,
            positions=tuple(s.position for s in copies),
            messages=tuple(s.ref() for s in copies),
            expected=tuple(named),
            targets=targets,
            copies=len(copies),
            reached=tuple(reached),
            missed=missed,
            google=is_google,
        )
        if case.consolidated:
            cases.append(case)
    return ConsolidationReport(
        messages=len(groups), copies_per_message=tuple(counts), cases=tuple(cases), without_message_id=no_id
    )
