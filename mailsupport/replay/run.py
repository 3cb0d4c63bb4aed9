"""The replay itself: the sample through a sandbox profile and the real pipeline, twice.

Owns :func:`run_replay` (and :func:`replay`, plan and run in one call). Two *passes* run side by
side, each with a sandbox of its own: ``before`` polls with the tenant's current settings,
``after`` with the plan's change. Every transaction of the plan
(:class:`~.plan.Transaction`) is sent to both sandboxes' MX as the sample's client (XCLIENT: its
HELO and address), through the profile of its server; the profile files its copies as that
server would (one per recipient, one per mailbox, one per Message-ID...). Every ``batch``
transactions, and at the end, each pass polls its mailbox with the real pipeline
(:func:`mailsupport.pipeline.poll`: fetch, route with :func:`mailsupport.routing.route_message`,
store, delete), so the sample streams: the sandboxes hold one batch at a time. Mail to a matter
address goes through the wildcard path (:func:`mailsupport.pipeline.ingest_message` with the
SMTP envelope), as the product files it.

Each pass logs in with a token of its own (XOAUTH2), so no customer secret reaches the
sandbox; the mailbox is emptied by each poll (download-then-delete, and Gmail's popped copies
trashed) whatever the tenant's own setting, because only routing is compared. A recipient or
message the profile's server refuses (size, unknown user, relaying) is a copy with kind
``refused`` and the server's reply; a copy the server dropped (Gmail's one copy per Message-ID)
is ``not-kept``; a copy filed in another mailbox is ``elsewhere``.

The sandbox comes from ``sandbox_factory`` (:class:`mailsupport.sandbox.Sandbox`: called with
the pass's tenant list, ``profile=`` and ``smtp_size_limit=``; duck-typed, so this layer-4
module never imports the sandbox).

Layer 4: uses the pipeline, the store, the sample readers and the pure replay modules.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConnectError, SampleError
from ..model import Secret
from ..pipeline.fetch import FetchPolicy, poll
from ..pipeline.ingest import ingest_message
from ..store import Store
from ..tenant import ServerSettings, Tenant, TlsMode
from .changes import Change
from .envelope import strip_receiving_side, trusted_candidates
from .infer import size_limit_for
from .plan import RECOVERED, ReplayPlan, Transaction, plan_replay, read_sample
from .result import CopyReplay, MessageReplay, Outcome, ReplayResult, pass_summary

__all__ = ["run_replay", "replay", "BATCH"]

#: Transactions delivered between two polls (the sandboxes hold at most this many at once).
BATCH = 200


@dataclass(slots=True)
class _Copy:
    """One copy in one pass while the replay runs (``outcome`` is set when it is known)."""

    recipients: tuple[str, ...]
    mailbox: str = ""
    covers: frozenset[str] = frozenset()
    outcome: Outcome | None = None
    landed: bool = False


def _outcome(decision: dict[str, Any]) -> Outcome:
    return Outcome(
        kind=str(decision.get("kind", "")),
        target=str(decision.get("target", "")),
        reason=str(decision.get("reason", "")),
        recipient=str(decision.get("recipient", "")),
        trace=tuple(str(s) for s in decision.get("trace", ())),
    )


def _lane_tenant(tenant: Tenant) -> Tenant:
    """``tenant`` with a login of the replay's own (an XOAUTH2 token made here) and download-then-delete on;
    no SMTP login (the replay sends nothing). Routing settings are untouched."""
    inbound = tenant.inbound
    server = ServerSettings(
        host="127.0.0.1",
        port=0,
        tls=TlsMode.STARTTLS,
        username=inbound.address,
        oauth_token=Secret("replay-" + secrets.token_urlsafe(24)),
    )
    return replace(
        tenant,
        inbound=replace(inbound, confirm_download_then_delete=True, server=server),
        outbound=replace(tenant.outbound, use_vendor_relay=True, server=ServerSettings()),
    )


class _Lane:
    """One pass: its sandbox, its store, the copies of every transaction and their outcomes."""

    def __init__(
        self, name: str, tenant: Tenant, plan: ReplayPlan, factory: Callable[..., Any], directory: Path
    ) -> None:
        self.name = name
        self.plan = plan
        self.tenant = _lane_tenant(tenant)
        self.mailbox = self.tenant.inbound.address.lower()
        self.mx_hosts = self.tenant.inbound.mx_hosts
        first = plan.transactions[0].profile if plan.transactions else "postfix"
        self.sandbox = factory([self.tenant], profile=first, smtp_size_limit=size_limit_for(first))
        self.directory = directory
        self.profile = ""
        self.copies: dict[int, list[_Copy]] = defaultdict(list)
        self.pending: dict[str, _Copy] = {}
        self.errors: list[str] = []
        self.current = 0
        self.store: Store | None = None
        self.client: Any = None

    def __enter__(self) -> _Lane:
        if not self.sandbox.running:
            self.sandbox.start()
        self.sandbox.set_disposition("trash")  # Gmail's popped copies go, so memory stays flat
        self.store = Store(self.directory)
        self.sandbox.set_on_wildcard(self._wildcard)
        self.settings = self.sandbox.tenant_settings(self.tenant)
        self.client = self.sandbox.inbound_client()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.client is not None:
                self.client.close()
        finally:
            self.sandbox.stop()
            if self.store is not None:
                self.store.close()

    def _wildcard(self, rcpt: str, raw: bytes) -> Any:
        """The sandbox's matter-domain hook: the product's wildcard path, recorded for the current transaction."""
        try:
            result = ingest_message(self.tenant, self.store, raw, source="wildcard", envelope_recipients=(rcpt,))
        except Exception as exc:  # noqa: BLE001 - recorded, then the sandbox keeps the message
            self.copies[self.current].append(
                _Copy(
                    recipients=(rcpt,),
                    outcome=Outcome(
                        kind="not-fetched", recipient=rcpt, reason=f"the wildcard path could not store it: {exc}"
                    ),
                )
            )
            raise
        self.copies[self.current].append(_Copy(recipients=(rcpt,), outcome=_outcome(result.decision.to_dict())))
        return result.decision

    def deliver(self, t: Transaction, data: bytes) -> None:
        """Send one transaction through its profile and note every copy, refusal and drop."""
        if t.profile != self.profile:
            options = {"x_gm_original_to": True} if t.profile == "gmail" and self.plan.x_gm_original_to else {}
            self.sandbox.set_profile(t.profile, **options)
            self.sandbox.set_size_limit(size_limit_for(t.profile))
            self.profile = t.profile
        self.current = t.number
        try:
            got = self.client.deliver(data, t.mail_from, t.recipients, helo=t.helo, client_address=t.client_address)
        except OSError as exc:  # smtplib's errors are OSErrors: the sandbox MX is gone
            raise ConnectError(
                f"the {self.name} pass's sandbox MX stopped answering during transaction {t.number}: {exc}"
            ) from exc
        copies = self.copies[t.number]
        server = f"the {t.profile} profile's server"
        for rcpt, reply in got.refused:
            where = got.refused_stage or "RCPT"
            copies.append(
                _Copy(
                    recipients=(rcpt,),
                    outcome=Outcome(kind="refused", recipient=rcpt, reason=f"{server} refused it at {where}: {reply}"),
                )
            )
        for filed in got.copies:
            c = _Copy(
                recipients=tuple(filed.recipients), mailbox=filed.mailbox, landed=filed.mailbox.lower() == self.mailbox
            )
            if filed.stored is None:
                c.outcome = Outcome(
                    kind="not-kept",
                    reason=f"{server} kept no copy: it had already filed one with this Message-ID in the mailbox",
                )
            elif not c.landed:
                c.outcome = Outcome(
                    kind="elsewhere",
                    target=filed.mailbox,
                    reason=f"filed in the mailbox {filed.mailbox}, which the product does not poll",
                )
            else:
                named = {ev.address.lower() for ev in trusted_candidates(filed.stored.data, mx_hosts=self.mx_hosts)}
                mine = {r.lower() for r in filed.recipients}
                c.covers = frozenset(mine if len(mine) == 1 else mine & named)
                self.pending[filed.stored.uid] = c
            copies.append(c)

    def poll(self) -> None:
        """Poll the pass's mailbox with the real pipeline and give each fetched copy its decision."""
        if not self.pending:
            return
        summary = poll(self.settings, self.store, policy=FetchPolicy(accept_listing_change=True))
        for d in summary.decisions:
            c = self.pending.pop(str(d.get("uidl", "")), None)
            if c is not None:
                c.outcome = _outcome(d)
        self.errors += [f"{e['stage']}: {e['message']}" for e in summary.errors]

    def finish(self) -> None:
        """Copies no poll returned get ``not-fetched`` with the poll's errors as the reason."""
        why = "; ".join(self.errors) or "the poll did not return it"
        for c in self.pending.values():
            c.outcome = Outcome(kind="not-fetched", reason=why)
        self.pending.clear()


