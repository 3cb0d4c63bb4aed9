"""Routing decisions as rows, as a table that shows everything, and as a pandas table.

Owns :func:`decision_rows` (plain dicts, no pandas), :func:`decisions_table` (a
:class:`~mailsupport.display.Table`: every reason whole, each trace an expandable list of
the router's steps) and :func:`decisions_frame` (imports pandas inside the function so
``import mailsupport`` stays fast). Reads the store only; must not import the clients, the
sandbox or the CLI.
"""

from __future__ import annotations

from typing import Any

from ..display import Table
from ..store import Store

__all__ = ["DECISION_COLUMNS", "decision_rows", "decisions_table", "decisions_frame"]

DECISION_COLUMNS = ("message", "source", "uidl", "kind", "target", "reason", "trace")


def decision_rows(store: Store) -> list[dict[str, Any]]:
    """One row per stored message: kind, target, reason, and the trace joined by `` | ``."""
    rows = []
    for d in store.decisions():
        trace = d["trace"]
        steps = trace.get("trace", []) if isinstance(trace, dict) else trace
        rows.append(
            {
                "message": d["message"],
                "source": d["source"],
                "uidl": d["uidl"] or "",
                "kind": d["kind"],
                "target": d["target"],
                "reason": d["reason"],
                "trace": " | ".join(str(s) for s in steps),
            }
        )
    return rows


def decisions_table(store: Store, *, title: str = "Routing decisions") -> Table:
    """One row per stored message (message, source, kind, target, reason, trace); the trace is
    the router's steps, drawn as a closed, numbered list."""
    rows = []
    for d in store.decisions():
        trace = d["trace"]
        steps = trace.get("trace", []) if isinstance(trace, dict) else trace
        rows.append(
            (d["message"], d["source"], d["kind"], d["target"], d["reason"], tuple(str(s) for s in steps or ()))
        )
    return Table(
        columns=("message", "source", "kind", "target", "reason", "trace"),
        rows=tuple(rows),
        title=title,
        expand=(("trace", "steps"),),
    )


def decisions_frame(store: Store):
    """The routing decisions as a :class:`pandas.DataFrame` (columns :data:`DECISION_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame(decision_rows(store), columns=list(DECISION_COLUMNS))
