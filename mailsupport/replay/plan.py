"""The replay's first pass over a sample: each message's server, envelope and SMTP transaction.

Owns :class:`PlannedMessage`, :class:`Transaction`, :class:`ReplayPlan` and :func:`plan_replay`.
The sample is read once, a message at a time (bodies are not kept): each message's receiving
chain and evidence give its profile (:func:`~.infer.guess_server`), its envelope
(:func:`~.envelope.original_recipients`) and the bytes that will be sent
(:func:`~.envelope.strip_receiving_side`, kept only as a digest). The catch-all diagnosis
runs on the same summaries and gives the recommended header.

Copies of one SMTP transaction in the sample (a Postfix catch-all stores one per recipient,
each with its own ``X-Original-To``; their sender-written part and the entry hop's queue id are
the same) become one transaction with every recipient, so the profile makes the copies itself.
A message Google consolidated (:func:`mailsupport.consolidation.consolidate`: fewer copies than
catch-all addresses its To/Cc name, on a Google-hosted mailbox) gets the addresses no copy
reached back as recipients, marked as read from To/Cc: the transaction Google received had
them. A message whose receiving side named no recipient is sent to the mailbox itself.

Layer 4: reads samples (layer 3) and runs the catch-all diagnosis; must not import the sandbox.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..consolidation import consolidate
from ..diagnose.catchall import CatchAllReport, diagnose_catch_all
from ..display import Table
from ..errors import ConfigError
from ..headers import MessageSummary
from ..model import MessageRef
from ..samples import DEFAULT_LIMITS, ReadLimits, iter_raw, summarize
from ..tenant import Tenant
from .changes import Change, apply_changes, catch_all_change
from .envelope import original_recipients, strip_receiving_side
from .infer import PROFILE_NAMES, PROFILE_ROUTES, ServerGuess, guess_server, writes_for

__all__ = ["PlannedMessage", "Transaction", "ReplayPlan", "plan_replay", "RECOVERED", "read_sample"]

#: Where a recipient recovered from To/Cc came from (a Google-consolidated message).
RECOVERED = "To/Cc (Google kept one copy)"
_FALLBACK = "no envelope evidence: the mailbox itself"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedMessage:
    """One sample message as planned: where it is, its profile, its envelope and its transaction
    (0 with ``problem`` when it cannot be replayed)."""

    number: int
    ref: MessageRef
    guess: ServerGuess | None = None
    recipients: tuple[tuple[str, str], ...] = ()
    transaction: int = 0
    removed: tuple[str, ...] = ()
    problem: str = ""
    has_for: bool = False

    @property
    def exact(self) -> bool:
        """Whether the profile writes the evidence the sample's server wrote (see :class:`~.infer.ServerGuess`)."""
        return self.guess is not None and self.guess.exact


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    """One SMTP transaction of the replay: the message sent (``first``, by number, its bytes'
    SHA-256 in ``digest``), the sample messages it stands for, the envelope and the client."""

    number: int
    first: int
    messages: tuple[int, ...]
    recipients: tuple[str, ...]
    mail_from: str
    helo: str
    client_address: str
    profile: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """Everything the replay needs before it starts a sandbox (see the module docstring).

    ``after`` is the tenant with ``changes`` applied (the tenant itself when there is none);
    ``change_reason`` says where the changes came from; ``x_gm_original_to`` switches on the
    ``gmail`` profile's Workspace option (some message carried it). ``diagnosis`` is the
    catch-all diagnosis of the whole sample, ``exact_diagnosis`` of the messages replayed
    exactly (what the replay's counts must equal).
    """

    tenant: Tenant
    after: Tenant
    changes: tuple[Change, ...]
    change_reason: str
    paths: tuple[str, ...]
    profile: str
    x_gm_original_to: bool
    messages: tuple[PlannedMessage, ...]
    transactions: tuple[Transaction, ...]
    diagnosis: CatchAllReport
    exact_diagnosis: CatchAllReport
    limits: ReadLimits = DEFAULT_LIMITS

    @property
    def mailbox(self) -> str:
        """The polled mailbox's address."""
        return self.tenant.inbound.address if self.tenant.inbound else ""

    def table(self) -> Table:
        """One row per sample message: where it is, its profile and why, its envelope and its transaction."""
        rows = []
        for m in self.messages:
            g = m.guess
            rows.append(
                (
                    m.number,
                    m.ref.label(),
                    g.profile if g else "-",
                    "yes" if m.exact else "no",
                    tuple(f"{a} ({h})" for a, h in m.recipients),
                    m.transaction or "-",
                    m.problem or (g.reason if g else ""),
                )
            )
        return Table(
            columns=("#", "message", "profile", "exact", "envelope", "transaction", "why"),
            rows=tuple(rows),
            title=f"The replay's plan: {len(self.messages)} message(s), {len(self.transactions)} SMTP transaction(s)",
            note=f"Change to try: {'; '.join(str(c) for c in self.changes) or 'none'} ({self.change_reason}).",
        )

    def profiles(self) -> tuple[tuple[str, int], ...]:
        """Each profile used and how many sample messages it replays, most used first."""
        counts = Counter(m.guess.profile for m in self.messages if m.guess is not None and m.transaction)
        return tuple(counts.most_common())


