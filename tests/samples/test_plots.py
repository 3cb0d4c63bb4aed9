"""The three sample charts: drawn from the bundled samples, in units people read, nothing hidden."""

from __future__ import annotations

import pytest

from mailsupport.config import Provider
from mailsupport.consolidation import ConsolidationReport
from mailsupport.diagnose.catchall import diagnose_catch_all
from mailsupport.diagnose.consolidation import diagnose_consolidation
from mailsupport.samples import scan, summarize
from mailsupport.samples.generate import demo_tenant, padded_message
from mailsupport.samples.plots import plot_copies_per_message, plot_header_coverage, plot_size_histogram
from mailsupport.sizes import MIB, RECOMMENDED_SIZE, limits_for

from .conftest import SAMPLES

pytest.importorskip("matplotlib")


def _drawn(fig):
    """Lay the figure out for real (Agg), so ticks and legend positions are final."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig


def _legend_beside_plot(ax) -> bool:
    """The legend's box starts right of the plot area: it covers no data."""
    legend = ax.get_legend()
    return legend is not None and legend.get_window_extent().x0 >= ax.get_window_extent().x1


def _whole(ticks) -> bool:
    return all(float(t).is_integer() for t in ticks)


@pytest.fixture(scope="module")
def gmail_sample():
    """The Takeout-style sample and its consolidation diagnosis."""
    summaries = list(scan(SAMPLES / "gmail-takeout-consolidated.mbox"))
    return summaries, diagnose_consolidation(summaries, demo_tenant(Provider.GMAIL))


def test_header_coverage_marks_the_recommended_header(tenant):
    """Six bars, the recommended one starred; whole message counts; both axes labelled; legend beside the plot."""
    fig = _drawn(plot_header_coverage(diagnose_catch_all(scan(SAMPLES / "catchall-postfix.mbox"), tenant)))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 6 and "X-Original-To ★" in labels
    assert ax.get_xlabel() == "messages" and ax.get_ylabel() == "envelope-recipient header"
    assert _whole(ax.get_xticks())
    assert _legend_beside_plot(ax)


def test_copies_per_message_colours_lost_copies_red(gmail_sample):
    """Messages with fewer copies than addresses are red."""
    _summaries, diag = gmail_sample
    fig = plot_copies_per_message(diag.report)
    reds = [p for p in fig.axes[0].patches if p.get_facecolor()[:3] == (0xC0 / 255, 0x39 / 255, 0x2B / 255)]
    assert len(reds) == 3


def test_copies_per_message_labels_messages_by_subject(gmail_sample):
    """Given the sample, each row is the message's subject, not its Message-ID; counts on whole ticks."""
    summaries, diag = gmail_sample
    fig = _drawn(plot_copies_per_message(diag.report, summaries))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == {s.subject for s in summaries if s.message_id}
    assert not [label for label in labels if "@" in label]
    assert _whole(ax.get_xticks()) and ax.get_xlabel() and ax.get_ylabel() == "message (subject)"
    assert _legend_beside_plot(ax)
    assert fig.axes[0].get_title().startswith("Copies per message: 6 messages")


def test_copies_per_message_says_top_n_of_m_when_cut(gmail_sample):
    """Drawing fewer messages than there are says so in the title."""
    summaries, diag = gmail_sample
    fig = plot_copies_per_message(diag.report, summaries, limit=2)
    assert len(fig.axes[0].get_yticklabels()) == 2
    assert "top 2 of 6 messages" in fig.axes[0].get_title()


def test_copies_per_message_keeps_repeated_and_hostile_subjects_apart():
    """Two messages with one subject are two labelled rows; '$' in a subject is not drawn as mathtext."""
    report = ConsolidationReport(messages=2, cases=(), copies_per_message=(("<a@x>", 1, 2), ("<b@x>", 1, 1)))
    fig = _drawn(plot_copies_per_message(report, {"<a@x>": "Costs $x^2$", "<b@x>": "Costs $x^2$"}))
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == ["Costs $x^2$", "Costs $x^2$ (2)"]
    assert not any(t.get_parse_math() for t in labels)


def test_size_histogram_draws_each_limit_where_it_falls_in_mib():
    """The 10 MB advice is drawn at 9.54 MiB and says so; each limit at its MiB value; counts are whole."""
    summaries = list(scan(SAMPLES / "sizes-mixed.mbox")) + [
        summarize(padded_message(12_000_000), source="s", position="12MB")
    ]
    limits = limits_for("gmail")
    fig = _drawn(plot_size_histogram(summaries, limits))
    ax = fig.axes[0]
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
    assert lines.pop("10 MB advice = 9.54 MiB") == pytest.approx(RECOMMENDED_SIZE / MIB)
    assert lines == {p.label: pytest.approx(p.limit / MIB) for p in limits}
    assert ax.get_xlabel() == "encoded size (MiB)" and ax.get_ylabel() == "messages"
    assert _whole(ax.get_yticks())
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > max(p.limit for p in limits) / MIB
    assert sum(p.get_height() for p in ax.patches) == len(summaries)  # every message is in a bin
    assert _legend_beside_plot(ax)
