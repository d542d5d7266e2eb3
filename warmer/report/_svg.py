"""Inline SVG charts drawn in Python: line charts and grouped bar charts with axes and legends.

Pure functions from numbers to SVG text; every label goes through ``esc`` because series
and tier names come from configuration and may hold anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 320
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7F7F7F")
"""Okabe-Ito colours: distinguishable with the common colour-vision deficiencies."""

Fmt = Callable[[float], str]


def esc(value: object) -> str:
    """Text safe inside an SVG/HTML element or a quoted attribute."""
    return escape(str(value), quote=True)


@dataclass(frozen=True)
class Series:
    """One line: ``points`` are (x, y) pairs sorted by x; a None y breaks the line."""

    name: str
    points: Sequence[tuple[float, float | None]]
    color: str
    dash: bool = False
    fill: bool = False


@dataclass(frozen=True)
class Axis:
    """An axis: label, value formatter and optional fixed bounds."""

    label: str
    fmt: Fmt
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class Mark:
    """A vertical (``x``) or horizontal (``y``) reference line with a label."""

    value: float
    label: str
    color: str = "#555"


@dataclass(frozen=True)
class _Frame:
    """Plot area in pixels and the data ranges it maps."""

    left: float
    top: float
    right: float
    bottom: float
    x0: float
    x1: float
    y0: float
    y1: float

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0 or 1) * (self.right - self.left)

    def py(self, y: float) -> float:
        return self.bottom - (y - self.y0) / (self.y1 - self.y0 or 1) * (self.bottom - self.top)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0]
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < hi - step * 1e-9:  # the last tick is at or above hi
        ticks.append(round(first + len(ticks) * step, 12))
    return ticks if len(ticks) > 1 else [lo, hi]


def line_chart(
    title: str,
    series: Sequence[Series],
    x: Axis,
    y: Axis,
    x_marks: Sequence[Mark] = (),
    y_marks: Sequence[Mark] = (),
) -> str:
    """A line chart with axes, gridlines, reference lines and a legend."""
    xs = [p[0] for s in series for p in s.points] + [m.value for m in x_marks]
    ys = [p[1] for s in series for p in s.points if p[1] is not None]
    ys += [m.value for m in y_marks]
    if not ys:
        return empty_chart(title, "no data")
    x_ticks = nice_ticks(_bound(x.lo, min(xs)), _bound(x.hi, max(xs)))
    y_ticks = nice_ticks(_bound(y.lo, min(ys)), _bound(y.hi, max(ys)))
    legend, legend_h = _legend([(s.name, s.color, s.dash) for s in series])
    frame = _Frame(
        66, 16 + legend_h, WIDTH - 30, HEIGHT - 48, x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    )
    body = [_grid(frame, x_ticks, y_ticks, x, y)]
    body += [_vmark(frame, m, i) for i, m in enumerate(x_marks)]
    body += [_hmark(frame, m, i) for i, m in enumerate(y_marks)]
    body += [_line(frame, s) for s in series]
    return _svg(title, [*body, legend])


def bar_chart(
    title: str,
    categories: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float], str]],
    y: Axis,
    x_label: str,
    marks: Sequence[Mark] = (),
) -> str:
    """Grouped bars: one slot per category, one bar per (name, values, colour) group.

    ``marks`` are vertical lines at fractional category positions (0 = left edge of the
    first slot), e.g. percentiles interpolated inside their bucket.
    """
    values = [v for _, vals, _ in groups for v in vals]
    if not categories or not values:
        return empty_chart(title, "no data")
    y_ticks = nice_ticks(0.0, _bound(y.hi, max(values)))
    legend, legend_h = _legend([(name, color, False) for name, _, color in groups])
    n = len(categories)
    frame = _Frame(66, 16 + legend_h, WIDTH - 30, HEIGHT - 48, 0, n, 0, y_ticks[-1])
    body = [_y_grid(frame, y_ticks, y), _bars(frame, groups), _category_labels(frame, categories)]
    body.append(_x_label(frame, x_label))
    body += [_vmark(frame, m, i) for i, m in enumerate(marks)]
    return _svg(title, [*body, legend])


def empty_chart(title: str, message: str) -> str:
    """A placeholder of the same size saying why there is no chart."""
    text = (
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="muted">'
        f"{esc(message)}</text>"
    )
    return _svg(title, [text])


def _bound(fixed: float | None, data: float) -> float:
    return data if fixed is None else fixed


def _svg(title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>{''.join(parts)}</svg>"
    )


def _legend(items: Sequence[tuple[str, str, bool]]) -> tuple[str, int]:
    """Legend swatches laid out in rows from the left; returns (svg, height used)."""
    parts, x, row = [], 66.0, 0
    for name, color, dash in items:
        width = 34 + 7.6 * len(name)
        if x + width > WIDTH - 30 and x > 66:
            x, row = 66.0, row + 1
        y = 14 + row * 18
        style = ' stroke-dasharray="5 3"' if dash else ""
        parts.append(
            f'<line x1="{x:.0f}" y1="{y - 4}" x2="{x + 22:.0f}" y2="{y - 4}" stroke="{color}" '
            f'stroke-width="3"{style}/><text x="{x + 27:.0f}" y="{y}">{esc(name)}</text>'
        )
        x += width + 14
    return '<g class="legend">' + "".join(parts) + "</g>", (row + 1) * 18 + 6


def _grid(
    frame: _Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], x: Axis, y: Axis
) -> str:
    parts = [_y_grid(frame, y_ticks, y)]
    for t in x_ticks:
        px = frame.px(t)
        parts.append(
            f'<line class="grid" x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" '
            f'y2="{frame.bottom}"/><text x="{px:.1f}" y="{frame.bottom + 16}" '
            f'text-anchor="middle">{esc(x.fmt(t))}</text>'
        )
    parts.append(_x_label(frame, x.label))
    return "".join(parts)


def _y_grid(frame: _Frame, ticks: Sequence[float], y: Axis) -> str:
    parts = []
    for t in ticks:
        py = frame.py(t)
        parts.append(
            f'<line class="grid" x1="{frame.left}" y1="{py:.1f}" x2="{frame.right}" '
            f'y2="{py:.1f}"/><text x="{frame.left - 6}" y="{py + 4:.1f}" '
            f'text-anchor="end">{esc(y.fmt(t))}</text>'
        )
    mid = (frame.top + frame.bottom) / 2
    parts.append(
        f'<text class="axis-label" x="14" y="{mid:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid:.0f})">{esc(y.label)}</text>'
        f'<line class="axis" x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" '
        f'y2="{frame.bottom}"/><line class="axis" x1="{frame.left}" y1="{frame.top}" '
        f'x2="{frame.left}" y2="{frame.bottom}"/>'
    )
    return "".join(parts)


def _x_label(frame: _Frame, label: str) -> str:
    cx = (frame.left + frame.right) / 2
    return (
        f'<text class="axis-label" x="{cx:.0f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle">{esc(label)}</text>'
    )


def _line(frame: _Frame, series: Series) -> str:
    runs: list[list[str]] = [[]]
    # Sorted by x so a series whose points arrive out of order still draws left to right.
    for px, py in sorted(series.points, key=lambda p: p[0]):
        if py is None:
            runs.append([])
        else:
            runs[-1].append(f"{frame.px(px):.1f},{frame.py(py):.1f}")
    runs = [r for r in runs if r]
    dash = ' stroke-dasharray="6 4"' if series.dash else ""
    parts = [
        f'<g class="series" data-series="{esc(series.name)}"><title>{esc(series.name)}</title>'
    ]
    for r in runs:
        if series.fill and len(r) > 1:
            first_x, last_x = r[0].split(",")[0], r[-1].split(",")[0]
            area = f"{first_x},{frame.bottom} {' '.join(r)} {last_x},{frame.bottom}"
            parts.append(f'<polygon points="{area}" fill="{series.color}" fill-opacity="0.15"/>')
        parts.append(
            f'<polyline points="{" ".join(r)}" fill="none" stroke="{series.color}" '
            f'stroke-width="2" stroke-linejoin="round"{dash}/>'
        )
    return "".join(parts) + "</g>"


def _vmark(frame: _Frame, mark: Mark, index: int = 0) -> str:
    """A vertical line; labels of successive marks step down so close marks stay legible."""
    px = frame.px(mark.value)
    label_y = frame.top + 12 + 14 * index
    return (
        f'<line x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" y2="{frame.bottom}" '
        f'stroke="{mark.color}" stroke-dasharray="3 3"/>'
        f'<text class="mark" x="{px + 4:.1f}" y="{label_y}">{esc(mark.label)}</text>'
    )


def _hmark(frame: _Frame, mark: Mark, index: int = 0) -> str:
    """A horizontal line; labels alternate left and right so stacked marks stay legible."""
    py = frame.py(mark.value)
    x, anchor = (frame.left + 6, "start") if index % 2 == 0 else (frame.right - 6, "end")
    return (
        f'<line x1="{frame.left}" y1="{py:.1f}" x2="{frame.right}" y2="{py:.1f}" '
        f'stroke="{mark.color}" stroke-dasharray="8 4"/>'
        f'<text class="mark" x="{x}" y="{py - 5:.1f}" text-anchor="{anchor}">'
        f"{esc(mark.label)}</text>"
    )


def _bars(frame: _Frame, groups: Sequence[tuple[str, Sequence[float], str]]) -> str:
    slot = (frame.right - frame.left) / max(len(groups[0][1]), 1)
    bar = slot * 0.8 / len(groups)
    parts = []
    for g, (name, values, color) in enumerate(groups):
        for i, v in enumerate(values):
            if v <= 0:
                continue
            top = frame.py(v)
            parts.append(
                f'<rect x="{frame.left + i * slot + slot * 0.1 + g * bar:.1f}" y="{top:.1f}" '
                f'width="{bar:.1f}" height="{frame.bottom - top:.1f}" fill="{color}">'
                f"<title>{esc(name)}: {v:.2f}</title></rect>"
            )
    return '<g class="bars">' + "".join(parts) + "</g>"


def _category_labels(frame: _Frame, categories: Sequence[str]) -> str:
    slot = (frame.right - frame.left) / len(categories)
    every = max(1, math.ceil(len(categories) * 52 / (frame.right - frame.left)))
    parts = []
    for i in range(0, len(categories), every):
        x = frame.left + i * slot
        parts.append(
            f'<text x="{x:.1f}" y="{frame.bottom + 16}" text-anchor="middle">'
            f"{esc(categories[i])}</text>"
        )
    return "".join(parts)
