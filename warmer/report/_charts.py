"""The charts of the HTML report, built from a ``RunReport``'s timelines and histograms."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from warmer.model.run import LatencyHistogram, PhaseReport, RunReport, TierCurve
from warmer.report._format import fmt_num
from warmer.report._svg import PALETTE, Axis, Mark, Series, bar_chart, empty_chart, line_chart

_EFFECTIVE_COLOR = "#1f2328"


def all_charts(run: RunReport) -> list[tuple[str, str]]:
    """(caption, svg) for every chart the report shows; the miss-ratio curve only with data."""
    charts = [
        ("Warmup curve by requests sent", _warmup(run, by_time=False)),
        ("Warmup curve over time", _warmup(run, by_time=True)),
        ("Backend load over time", _backend(run)),
        ("Latency distribution", _latency(run)),
    ]
    if run.timelines.convergence:
        charts.append(("Is it warm yet? Windowed hit rate and plateau, warm phase", _plateau(run)))
    if run.warming is not None and run.warming.rates:
        charts.append(("Backend protection: the pace chosen and the backend load", _pace(run)))
    if run.ceilings.miss_ratio_curve:
        charts.append(("Miss-ratio curve (LRU, from the sample)", _mrc(run)))
    if run.ceilings.miss_ratio_curve_bytes:
        charts.append(("Miss-ratio curve by size (LRU, from the sample)", _mrc_bytes(run)))
    return charts


def _pct(value: float) -> str:
    return f"{value:g} %"


def _color(index: int, curve: TierCurve) -> str:
    return _EFFECTIVE_COLOR if curve.tier == "effective" else PALETTE[index % len(PALETTE)]


def _warmup(run: RunReport, *, by_time: bool) -> str:
    title = "Rolling hit rate per tier " + ("over time" if by_time else "by requests sent")
    curves = run.timelines.warmup
    if not any(c.points for c in curves):
        return empty_chart(title, "no warmup timeline in this run")
    series = [
        Series(
            c.tier,
            [
                (
                    p.seconds if by_time else p.requests,
                    None if p.hit_rate is None else p.hit_rate * 100,
                )
                for p in c.points
            ],
            _color(i, c),
        )
        for i, c in enumerate(curves)
    ]
    x_marks = [
        Mark(m.seconds if by_time else m.requests, f"{m.phase} \u2192")
        for m in run.timelines.phase_marks
        if m.requests > 0
    ]
    y_marks = []
    if run.ceilings.warmable is not None:
        y_marks.append(Mark(run.ceilings.warmable * 100, "warmable ceiling", "#8250df"))
    y_marks += _target_marks(run, {c.tier: _color(i, c) for i, c in enumerate(curves)})
    window = run.timelines.window_requests
    y_label = "hit rate" + (f" (last {fmt_num(window)} requests)" if window else "")
    x = (
        Axis("seconds since start", lambda v: f"{v:g}")
        if by_time
        else Axis("requests sent", fmt_num, lo=0)
    )
    return line_chart(title, series, x, Axis(y_label, _pct, 0, 100), x_marks, y_marks)


def _target_marks(run: RunReport, colors: dict[str, str]) -> list[Mark]:
    """A dashed line at the threshold of each hit-rate check on a drawn tier (at most 4)."""
    marks = []
    for check in run.checks:
        tier = check.metric.removeprefix("warm.").removeprefix("hit_rate.")
        hit_rate = check.metric.removeprefix("warm.").startswith("hit_rate.")
        if hit_rate and tier in colors and not isinstance(check.threshold, str | bool):
            marks.append(Mark(check.threshold * 100, f"target: {check.expression}", colors[tier]))
    return marks[:4]


def _backend(run: RunReport) -> str:
    title = "Backend requests per second"
    points = run.timelines.backend_load
    if not points:
        return empty_chart(title, "no backend timeline in this run")
    series = [Series("backend req/s", [(p.seconds, p.rps) for p in points], PALETTE[5], fill=True)]
    marks = [Mark(m.seconds, f"{m.phase} \u2192") for m in run.timelines.phase_marks if m.seconds]
    x = Axis("seconds since start", lambda v: f"{v:g}")
    return line_chart(title, series, x, Axis("requests / s", fmt_num, lo=0), marks)


def _latency(run: RunReport) -> str:
    title = "Latency distribution (share of responses per bucket)"
    phases = [p for p in run.phases if p.latency.histogram.counts]
    if not phases:
        return empty_chart(title, "no latency histogram in this run")
    # Phases may bucket differently (the gate fits edges to each phase's range): put them
    # all on one 1-2-5 scale so the bars compare and the labels read as round numbers.
    edges = nice_edges([p.latency.histogram for p in phases])
    groups = [
        (p.name, _shares(rebin(p.latency.histogram, edges)), PALETTE[i % len(PALETTE)])
        for i, p in enumerate(phases)
    ]
    categories = [fmt_num(e) for e in edges[:-1]]
    marks = _percentile_marks(phases[-1], edges)
    y = Axis("share of responses", _pct)
    return bar_chart(title, categories, groups, y, "latency (ms), bucket lower bound", marks)


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts) or 1
    return [c / total * 100 for c in counts]


def nice_edges(histograms: Sequence[LatencyHistogram]) -> tuple[float, ...]:
    """Bucket edges 1-2-5 × 10^k (ms) covering every histogram; 0 first if one starts at 0."""
    positive = [e for h in histograms for e in h.edges_ms if e > 0]
    low, high = min(positive, default=1.0), max(positive, default=1.0)
    edges = [0.0] if min(h.edges_ms[0] for h in histograms) <= 0 else []
    k = math.floor(math.log10(low))
    start = max(m * 10.0**k for m in (1, 2, 5) if m * 10.0**k <= low * (1 + 1e-9))
    while not edges or edges[-1] < high * (1 - 1e-9) or len(edges) < 2:
        for m in (1, 2, 5):
            edge = float(f"{m * 10.0**k:.12g}")
            if edge >= start * (1 - 1e-9) and (not edges or edge > edges[-1]):
                edges.append(edge)
                if edge >= high * (1 - 1e-9) and len(edges) >= 2:
                    break
        k += 1
    return tuple(edges)


def rebin(histogram: LatencyHistogram, edges: Sequence[float]) -> list[float]:
    """Counts of ``histogram`` spread onto ``edges``, uniformly in log-latency inside a bucket."""
    out = [0.0] * (len(edges) - 1)
    src = histogram.edges_ms
    for i, count in enumerate(histogram.counts):
        if count:
            for j in range(len(out)):
                out[j] += count * _overlap(src[i], src[i + 1], edges[j], edges[j + 1])
    return out


def _overlap(a: float, b: float, x: float, y: float) -> float:
    """Share of bucket [a, b) that falls in [x, y) (log scale when a > 0)."""
    lo, hi = max(a, x), min(b, y)
    if hi <= lo:
        return 1.0 if a == b and x <= a < y else 0.0
    if a <= 0:
        return (hi - lo) / (b - a)
    return math.log(hi / lo) / math.log(b / a)


def _percentile_marks(phase: PhaseReport, edges: tuple[float, ...]) -> list[Mark]:
    lat = phase.latency
    wanted = (("p50", lat.p50_ms), ("p95", lat.p95_ms), ("p99", lat.p99_ms))
    return [
        Mark(_bucket_position(v, edges), f"{phase.name} {name} {fmt_num(v)} ms")
        for name, v in wanted
        if v is not None
    ]


def _bucket_position(value: float, edges: tuple[float, ...]) -> float:
    """Fractional bucket index of ``value`` (linear inside its bucket), clamped to the axis."""
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        if value < hi:
            return i + max(0.0, (value - lo) / (hi - lo or 1))
    return float(len(edges) - 1)


def _mrc(run: RunReport) -> str:
    title = "Miss ratio by cache size"
    points = run.ceilings.miss_ratio_curve
    how = "" if run.ceilings.mrc_method != "shards" else " (SHARDS)"
    series = [
        Series(
            "LRU miss ratio" + how,
            [(p.cache_keys, p.miss_ratio * 100) for p in points],
            PALETTE[0],
        )
    ]
    x = Axis("cache size (keys)", fmt_num, lo=0)
    return line_chart(title, series, x, Axis("miss ratio", _pct, 0, 100), _size_marks(run))


def _size_marks(run: RunReport) -> list[Mark]:
    """Each tier's modelled size (configured or read from its server), else its keys held."""
    top = run.ceilings.miss_ratio_curve[-1].cache_keys
    marks = []
    for i, name in enumerate(_tier_names(run)):
        forecast = run.predictions.tier(name) if run.predictions is not None else None
        tier = run.verify.tier(name) if run.verify is not None else None
        if forecast is not None and forecast.capacity_keys is not None:
            size, what = forecast.capacity_keys, "holds"
        elif tier is not None and tier.keys:
            size, what = float(tier.keys), "held"
        else:
            continue
        if size <= top:
            marks.append(Mark(size, f"{name} {what} {fmt_num(size)} keys", PALETTE[(i + 1) % 7]))
    return marks