def read_sample(paths: Iterable[str | os.PathLike[str]], limits: ReadLimits = DEFAULT_LIMITS):
    """Every message of the sample paths in order, as :func:`~mailsupport.samples.iter_raw` reads them."""
    for path in paths:
        yield from iter_raw(os.path.expanduser(os.fspath(path)), limits=limits)


def _changes(
    tenant: Tenant, changes: Sequence[Change] | None, report: CatchAllReport, forced: str | None
) -> tuple[tuple[Change, ...], str]:
    """The changes to try and why: those given, else the diagnosis's header (with a profile chosen by
    hand, the header that profile's server writes the recipient in: the sample's server was another)."""
    if changes:
        return tuple(changes), "given with --change"
    current = tenant.inbound.catch_all_header if tenant.inbound else None
    if forced is not None:
        best = PROFILE_ROUTES[forced]
        if best is None:
            return (), f"the {forced} profile's server keeps no envelope recipient: no header routes its copies"
        if best == current:
            return (), f"the {forced} profile's server writes the recipient in the current header ({current})"
        return (catch_all_change(best),), f"the {forced} profile's server writes the recipient in {best}"
    best = report.recommended_header
    if best is None:
        return (), "no header routes the sample to a matter, alias or user: nothing to change to"
    if best == current:
        return (), f"the catch-all diagnosis recommends the current header ({current}): no change"
    return (catch_all_change(best),), f"the catch-all diagnosis recommends {best}"


