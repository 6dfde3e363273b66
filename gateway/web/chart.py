"""A bar chart of monthly activity as server-rendered SVG: no chart library, no script, and the
numbers also stand in a table beside it for screen readers and print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from gateway.services.dashboard import MonthActivity

WIDTH, HEIGHT, PAD = 560, 200, 28
SERIES = ("deliveries", "downloads", "verifications")


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    top: int


def bar_chart(activity: list[MonthActivity], month_label: Callable[[date], str]) -> Chart:
    """Bars grouped by month, one per series, scaled to the largest count (at least 1)."""
    top = max([1, *(m.counts[s] for m in activity for s in SERIES)])
    group = (WIDTH - 2 * PAD) / max(1, len(activity))
    bar = group / (len(SERIES) + 1)
    plot = HEIGHT - 2 * PAD
    bars, labels = [], []
    for index, month in enumerate(activity):
        left = PAD + index * group + bar / 2
        for offset, series in enumerate(SERIES):
            value = month.counts[series]
            height = plot * value / top
            bars.append(Bar(series, left + offset * bar, HEIGHT - PAD - height, bar * 0.9,
                            height, value))  # fmt: skip
        labels.append((PAD + index * group + group / 2, month_label(month.month)))
    return Chart(WIDTH, HEIGHT, bars, labels, top)
