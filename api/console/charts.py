"""Bar charts drawn on the server: the geometry of small SVG charts, which the overview's
templates (`_charts.html`) draw. No script and no library: a chart is a few rectangles and
texts, and the same figures are in a table beside it for those who do not see it.

Coordinates are in the SVG's own units (its `viewBox`); the SVG scales to the page's width,
text with it, so the units are chosen for a chart about 45 rem wide.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
# Characters are narrower than this on average in the console's font; overestimating keeps a
# value's text inside the chart.
CHAR_WIDTH = 8.5
FONT = 15


@dataclass(frozen=True)
class Segment:
    """One bar of a row, from the axis; `kind` is its colour's class."""

    length: float
    kind: str


@dataclass(frozen=True)
class Row:
    """A labelled row of a horizontal chart: its bars overlap (the longest drawn first), and
    its text follows the longest."""

    label: str
    label_y: float
    bar_y: float
    segments: list[Segment]
    text: str
    text_x: float


@dataclass(frozen=True)
class HorizontalChart:
    width: int
    height: int
    rows: list[Row]
    bar_height: int


def horizontal(
    rows: Sequence[tuple[str, Sequence[tuple[float, str]], str]],
) -> HorizontalChart:
    """Rows of (label, [(value, kind), …], text): each label on a line of its own above its
    bars, so that long labels (and long translations) need no room beside the bars."""
    longest_text = max((len(text) for _, _, text in rows), default=0)
    room = WIDTH - (longest_text * CHAR_WIDTH + 12)
    top = max((value for _, values, _ in rows for value, _ in values), default=0)
    scale = room / top if top > 0 else 0.0
    line, bar, gap = FONT + 6, 20, 14
    placed = []
    for position, (label, values, text) in enumerate(rows):
        y = position * (line + bar + gap)
        # A value too small to see still gets a sliver, so that it reads as "some", not none.
        segments = sorted(
            (
                Segment(length=max(value * scale, 2.0) if value else 0.0, kind=kind)
                for value, kind in values
            ),
            key=lambda segment: segment.length,
            reverse=True,
        )
        end = segments[0].length if segments else 0.0
        placed.append(
            Row(
                label=label,
                label_y=y + FONT,
                bar_y=y + line,
                segments=segments,
                text=text,
                text_x=end + 8,
            )
        )
    height = len(rows) * (line + bar + gap)
    return HorizontalChart(width=WIDTH, height=height, rows=placed, bar_height=bar)


def nice_ticks(top: float, most: int = 5) -> list[int]:
    """Whole-number axis ticks from 0 to at least `top`, at most `most` + 1 of them, a step
    of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    for power in range(0, 12):
        for base in (1, 2, 5):
            step = base * 10**power
            if math.ceil(top / step) <= most:
                return list(range(0, step * math.ceil(top / step) + 1, step))
    raise ValueError(top)


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    height: float
    value: float
    kind: str


@dataclass(frozen=True)
class Group:
    """One category of a column chart (a week), with its columns side by side; a highlighted
    one is drawn on a band of its own (a week short of a target)."""

    label: str
    centre: float
    columns: list[Column]
    highlighted: bool = False


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    groups: list[Group]
    ticks: list[Tick]
    column_width: float
    marker_y: float | None = None
    top: float = 0.0
    slot: float = 0.0


def columns(
    groups: Sequence[tuple[str, Sequence[tuple[float, str]]]],
    marker: float | None = None,
    highlighted: Sequence[bool] = (),
) -> ColumnChart:
    """Groups of (label, [(value, kind), …]) side by side over a counted axis, the labels
    under the axis: weeks, each with one column per series; `marker`, a value the chart draws
    a line across at (a target); `highlighted`, which groups stand on a band of their own."""
    left, right, top_margin, bottom_margin, plot_height = 44, WIDTH - 8, 22, 28, 190
    values = [value for _, series in groups for value, _ in series]
    ticks = nice_ticks(max([*values, marker or 0], default=0))
    scale = plot_height / ticks[-1]
    baseline = top_margin + plot_height
    slot = (right - left) / max(len(groups), 1)
    per_group = max((len(series) for _, series in groups), default=1)
    width = min(slot * 0.75 / per_group, 28.0)
    placed = []
    for index, (label, series) in enumerate(groups):
        centre = left + slot * (index + 0.5)
        start = centre - width * len(series) / 2
        placed.append(
            Group(
                label=label,
                centre=centre,
                highlighted=index < len(highlighted) and highlighted[index],
                columns=[
                    Column(
                        x=start + width * position,
                        y=baseline - value * scale,
                        height=value * scale,
                        value=value,
                        kind=kind,
                    )
                    for position, (value, kind) in enumerate(series)
                ],
            )
        )
    return ColumnChart(
        width=WIDTH,
        height=int(baseline + bottom_margin),
        left=left,
        right=right,
        baseline=baseline,
        groups=placed,
        ticks=[Tick(y=baseline - tick * scale, value=tick) for tick in ticks],
        column_width=width,
        marker_y=baseline - marker * scale if marker is not None else None,
        top=baseline - plot_height,
        slot=slot,
    )


@dataclass(frozen=True)
class Point:
    """A score on a trend; its value is written above it, or below it where another series
    scored higher at the same consult (so that close values do not overlap)."""

    x: float
    y: float
    value: int
    label_y: float


@dataclass(frozen=True)
class Line:
    """One series of a trend: its points (a consult without the score has none), and the
    path joining them."""

    kind: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    categories: list[tuple[str, float]]
    lines: list[Line]
    ticks: list[Tick]


def trend(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None]]],
    top: int,
) -> TrendChart:
    """Lines over categories (follow-up consults, left to right) on an axis from 0 to `top`
    (the scales' maximum, so that a chart says how far a score is from it): each series a
    (kind, value per category) pair, None where a consult did not record it."""
    left, right, top_margin, bottom_margin, plot_height = 44, WIDTH - 24, 22, 28, 170
    ticks = nice_ticks(top, most=6)
    scale = plot_height / ticks[-1]
    baseline = top_margin + plot_height
    slot = (right - left) / max(len(categories), 1)
    xs = [left + slot * (index + 0.5) for index in range(len(categories))]
    highest = [
        max((v for _, values in series if (v := values[i]) is not None), default=None)
        for i in range(len(categories))
    ]

    def label_y(index: int, value: int) -> float:
        y = baseline - value * scale
        return y - 10 if value == highest[index] else y + 20

    return TrendChart(
        width=WIDTH,
        height=int(baseline + bottom_margin),
        left=left,
        right=right,
        baseline=baseline,
        categories=list(zip(categories, xs, strict=True)),
        lines=[
            Line(
                kind=kind,
                points=[
                    Point(x=x, y=baseline - value * scale, value=value, label_y=label_y(i, value))
                    for i, (x, value) in enumerate(zip(xs, values, strict=True))
                    if value is not None
                ],
            )
            for kind, values in series
        ],
        ticks=[Tick(y=baseline - tick * scale, value=tick) for tick in ticks],
    )
