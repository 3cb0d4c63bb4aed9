"""Frozen value types shared by every layer: :class:`Secret`, :class:`Severity`, :class:`Finding`.

One ``Finding`` shape serves every diagnosis, so a batch audit is the union of findings
and a table is one call away (:func:`findings_to_rows`).

This module imports only the standard library.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = ["Secret", "Severity", "Finding", "findings_to_rows", "FINDING_COLUMNS"]


class Secret:
    """A password or token that prints as ``***`` everywhere.

    ``str()``, ``repr()``, ``format()`` and pickling-by-repr all show ``***``; the value is
    only available through :meth:`reveal`, which the network clients call at the moment
    they send it. Equality compares values so configs can be diffed without revealing them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: Any) -> None:  # immutable
        raise AttributeError("Secret is immutable")

    def reveal(self) -> str:
        """Return the real value: only for the code that sends it to a server."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # never pickle the value by accident
        raise TypeError("Secret values are not picklable")


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so ``--fail-on`` can compare."""

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        """Parse ``info|warning|error|critical`` (any case)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r}: expected one of info, warning, error, critical"
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One diagnosed problem (or notable fact) about a customer's set-up.

    ``check`` is a stable id (``spf.vendor-include-missing``); ``subject`` says what it is
    about (a domain, a message, a mailbox); ``summary`` is one sentence; ``detail`` may be
    longer; ``remedy`` says what to do; ``reference`` is an RFC section or help-page anchor;
    ``evidence`` is a tuple of ``(label, value)`` pairs that show why.
    """

    check: str
    severity: Severity
    subject: str
    summary: str
    remedy: str = ""
    detail: str = ""
    reference: str = ""
    evidence: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (severity as its lower-case name)."""
        return {
            "check": self.check,
            "severity": str(self.severity),
            "subject": self.subject,
            "summary": self.summary,
            "detail": self.detail,
            "remedy": self.remedy,
            "reference": self.reference,
            "evidence": [list(pair) for pair in self.evidence],
        }


FINDING_COLUMNS = ("check", "severity", "subject", "summary", "detail", "remedy", "reference")


def findings_to_rows(findings: Iterable[Finding], **extra: str) -> list[Mapping[str, str]]:
    """Flatten findings into rows of strings (for CSV or a DataFrame), with ``extra`` columns first."""
    rows = []
    for f in findings:
        row = dict(extra)
        d = f.to_dict()
        for col in FINDING_COLUMNS:
            row[col] = d[col]
        row["evidence"] = "; ".join(f"{k}={v}" for k, v in f.evidence)
        rows.append(row)
    return rows