def _align(before: list[_Copy], after: list[_Copy]) -> list[tuple[_Copy | None, _Copy | None]]:
    """Pair the copies of one transaction in the two passes (same order and recipients, else by recipients)."""
    if len(before) == len(after) and all(b.recipients == a.recipients for b, a in zip(before, after)):
        return list(zip(before, after))
    rest = list(after)
    out: list[tuple[_Copy | None, _Copy | None]] = []
    for b in before:
        match = next((a for a in rest if a.recipients == b.recipients), None)
        if match is not None:
            rest.remove(match)
        out.append((b, match))
    return out + [(None, a) for a in rest]


_ABSENT = Outcome(kind="not-kept", reason="this pass's server made no such copy")


def _missing(copies: list[_Copy]) -> tuple[str, ...]:
    """Recipients whose copy landed in the polled mailbox, but that no kept copy stands for alone or names."""
    landed: dict[str, None] = {}
    covered: set[str] = set()
    for c in copies:
        if c.landed:
            for r in c.recipients:
                landed.setdefault(r, None)
            covered |= c.covers
    return tuple(r for r in landed if r.lower() not in covered)


def _predicted(plan: ReplayPlan, tenant: Tenant) -> tuple[tuple[str, int], ...]:
    from ..tenant import MailboxKind

    if tenant.inbound is None or tenant.inbound.kind is not MailboxKind.CATCH_ALL:
        return ()
    row = next((r for r in plan.exact_diagnosis.rows if r.header == tenant.inbound.catch_all_header), None)
    if row is None:
        return ()
    return (("real_target", row.real_target), ("failed", row.failed + row.mailbox + row.missing))


