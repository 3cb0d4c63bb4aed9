"""The rung recorder shared by the probes: times each step, turns a :class:`WireError` into a
failed :class:`Rung`, and calls the ``on_rung`` callback as each rung ends (the widget shows
the ladder as it runs).

Layer 3 helper (reads the clock with ``perf_counter`` for timings only). Must not import the
sandbox or presentation modules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ._wire import SystemResolver, WireError, is_ip_literal
from .report import Rung

__all__ = ["Outcome", "Stop", "Recorder", "dns_rung"]


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
    """Collects rungs in order and reports each one to ``on_rung`` as it ends."""

    def __init__(self, on_rung: Callable[[str, Rung], None] | None, direction: str) -> None:
        self.rungs: list[Rung] = []
        self._on_rung = on_rung
        self._direction = direction

    def add(self, rung: Rung) -> None:
        """Record a rung and tell the listener (listener errors never break the ladder)."""
        self.rungs.append(rung)
        if self._on_rung is not None:
            try:
                self._on_rung(self._direction, rung)
            except Exception:  # a display problem must not stop the check
                pass

    def run(self, step: str, func: Callable[[], Outcome]) -> Outcome:
        """Run one step; on :class:`WireError` record the failure and raise :class:`Stop`."""
        start = time.perf_counter()
        try:
            outcome = func()
        except WireError as exc:
            self.add(Rung(step=step, ok=False, ms=(time.perf_counter() - start) * 1000.0,
                          detail=exc.words, reply=exc.reply, code=exc.code, facts=exc.facts))
            raise Stop from exc
        self.add(Rung(step=step, ok=True, ms=(time.perf_counter() - start) * 1000.0,
                      detail=outcome.detail, reply=outcome.reply, facts=outcome.facts))
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
            return Outcome(detail=f"{host} is an IP address (no DNS lookup needed)",
                           facts=(("address", host),))
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
