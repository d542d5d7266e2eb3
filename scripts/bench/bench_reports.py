"""Benchmark report rendering for a 1M-request run, and the timeline downsampling behind it.

* ``downsample_indices`` (LTTB on arrays, the gate's fast path) on 4 × 1M-value columns;
* ``downsample`` (LTTB) on 1 000 000 raw warmup-curve points per series, 4 series (3 tiers
  and ``effective``), against the same LTTB written in plain Python (the alternative to
  numpy; also checks both pick the same points) — both to 500 points;
* rendering a ``RunReport`` shaped like a 1M-request run (timelines already downsampled,
  30-bucket latency histograms, a 200-point miss-ratio curve, 12 checks) in all four
  formats, and ``write_reports`` + ``load_report`` round trip through a temp directory;
* the HTML report's five charts drawn by warmer's inline-SVG code against matplotlib
  drawing the same five charts to SVG (the usual way to get charts; skipped when
  matplotlib is not installed: ``pip install matplotlib``).

Target (issue 5): rendering all reports for a 1M-request run takes at most 5 s. Each figure
is the best of ``--repeat`` runs. Run from the repository root::

    .venv/bin/python scripts/bench/bench_reports.py --repeat 3
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from warmer.model.run import (  # noqa: E402
    BackendMetrics,
    Ceilings,
    CheckResult,
    CurvePoint,
    LatencyHistogram,
    LatencySummary,
    LoadPoint,
    MrcPoint,
    PhaseMark,
    PhaseReport,
    Plan,
    RunReport,
    SampleSummary,
    TierCurve,
    TierMetrics,
    Timelines,
    downsample,
    downsample_indices,
)
from warmer.report import (  # noqa: E402
    load_report,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    write_reports,
)
from warmer.report._charts import all_charts  # noqa: E402

REQUESTS = 1_000_000
RATE = 1_000.0  # requests per second of the imagined run
TIERS = (("l0", 0.72, 60_000), ("l1", 0.95, 30_000), ("l2", 0.99, 20_000))


def best(repeat: int, fn: Callable[[], Any]) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_curve(rate: float, speed: float, rng: random.Random) -> list[CurvePoint]:
    """One point per request, as a gate would hold before downsampling."""
    return [
        CurvePoint(i, i / RATE, min(1.0, rate * (1 - math.exp(-i / speed)) + rng.gauss(0, 0.01)))
        for i in range(1, REQUESTS + 1)
    ]


def histogram(rng: random.Random, low: float) -> LatencyHistogram:
    edges = tuple(low * (400 / low) ** (i / 30) for i in range(31))
    return LatencyHistogram(edges, tuple(rng.randint(0, 40_000) for _ in range(30)))


def phase(name: str, requests: int, started: float, rng: random.Random) -> PhaseReport:
    tiers = tuple(
        TierMetrics(
            n,
            "redis",
            hits=int(requests * r),
            misses=int(requests * (1 - r)),
            lookups=requests,
            hit_rate=r,
            evictions=rng.randint(0, 9_000),
            keys=50_000,
            memory_bytes=120_000_000,
        )
        for n, r, _ in TIERS
    )
    return PhaseReport(
        name=name,
        requests=requests,
        started_s=started,
        duration_s=requests / RATE,
        achieved_rps=RATE,
        status_classes={"2xx": requests - 100, "4xx": 90, "5xx": 10},
        errors={"timeout": 7},
        error_rate=1e-4,
        latency=LatencySummary(
            3.1, 9.0, 14.0, 40.0, 390.0, 5.0, histogram(rng, 0.3 + rng.random())
        ),
        tiers=tiers,
        effective_hit_rate=0.999,
        backend=BackendMetrics("prometheus", requests // 1000, 1.0, 9.0, 0.999, True),
    )


def build_run(curves: list[TierCurve], rng: random.Random) -> RunReport:
    warm_requests = int(REQUESTS * 0.8)
    raw_load = [LoadPoint(s, 200 * math.exp(-s / 100) + rng.random()) for s in range(1000)]
    checks = tuple(
        CheckResult(
            f"hit_rate.l{i % 3} >= 0.{80 + i}",
            f"hit_rate.l{i % 3}",
            ">=",
            0.8 + i / 100,
            0.7 + i / 50,
            "pass" if i % 2 else "fail",
            diagnosis=None if i % 2 else "L0 evicted 12,400 keys during verify: capacity",
        )
        for i in range(12)
    )
    return RunReport(
        run_id="bench",
        verdict="fail",
        exit_code=1,
        started_at="2026-11-30T00:00:00Z",
        finished_at="2026-11-30T00:17:00Z",
        warmer_version="bench",
        target="http://127.0.0.1:1",
        checks=checks,
        sample=SampleSummary("bench.parquet", REQUESTS, 120_000, 86_400.0),
        plan=Plan(warm_requests, REQUESTS - warm_requests, "first 80 % by time", 0.8),
        phases=(
            phase("warm", warm_requests, 0.0, rng),
            phase("verify", REQUESTS - warm_requests, warm_requests / RATE + 2, rng),
        ),
        ceilings=Ceilings(
            0.88,
            0.95,
            120_000,
            tuple(MrcPoint(k * 600, 0.12 + 0.88 * math.exp(-k / 40)) for k in range(200)),
        ),
        timelines=Timelines(
            warmup=tuple(curves),
            backend_load=tuple(downsample(raw_load, 500)),
            phase_marks=(
                PhaseMark("warm", 0, 0.0),
                PhaseMark("verify", warm_requests, warm_requests / RATE + 2),
            ),
            window_requests=5_000,
        ),
    )


def python_lttb(points: list[CurvePoint], n_out: int) -> list[CurvePoint]:
    """The same LTTB in plain Python (same buckets), the alternative to numpy."""
    n = len(points)
    edges = [int(1 + i * (n - 2) / (n_out - 2)) for i in range(n_out - 1)]
    chosen = [0]
    for b in range(n_out - 2):
        lo, hi = edges[b], max(edges[b + 1], edges[b] + 1)
        nhi = edges[b + 2] if b + 2 < len(edges) else n
        nxt = points[hi:nhi] or [points[-1]]
        cx = sum(p[0] for p in nxt) / len(nxt)
        cy = sum(p[2] or 0.0 for p in nxt) / len(nxt)
        ax, ay = points[chosen[-1]][0], points[chosen[-1]][2] or 0.0
        best_i, best_area = lo, -1.0
        for i in range(lo, hi):
            x, y = points[i][0], points[i][2] or 0.0
            area = abs((ax - cx) * (y - ay) - (ax - x) * (cy - ay))
            if area > best_area:
                best_i, best_area = i, area
        chosen.append(best_i)
    chosen.append(n - 1)
    return [points[i] for i in chosen]


def bench_downsample(repeat: int, rng: random.Random) -> tuple[list[TierCurve], float, float]:
    names = [*(n for n, _, _ in TIERS), "effective"]
    params = [*((r, s) for _, r, s in TIERS), (0.999, 15_000)]
    raws = [raw_curve(r, s, rng) for r, s in params]
    lttb = best(repeat, lambda: [downsample(p, 500, x=0, y=2) for p in raws])
    plain = best(1, lambda: [python_lttb(p, 500) for p in raws])
    assert python_lttb(raws[0], 500) == downsample(raws[0], 500, x=0, y=2), "LTTB results differ"
    curves = [
        TierCurve(n, tuple(downsample(p, 500, x=0, y=2))) for n, p in zip(names, raws, strict=True)
    ]
    return curves, lttb, plain


def bench_columns(repeat: int) -> float:
    """The columnar fast path: x and y already in arrays, as a gate reading Arrow has them."""
    import numpy as np

    xs = np.arange(REQUESTS, dtype=float)
    ys = [np.clip(r * (1 - np.exp(-xs / s)), 0, 1) for _, r, s in TIERS] + [xs / REQUESTS]
    return best(repeat, lambda: [downsample_indices(xs, y, 500) for y in ys])


def matplotlib_charts(run: RunReport) -> None:
    """The same five charts through matplotlib to SVG, in memory."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def save(fig: Any) -> None:
        fig.savefig(io.BytesIO(), format="svg")
        plt.close(fig)

    for by_time in (False, True):
        fig, ax = plt.subplots(figsize=(7.2, 3.2))
        for c in run.timelines.warmup:
            ax.plot(
                [p.seconds if by_time else p.requests for p in c.points],
                [p.hit_rate for p in c.points],
                label=c.tier,
            )
        ax.legend()
        save(fig)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.fill_between(
        [p.seconds for p in run.timelines.backend_load],
        [p.rps for p in run.timelines.backend_load],
        alpha=0.2,
    )
    save(fig)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    for i, p in enumerate(run.phases):
        h = p.latency.histogram
        ax.bar([j + i * 0.4 for j in range(len(h.counts))], h.counts, width=0.4, label=p.name)
    save(fig)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    mrc = run.ceilings.miss_ratio_curve
    ax.plot([p.cache_keys for p in mrc], [p.miss_ratio for p in mrc])
    save(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(5)
    columns = bench_columns(args.repeat)
    print(f"downsample_indices on 4 x {REQUESTS:,}-point numpy columns -> 500: {columns:.3f} s")

    curves, lttb, plain = bench_downsample(args.repeat, rng)
    print(
        f"downsample 4 x {REQUESTS:,} points -> 500 (LTTB): warmer (numpy) {lttb:.3f} s, "
        f"plain Python {plain:.3f} s (plain / warmer = {plain / lttb:.1f}x)"
    )

    run = build_run(curves, rng)
    renders = {
        "json": render_json,
        "md": render_markdown,
        "html": render_html,
        "junit": render_junit,
    }
    total = 0.0
    for name, render in renders.items():
        seconds = best(args.repeat, lambda r=render: r(run))
        total += seconds
        print(f"render {name:5s} {seconds * 1000:8.1f} ms  ({len(render(run)) / 1e3:,.0f} kB)")
    with tempfile.TemporaryDirectory() as tmp:
        io_s = best(args.repeat, lambda: write_reports(run, tmp))
        load_s = best(args.repeat, lambda: load_report(tmp))
    print(
        f"write_reports (all four, atomic) {io_s * 1000:.1f} ms; load_report {load_s * 1000:.1f} ms"
    )

    ours = best(args.repeat, lambda: all_charts(run))
    try:
        theirs = best(args.repeat, lambda: matplotlib_charts(run))
        print(
            f"5 charts: warmer inline SVG {ours * 1000:.1f} ms, matplotlib SVG "
            f"{theirs * 1000:.1f} ms (matplotlib / warmer = {theirs / ours:.1f}x)"
        )
    except ImportError:
        print(f"5 charts: warmer inline SVG {ours * 1000:.1f} ms (matplotlib not installed)")

    grand = lttb + total
    verdict = "OK" if grand <= 5.0 else "OVER TARGET"
    print(f"TOTAL downsampling + all four renders: {grand:.2f} s (target <= 5 s) {verdict}")


if __name__ == "__main__":
    main()