def plan_replay(
    tenant: Tenant,
    paths: Sequence[str | os.PathLike[str]],
    *,
    profile: str = "auto",
    changes: Sequence[Change] | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ReplayPlan:
    """Read the sample once and plan the replay (see the module docstring).

    ``profile`` is ``auto`` (each message through the profile its receiving chain shows) or one
    of :data:`~.infer.PROFILE_NAMES` for every message; ``changes`` are the settings to try
    (default: the catch-all header the diagnosis recommends). Raises :class:`ConfigError` for a
    tenant without a mailbox, an unknown profile or a change that does not fit, and
    :class:`~mailsupport.errors.SampleError` for a sample that cannot be opened.
    """
    inbound = tenant.inbound
    if inbound is None:
        raise ConfigError(
            "a replay polls the tenant's mailbox, and this tenant has none (outbound only)",
            path="inbound",
            source=tenant.source,
        )
    if profile != "auto" and profile not in PROFILE_NAMES:
        raise ConfigError(f"expected auto or one of {', '.join(PROFILE_NAMES)}, got {profile!r}", path="--profile")
    mx_hosts = inbound.mx_hosts
    mailbox = inbound.address
    messages: list[PlannedMessage] = []
    summaries: list[MessageSummary] = []
    keys: dict[tuple[str, str, str], int] = {}
    groups: list[dict] = []
    for number, raw in enumerate(read_sample(paths, limits), start=1):
        ref = MessageRef(source=raw.source, position=raw.position)
        if raw.problem or not raw.data:
            messages.append(PlannedMessage(number=number, ref=ref, problem=raw.problem or "empty message"))
            continue
        summary = summarize(raw.data, source=raw.source, position=raw.position, mx_hosts=mx_hosts)
        summaries.append(summary)
        stripped = strip_receiving_side(raw.data, mx_hosts=mx_hosts)
        guess = guess_server(stripped.chain, summary.candidates, provider=summary.provider, mailbox=mailbox)
        if profile != "auto" and guess.profile != profile:
            guess = ServerGuess(
                profile=profile,
                reason=f"--profile {profile} (the receiving chain shows {guess.profile}: {guess.reason})",
                exact=False,
                x_gm_original_to=guess.x_gm_original_to,
            )
        digest = hashlib.sha256(stripped.data).hexdigest()
        key = (digest, stripped.entry_id, guess.profile)
        at = keys.get(key) if stripped.entry_id else None
        if at is None:
            at = keys[key] = len(groups)
            groups.append(
                {
                    "first": number,
                    "messages": [],
                    "digest": digest,
                    "size": len(stripped.data),
                    "profile": guess.profile,
                    "mail_from": stripped.mail_from,
                    "helo": stripped.helo,
                    "client_address": stripped.client_address,
                }
            )  # no bytes kept: the run reads them again
        groups[at]["messages"].append(number)
        messages.append(
            PlannedMessage(
                number=number,
                ref=summary.ref(),
                guess=guess,
                transaction=at + 1,
                recipients=original_recipients(summary.candidates, mailbox=mailbox),
                removed=stripped.removed,
                has_for=any(ev.trusted and ev.header == "Received-for" for ev in summary.candidates),
            )
        )
    report = diagnose_catch_all(summaries, tenant)
    _recover(messages, summaries, tenant)
    transactions = []
    by_number = {m.number: m for m in messages}
    for n, g in enumerate(groups, start=1):
        rcpts: dict[str, None] = {}
        for number in g["messages"]:
            for addr, _src in by_number[number].recipients:
                rcpts.setdefault(addr, None)
        if not rcpts:
            rcpts[mailbox] = None
            first = by_number[g["first"]]
            messages[first.number - 1] = replace(first, recipients=((mailbox, _FALLBACK),))
        transactions.append(
            Transaction(
                number=n,
                first=g["first"],
                messages=tuple(g["messages"]),
                recipients=tuple(rcpts),
                mail_from=g["mail_from"],
                helo=g["helo"],
                client_address=g["client_address"],
                profile=g["profile"],
                digest=g["digest"],
                size=g["size"],
            )
        )
    for t in transactions:
        for number in t.messages:
            m = messages[number - 1]
            if m.guess is not None and m.guess.exact and writes_for(t.profile, len(t.recipients)) != m.has_for:
                said = (
                    (
                        "gets a for clause the sample's entry hop does not have (its transaction had recipients "
                        "the sample does not name)"
                    )
                    if not m.has_for
                    else "gets no for clause, which the sample has"
                )
                guess = replace(
                    m.guess, exact=False, reason=f"{m.guess.reason}; approximate: the replayed transaction {said}"
                )
                messages[number - 1] = replace(m, guess=guess)
    exact = {(m.ref.source, m.ref.position) for m in messages if m.exact}
    exact_report = diagnose_catch_all([s for s in summaries if (s.source, s.position) in exact], tenant)
    chosen, reason = _changes(tenant, changes, report, None if profile == "auto" else profile)
    after = apply_changes(tenant, chosen)
    gm = any(m.guess is not None and m.guess.x_gm_original_to for m in messages)
    return ReplayPlan(
        tenant=tenant,
        after=after,
        changes=chosen,
        change_reason=reason,
        paths=tuple(os.fspath(p) for p in paths),
        profile=profile,
        x_gm_original_to=gm,
        messages=tuple(messages),
        transactions=tuple(transactions),
        diagnosis=report,
        exact_diagnosis=exact_report,
        limits=limits,
    )


def _recover(messages: list[PlannedMessage], summaries: list[MessageSummary], tenant: Tenant) -> None:
    """Add back the catch-all addresses a Google-consolidated message's To/Cc named but no copy kept."""
    at = {(m.ref.source, m.ref.position): i for i, m in enumerate(messages)}
    for case in consolidate(summaries, tenant).cases:
        if not case.google:
            continue
        i = at.get((case.messages[0].source, case.messages[0].position))
        if i is None:
            continue
        m = messages[i]
        have = {a.lower() for c in case.messages for a, _h in messages[at[(c.source, c.position)]].recipients}
        extra = tuple((a, RECOVERED) for a in case.expected if a.lower() not in have)
        messages[i] = replace(m, recipients=m.recipients + extra)
