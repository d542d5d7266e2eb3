"""Chart primitives: tick choice and the shape of what is drawn."""

from __future__ import annotations

import pytest

from warmer.model.run import LatencyHistogram
from warmer.report._charts import _bucket_position, nice_edges, rebin
from warmer.report._svg import Axis, Mark, Series, bar_chart, line_chart, nice_ticks


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 10_000, [0, 2000, 4000, 6000, 8000, 10000]),
        (0, 25, [0, 5, 10, 15, 20, 25]),
        (0, 0.9, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (3, 3, [3, 3.2, 3.4, 3.6, 3.8, 4.0]),
        (12, 47, [10, 20, 30, 40, 50]),
    ],
)
def test_nice_ticks(lo: float, hi: float, ticks: list[float]) -> None:
    assert nice_ticks(lo, hi) == pytest.approx(ticks)


def test_line_chart_breaks_at_missing_values() -> None:
    series = Series("l0", [(0, 1.0), (1, 2.0), (2, None), (3, 4.0), (4, 5.0)], "#000")
    svg = line_chart("t", [series], Axis("x", str), Axis("y", str))
    assert svg.count("<polyline") == 2


def test_line_chart_without_values_says_no_data() -> None:
    svg = line_chart("t", [Series("l0", [(0, None)], "#000")], Axis("x", str), Axis("y", str))
    assert "no data" in svg and "<polyline" not in svg


def test_marks_and_legend_are_labelled() -> None:
    series = [Series("a&b", [(0, 1.0), (10, 2.0)], "#000"), Series("c", [(0, 2.0)], "#111")]
    svg = line_chart(
        "t", series, Axis("x", str), Axis("y", str), [Mark(5, "verify")], [Mark(1.5, "ceiling")]
    )
    assert ">a&amp;b</text>" in svg and ">c</text>" in svg
    assert ">verify</text>" in svg and ">ceiling</text>" in svg


def test_bar_chart_draws_nonzero_bars_only() -> None:
    svg = bar_chart("t", ["0", "1", "2"], [("warm", [1.0, 0.0, 2.0], "#000")], Axis("y", str), "x")
    assert svg.count("<rect") == 2


@pytest.mark.parametrize(
    ("value", "position"),
    [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0), (3.0, 2.5), (99.0, 3.0)],
)
def test_bucket_position(value: float, position: float) -> None:
    assert _bucket_position(value, (0.0, 1.0, 2.0, 4.0)) == pytest.approx(position)


@pytest.mark.parametrize(
    ("edges", "nice"),
    [
        ((0.523, 1.7, 431.0), (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)),
        ((0.0, 0.5, 1.0, 2.0), (0, 0.5, 1, 2)),
        ((3.0, 4.0), (2, 5)),
        ((0.012, 0.3), (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)),
    ],
)
def test_nice_edges(edges: tuple[float, ...], nice: tuple[float, ...]) -> None:
    histogram = LatencyHistogram(edges, (1,) * (len(edges) - 1))
    assert nice_edges([histogram]) == pytest.approx(nice)


def test_rebin_keeps_the_total_and_spreads_in_log_space() -> None:
    histogram = LatencyHistogram((1.0, 100.0), (10,))
    shares = rebin(histogram, (1.0, 10.0, 100.0))
    assert shares == pytest.approx([5.0, 5.0])
    odd = LatencyHistogram((0.7, 3.3, 41.0, 390.0), (4, 10, 6))
    assert sum(rebin(odd, nice_edges([odd]))) == pytest.approx(20)


def test_line_is_drawn_left_to_right_even_from_unordered_points() -> None:
    series = Series("l0", [(2, 1.0), (0, 1.0), (1, 1.0)], "#000")
    svg = line_chart("t", [series], Axis("x", str), Axis("y", str, 0, 2))
    polyline = svg[svg.index('<polyline points="') + 18 :].split('"')[0]
    xs = [float(p.split(",")[0]) for p in polyline.split()]
    assert xs == sorted(xs) and len(xs) == 3
