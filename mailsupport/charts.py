"""The house style of the kit's matplotlib charts, in one place.

:func:`finish_axes` labels both axes, puts whole-number ticks on a count axis and places the
legend beside the plot (never over the data); :func:`top_of` words a title that shows only
part of its data ("top 20 of 31 checks"). Used by :mod:`mailsupport.samples.plots` and the
report's figure; matplotlib is imported inside the functions (``import mailsupport`` stays light).

Layer 5 (presentation): imports nothing of the package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["finish_axes", "top_of"]


def top_of(shown: int, total: int, what: str) -> str:
    """``"6 messages"``, or ``"top 40 of 55 messages"`` when only part of them is drawn."""
    return f"{total} {what}" if shown >= total else f"top {shown} of {total} {what}"


def finish_axes(
    ax: Any,
    *,
    xlabel: str,
    ylabel: str,
    count_axis: str | None = None,
    legend: bool = True,
    handles: list[Any] | None = None,
) -> None:
    """Label both axes, put whole-number ticks on the ``count_axis`` (``"x"``/``"y"``) and
    place the legend (of the labelled artists, or ``handles``) outside the plot area, to the
    right, so it never covers data."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if count_axis is not None:
        getattr(ax, f"{count_axis}axis").set_major_locator(MaxNLocator(integer=True))
    if legend:
        extra = {"handles": handles} if handles is not None else {}
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, frameon=False, **extra)
