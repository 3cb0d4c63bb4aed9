"""The three sample charts draw from the bundled samples and return figures."""

from __future__ import annotations

from mailsupport.config import Provider
from mailsupport.diagnose.catchall import diagnose_catch_all
from mailsupport.diagnose.consolidation import diagnose_consolidation
from mailsupport.samples import scan
from mailsupport.samples.generate import demo_tenant
from mailsupport.samples.plots import plot_copies_per_message, plot_header_coverage, plot_size_histogram
from mailsupport.sizes import limits_for

from .conftest import SAMPLES


def test_header_coverage_marks_the_recommended_header(tenant):
    """Six bars, the recommended one starred."""
    fig = plot_header_coverage(diagnose_catch_all(scan(SAMPLES / "catchall-postfix.mbox"), tenant))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 6 and "X-Original-To ★" in labels


def test_copies_per_message_colours_lost_copies_red():
    """Messages with fewer copies than addresses are red."""
    diag = diagnose_consolidation(scan(SAMPLES / "gmail-takeout-consolidated.mbox"), demo_tenant(Provider.GMAIL))
    fig = plot_copies_per_message(diag.report)
    reds = [p for p in fig.axes[0].patches if p.get_facecolor()[:3] == (0xc0 / 255, 0x39 / 255, 0x2b / 255)]
    assert len(reds) == 3


def test_size_histogram_draws_each_limit():
    """One line for the advice plus one per limit."""
    fig = plot_size_histogram(scan(SAMPLES / "sizes-mixed.mbox"), limits_for("gmail"))
    assert len(fig.axes[0].get_lines()) == 1 + 2
