"""Tests for metric computation from results tables, phase reports and warmup curves."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from warmer.checks.grammar import parse_check
from warmer.gate.metrics import flatten, target_metrics, target_thresholds, traffic_stats
from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.model.run import (
    BackendMetrics,
    Ceilings,
    CurvePoint,
    PhaseReport,
    RunReport,
    TierCurve,
    TierMetrics,
    Timelines,
)


def results(rows: list[tuple[float, float | None, int | None, str | None]]) -> pa.Table:
    """A results table from (sent_s, latency_ms, status, error) tuples."""
    n = len(rows)
    columns = {
        "seq": list(range(n)),
        "phase": ["verify"] * n,
        "method": ["GET"] * n,
        "target": [f"/p/{i}" for i in range(n)],
        "key": [f"GET /p/{i}" for i in range(n)],
        "sent_s": [r[0] for r in rows],
        "latency_ms": [r[1] for r in rows],
        "status": [r[2] for r in rows],
        "error": [r[3] for r in rows],
    }
    arrays = [pa.array(columns.get(f.name, [None] * n), f.type) for f in RESULTS_ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=RESULTS_ARROW_SCHEMA)


def test_traffic_stats() -> None:
    rows = [(float(i), float(i + 1), 200, None) for i in range(96)]
    rows += [(96.0, 5.0, 503, None), (97.0, 3.0, 404, None)]
    rows += [(98.0, None, None, "timeout"), (100.0, None, None, "refused")]
    phase = traffic_stats("verify", results(rows))
    assert phase.requests == 100
    assert phase.duration_s == 100.0
    assert phase.achieved_rps == pytest.approx(1.0)
    assert phase.status_classes == {"2xx": 96, "3xx": 0, "4xx": 1, "5xx": 1}
    assert phase.errors == {"timeout": 1, "refused": 1}
    assert phase.error_rate == pytest.approx(3 / 100)
    latency = phase.latency
    assert latency.max_ms == 96.0
    assert latency.p50_ms == pytest.approx(48.0, abs=1.0)
    assert latency.p99_ms is not None and 90 < latency.p99_ms <= 96
    assert sum(latency.histogram.counts) == 98
    assert len(latency.histogram.edges_ms) == len(latency.histogram.counts) + 1


def test_traffic_stats_without_responses() -> None:
    phase = traffic_stats("warm", results([(0.0, None, None, "refused")]))
    assert phase.error_rate == 1.0
    assert phase.latency.p99_ms is None
    assert phase.achieved_rps is None


def test_empty_phase() -> None:
    phase = traffic_stats("warm", results([]))
    assert (phase.requests, phase.error_rate) == (0, None)


def _report(curves: tuple[TierCurve, ...] = ()) -> RunReport:
    warm = PhaseReport(
        name="warm",
        requests=100,
        started_s=0.0,
        duration_s=10.0,
        error_rate=0.0,
        tiers=(TierMetrics("l0", "cache-status", hit_rate=0.5, evictions=3),),
        backend=BackendMetrics(requests=50, offload=0.5),
    )
    verify = PhaseReport(
        name="verify",
        requests=20,
        started_s=12.0,
        duration_s=2.0,
        error_rate=0.05,
        tiers=(
            TierMetrics("l0", "cache-status", hit_rate=0.8, evictions=0, keys=90),
            TierMetrics("l1", "redis", hit_rate=None, memory_bytes=1024, missing_data=True),
        ),
        effective_hit_rate=0.9,
        backend=BackendMetrics(requests=2, rps_peak=4.0, offload=0.9),
    )
    return RunReport(
        run_id="r",
        verdict="pass",
        exit_code=0,
        phases=(warm, verify),
        ceilings=Ceilings(warmable=0.93),
        timelines=Timelines(warmup=curves),
    )


def test_flatten_reads_both_phases() -> None:
    metrics = flatten(_report())
    assert metrics["hit_rate.l0"] == 0.8
    assert metrics["warm.hit_rate.l0"] == 0.5
    assert metrics["warm.l0.evictions"] == 3.0
    assert metrics["l0.evictions"] == 0.0
    assert metrics["hit_rate.l1"] is None
    assert metrics["l1.memory_bytes"] == 1024.0
    assert metrics["hit_rate.effective"] == 0.9
    assert metrics["warm.backend.offload"] == 0.5
    assert metrics["backend.requests"] == 2.0
    assert metrics["backend.rps_peak"] == 4.0
    assert metrics["errors.rate"] == 0.05
    assert metrics["ceiling.hit_rate"] == 0.93
    assert metrics["latency.p99_ms"] is None


def test_target_thresholds_take_the_strictest_verify_check() -> None:
    checks = [
        parse_check("hit_rate.l0 >= 0.5"),
        parse_check("hit_rate.l0 > 0.7"),
        parse_check("hit_rate.l1 <= 0.99"),
        parse_check("warm.hit_rate.l2 >= 0.9"),
        parse_check("hit_rate.effective >= 0.6"),
        parse_check("l1.keys >= 10"),
    ]
    assert target_thresholds(checks) == {"l0": 0.7}


def _curve(tier: str, rates: list[float]) -> TierCurve:
    return TierCurve(tier, tuple(CurvePoint(10 * (i + 1), 1.0 + i, r) for i, r in enumerate(rates)))


def test_to_target_from_curves() -> None:
    curves = (_curve("l0", [0.1, 0.5, 0.8, 0.9]), _curve("l1", [0.2, 0.7, 0.9, 0.95]))
    warm = PhaseReport(name="warm", requests=40, started_s=0.5)
    checks = [parse_check("hit_rate.l0 >= 0.8"), parse_check("hit_rate.l1 >= 0.6")]
    metrics = target_metrics(curves, checks, warm)
    assert metrics["warm.requests_to_target.l0"] == 30
    assert metrics["warm.seconds_to_target.l0"] == pytest.approx(2.5)
    assert metrics["warm.requests_to_target.l1"] == 20
    assert metrics["warm.requests_to_target"] == 30.0
    assert metrics["warm.seconds_to_target"] == pytest.approx(2.5)


def test_to_target_only_counts_the_warm_phase() -> None:
    curves = (_curve("l0", [0.1, 0.5, 0.8, 0.9]),)
    warm = PhaseReport(name="warm", requests=20)
    metrics = target_metrics(curves, [parse_check("hit_rate.l0 >= 0.8")], warm)
    assert metrics["warm.requests_to_target.l0"] is None
    assert "warm.requests_to_target" not in metrics


def test_to_target_via_flatten_and_missing_curve() -> None:
    checks = [parse_check("hit_rate.l1 >= 0.5"), parse_check("hit_rate.l0 >= 0.5")]
    metrics = flatten(_report((_curve("l0", [0.9]),)), checks)
    assert "warm.requests_to_target.l1" not in metrics
    assert metrics["warm.requests_to_target.l0"] == 10
    assert metrics["warm.requests_to_target"] == 10.0
    alone = flatten(_report((_curve("l0", [0.9]),)), checks[:1])
    assert math.isnan(alone.get("warm.requests_to_target") or math.nan)


def test_latency_counts_from_the_schedule_under_open_pacing_and_service_time_from_the_send() -> (
    None
):
    import pyarrow as pa

    from warmer.gate.metrics import traffic_stats

    # A target that queues: 100 ms of service, but the last requests waited a second.
    open_model = pa.table({
        "sent_s": [0.0, 0.1, 0.2, 1.0], "status": [200] * 4, "error": [None] * 4,
        "latency_ms": [100.0] * 4, "latency_from_schedule_ms": [100.0, 100.0, 1100.0, 1400.0],
    })  # fmt: skip
    phase = traffic_stats("verify", open_model)
    assert phase.latency_from == "schedule" and phase.latency.max_ms == 1400.0
    assert phase.service_time.max_ms == 100.0
    closed = open_model.set_column(4, "latency_from_schedule_ms", pa.nulls(4, pa.float64()))
    phase = traffic_stats("verify", closed)
    assert phase.latency_from == "send" and phase.latency.max_ms == 100.0


def test_a_warm_curve_still_rising_at_its_end_is_told_from_a_flat_one() -> None:
    from warmer.gate.findings import still_rising
    from warmer.model.run import CurvePoint

    rising = [CurvePoint(i * 100, i, min(0.9, i / 50)) for i in range(1, 61)]
    flat = [CurvePoint(i * 100, i, min(0.9, i / 20)) for i in range(1, 61)]
    assert still_rising(rising, warm_requests=4000) is True  # still climbing at 4000
    assert still_rising(flat, warm_requests=4000) is False  # flat since 2000
    assert still_rising(rising[:2], warm_requests=4000) is None
