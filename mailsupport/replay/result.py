"""What a replay found: where every message went with the current settings and with the change.

Owns :class:`Outcome` (one copy's fate in one pass), :class:`CopyReplay`, :class:`MessageReplay`,
:class:`PassSummary` (the counts of one pass) and :class:`ReplayResult`, with ``to_dict()``
for JSON, plain text for a terminal, an escaped table for Jupyter (:mod:`mailsupport.display`)
and :meth:`ReplayResult.evidence`, the sentence a fix report quotes ("with the current setting
9 of 9 went to failed emails; with X-Original-To, 1").

An outcome's ``kind`` is one of the router's (``matter``, ``alias``, ``user``, ``reply``,
``failed``: :class:`mailsupport.routing.RouteKind`) or, for a copy the pipeline never saw,
``refused`` (the profile's server refused the recipient or the message, with its reply),
``not-kept`` (the server dropped the copy: Gmail keeps one copy per Message-ID),
``elsewhere`` (filed in another mailbox, which the product does not poll) or ``not-fetched``
(the poll failed; its error is the reason).

Pure (layer 2): values and formatting only; imports the model and the display helper.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..display import Table
from ..model import MessageRef

__all__ = [
    "ROUTED_KINDS",
    "OTHER_KINDS",
    "Outcome",
    "CopyReplay",
    "MessageReplay",
    "PassSummary",
    "ReplayResult",
    "pass_summary",
]

#: The router's kinds, in the order counts are shown.
ROUTED_KINDS = ("matter", "alias", "user", "reply", "failed")
#: Kinds of a copy the pipeline did not route.
OTHER_KINDS = ("refused", "not-kept", "elsewhere", "not-fetched")
_REAL = ("matter", "alias", "user", "reply")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Where one copy went in one pass: the kind, the target (matter id, user address, failed-emails
    address), why, and the router's trace."""

    kind: str
    target: str = ""
    reason: str = ""
    recipient: str = ""
    trace: tuple[str, ...] = ()

    @property
    def routed(self) -> bool:
        """True when the pipeline's router decided it (not refused, dropped or filed elsewhere)."""
        return self.kind in ROUTED_KINDS

    def label(self) -> str:
        """``alias -> jane@firm.example`` (or the kind alone)."""
        return f"{self.kind} -> {self.target}" if self.target else self.kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {
            "kind": self.kind,
            "target": self.target,
            "reason": self.reason,
            "recipient": self.recipient,
            "trace": list(self.trace),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyReplay:
    """One copy the profile's server made of a message: the envelope recipient(s) it stands for and
    its outcome before and after the change. ``recovered`` marks a copy for a recipient only the
    message's To/Cc named (Google kept one copy of a message sent to several addresses)."""

    recipients: tuple[str, ...]
    before: Outcome
    after: Outcome
    recovered: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {
            "recipients": list(self.recipients),
            "recovered": self.recovered,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReplay:
    """One message of the sample: which profile replayed it and why, the envelope read from it, and
    its copies.

    ``number`` counts the sample's messages from 1; ``transaction`` is the SMTP transaction
    that replayed it (copies of one transaction in the sample are replayed once, together;
    0 when it was not replayed, with the reason in ``note``); ``recipients`` pairs each
    envelope recipient with the header (or To/Cc) that named it; ``exact`` says whether the
    profile writes the evidence the sample's server wrote; ``missing`` are recipients no copy
    the server kept names (consolidated by the server).
    """

    number: int
    ref: MessageRef
    profile: str = ""
    profile_reason: str = ""
    exact: bool = True
    recipients: tuple[tuple[str, str], ...] = ()
    transaction: int = 0
    copies: tuple[CopyReplay, ...] = ()
    missing: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the message (as findings name it), the replay facts and each copy."""
        return {
            "number": self.number,
            "message": self.ref.to_dict(),
            "profile": self.profile,
            "profile_reason": self.profile_reason,
            "exact": self.exact,
            "recipients": [{"address": a, "from": h} for a, h in self.recipients],
            "transaction": self.transaction,
            "copies": [c.to_dict() for c in self.copies],
            "missing": list(self.missing),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PassSummary:
    """The counts of one pass (``before``: the tenant's current settings; ``after``: with the change).

    ``settings`` says what was in force (the change, for ``after``); ``header`` is the catch-all
    header; ``routed`` counts the copies the router filed by kind (every kind of
    :data:`ROUTED_KINDS`, zeros included); ``other`` the copies it never saw by kind
    (:data:`OTHER_KINDS`); ``predicted`` the catch-all diagnosis's counts for the same header
    over the messages replayed exactly (``real_target``, and ``failed``: mailbox, failed and
    missing together), ``()`` when the diagnosis does not apply (a single-address mailbox), and
    ``exact`` the replay's counts over the same messages (``real``, ``failed``); ``errors``
    what went wrong while polling.
    """

    name: str
    settings: tuple[str, ...]
    header: str
    routed: tuple[tuple[str, int], ...]
    other: tuple[tuple[str, int], ...] = ()
    predicted: tuple[tuple[str, int], ...] = ()
    exact: tuple[tuple[str, int], ...] = ()
    errors: tuple[str, ...] = ()

    def count(self, kind: str) -> int:
        """Copies of ``kind`` (a routed or other kind)."""
        return dict(self.routed).get(kind, 0) or dict(self.other).get(kind, 0)

    @property
    def real(self) -> int:
        """Copies filed to a matter, alias, user or a reply's matter."""
        return sum(self.count(k) for k in _REAL)

    @property
    def failed(self) -> int:
        """Copies routed as failed (forwarded to the failed-emails address)."""
        return self.count("failed")

    @property
    def total(self) -> int:
        """Copies the router filed."""
        return sum(n for _k, n in self.routed)

    @property
    def agrees(self) -> bool | None:
        """Whether the replay filed the exactly replayed messages as the diagnosis predicted (``None`` without
        a prediction)."""
        if not self.predicted:
            return None
        p, e = dict(self.predicted), dict(self.exact)
        return (e.get("real", 0), e.get("failed", 0)) == (p["real_target"], p["failed"])

    def label(self) -> str:
        """``catch-all header Delivered-To`` (also for a change of that header alone), or the settings changed."""
        if not self.settings or self.settings == (f"inbound.catch_all_header = {self.header}",):
            return f"catch-all header {self.header}"
        return "; ".join(self.settings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts (without the messages, which :meth:`ReplayResult.to_dict` adds)."""
        return {
            "settings": list(self.settings),
            "header": self.header,
            "routed": dict(self.routed),
            "real": self.real,
            "failed": self.failed,
            "total": self.total,
            "not_routed": dict(self.other),
            "predicted": dict(self.predicted) or None,
            "exact": dict(self.exact) or None,
            "agrees_with_diagnosis": self.agrees,
            "errors": list(self.errors),
        }


def pass_summary(
    name: str,
    outcomes: list[Outcome],
    *,
    settings: tuple[str, ...],
    header: str,
    predicted: tuple[tuple[str, int], ...] = (),
    exact: list[Outcome] | None = None,
    errors: tuple[str, ...] = (),
) -> PassSummary:
    """Count ``outcomes`` (and ``exact``: those of the messages replayed exactly) into a :class:`PassSummary`."""
    counts = Counter(o.kind for o in outcomes)
    ex = Counter(o.kind for o in (exact or ()))
    exact_counts = (("real", sum(ex[k] for k in _REAL)), ("failed", ex["failed"])) if predicted else ()
    return PassSummary(
        name=name,
        settings=settings,
        header=header,
        routed=tuple((k, counts.get(k, 0)) for k in ROUTED_KINDS),
        other=tuple((k, counts[k]) for k in OTHER_KINDS if counts.get(k)),
        predicted=predicted,
        exact=exact_counts,
        errors=errors,
    )


#: Columns of :meth:`ReplayResult.table`.
TABLE_COLUMNS = ("#", "message", "profile", "envelope", "before", "after", "why (after)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """A whole replay (see the module docstring).

    ``profile`` is what was asked (``auto`` or a profile name) and ``profiles`` the profiles
    used with how many messages each; ``change_reason`` says where the change came from (the
    catch-all diagnosis's recommendation or ``--change``); ``recommended_header`` is the
    diagnosis's.
    """

    tenant: str
    sample: tuple[str, ...]
    profile: str
    profiles: tuple[tuple[str, int], ...]
    change_reason: str
    before: PassSummary
    after: PassSummary
    messages: tuple[MessageReplay, ...]
    recommended_header: str | None = None

    @property
    def missing_copies(self) -> tuple[tuple[MessageRef, str], ...]:
        """``(message, recipient)`` for every recipient the server kept no copy for."""
        return tuple((m.ref, a) for m in self.messages for a in m.missing)

    def _pass_messages(self, which: str) -> list[dict[str, Any]]:
        out = []
        for m in self.messages:
            for c in m.copies:
                o = getattr(c, which)
                out.append(
                    {
                        "number": m.number,
                        "message": m.ref.to_dict(),
                        "recipients": list(c.recipients),
                        "kind": o.kind,
                        "target": o.target,
                        "reason": o.reason,
                        "recipient": o.recipient,
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``before`` and ``after`` (each with ``routed`` counts by kind and its ``messages``
        list), every message with both outcomes, the missing copies and :meth:`evidence`."""
        return {
            "tenant": self.tenant,
            "sample": list(self.sample),
            "profile": self.profile,
            "profiles": dict(self.profiles),
            "change_reason": self.change_reason,
            "recommended_header": self.recommended_header,
            "before": {**self.before.to_dict(), "messages": self._pass_messages("before")},
            "after": {**self.after.to_dict(), "messages": self._pass_messages("after")},
            "messages": [m.to_dict() for m in self.messages],
            "missing_copies": [{"message": r.to_dict(), "recipient": a} for r, a in self.missing_copies],
            "evidence": self.evidence(),
        }

    def evidence(self) -> str:
        """One sentence with the counts, for a fix report: what the current setting did and what the change does."""
        b, a = self.before, self.after
        text = f"With the current setting ({b.label()}) {b.failed} of {b.total} went to failed emails"
        if a.settings:
            changed = a.header if a.label() == f"catch-all header {a.header}" else a.label()
            text += f"; with {changed}, {a.failed or 'none'}"
        else:
            text += f"; {self.change_reason}"
        refused = b.count("refused")
        if refused:
            text += f" ({refused} refused by the server)"
        missing = len(self.missing_copies)
        if missing:
            text += f"; the server kept no copy for {missing} recipient(s)"
        return text + "."

    def table(self) -> Table:
        """One row per copy: the message, the profile, its envelope, where it went before and after, and why."""
        rows = []
        for m in self.messages:
            envelope = tuple(f"{a} ({h})" for a, h in m.recipients)
            if not m.copies:
                rows.append((m.number, m.ref.label(), m.profile, envelope, m.note or "-", m.note or "-", m.note))
            for c in m.copies:
                rows.append(
                    (
                        m.number,
                        m.ref.label(),
                        m.profile + ("" if m.exact else " (approximate)"),
                        ", ".join(c.recipients) or envelope,
                        c.before.label(),
                        c.after.label(),
                        c.after.reason,
                    )
                )
        return Table(
            columns=TABLE_COLUMNS,
            rows=tuple(rows),
            title="Where each message went, before and after",
            note=self.evidence(),
        )

    def counts_table(self) -> Table:
        """The counts of both passes by kind (and what the diagnosis predicted)."""
        kinds = ROUTED_KINDS + tuple(k for k in OTHER_KINDS if self.before.count(k) or self.after.count(k))
        rows = [
            (p.name, p.label(), *(p.count(k) for k in kinds), "" if p.agrees is None else ("yes" if p.agrees else "no"))
            for p in (self.before, self.after)
        ]
        return Table(
            columns=("pass", "settings", *kinds, "as diagnosed"),
            rows=tuple(rows),
            title=f"Replay of {sum(n for _p, n in self.profiles)} message(s) through "
            f"{', '.join(f'{p} ({n})' for p, n in self.profiles) or 'no profile'}",
        )

    def missing_table(self) -> Table:
        """The recipients the server kept no copy for (a consolidating server: Gmail, Exchange), by message."""
        rows = tuple((ref.label(), ref.date, ref.from_, rcpt) for ref, rcpt in self.missing_copies)
        return Table(
            columns=("message", "date", "from", "no copy names"),
            rows=rows,
            title="Recipients the server kept no copy for",
        )

    def format_text(self) -> str:
        """Plain text: the counts, then one block per message with each copy before and after."""
        out = [self.counts_table().title]
        for p in (self.before, self.after):
            counts = ", ".join(f"{k} {n}" for k, n in p.routed if n)
            other = ", ".join(f"{k} {n}" for k, n in p.other)
            out.append(f"  {p.name}: {p.label()}: {counts or 'nothing routed'}" + (f"; {other}" if other else ""))
            out += [f"    error: {e}" for e in p.errors]
        out.append(self.evidence())
        for m in self.messages:
            out.append(f"#{m.number} {m.ref.label()} | {m.ref.date or '(no date)'} | {m.ref.from_ or '(no From)'}")
            out.append(f"    profile {m.profile}{'' if m.exact else ' (approximate)'}: {m.profile_reason}")
            if m.note:
                out.append(f"    {m.note}")
            for c in m.copies:
                out.append(
                    f"    to {', '.join(c.recipients) or '?'}{' (from To/Cc)' if c.recovered else ''}: "
                    f"before {c.before.label()}; after {c.after.label()} ({c.after.reason})"
                )
            if m.missing:
                out.append(f"    the server kept no copy naming: {', '.join(m.missing)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format_text()

    def html_page(self) -> str:
        """A self-contained HTML page: the counts, the evidence sentence and every copy (all values escaped)."""
        title = html.escape(f"Replay of {', '.join(self.sample)} for {self.tenant}")
        return (
            f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body style='font-family:sans-serif'><h2>{title}</h2>{self._repr_html_()}</body></html>\n"
        )

    def _repr_html_(self) -> str:
        return self.counts_table()._repr_html_() + self.table()._repr_html_()
