"""Fix steps as data: one change for the customer's IT contact to make, and how to check it.

A :class:`FixStep` says

* **where**: a DNS record (``rtype`` ``TXT``, ``CNAME`` or ``MX`` at the owner name ``host``);
  a ``setting`` of the product (``host`` is its path in the tenant file, e.g.
  ``inbound.catch_all_header``, and ``label`` the field's name on the Email Setup page);
  a ``provider`` setting (at the mail provider or on the customer's own mail server: ``host``
  names it); or ``advice`` (what people should do differently: ``host`` says who);
* what is there **now** (``current``; empty when nothing is) and what it should be (``new``:
  the exact record or value whenever one is known, else the instruction);
* **why** (one or two sentences, with ``evidence`` pairs and the ``messages`` that show it);
* how to **check** it worked (``verify``: something the customer's IT contact can do, such as a
  ``dig`` command or a test message; never a command of this kit);
* which findings it **resolves** (``(check id, subject)`` pairs), how bad they are
  (``severity``) and when to apply it (``order``: :data:`ORDER_CONNECTION` before
  :data:`ORDER_DNS` before :data:`ORDER_POLICY`, :data:`ORDER_ROUTING`, :data:`ORDER_ADVICE`);
* ``detail``: technical text (a lookup path, the server's words) a report shows folded.

Each diagnosis builds the steps for its own findings (``SpfCheck.fixes``,
``DmarcCheck.fixes``, ``CatchAllReport.fixes``, ``SizeDiagnosis.fixes``,
``ConsolidationDiagnosis.fixes``, the connection doctor's ``settings_fixes``);
:mod:`mailsupport.fixplan` orders and deduplicates them into one plan per tenant. Steps never
carry a secret: a password field's current value is shown as ``(set)`` or ``(empty)``.

Pure (layer 2): imports only :mod:`mailsupport.model` and the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .model import MessageRef, Severity

__all__ = [
    "FixStep",
    "DNS_TYPES",
    "KINDS",
    "ORDER_CONNECTION",
    "ORDER_DNS",
    "ORDER_POLICY",
    "ORDER_ROUTING",
    "ORDER_ADVICE",
    "dig",
]

#: Record types a step may ask to publish in DNS.
DNS_TYPES = ("TXT", "CNAME", "MX")
#: Every value ``rtype`` may take.
KINDS = (*DNS_TYPES, "setting", "provider", "advice")

#: Mail cannot be fetched or sent at all until this is fixed (connection settings).
ORDER_CONNECTION = 10
#: A DNS record receivers or the provider read (SPF, DKIM, MX).
ORDER_DNS = 20
#: A policy to tighten once the records above are in place (DMARC p=quarantine).
ORDER_POLICY = 30
#: Where incoming mail is filed (the catch-all header, the mail server that writes it).
ORDER_ROUTING = 40
#: What people should do differently (message sizes).
ORDER_ADVICE = 50


def dig(host: str, rtype: str = "TXT") -> str:
    """The ``dig`` command that shows what ``host`` publishes for ``rtype``."""
    return f"dig +short {rtype} {host}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FixStep:
    """One change to make (see the module docstring for every field)."""

    host: str
    rtype: str
    new: str
    current: str = ""
    why: str = ""
    verify: str = ""
    action: str = ""
    label: str = ""
    resolves: tuple[tuple[str, str], ...] = ()
    severity: Severity = Severity.WARNING
    order: int = ORDER_DNS
    evidence: tuple[tuple[str, str], ...] = ()
    messages: tuple[MessageRef, ...] = ()
    detail: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        if self.rtype not in KINDS:
            raise ValueError(f"FixStep.rtype {self.rtype!r}: expected one of {', '.join(KINDS)}")

    @property
    def checks(self) -> tuple[str, ...]:
        """The check ids this step resolves, each once, in order."""
        return tuple(dict.fromkeys(c for c, _s in self.resolves))

    @property
    def check(self) -> str:
        """The first check id this step resolves (empty when none is named)."""
        return self.resolves[0][0] if self.resolves else ""

    @property
    def is_dns(self) -> bool:
        """True for a DNS record to publish."""
        return self.rtype in DNS_TYPES

    @property
    def where(self) -> str:
        """Where the change is made, in words (``DNS: TXT record at example.com``, a field name, ...)."""
        if self.is_dns:
            return f"DNS: {self.rtype} record at {self.host}" + (f" ({self.label})" if self.label else "")
        if self.rtype == "setting":
            return self.label or f"tenant setting {self.host}"
        return self.label or self.host

    @property
    def title(self) -> str:
        """What to do, in one imperative line (``action``, or one made from where and what)."""
        if self.action:
            return self.action
        if self.is_dns:
            return (
                f"Change the {self.rtype} record at {self.host}"
                if self.current
                else f"Publish a {self.rtype} record at {self.host}"
            )
        if self.rtype == "setting":
            return f"Change {self.label or self.host}"
        return f"{(self.label or self.host)[:1].upper()}{(self.label or self.host)[1:]}: {self.new}"

    def describe(self) -> str:
        """One line: ``host TYPE new`` for a record, ``set host = new`` for a setting."""
        if self.rtype == "setting":
            return f"set {self.host} = {self.new}" + (f" (now {self.current})" if self.current else "")
        if self.is_dns:
            now = f" (now: {self.current})" if self.current else " (nothing published now)"
            return f"{self.host} {self.rtype} {self.new}{now}"
        return f"{self.where}: {self.new}"

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """Plain data (JSON, CSV rows, the fix report); :meth:`from_dict` reads it back.

        ``compact`` (the audit's state file) leaves out what is derived (``where``, ``check``,
        ``checks``) and every empty value.
        """
        rest = {
            "severity": str(self.severity),
            "order": self.order,
            "host": self.host,
            "type": self.rtype,
            "label": self.label,
            "current": self.current,
            "new": self.new,
            "why": self.why,
            "verify": self.verify,
            "resolves": [list(pair) for pair in self.resolves],
            "evidence": [list(pair) for pair in self.evidence],
            "messages": [m.to_dict() for m in self.messages],
            "detail": self.detail,
            "path": self.path,
        }
        if compact:  # a line per step in the state file: the derived values are not worked out
            return {k: v for k, v in {"action": self.action, **rest}.items() if v not in ("", [])}
        return {"action": self.title, "where": self.where, "check": self.check, "checks": list(self.checks), **rest}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FixStep:
        """Rebuild a step from :meth:`to_dict` output (an older line without some keys reads too)."""
        resolves = tuple((str(c), str(s)) for c, s in d.get("resolves", ()))
        if not resolves and d.get("check"):
            resolves = ((str(d["check"]), ""),)
        step = cls(
            host=str(d["host"]),
            rtype=str(d["type"]),
            new=str(d.get("new", "")),
            current=str(d.get("current", "")),
            why=str(d.get("why", "")),
            verify=str(d.get("verify", "")),
            label=str(d.get("label", "")),
            resolves=resolves,
            severity=Severity.parse(str(d.get("severity", "warning"))),
            order=int(d.get("order", ORDER_DNS)),
            evidence=tuple((str(k), str(v)) for k, v in d.get("evidence", ())),
            messages=tuple(MessageRef.from_dict(m) for m in d.get("messages", ())),
            detail=str(d.get("detail", "")),
            path=str(d.get("path", "")),
        )
        action = str(d.get("action", ""))  # the full form writes the title made from where and what
        return replace(step, action=action) if action and action != step.title else step
