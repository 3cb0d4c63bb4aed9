"""The charts' house style on the audit report's figure: labelled axes, whole counts, "top N of M", red where it hurts."""

from __future__ import annotations

import pytest

from mailsupport import report
from mailsupport.audit.result import TenantResult
from mailsupport.charts import top_of
from mailsupport.model import Finding, Severity

pytest.importorskip("matplotlib")

RED = (0xD9 / 255, 0x53 / 255, 0x4F / 255)


def _results(checks: int) -> list[TenantResult]:
    findings = tuple(
        Finding(
            check=f"demo.check-{i:02d}", severity=Severity.ERROR if i % 3 else Severity.INFO, subject="x", summary="s"
        )
        for i in range(checks)
    )
    return [
        TenantResult(
            tenant="smithlaw",
            provider="gmail",
            findings=findings,
            spf_lookups=(("smithlaw.example", 4), ("too-many.example", 13)),
        )
    ]


def _figure(results):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = report.plot_report(results)
    FigureCanvasAgg(fig).draw()
    return fig


@pytest.mark.parametrize(
    "shown,total,expected",
    [
        (6, 6, "6 messages"),
        (40, 55, "top 40 of 55 messages"),
        (50, 6, "6 messages"),
    ],
    ids=["all", "cut", "fewer-than-limit"],
)
def test_top_of_says_when_a_chart_is_cut(shown, total, expected):
    """The title wording names the cut only when there is one."""
    assert top_of(shown, total, "messages") == expected


def test_report_figure_labels_axes_and_counts_in_whole_numbers():
    """Each of the four charts has both axis labels and whole-number count ticks."""
    fig = _figure(_results(5))
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
        assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_title()
    assert fig.axes[0].get_title() == "Findings by check (5 checks)"


def test_report_figure_says_top_20_of_m_checks():
    """More than 20 check ids: the chart draws 20 and its title says how many there were."""
    fig = _figure(_results(31))
    assert fig.axes[0].get_title() == "Findings by check (top 20 of 31 checks)"
    assert len(fig.axes[0].get_yticklabels()) == 20


def test_report_figure_draws_errors_and_the_spf_overflow_red():
    """Error/critical severities and the '11+' lookups bucket are red, the rest blue."""
    fig = _figure(_results(5))
    severity, spf = fig.axes[1], fig.axes[2]
    red_severities = [
        t.get_text() for t, p in zip(severity.get_yticklabels(), severity.patches) if p.get_facecolor()[:3] == RED
    ]
    assert red_severities == ["critical", "error"]
    red_buckets = [t.get_text() for t, p in zip(spf.get_yticklabels(), spf.patches) if p.get_facecolor()[:3] == RED]
    assert red_buckets == ["11+"]
