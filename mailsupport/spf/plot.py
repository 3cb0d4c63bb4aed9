"""A picture of an SPF lookup tree: :func:`plot_lookup_tree` returns a matplotlib ``Figure``.

Each box is one SPF record (domain and the lookups its subtree costs), laid out left to
right by include depth; edges are ``include``/``redirect`` terms. A box is red when a term
in it went over the RFC 7208 §4.6.4 limit of 10 or the record is broken, orange when it
contains void lookups, grey when there is no record.
Imports matplotlib inside the function (presentation layer; ``import mailsupport`` stays fast).
"""

from __future__ import annotations

from typing import Any

from .trace import RecordTrace

__all__ = ["plot_lookup_tree"]


def _layout(node: RecordTrace, depth: int, rows: list[tuple[int, RecordTrace, str]], via: str) -> int:
    index = len(rows)
    rows.append((depth, node, via))
    for term in node.terms:
        if term.child is not None:
            _layout(term.child, depth + 1, rows, term.term)
    return index


def plot_lookup_tree(tree: RecordTrace | None, *, title: str | None = None) -> Any:
    """Draw ``tree`` (an :class:`SpfCheck.tree` or an evaluation trace); returns the Figure."""
    from matplotlib.figure import Figure

    rows: list[tuple[int, RecordTrace, str]] = []
    if tree is not None:
        _layout(tree, 0, rows, "")
    height = max(2.0, 0.45 * len(rows) + 1)
    fig = Figure(figsize=(10, height))
    ax = fig.add_subplot()
    ax.set_axis_off()
    if not rows:
        ax.text(0.5, 0.5, "no SPF record", ha="center", va="center", parse_math=False)
        return fig
    parents: dict[int, int] = {}
    stack: list[tuple[int, int]] = []
    for i, (depth, _node, _via) in enumerate(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[i] = stack[-1][1]
        stack.append((depth, i))
    for i, (depth, node, via) in enumerate(rows):
        y = -i
        if i in parents:
            pd = rows[parents[i]][0]
            ax.plot([pd * 3 + 0.1, pd * 3 + 0.1, depth * 3], [-parents[i] - 0.2, y, y], color="#999", lw=0.8)
        over = any(t.over_limit for t in node.terms)
        void = any(t.void for t in node.terms)
        broken = node.error or not node.record
        colour = "#f4b6b6" if over or node.error else "#ffe0a8" if void else "#eeeeee" if broken else "#d8ecd8"
        cost = node.total_cost + (1 if via else 0)  # the include/redirect that led here counts too
        label = (
            f"{node.domain}  ({node.error or 'no record'})"
            if broken
            else f"{node.domain}  ({cost} lookup{'s' if cost != 1 else ''})"
        )
        # parse_math=False: record text is customer-controlled and may hold "$" (mathtext)
        ax.text(
            depth * 3,
            y,
            label,
            va="center",
            ha="left",
            fontsize=8,
            family="monospace",
            parse_math=False,
            bbox={"boxstyle": "round,pad=0.3", "fc": colour, "ec": "#666"},
        )
    total = tree.total_cost if tree is not None else 0
    ax.set_xlim(-0.5, max(d for d, _n, _v in rows) * 3 + 9)
    ax.set_ylim(-len(rows), 1)
    ax.set_title(
        title or f"SPF lookup tree of {rows[0][1].domain}: {total} lookups (limit 10)", fontsize=10, parse_math=False
    )
    return fig
