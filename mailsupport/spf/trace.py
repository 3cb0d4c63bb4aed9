"""The SPF evaluation trace: a tree of records and terms that says why a verdict came out.

A :class:`RecordTrace` is one SPF record (the domain, the TXT query that found it, the
record text, its terms, its result and what decided it). Each :class:`TermTrace` holds
the DNS queries the term made (:class:`QueryTrace`: question, outcome, records), its cost
against the RFC 7208 §4.6.4 budget of 10 lookups, the running total after it, whether
its lookup was *void*, whether it matched, and — for ``include``/``redirect`` — the child
record. When a limit is exceeded the evaluation stops (permerror) but the rest of the tree
is still expanded with ``evaluated=False`` nodes, and the term that went over has
``over_limit=True``.

Pure data: imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["QueryTrace", "TermTrace", "RecordTrace"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryTrace:
    """One DNS question and its outcome: ``answer``, ``nxdomain``, ``nodata``,
    ``temperror`` or ``invalid`` (a name that cannot be queried); ``records`` as text."""

    name: str
    rdtype: str
    outcome: str
    records: tuple[str, ...] = ()

    def describe(self) -> str:
        """``name TYPE -> answer`` in one line."""
        if self.outcome == "answer":
            shown = "; ".join(self.records)
        else:
            shown = self.outcome.upper() + (f" ({self.records[0]})" if self.records else "")
        return f"{self.name} {self.rdtype} -> {shown}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TermTrace:
    """One term of a record as evaluated (or, with ``evaluated=False``, only expanded).

    ``outcome`` is ``match``, ``no match``, ``error`` or ``not evaluated``; ``result`` the
    verdict this term produced when it decided the record; ``note`` explains (e.g. "include
    result fail: no match").
    """

    term: str
    cost: int = 0
    lookups: int = 0
    void: bool = False
    queries: tuple[QueryTrace, ...] = ()
    outcome: str = ""
    result: str | None = None
    note: str = ""
    over_limit: bool = False
    evaluated: bool = True
    child: RecordTrace | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordTrace:
    """One SPF record in the tree (see module docstring)."""

    domain: str
    record: str | None
    query: QueryTrace | None
    terms: tuple[TermTrace, ...] = ()
    result: str = ""
    decided_by: str = ""
    error: str = ""
    evaluated: bool = True

    def walk(self, depth: int = 0) -> Iterator[tuple[int, RecordTrace | TermTrace]]:
        """Depth-first ``(depth, node)`` pairs: this record, its terms, their children."""
        yield depth, self
        for term in self.terms:
            yield depth + 1, term
            if term.child is not None:
                yield from term.child.walk(depth + 2)

    @property
    def total_cost(self) -> int:
        """Lookups charged in this subtree (the record's own TXT lookup is charged to the
        include/redirect that led here, as §4.6.4 counts)."""
        return sum(t.cost + (t.child.total_cost if t.child else 0) for t in self.terms)

    @property
    def void_count(self) -> int:
        """Void lookups in this subtree."""
        return sum(int(t.void) + (t.child.void_count if t.child else 0) for t in self.terms)

    def over_limit_path(self) -> tuple[str, ...]:
        """The chain of terms from here to the one that went over the limit (empty if none)."""
        for term in self.terms:
            if term.over_limit:
                return (term.term,)
            if term.child is not None:
                sub = term.child.over_limit_path()
                if sub:
                    return (term.term, *sub)
        return ()