def _result(plan: ReplayPlan, before: _Lane, after: _Lane) -> ReplayResult:
    planned = {m.number: m for m in plan.messages}
    copies: dict[int, list[CopyReplay]] = defaultdict(list)
    missing: dict[int, tuple[str, ...]] = {}
    for t in plan.transactions:
        owners = [(n, {a.lower() for a, _s in planned[n].recipients}) for n in t.messages]
        recovered = {a.lower() for n in t.messages for a, s in planned[n].recipients if s == RECOVERED}
        for b, a in _align(before.copies.get(t.number, []), after.copies.get(t.number, [])):
            rcpts = (b or a).recipients
            low = {r.lower() for r in rcpts}
            owner = next((n for n, addrs in owners if low & addrs), t.first)
            copies[owner].append(
                CopyReplay(
                    recipients=rcpts,
                    before=b.outcome if b else _ABSENT,
                    after=a.outcome if a else _ABSENT,
                    recovered=bool(low) and low <= recovered,
                )
            )
        gone = _missing(before.copies.get(t.number, []))
        if gone:
            missing[t.first] = gone
    messages = []
    for m in plan.messages:
        g = m.guess
        note = f"not replayed: {m.problem}" if m.problem else ""
        t = plan.transactions[m.transaction - 1] if m.transaction else None
        if t is not None and t.first != m.number and not copies.get(m.number):
            note = f"another copy of the transaction message #{t.first} replays (its copies are listed there)"
        messages.append(
            MessageReplay(
                number=m.number,
                ref=m.ref,
                profile=g.profile if g else "",
                profile_reason=g.reason if g else "",
                exact=g.exact if g else True,
                recipients=m.recipients,
                transaction=m.transaction,
                copies=tuple(copies.get(m.number, ())),
                missing=missing.get(m.number, ()),
                note=note,
            )
        )
    passes = []
    for lane, tenant, settings in ((before, plan.tenant, ()), (after, plan.after, tuple(str(c) for c in plan.changes))):
        outcomes = [getattr(c, lane.name) for m in messages for c in m.copies]
        exact = [getattr(c, lane.name) for m in messages if m.exact and m.transaction for c in m.copies]
        passes.append(
            pass_summary(
                lane.name,
                outcomes,
                settings=settings,
                header=tenant.inbound.catch_all_header,
                predicted=_predicted(plan, tenant),
                exact=exact,
                errors=tuple(lane.errors),
            )
        )
    return ReplayResult(
        tenant=plan.tenant.org_key,
        sample=plan.paths,
        profile=plan.profile,
        profiles=plan.profiles(),
        change_reason=plan.change_reason,
        before=passes[0],
        after=passes[1],
        messages=tuple(messages),
        recommended_header=plan.diagnosis.recommended_header,
    )


