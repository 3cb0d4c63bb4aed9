"""The replay's chart: where the copies went with the current settings and with the change.

:func:`plot_replay` draws one stacked bar per pass (``before``, ``after``), a segment per kind
(matter, alias, user, reply, failed, and the copies the pipeline never saw: refused, not kept,
filed elsewhere, not fetched), in the house style of :mod:`mailsupport.charts` (both axes
labelled, counts on whole ticks, the legend beside the plot). Returns a
:class:`matplotlib.figure.Figure` built without pyplot; matplotlib is imported inside.

Layer 5 (presentation): takes a :class:`~mailsupport.replay.result.ReplayResult`; must not
import clients or the sandbox.
"""

from __future__ import annotations

from typing import Any

from ..charts import finish_axes
from .result import OTHER_KINDS, ROUTED_KINDS

__all__ = ["plot_replay", "KIND_COLOURS"]

#: Colour of each kind: real targets in greens, failed red, what the pipeline never saw in greys.
KIND_COLOURS = {
    "matter": "#2f7d3b",
    "alias": "#4fa35d",
    "user": "#87c58f",
    "reply": "#b9dfbe",
    "failed": "#c0392b",
    "refused": "#7f7f7f",
    "not-kept": "#a6a6a6",
    "elsewhere": "#c8c8c8",
    "not-fetched": "#e0a030",
}


def plot_replay(result: Any) -> Any:
    """Stacked horizontal bars of ``result``'s two passes by kind, each bar labelled with its settings."""
    from matplotlib.figure import Figure

    passes = (result.before, result.after)
    fig = Figure(figsize=(9, 2.8), layout="constrained")
    ax = fig.subplots()
    left = [0, 0]
    for kind in ROUTED_KINDS + OTHER_KINDS:
        values = [p.count(kind) for p in passes]
        if not any(values):
            continue
        ax.barh([0, 1], values, left=left, color=KIND_COLOURS[kind], label=kind)
        left = [a + b for a, b in zip(left, values)]
    labels = [f"{p.name}: {p.label()}" for p in passes]
    ax.set_yticks([0, 1], [label if len(label) <= 48 else label[:47] + "…" for label in labels])
    for label in ax.get_yticklabels():
        label.set_parse_math(False)  # customer text (header names, addresses) is drawn as is
    ax.invert_yaxis()
    ax.set_xlim(0, max(left + [1]))
    ax.set_title(f"Where {max(left)} cop{'y' if max(left) == 1 else 'ies'} went, before and after the change")
    finish_axes(ax, xlabel="copies", ylabel="pass", count_axis="x")
    return fig
