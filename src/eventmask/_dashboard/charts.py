"""Stacked bar charts drawn on the server as SVG: no script, no CDN, the page works offline.

`stacked` turns counts per bucket into rectangles in a fixed viewBox; the
template writes them out, each with a ``<title>`` that says its count, and
the same numbers as a table beneath for screen readers (docs/dashboard.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

__all__ = ["Bar", "Chart", "stacked"]

WIDTH: Final = 720.0
HEIGHT: Final = 160.0
LEFT: Final = 40.0  # room for the axis labels
BOTTOM: Final = 20.0


@attrs.frozen(slots=True)
class Bar:
    """One rectangle: a series' count in one bucket."""

    x: float
    y: float
    width: float
    height: float
    series: int  # the colour: the series' position in the legend
    title: str


@attrs.frozen(slots=True)
class Chart:
    """A chart ready to draw: its bars, legend, axis labels and the table of its numbers.

    >>> chart = stacked("Deliveries", ["done"], {"done": (1, 3)}, [0.0, 60.0], 60.0)
    >>> chart.top, [b.title for b in chart.bars]
    (3, ['00:00 done: 1', '00:01 done: 3'])
    """

    title: str
    legend: tuple[str, ...]
    bars: tuple[Bar, ...]
    top: int
    labels: tuple[tuple[float, str], ...]
    rows: tuple[tuple[str, tuple[int, ...]], ...]
    total: int
    colours: tuple[int, ...] = (0, 1, 2, 3)
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def empty(self) -> bool:
        """Nothing was counted in the range."""
        return self.total == 0


def _label(at: float, step: float) -> str:
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    return when.strftime("%H:%M" if step < 3_600 else "%a %H:%M")


def stacked(
    title: str,
    legend: Sequence[str],
    series: Mapping[str, Sequence[int]],
    edges: Sequence[float],
    step: float,
    palette: Sequence[int] = (0, 1, 2, 3),
) -> Chart:
    """Bars stacked per bucket, in the order of `legend`, scaled to the tallest bucket.

    `palette` gives each series its colour (the stylesheet's ``s0``..``s3``).
    """
    buckets = len(edges)
    totals = [sum(series.get(name, (0,) * buckets)[i] for name in legend) for i in range(buckets)]
    top = max(totals, default=0)
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM
    slot = plot_w / max(buckets, 1)
    bars = []
    for i, at in enumerate(edges):
        base = plot_h
        for k, name in enumerate(legend):
            count = series.get(name, (0,) * buckets)[i]
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            x = LEFT + i * slot
            text = f"{_label(at, step)} {name}: {count:,}"
            bars.append(Bar(round(x, 2), round(base, 2), round(slot * 0.85, 2),
                            round(height, 2), palette[k % len(palette)], text))  # fmt: skip
    every = max(1, buckets // 6)
    labels = tuple(
        (round(LEFT + i * slot, 2), _label(edges[i], step)) for i in range(0, buckets, every)
    )
    rows = tuple((name, tuple(series.get(name, (0,) * buckets))) for name in legend)
    colours = tuple(palette[k % len(palette)] for k in range(len(legend)))
    return Chart(title, tuple(legend), tuple(bars), top, labels, rows, sum(totals), colours)