def run_replay(
    plan: ReplayPlan, *, sandbox_factory: Callable[..., Any], progress: Any = None, batch: int = BATCH
) -> ReplayResult:
    """Replay ``plan`` (see the module docstring) and return where every copy went in both passes.

    ``progress`` (optional) is told of each sample message read (``update(1)``), as a
    :class:`mailsupport.progress.Progress` is. Raises :class:`~mailsupport.errors.SampleError`
    when the sample changed since it was planned, and :class:`~mailsupport.errors.ConnectError`
    when a sandbox stops answering; nothing of the sample is ever written.
    """
    first = {t.first: t for t in plan.transactions}
    with tempfile.TemporaryDirectory(prefix="mailsupport-replay-") as work, ExitStack() as stack:
        lanes = [
            stack.enter_context(_Lane(name, tenant, plan, sandbox_factory, Path(work) / name))
            for name, tenant in (("before", plan.tenant), ("after", plan.after))
        ]
        waiting = 0
        read = 0
        mx_hosts = plan.tenant.inbound.mx_hosts
        for read, raw in enumerate(read_sample(plan.paths, plan.limits), start=1):
            if progress is not None:
                progress.update(1)
            t = first.get(read)
            if t is None:
                continue
            stripped = strip_receiving_side(raw.data, mx_hosts=mx_hosts)
            if hashlib.sha256(stripped.data).hexdigest() != t.digest:
                raise SampleError(
                    f"message {raw.position} is not the one read when the replay was planned: the "
                    "sample changed; plan the replay again",
                    source=raw.source,
                )
            for lane in lanes:
                lane.deliver(t, stripped.data)
            waiting += 1
            if waiting >= batch:
                for lane in lanes:
                    lane.poll()
                waiting = 0
        if read != len(plan.messages):
            raise SampleError(
                f"the sample holds {read} messages now, {len(plan.messages)} when the replay was "
                "planned; plan the replay again",
                source=", ".join(plan.paths),
            )
        for lane in lanes:
            lane.poll()
            lane.finish()
        return _result(plan, *lanes)


def replay(
    tenant: Tenant,
    paths: Sequence[str],
    *,
    sandbox_factory: Callable[..., Any],
    profile: str = "auto",
    changes: Sequence[Change] | None = None,
    progress: Any = None,
) -> ReplayResult:
    """Plan (:func:`~.plan.plan_replay`) and run (:func:`run_replay`) a replay in one call."""
    plan = plan_replay(tenant, paths, profile=profile, changes=changes)
    return run_replay(plan, sandbox_factory=sandbox_factory, progress=progress)