def _tier_names(run: RunReport) -> list[str]:
    if run.predictions is not None:
        return [t.tier for t in run.predictions.tiers]
    return [t.name for t in run.verify.tiers] if run.verify is not None else []


def _mrc_bytes(run: RunReport) -> str:
    title = "Miss ratio by cache size in bytes"
    points = run.ceilings.miss_ratio_curve_bytes
    series = [
        Series(
            "LRU miss ratio",
            [(p.cache_bytes / 2**20, p.miss_ratio * 100) for p in points],
            PALETTE[0],
        )
    ]
    marks = [
        Mark(t.capacity_bytes / 2**20, f"{t.tier} {fmt_num(t.capacity_bytes / 2**20)} MB")
        for t in (run.predictions.tiers if run.predictions is not None else ())
        if t.capacity_bytes is not None and t.capacity_bytes <= points[-1].cache_bytes
    ]
    x = Axis("cache size (MB)", fmt_num, lo=0)
    return line_chart(title, series, x, Axis("miss ratio", _pct, 0, 100), marks)


def _plateau(run: RunReport) -> str:
    """Each converging tier's warm-phase curve, its plateau and when it settled there."""
    title = "Windowed hit rate during warm, with each tier's plateau"
    warm = run.phase("warm")
    last = warm.requests if warm is not None else None
    colors = {c.tier: _color(i, c) for i, c in enumerate(run.timelines.warmup)}
    series, x_marks, y_marks = [], [], []
    for result in run.timelines.convergence:
        curve = next((c for c in run.timelines.warmup if c.tier == result.tier), None)
        if curve is None:
            continue
        color = colors.get(result.tier, PALETTE[0])
        points = [
            (p.seconds, None if p.hit_rate is None else p.hit_rate * 100)
            for p in curve.points
            if last is None or p.requests <= last
        ]
        series.append(Series(result.tier, points, color))
        if result.plateau is not None:
            state = "warm" if result.converged else "not settled"
            label = f"{result.tier} plateau {result.plateau:.0%} ({state})"
            y_marks.append(Mark(result.plateau * 100, label, color))
        if result.seconds_to_warm is not None and warm is not None:
            at = warm.started_s + result.seconds_to_warm
            x_marks.append(Mark(at, f"{result.tier} warm at {result.seconds_to_warm:.1f}s", color))
    if not series:
        return empty_chart(title, "no warm-phase curve in this run")
    x = Axis("seconds since start", lambda v: f"{v:g}")
    return line_chart(title, series, x, Axis("hit rate", _pct, 0, 100), x_marks, y_marks[:4])


def _pace(run: RunReport) -> str:
    """The request rate the protection controller chose, beside the backend's load."""
    title = "Warm pace (chosen) and backend load"
    control = run.warming
    assert control is not None
    series = [Series("warm rate chosen", [(p.seconds, p.rate) for p in control.rates], PALETTE[1])]
    if run.timelines.backend_load:
        load = [(p.seconds, p.rps) for p in run.timelines.backend_load]
        series.append(Series("backend req/s", load, PALETTE[5], fill=True))
    limits = [
        Mark(value, f"limit: {text}", "#cf222e")
        for text in control.protect
        if (value := _backend_limit(text)) is not None
    ]
    x = Axis("seconds since start", lambda v: f"{v:g}")
    return line_chart(title, series, x, Axis("requests / s", fmt_num, lo=0), (), limits)


_BACKEND_LIMIT = re.compile(r"^\s*backend\.rps\s*<=?\s*(\d[\d_]*(?:\.\d+)?)\s*(?:on\b|$)")


def _backend_limit(text: str) -> float | None:
    """The number of a ``backend.rps <= N`` limit (None for any other limit)."""
    match = _BACKEND_LIMIT.match(text)
    return float(match.group(1).replace("_", "")) if match else None
