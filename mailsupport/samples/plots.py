"""Charts for the mailbox-sample diagnoses: header coverage, copies per message, size histogram.

Each function returns a :class:`matplotlib.figure.Figure` (built without pyplot, so no global
state); matplotlib is imported inside the functions so ``import mailsupport`` stays light.
The charts follow the house style of :mod:`mailsupport.charts`: both axes labelled, counts on
whole ticks, the legend beside the plot rather than over the data, sizes in MiB (1024 x 1024
bytes), and a title that says "top N of M" when a chart shows only part of its data.
Customer text (subjects, addresses) is drawn without mathtext.

Layer 5 (presentation): takes the diagnoses' results; must not import clients or the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..charts import finish_axes, top_of

__all__ = ["plot_header_coverage", "plot_copies_per_message", "plot_size_histogram"]

_COLOURS = {"real_target": "#3a8c4a", "mailbox": "#e0a030", "failed": "#c0392b", "missing": "#b0b0b0"}
_LOST, _KEPT, _NAMED = "#c0392b", "#3a8c4a", "#b0b0b0"


def _clip(text: str, width: int = 42) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_header_coverage(report: Any) -> Any:
    """Stacked bars per candidate header: messages it routes to a real target, the mailbox, failed, missing.

    ``report`` is a :class:`~mailsupport.diagnose.catchall.CatchAllReport`; the recommended
    header is marked with a star and sender-written copies are written next to each bar.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    rows = list(report.rows)
    labels = [r.header + (" ★" if r.header == report.recommended_header else "") for r in rows]
    left = [0] * len(rows)
    for key, colour in _COLOURS.items():
        values = [getattr(r, key) for r in rows]
        ax.barh(range(len(rows)), values, left=left, color=colour, label=key.replace("_", " "))
        left = [a + b for a, b in zip(left, values)]
    for i, r in enumerate(rows):
        if r.sender_written:
            ax.text(left[i], i, f"  {r.sender_written} sender-written", va="center", fontsize=8, parse_math=False)
    ax.set_xlim(0, max(left + [1]) * (1.3 if any(r.sender_written for r in rows) else 1.0))
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_title(f"Where routing by each header would file {report.total} messages (★ recommended)")
    finish_axes(ax, xlabel="messages", ylabel="envelope-recipient header", count_axis="x")
    return fig


def _subjects(summaries: Iterable[Any] | Mapping[str, str] | None) -> dict[str, str]:
    if summaries is None:
        return {}
    if isinstance(summaries, Mapping):
        return dict(summaries)
    out: dict[str, str] = {}
    for s in summaries:
        if getattr(s, "message_id", "") and s.message_id not in out:
            out[s.message_id] = getattr(s, "subject", "") or ""
    return out


def plot_copies_per_message(
    report: Any, summaries: Iterable[Any] | Mapping[str, str] | None = None, *, limit: int = 40
) -> Any:
    """Copies that arrived vs catch-all addresses named, per message (``ConsolidationReport``).

    Messages are labelled by subject (from ``summaries``, the scanned sample, or a
    ``{message_id: subject}`` mapping; the Message-ID when no subject is known). Messages that
    lost copies are drawn red; at most ``limit`` messages are shown, those with the biggest
    shortfall first, and the title says so.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    subjects = _subjects(summaries)
    everything = list(report.copies_per_message)
    items = sorted(everything, key=lambda t: (t[1] - t[2], t[0]))[:limit]
    labels = [_clip(subjects.get(mid) or mid) for mid, _c, _n in items]
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # two messages with one subject stay two rows
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label} ({seen[label]})"
    fig = Figure(figsize=(9, max(2.5, 0.32 * len(items) + 1.2)), layout="constrained")
    ax = fig.subplots()
    ys = range(len(items))
    ax.barh([y + 0.2 for y in ys], [t[2] for t in items], height=0.4, color=_NAMED)
    ax.barh(
        [y - 0.2 for y in ys], [t[1] for t in items], height=0.4, color=[_LOST if t[1] < t[2] else _KEPT for t in items]
    )
    ax.set_yticks(list(ys), labels, fontsize=8)
    for tick in ax.get_yticklabels():
        tick.set_parse_math(False)
    ax.invert_yaxis()
    ax.set_title(f"Copies per message: {top_of(len(items), len(everything), 'messages')}, biggest shortfall first")
    handles = [
        Patch(color=_NAMED, label="tenant addresses in To/Cc"),
        Patch(color=_KEPT, label="copies in the mailbox (all arrived)"),
        Patch(color=_LOST, label="copies in the mailbox (some lost)"),
    ]
    finish_axes(ax, xlabel="count (addresses, copies)", ylabel="message (subject)", count_axis="x", handles=handles)
    return fig


def plot_size_histogram(summaries: Iterable[Any], limits: Iterable[Any] = (), *, bins: int = 40) -> Any:
    """Histogram of encoded sizes in MiB with the 10 MB advice and each limit drawn where it falls.

    The advice is 10,000,000 bytes, which is 9.54 MiB: the line is drawn there and labelled
    with both numbers. ``summaries`` are :class:`~mailsupport.headers.MessageSummary` (or
    anything with ``encoded_size``); ``limits`` are :class:`~mailsupport.sizes.ProviderLimit`
    (default: all documented ones). The bins start at 0 and reach past the biggest message
    and every line, so bars and lines share one scale.
    """
    from matplotlib.figure import Figure

    from ..sizes import MIB, PROVIDER_LIMITS, RECOMMENDED_SIZE

    sizes = [s.encoded_size / MIB for s in summaries]
    limits = sorted(list(limits) or list(PROVIDER_LIMITS), key=lambda p: p.limit)
    advice = RECOMMENDED_SIZE / MIB
    top = max(sizes + [advice] + [p.limit / MIB for p in limits]) * 1.05
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.hist(sizes, bins=bins, range=(0, top), color="#4a7ab5", label="messages")
    ax.axvline(
        advice,
        color="#3a8c4a",
        linestyle="--",
        linewidth=1.5,
        label=f"{RECOMMENDED_SIZE / 1e6:.0f} MB advice = {advice:.2f} MiB",
    )
    for i, p in enumerate(limits):
        ax.axvline(p.limit / MIB, color=f"C{(i + 1) % 10}", linestyle=":", linewidth=1.5, label=p.label)
    ax.set_xlim(0, top)
    ax.set_title(f"Encoded sizes of {len(sizes)} messages against the advice and the limits")
    finish_axes(ax, xlabel="encoded size (MiB)", ylabel="messages", count_axis="y")
    return fig
