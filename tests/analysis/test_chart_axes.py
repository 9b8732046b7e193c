"""Charts that tell the truth: every tick label stands where its value belongs (read back from the
SVG against the data markers), a 0-100 score is drawn on at least SCORE_SPAN points, and the text
of a trend chart is at least 14 CSS px when the chart fills a 360 px phone."""

from __future__ import annotations

import re

import pytest
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from analysis.plots import _RC, SCORE_SPAN, Series, _svg, score_axis, small_multiples_svg, trend_svg
from tests.analysis.chartcheck import axes, tick_problems

TRUST = Series("Trust", ["Oct – Dec\n2025", "Jan – Mar\n2026", "Apr – Jun\n2026", "Jul – Sep\n2026"],
               [56.2, 57.4, 57.1, 60.3], [54.1, 55.2, 55.0, 58.2], [58.3, 59.6, 59.2, 62.4])
SAFETY = Series("Safety", TRUST.x, [62.0, 63.5, 64.1, 66.8], [60.0, 61.5, 62.0, 64.9], [64.0, 65.5, 66.2, 68.7])


@pytest.mark.parametrize("lines", [[TRUST], [SAFETY], [TRUST, SAFETY]], ids=["trust", "safety", "both"])
def test_every_tick_label_stands_where_its_value_belongs(lines):
    svg = trend_svg(lines, title="Scores", desc="d", ylabel="Score (0-100)")
    (plot,) = axes(svg)
    values = [v for s in lines for v in s.y]
    assert len(plot["markers"]) == len(values)
    assert len(plot["yticks"]) >= 3
    assert not tick_problems(plot, values)
    # The x labels are the waves, each under its own markers.
    assert [label for label, _x in plot["xticks"]] == list(TRUST.x)
    for (_label, x), (mx, _my) in zip(plot["xticks"], plot["markers"], strict=False):
        assert abs(x - mx) < 0.5


def test_the_check_finds_labels_rounded_away_from_their_ticks():
    """The old axis: ticks every 0.5 points labeled with whole numbers ("56, 56, 57, 58...")."""
    with rc_context(_RC):
        fig = Figure(figsize=(4.6, 3.2))
        ax = fig.add_subplot()
        ax.plot(range(4), TRUST.y, marker="o")
        ax.yaxis.set_major_locator(MaxNLocator(8))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.0f"))
        svg = _svg(fig, "old", "d")
    (plot,) = axes(svg)
    assert tick_problems(plot, list(TRUST.y))


def test_a_score_axis_spans_at_least_score_span_points_and_holds_every_band():
    for lines in ([TRUST], [SAFETY], [TRUST, SAFETY], [Series("x", ["a"], [97], [95], [99.5])],
                  [Series("x", ["a", "b"], [3, 2], [0.5, 0], [6, 5])]):
        low, high = score_axis(lines)
        assert high - low >= SCORE_SPAN and low >= 0 and high <= 100
        values = [v for s in lines for seq in (s.y, s.low, s.high) for v in seq]
        assert low <= min(values) and max(values) <= high
        (plot,) = axes(trend_svg(lines, title="t", desc="d"))
        labels = [float(label) for label, _y in plot["yticks"]]
        assert min(labels) == low and max(labels) == high


def test_small_multiples_label_their_ticks_truly():
    everyone = Series("Everyone", ["a", "b"], [50.4, 51.2], [49, 50], [52, 53])
    panels = [(f"District {k}", [everyone, Series(f"District {k}", ["a", "b"], [40 + k, 45 + k], [38, 43], [42, 47])])
              for k in range(3)]
    plots = [p for p in axes(small_multiples_svg(panels, title="t", desc="d")) if any(t.strip() for t, _y in p["yticks"])]
    assert plots
    for plot in plots:
        assert not tick_problems(plot)


def test_trend_text_is_at_least_14_css_px_on_a_360_px_phone():
    svg = trend_svg([TRUST], title="Trust", desc="d", ylabel="Score (0-100)", show_title=False)
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    shown = 360 - 2 * 16  # the page's side padding
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert sizes and min(sizes) * shown / width >= 14, (min(sizes), width)
