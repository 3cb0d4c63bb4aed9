"""The DMARC records a fix step publishes: pure text builders.

A starting DMARC record (``p=none`` with ``rua``, §6.4), a record repaired from a broken one
(the tags that parse kept), and the next policy step. The steps themselves are the kit's one
fix-step type, :class:`mailsupport.fixes.FixStep` (re-exported here): each DMARC/DKIM finding
that has a fix carries its steps (:attr:`mailsupport.dmarc.DmarcCheck.fixes`), and ``to_dict``
gives the JSON shape the fix report and ``mailsupport dmarc --format json`` use.
Pure (layer 2): imports the record parser and :mod:`mailsupport.fixes` only.
"""

from __future__ import annotations

from ..fixes import FixStep
from .record import DmarcSyntaxError, parse_dmarc

__all__ = ["FixStep", "starting_record", "repair_record", "stricter_record"]


def starting_record(report_address: str) -> str:
    """The record to start with: monitor only, aggregate reports to ``report_address``."""
    return f"v=DMARC1; p=none; rua=mailto:{report_address}"


def repair_record(text: str, report_address: str) -> str:
    """``text`` with the tags that break it dropped (a valid ``p`` kept, else ``p=none``)."""
    chunks = [c.strip() for c in text.split(";") if c.strip()]
    pairs = [(c.partition("=")[0].strip().lower(), c.partition("=")[2].strip()) for c in chunks]
    policy = next((v.lower() for n, v in pairs if n == "p" and v.lower() in ("none", "quarantine", "reject")), "none")
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
