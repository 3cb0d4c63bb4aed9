"""Fix steps as data: each record to publish (or setting to change), for reports to include.

A :class:`FixStep` names the DNS owner (``host``), the record type (``TXT``, ``CNAME``, or
``setting`` for a tenant setting of the product), what is there now (``current``, empty
when nothing), what to publish (``new``), why, and how to check it afterwards (a command a
support engineer can run). Every DMARC/DKIM finding that has a fix carries its steps
(:attr:`mailsupport.dmarc.DmarcCheck.fixes`); ``to_dict`` gives the JSON shape the fix
report and ``mailsupport dmarc --format json`` use.

The builders here are pure text: a starting DMARC record (``p=none`` with ``rua``, §6.4),
a record repaired from a broken one (the tags that parse kept), and the next policy step.
Pure (layer 2): imports the record parser only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .record import DmarcSyntaxError, parse_dmarc

__all__ = ["FixStep", "starting_record", "repair_record", "stricter_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FixStep:
    """One change to make: ``rtype`` record at ``host`` from ``current`` to ``new`` (see module docstring).

    ``check`` is the finding id it fixes; ``path`` the sending path it concerns (empty: any).
    """

    check: str
    host: str
    rtype: str
    current: str
    new: str
    why: str
    verify: str = ""
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON, CSV rows, the fix report)."""
        return {"check": self.check, "host": self.host, "type": self.rtype, "current": self.current,
                "new": self.new, "why": self.why, "verify": self.verify, "path": self.path}

    def describe(self) -> str:
        """One line: ``host TYPE new`` (or a setting change)."""
        if self.rtype == "setting":
            return f"set {self.host} = {self.new}" + (f" (now {self.current})" if self.current else "")
        now = f" (now: {self.current})" if self.current else " (nothing published now)"
        return f"{self.host} {self.rtype} {self.new}{now}"


def starting_record(report_address: str) -> str:
    """The record to start with: monitor only, aggregate reports to ``report_address``."""
    return f"v=DMARC1; p=none; rua=mailto:{report_address}"


def repair_record(text: str, report_address: str) -> str:
    """``text`` with the tags that break it dropped (a valid ``p`` kept, else ``p=none``)."""
    chunks = [c.strip() for c in text.split(";") if c.strip()]
    pairs = [(c.partition("=")[0].strip().lower(), c.partition("=")[2].strip()) for c in chunks]
    policy = next((v.lower() for n, v in pairs if n == "p" and v.lower() in ("none", "quarantine", "reject")),
                  "none")
    kept = ["v=DMARC1", f"p={policy}"]
    seen = {"v", "p"}
    for name, value in pairs:
        if name in seen or not name:
            continue
        candidate = "; ".join(kept + [f"{name}={value}"])
        try:
            parse_dmarc(candidate)
        except DmarcSyntaxError:
            continue
        kept.append(f"{name}={value}")
        seen.add(name)
    if "rua" not in seen:
        kept.append(f"rua=mailto:{report_address}")
    return "; ".join(kept)


def stricter_record(text: str) -> str:
    """The next policy step for a monitoring record: ``p=quarantine`` (other tags kept)."""
    return parse_dmarc(text).with_tags(p="quarantine")
