"""The report's charts read without guessing (issue 12): a unit with the value 0 has a visible,
marked bar; the value axis's unit is written horizontally above the axis; a legend never covers
a bar. Checked on the matplotlib figures the PNGs are drawn from."""

from __future__ import annotations

import builders
import pytest

from junheng.engine.evaluate import evaluate_dataset
from junheng.reports import charts
from junheng.reports.county import build_county_report


def zero_backbone_result():
    """Two primary schools without any backbone teacher (R2 = 0)."""
    years = [builders.school_year(i, t, **({"backbone_teachers_primary": 0} if i in ("P1", "P2") else {}))
             for i, t in builders.default_schools()]
    return evaluate_dataset(builders.dataset(school_years=years))[0]


def bars(ax):
    return [p for p in ax.patches if p.get_gid() != "zero"]


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_a_unit_with_the_value_zero_gets_a_visible_marked_bar():
    result = zero_backbone_result()
    assert charts.zero_value_units(result, "R2") == 2
    fig = charts.indicator_distribution_figure(result, "R2")
    primary = fig.axes[0]
    stubs = [p for p in primary.patches if p.get_gid() == "zero"]
    assert len(stubs) == 2
    top = primary.get_ylim()[1]
    for stub in stubs:
        assert stub.get_height() >= 0.02 * top  # visible, not a bar of height 0
        assert stub.get_hatch() and stub.get_edgecolor()[:3] != (1.0, 1.0, 1.0)
    labels = [t for t in primary.texts if t.get_gid() == "zero-label"]
    assert [t.get_text() for t in labels] == ["0"]
    legend = [t.get_text() for t in primary.get_legend().get_texts()]
    assert "数值为0(2个)" in legend
    # and the figure note says what the hatched bars are
    document = build_county_report(result, None)
    notes = [b.note for b in document.blocks if getattr(b, "title", "").startswith("R2 ") and hasattr(b, "png")]
    assert notes and "数值为0的单位(2个)" in notes[0]


def test_without_zero_values_there_is_no_zero_marker():
    result = evaluate_dataset(builders.dataset())[0]
    fig = charts.indicator_distribution_figure(result, "R2")
    assert not [p for ax in fig.axes for p in ax.patches if p.get_gid() == "zero"]


@pytest.mark.parametrize("make", ["distribution", "cv", "schedule"])
def test_the_unit_of_the_value_axis_is_horizontal_above_the_axis(make):
    result = zero_backbone_result()
    fig = {"distribution": lambda: charts.indicator_distribution_figure(result, "R2"),
           "cv": lambda: charts.cv_figure(result),
           "schedule": lambda: charts.city_schedule_figure([("甲县", 2026, None, "fail"), ("乙县", 2027, None, "pass")]),
           }[make]()
    fig.canvas.draw()
    for ax in fig.axes:
        label = ax.yaxis.label
        assert label.get_text() and label.get_rotation() == 0
        box, frame = label.get_window_extent(), ax.get_window_extent()
        assert box.y0 >= frame.y1 - 1  # above the plot area, not beside it


def legend_clear_of_bars(fig) -> None:
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert bars(ax)
    for patch in bars(ax):
        assert not overlaps(legend, patch.get_window_extent()), patch


def test_the_city_summary_legend_does_not_cover_a_bar():
    # the last county (drawn at the bottom, where the legend used to sit) has every indicator met
    rows = [(f"县{k}", 20 + k, 32, "fail") for k in range(5)] + [("全达县", 32, 32, "pass")]
    legend_clear_of_bars(charts.city_indicator_figure(rows))
    legend_clear_of_bars(charts.city_schedule_figure(
        [(f"县{k}", 2026 + k % 2, None, "fail" if k % 3 else "pass") for k in range(9)]))


def test_the_cv_chart_legend_does_not_cover_a_bar():
    legend_clear_of_bars(charts.cv_figure(zero_backbone_result()))
