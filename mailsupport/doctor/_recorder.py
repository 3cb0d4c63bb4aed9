"""The rung recorder shared by the probes: times each step, gives it a wall-clock deadline,
turns a :class:`WireError` into a failed :class:`Rung`, scrubs the server's words, and calls
the ``on_rung`` callback as each rung ends (the widget shows the ladder as it runs).

Deadlines: a rung may take ``Limits.step_seconds(timeout)`` (``3 × timeout``) for each
exchange it has with the server (:data:`EXCHANGES`: ``starttls`` two, the command and the
handshake; ``auth`` three, AUTH LOGIN's round trips; ``final`` four, STAT/UIDL/CAPA/QUIT or
MAIL/RCPT/RSET/QUIT; one for the rest). The deadline is handed to the open :class:`Wire`
(``rec.wire``) before the rung runs, so its reads stop when it is spent and the rung fails
with code ``deadline`` naming the step.

Scrubbing: every rung's detail, reply and facts go through the ``redact`` callable (a
:class:`~mailsupport.redact.Redactor` built from the settings the probe uses) before they
are kept or shown, so an echoed password or SASL string never reaches a report.

Layer 3 helper (reads the clock with ``perf_counter`` for timings only). Must not import the
sandbox or presentation modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..limits import DEFAULT_LIMITS, Deadline, Limits
from ._wire import SystemResolver, Wire, WireError, is_ip_literal
from .report import Rung

__all__ = ["Outcome", "Stop", "Recorder", "dns_rung", "EXCHANGES"]

#: Exchanges with the server per rung (a rung's deadline is that many step budgets); others: 1.
EXCHANGES = {"starttls": 2, "auth": 3, "final": 4}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a passing step returns: its sentence, the server's words, and learnt facts."""

    detail: str
    reply: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    value: object = None  # handed back to the ladder (e.g. the open connection), never shown


class Stop(Exception):
    """Raised by :meth:`Recorder.run` after a failed rung: the ladder stops there."""


class Recorder:
    """Collects rungs in order and reports each one to ``on_rung`` as it ends.

    ``timeout`` is the per-read timeout the rung deadlines derive from; ``redact`` scrubs the
    server's words; :attr:`wire` is the open connection (set by the probe after ``connect``),
    :attr:`deadline` the running rung's deadline.
    """

    def __init__(
        self,
        on_rung: Callable[[str, Rung], None] | None,
        direction: str,
        *,
        timeout: float = 30.0,
        redact: Callable[[str], str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.rungs: list[Rung] = []
        self._on_rung = on_rung
        self._direction = direction
        self._timeout = timeout
        self._redact = redact
        self.limits = limits
        self.wire: Wire | None = None
        self.deadline: Deadline | None = None

    def add(self, rung: Rung) -> None:
        """Record a rung (scrubbed) and tell the listener (listener errors never break the ladder)."""
        if self._redact is not None:
            rung = rung.redacted(self._redact)
        self.rungs.append(rung)
        if self._on_rung is not None:
            try:
                self._on_rung(self._direction, rung)
            except Exception:  # a display problem must not stop the check
                pass

    def run(self, step: str, func: Callable[[], Outcome]) -> Outcome:
        """Run one step under its deadline; on :class:`WireError` record the failure and raise
        :class:`Stop`."""
        seconds = self.limits.step_seconds(self._timeout) * EXCHANGES.get(step, 1)
        self.deadline = Deadline(seconds, step)
        if self.wire is not None:
            self.wire.deadline = self.deadline
        start = time.perf_counter()
        try:
            outcome = func()
        except WireError as exc:
            self.add(
                Rung(
                    step=step,
                    ok=False,
                    ms=(time.perf_counter() - start) * 1000.0,
                    detail=exc.words,
                    reply=exc.reply,
                    code=exc.code,
                    facts=exc.facts,
                )
            )
            raise Stop from exc
        self.add(
            Rung(
                step=step,
                ok=True,
                ms=(time.perf_counter() - start) * 1000.0,
                detail=outcome.detail,
                reply=outcome.reply,
                facts=outcome.facts,
            )
        )
        return outcome


def dns_rung(rec: Recorder, host: str, lookup: Any = None) -> str:
    """The DNS rung: the first address of ``host`` (IP literals pass straight through).

    ``lookup`` is a :class:`mailsupport.dnslookup.DnsLookup` (e.g. one pointed at the
    sandbox DNS server); without one the system resolver (``getaddrinfo``) is asked.
    NXDOMAIN and "name exists but no A/AAAA" (NODATA) are told apart.
    """
    from ..errors import DnsError, DnsTempError

    def step() -> Outcome:
        if not host:
            raise WireError("no-host", "no server name is set")
        if is_ip_literal(host):
            return Outcome(detail=f"{host} is an IP address (no DNS lookup needed)", facts=(("address", host),))
        try:
            if lookup is None:
                addresses = SystemResolver().addresses(host)
            else:
                addresses = _lookup_addresses(lookup, host)
        except DnsTempError as exc:
            raise WireError("dns-temporary", str(exc)) from exc
        except DnsError as exc:
            raise WireError(getattr(exc, "doctor_code", "nxdomain"), str(exc)) from exc
        return Outcome(detail=f"{host} resolves to {', '.join(addresses)}", facts=(("address", addresses[0]),))

    return rec.run("dns", step).facts[0][1]


def _lookup_addresses(lookup: Any, host: str) -> list[str]:
    """A then AAAA through a DnsLookup; NXDOMAIN vs NODATA become distinct errors."""
    from ..dnslookup import AnswerStatus
    from ..errors import DnsError

    found: list[str] = []
    statuses = []
    for rdtype in ("A", "AAAA"):
        answer = lookup.query(host, rdtype)
        statuses.append(answer.status)
        found.extend(str(r) for r in answer.records)
    if found:
        return found
    if statuses[0] is AnswerStatus.NXDOMAIN:
        err = DnsError(f"{host}: NXDOMAIN (no such name) from {lookup.source}")
        err.doctor_code = "nxdomain"  # type: ignore[attr-defined]
    else:
        err = DnsError(f"{host}: the name exists but has no A or AAAA record (NODATA) from {lookup.source}")
        err.doctor_code = "dns-no-address"  # type: ignore[attr-defined]
    raise err
