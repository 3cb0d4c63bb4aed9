"""Charts for the mailbox-sample diagnoses: header coverage, copies per Message-ID, size histogram.

Each function returns a :class:`matplotlib.figure.Figure` (built without pyplot, so no global
state); matplotlib is imported inside the functions so ``import mailsupport`` stays light.

Layer 5 (presentation): takes the diagnoses' results; must not import clients or the sandbox.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["plot_header_coverage", "plot_copies_per_message", "plot_size_histogram"]

_COLOURS = {"real_target": "#3a8c4a", "mailbox": "#e0a030", "failed": "#c0392b", "missing": "#b0b0b0"}


def plot_header_coverage(report: Any) -> Any:
    """Stacked bars per candidate header: messages it routes to a real target, the mailbox, failed, missing.

    ``report`` is a :class:`~mailsupport.diagnose.catchall.CatchAllReport`; the recommended
    header is marked with a star and sender-written copies are written next to each bar.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.8), layout="constrained")
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
            ax.text(left[i], i, f"  {r.sender_written} sender-written", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("messages")
    ax.set_title(f"Where each catch-all header would file {report.total} messages")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_copies_per_message(report: Any, *, limit: int = 40) -> Any:
    """Copies that arrived vs catch-all addresses named, per Message-ID (``ConsolidationReport``).

    Messages that lost copies are drawn red; at most ``limit`` messages are shown, those with
    the biggest shortfall first.
    """
    from matplotlib.figure import Figure

    items = sorted(report.copies_per_message, key=lambda t: (t[1] - t[2], t[0]))[:limit]
    fig = Figure(figsize=(8, max(2.5, 0.3 * len(items) + 1)), layout="constrained")
    ax = fig.subplots()
    ys = range(len(items))
    ax.barh([y + 0.2 for y in ys], [t[2] for t in items], height=0.4, color="#b0b0b0",
            label="tenant addresses in To/Cc")
    ax.barh([y - 0.2 for y in ys], [t[1] for t in items], height=0.4,
            color=["#c0392b" if t[1] < t[2] else "#3a8c4a" for t in items], label="copies in the mailbox")
    ax.set_yticks(list(ys), [t[0][:40] for t in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("count")
    ax.set_title("Copies per Message-ID")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_size_histogram(summaries: Iterable[Any], limits: Iterable[Any] = (), *, bins: int = 30) -> Any:
    """Histogram of encoded sizes (MiB) with the 10 MB advice and each limit drawn as a line.

    ``summaries`` are :class:`~mailsupport.headers.MessageSummary` (or anything with
    ``encoded_size``); ``limits`` are :class:`~mailsupport.sizes.ProviderLimit` (default: all
    documented ones).
    """
    from matplotlib.figure import Figure

    from ..sizes import MIB, PROVIDER_LIMITS, RECOMMENDED_SIZE

    sizes = [s.encoded_size / MIB for s in summaries]
    limits = list(limits) or list(PROVIDER_LIMITS)
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.hist(sizes, bins=bins, color="#4a7ab5")
    ax.axvline(RECOMMENDED_SIZE / MIB, color="#3a8c4a", linestyle="--", label="10 MB advice")
    for i, p in enumerate(sorted(limits, key=lambda p: p.limit)):
        ax.axvline(p.limit / MIB, color=f"C{(i + 1) % 10}", linestyle=":", label=p.label)
    ax.set_xlabel("encoded size (MiB)")
    ax.set_ylabel("messages")
    ax.set_title(f"Sizes of {len(sizes)} messages")
    ax.legend(fontsize=7, loc="upper right")
    return fig
