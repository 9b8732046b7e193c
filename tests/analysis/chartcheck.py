"""Reading a chart back from its SVG: tick labels and their places on the axes, and the markers of
the data, so a test can check every label against where it stands."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def _parents(root: ET.Element) -> dict[ET.Element, ET.Element]:
    return {child: parent for parent in root.iter() for child in parent}


def _texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def _use(group: ET.Element) -> ET.Element:
    return next(group.iter(f"{SVG}use"))


def axes(svg: str) -> list[dict[str, list]]:
    """Per plot: its y ticks as (label, y), x ticks as (label, x) and data markers as (x, y)."""
    root = ET.fromstring(svg)
    parents = _parents(root)
    found = []
    for plot in root.iter(f"{SVG}g"):
        if not re.fullmatch(r"axes_\d+", plot.get("id", "")):
            continue
        yticks, xticks, markers = [], [], []
        for group in plot.iter(f"{SVG}g"):
            gid = group.get("id", "")
            if gid.startswith("ytick_"):
                yticks.append((" ".join(_texts(group)), float(_use(group).get("y"))))
            elif gid.startswith("xtick_"):
                xticks.append(("\n".join(_texts(group)), float(_use(group).get("x"))))
            elif gid.startswith("line2d_"):
                ancestor, inside_tick = parents.get(group), False
                while ancestor is not None and ancestor is not plot:
                    inside_tick |= ancestor.get("id", "").startswith(("xtick_", "ytick_"))
                    ancestor = parents.get(ancestor)
                if not inside_tick:
                    markers.extend((float(u.get("x")), float(u.get("y"))) for u in group.iter(f"{SVG}use"))
        found.append({"yticks": yticks, "xticks": xticks, "markers": markers})
    return found


def tick_problems(plot: dict[str, list], values: list[float] | None = None, tolerance: float = 0.5) -> list[str]:
    """Every y tick label that is not where its value belongs. The scale comes from the data
    markers when ``values`` (the plotted numbers, in order) are given, else from the outer ticks."""
    ticks = [(float(label.replace("\u2212", "-")), y) for label, y in plot["yticks"] if label.strip()]
    if values is not None:
        points = [(v, y) for v, (_x, y) in zip(values, plot["markers"], strict=True)]
    else:
        points = [min(ticks, key=lambda t: t[1]), max(ticks, key=lambda t: t[1])]
    (v0, y0), (v1, y1) = min(points), max(points)
    if v0 == v1:
        return ["the scale cannot be read: all reference values are equal"]
    scale = (y1 - y0) / (v1 - v0)
    return [f"tick {value:g} stands at {y:.1f}, where {y0 + (value - v0) * scale:.1f} belongs"
            for value, y in ticks if abs(y - (y0 + (value - v0) * scale)) > tolerance]
