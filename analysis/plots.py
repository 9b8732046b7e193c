"""Charts of wave estimates as SVG: trends with confidence bands, small multiples, gaps between groups.

Matplotlib's object API with the Agg machinery (no pyplot, no global figure state, safe in a web
process). Choices made for people reading on a phone and for color-blind readers:

* the Okabe-Ito palette, and every line also differs by line style and marker;
* lines are labeled directly at their right-hand end (labels nudged apart so none overlap),
  never by a legend of colors alone;
* text stays text in the SVG (``svg.fonttype = "none"``), so the browser shapes and orders
  right-to-left scripts such as Arabic, and screen readers and search can read it;
* every chart carries a ``<title>`` and ``<desc>`` (the text alternative the caller writes) and
  ``role="img"``; the caller shows the same numbers in a table beside it;
* a trend chart is drawn 331 units wide with 15-unit text, so at the 328 CSS px a 360 px phone
  gives it the text is 15 px; a score on the 0-100 scale is drawn on an axis at least
  :data:`SCORE_SPAN` points tall (:func:`score_axis`), so a change of a few points looks like a
  few points, with ticks on whole tens that are exactly where their labels say.

The caller passes text already translated; this module never looks up a language.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, MultipleLocator  # noqa: E402

__all__ = ["OKABE_ITO", "SCORE_SPAN", "Series", "trend_svg", "small_multiples_svg", "describe_series", "score_axis"]

#: The least height, in points of a 0-100 score, of a score chart's axis (the whole scale when the
#: data need it): a 4-point change fills a tenth of the chart, not all of it.
SCORE_SPAN = 40

#: Okabe & Ito (2008), "Color Universal Design", without yellow (too faint on white).
OKABE_ITO = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (3, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "community-trust",
    "font.family": "sans-serif",
    "font.size": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#4a4a4a",
    "axes.labelcolor": "#1b1b1b",
    "xtick.color": "#1b1b1b",
    "ytick.color": "#1b1b1b",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
}


@dataclass(frozen=True)
class Series:
    """One line: a label, x labels (waves), estimates and interval ends (None where missing)."""

    label: str
    x: Sequence[str]
    y: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None


def _num(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def score_axis(series: Sequence[Series], span: float = SCORE_SPAN, bounds: tuple[float, float] = (0, 100),
               step: float = 10) -> tuple[float, float]:
    """The y range of a chart of scores on ``bounds``: the estimates and their bands rounded out to
    whole ``step``s, then widened evenly to at least ``span`` points, kept inside ``bounds``.

    >>> score_axis([Series("Trust", ["a", "b"], [56, 60], [54, 58], [58, 62])])
    (40, 80)
    """
    values = [v for s in series for seq in (s.y, s.low or [], s.high or []) for v in seq
              if v is not None and not math.isnan(v)]
    if not values:
        return bounds
    lo = max(bounds[0], math.floor(min(values) / step) * step)
    hi = min(bounds[1], math.ceil(max(values) / step) * step)
    while hi - lo < min(span, bounds[1] - bounds[0]):
        if lo > bounds[0] and (hi >= bounds[1] or (lo + hi) / 2 >= (min(values) + max(values)) / 2):
            lo -= step
        else:
            hi += step
    return lo, hi


def _spread(values: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Move label positions apart by at least ``gap``, keeping their order, inside [lo, hi]."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    pos = [values[i] for i in order]
    for k in range(1, len(pos)):
        pos[k] = max(pos[k], pos[k - 1] + gap)
    overflow = pos[-1] - hi if pos else 0
    if overflow > 0:
        pos = [p - overflow for p in pos]
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    pos = [max(p, lo) for p in pos]
    out = [0.0] * len(values)
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out


def _draw(ax, series: Sequence[Series], ylim: tuple[float, float] | None, label_ends: bool, fmt: str,
          start: int = 0, gray_first: bool = False, ends_only: bool = False) -> None:
    xs_all = list(dict.fromkeys(x for s in series for x in s.x))
    pos = {x: i for i, x in enumerate(xs_all)}
    ends = []
    for k, s in enumerate(series):
        color = "#767676" if gray_first and k == 0 else OKABE_ITO[(start + k) % len(OKABE_ITO)]
        style = LINESTYLES[(start + k) % len(LINESTYLES)]
        marker = MARKERS[(start + k) % len(MARKERS)]
        xv = [pos[x] for x in s.x]
        yv = [_num(v) for v in s.y]
        if s.low is not None and s.high is not None:
            ax.fill_between(xv, [_num(v) for v in s.low], [_num(v) for v in s.high], color=color, alpha=0.15,
                            linewidth=0)
        ax.plot(xv, yv, color=color, linestyle=style, marker=marker, markersize=5, linewidth=2)
        last = max((i for i, v in enumerate(yv) if not math.isnan(v)), default=None)
        if last is not None:
            ends.append((xv[last], yv[last], s.label, color))
    # Few ticks: the labels stay readable at phone width, and ticks are matplotlib's slowest part.
    n = len(xs_all)
    if n == 0:  # a panel with nothing to draw (a group nobody in these waves belongs to)
        shown = []
    elif ends_only:
        shown = sorted({0, n - 1})
    else:
        step = max(1, math.ceil(n / 6))
        shown = sorted({*range(n - 1, -1, -step)})
    # Labels of two lines ("Jul – Sep" over "2026") stand upright; long single lines tilt.
    tilt = len(shown) > 3 and not ends_only and not any("\n" in xs_all[i] for i in shown)
    ax.set_xticks(shown)
    ax.set_xticklabels([xs_all[i] for i in shown], rotation=40 if tilt else 0, ha="right" if tilt else "center",
                       rotation_mode="anchor")
    if ylim is not None:
        ax.set_ylim(*ylim)
        # Ticks on whole numbers only, each labeled with its own value (never a rounded one).
        span = ylim[1] - ylim[0]
        ax.yaxis.set_major_locator(MultipleLocator(10 if span <= 50 else 20))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%d"))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(4 if ends_only else 5, integer=True))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%d"))
    # Half a slot of room at each end, so the first and last labels (centered on their tick) fit.
    ax.set_xlim(-0.5 if len(shown) > 2 else -0.3, max(len(xs_all) - 1, 1) + (0.5 if len(shown) > 2 else 0.3))
    if label_ends and ends:
        lo, hi = ax.get_ylim()
        gap = (hi - lo) * 0.08 * max(1, max(textwrap.fill(e[2], 18).count("\n") + 1 for e in ends) * 0.8)
        ys = _spread([e[1] for e in ends], gap, lo + gap / 2, hi - gap / 2)
        for (x, y, label, color), ly in zip(ends, ys, strict=True):
            ax.annotate(textwrap.fill(label, 18), xy=(x, y), xytext=(x + 0.15, ly),
                        textcoords="data", va="center", ha="left", color=color if color != "#E69F00" else "#8a5a00",
                        fontsize=10, annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.6} if abs(ly - y) > gap / 3 else None)


def _svg(fig: Figure, title: str, desc: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = re.sub(r'\swidth="[^"]*"', ' width="100%"', head, count=1)
    head = re.sub(r'\sheight="[^"]*"', "", head, count=1)
    head = head.replace("<svg", '<svg role="img" aria-labelledby="chart-title chart-desc"', 1)
    extra = f"<title id=\"chart-title\">{escape(title, quote=False)}</title><desc id=\"chart-desc\">{escape(desc, quote=False)}</desc>"
    return head + extra + svg[head_end:]


def trend_svg(series: Sequence[Series], *, title: str, desc: str, ylabel: str = "",
              ylim: tuple[float, float] | None = None, fmt: str = ".0f", width: float = 4.6,
              height: float = 3.6, gray_first: bool = False, scores: bool = True, show_title: bool = True,
              rtl: bool = False) -> str:
    """Lines across waves with shaded confidence bands, each labeled at its end (a single line
    is not: the title names it).

    ``scores``: the values are 0-100 scores and the y axis follows :func:`score_axis` unless
    ``ylim`` is given. ``show_title=False`` leaves the title to the page (it stays the SVG's
    ``<title>``) and gives the plot the room. ``rtl``: the page reads right to left, so the
    title starts at the right edge.
    """
    if ylim is None and scores:
        ylim = score_axis(series)
    several = len(series) > 1
    with rc_context({**_RC, "font.size": 15}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot()
        _draw(ax, series, ylim, several, fmt, gray_first=gray_first)
        ax.set_ylabel(ylabel)
        if show_title:
            ax.set_title(title, loc="right" if rtl else "left", fontsize=15, fontweight="bold")
        lines_below = max((x.count("\n") + 1 for s in series for x in s.x), default=1)
        tilted = len({x for s in series for x in s.x}) > 3 and lines_below == 1
        fig.subplots_adjust(left=0.2 if ylabel else 0.12, right=0.62 if several else 0.98,
                            top=0.88 if show_title else 0.96,
                            bottom=0.3 if tilted else 0.08 + 0.07 * lines_below)
        return _svg(fig, title, desc)


def small_multiples_svg(panels: Sequence[tuple[str, Sequence[Series]]], *, title: str, desc: str,
                        ylim: tuple[float, float] | None = None, columns: int = 2, note: str = "",
                        panel_height: float = 1.8, width: float = 4.6, rtl: bool = False) -> str:
    """One small panel per domain (shared y axis, by :func:`score_axis` unless ``ylim`` is given),
    each titled with its name; the first series of a panel is drawn gray (e.g. everyone, for
    reference) and the second in color. ``rtl``: the titles and the note start at the right edge."""
    rows = max(math.ceil(len(panels) / columns), 1)
    if ylim is None:
        ylim = score_axis([s for _name, series in panels for s in series])
    with rc_context({**_RC, "font.size": 9}):
        fig = Figure(figsize=(width, panel_height * rows + 0.6))
        axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
        for k, ax in enumerate(axes.ravel()):
            if k >= len(panels):
                ax.set_visible(False)
                continue
            name, series = panels[k]
            _draw(ax, series, ylim, False, ".0f", start=1, gray_first=len(series) > 1, ends_only=True)
            ax.set_title(name, loc="right" if rtl else "left", fontsize=10, fontweight="bold")
            ax.tick_params(labelsize=8)
        total = panel_height * rows + 0.6
        edge, side = (0.98, "right") if rtl else (0.02, "left")
        fig.suptitle(title, x=edge, y=1 - 0.08 / total, ha=side, va="top", fontsize=11, fontweight="bold")
        if note:
            fig.text(edge, 1 - 0.33 / total, note, ha=side, va="top", fontsize=8.5, color="#4a4a4a")
        fig.subplots_adjust(left=0.11, right=0.98, top=1 - 0.75 / total, bottom=0.12 / rows * 2,
                            hspace=0.55, wspace=0.12)
        return _svg(fig, title, desc)


def describe_series(s: Series, fmt: str = ".0f") -> str:
    """"Trust score went from 55 (2025-q4) to 59 (2026-q3)." in English, for text alternatives."""
    pts = [(x, v) for x, v in zip(s.x, s.y, strict=True) if v is not None and not math.isnan(v)]
    if not pts:
        return f"{s.label}: no estimates."
    if len(pts) == 1:
        return f"{s.label}: {pts[0][1]:{fmt}} in {pts[0][0]}."
    (x0, v0), (x1, v1) = pts[0], pts[-1]
    return f"{s.label} went from {v0:{fmt}} in {x0} to {v1:{fmt}} in {x1}."
