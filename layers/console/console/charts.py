"""Charts drawn on the server: the geometry of bar charts, which a template writes as inline SVG.

The pages' Content-Security-Policy runs no script and allows no inline style: a chart is SVG elements in the page's
HTML, coloured by the console's stylesheet through their classes, each bar with its value in a ``<title>``. Every
chart has a table beside it that says the same in words (screen readers read the table, not the bars).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 200
LEFT = 80  # room for the scale's labels
BOTTOM = 22  # room for the days' labels
TOP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # the stylesheet's class: chart-<series>
    label: str  # what the bar says (its <title>)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # SVG text-anchor


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    baseline: float  # the y of the zero line
    left: float = LEFT  # where the plot starts


@dataclass(frozen=True)
class Group:
    """One group of bars side by side (a day): its label under the axis (``""``: none), and its values by series."""

    label: str
    values: Sequence[tuple[str, float, str]]  # (series, value, what the bar says)


def grouped_bars(groups: Sequence[Group], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Vertical bars, a group per entry of ``groups`` (left to right), scaled to the largest value, which the
    scale's top says."""
    top = max((value for group in groups for _, value, _ in group.values), default=0.0)
    plot_height = height - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = (width - LEFT) / max(len(groups), 1)
    bars, labels = [], []
    for number, group in enumerate(groups):
        count = max(len(group.values), 1)
        bar_width = max((slot - 2) / count, 1.0)
        for position, (series, value, said) in enumerate(group.values):
            tall = plot_height * value / top if top else 0.0
            x = LEFT + number * slot + 1 + position * bar_width
            bars.append(Bar(round(x, 1), round(baseline - tall, 1), round(bar_width, 1), round(tall, 1), series, said))
        if group.label:
            labels.append(Label(round(LEFT + (number + 0.5) * slot, 1), height - 6, group.label))
    labels.append(Label(LEFT - 4, TOP + 10, _number(top), "end"))
    labels.append(Label(LEFT - 4, baseline, "0", "end"))
    return Chart(width, height, bars, labels, baseline)


def horizontal_bars(rows: Sequence[tuple[str, float, str]], series: str, width: int = WIDTH) -> Chart:
    """One bar per row (label, value, what the bar says), top to bottom, scaled to the largest value."""
    top = max((value for _, value, _ in rows), default=0.0)
    row_height, left = 24, 220
    bars, labels = [], []
    for number, (label, value, said) in enumerate(rows):
        y = TOP + number * row_height
        long = (width - left - 60) * value / top if top else 0.0
        bars.append(Bar(left, y, round(long, 1), row_height - 6, series, said))
        labels.append(Label(left - 6, y + row_height - 10, label, "end"))
        labels.append(Label(round(left + long + 6, 1), y + row_height - 10, _number(value), "start"))
    height = TOP + max(len(rows), 1) * row_height + 4
    return Chart(width, height, bars, labels, height, left)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
