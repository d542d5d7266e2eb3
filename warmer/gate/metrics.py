"""Compute the metric mapping checks are judged against, from results, tiers and curves.

Three steps, each usable alone:

* :func:`traffic_stats` turns one phase's rows of a results table into a
  :class:`~warmer.model.run.PhaseReport` (requests, statuses, errors, latency); the gate
  then adds the tier and backend numbers the observers measured.
* :func:`flatten` reads a :class:`~warmer.model.run.RunReport` into the flat vocabulary
  (``hit_rate.l0``, ``warm.latency.p99_ms`` ...), so a live run and ``--rejudge`` read
  metrics the same way.
* :func:`target_metrics` finds ``warm.requests_to_target`` / ``warm.seconds_to_target``
  on the warmup curves, for the thresholds of the hit-rate checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from warmer.checks.grammar import Check
from warmer.gate.convergence import convergence_metrics
from warmer.model.run import (
    CurvePoint,
    LatencyHistogram,
    LatencySummary,
    PhaseReport,
    RunReport,
    TierCurve,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Metrics = dict[str, float | None]

_HISTOGRAM_BINS = 40


def traffic_stats(name: str, table: pa.Table, started_s: float | None = None) -> PhaseReport:
    """What one phase sent and got back, from its rows of a results table."""
    import numpy as np

    requests = int(table.num_rows)
    sent = _column(table, "sent_s")
    start = float(sent.min()) if requests else 0.0
    duration = float(sent.max() - start) if requests else 0.0
    status = _column(table, "status")
    errors = _error_counts(table)
    latency, service, basis = latency_columns(table)
    server_errors = int(np.count_nonzero(status >= 500))
    return PhaseReport(
        name=name,
        requests=requests,
        started_s=start if started_s is None else started_s,
        duration_s=duration,
        achieved_rps=requests / duration if duration > 0 else None,
        status_classes=_status_classes(status),
        errors=errors,
        error_rate=(sum(errors.values()) + server_errors) / requests if requests else None,
        latency=latency_summary(latency),
        latency_from=basis,
        service_time=latency_summary(service),
    )


def latency_columns(table: pa.Table) -> tuple[np.ndarray, np.ndarray, Literal["schedule", "send"]]:
    """(latency checks read, send-to-response latency, what the first counts from).

    Under open-model pacing every request has a scheduled send time, and latency counts
    from it: a request that waited for a free connection waited in the user's stead
    (coordinated omission, as wrk2 and k6 correct for). Without a schedule (pacing max:
    the next request goes when one finishes) both are the send-to-response time.
    """
    import numpy as np

    service = _column(table, "latency_ms")
    if "latency_from_schedule_ms" not in table.column_names:
        return service, service, "send"
    scheduled = _column(table, "latency_from_schedule_ms")
    answered = ~np.isnan(service)
    if not answered.any() or np.isnan(scheduled[answered]).any():
        return service, service, "send"
    return scheduled, service, "schedule"


def _column(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64 with nulls as NaN."""
    import numpy as np

    column = table.column(name).cast("float64")
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def _status_classes(status: np.ndarray) -> dict[str, int]:
    import numpy as np

    present = status[~np.isnan(status)]
    return {f"{c}xx": int(np.count_nonzero(present // 100 == c)) for c in (2, 3, 4, 5)}


def _error_counts(table: pa.Table) -> dict[str, int]:
    import pyarrow.compute as pc

    errors = table.column("error").drop_null()
    counts = pc.value_counts(errors).to_pylist() if len(errors) else []
    return {str(item["values"]): int(item["counts"]) for item in counts}


def latency_summary(latency_ms: np.ndarray) -> LatencySummary:
    """Percentiles, mean, max and a log-spaced histogram of the non-NaN latencies."""
    import numpy as np

    values = latency_ms[~np.isnan(latency_ms)]
    if values.size == 0:
        return LatencySummary()
    p50, p90, p95, p99 = (float(v) for v in np.percentile(values, [50, 90, 95, 99]))
    return LatencySummary(
        p50_ms=p50,
        p90_ms=p90,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=float(values.max()),
        mean_ms=float(values.mean()),
        histogram=_histogram(values),
    )


def _histogram(values: np.ndarray) -> LatencyHistogram:
    import numpy as np

    low = max(float(values.min()), 0.01)
    high = max(float(values.max()), low * 1.01)
    edges = np.geomspace(low, high, _HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
    return LatencyHistogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts))


def phase_metrics(phase: PhaseReport) -> Metrics:
    """One phase in the vocabulary's names, without the ``warm.`` prefix."""
    latency = phase.latency
    metrics: Metrics = {
        "hit_rate.effective": phase.effective_hit_rate,
        "backend.requests": _num(phase.backend.requests),
        "backend.rps_mean": phase.backend.rps_mean,
        "backend.rps_peak": phase.backend.rps_peak,
        "backend.offload": phase.backend.offload,
        "latency.p50_ms": latency.p50_ms,
        "latency.p95_ms": latency.p95_ms,
        "latency.p99_ms": latency.p99_ms,
        "latency.max_ms": latency.max_ms,
        "service_time.p50_ms": phase.service_time.p50_ms,
        "service_time.p95_ms": phase.service_time.p95_ms,
        "service_time.p99_ms": phase.service_time.p99_ms,
        "service_time.max_ms": phase.service_time.max_ms,
        "errors.rate": phase.error_rate,
    }
    for tier in phase.tiers:
        metrics[f"hit_rate.{tier.name}"] = tier.hit_rate
        metrics[f"hit_rate.{tier.name}.recorded_pace"] = tier.recorded_pace_hit_rate
        metrics[f"hit_rate.{tier.name}.cross_check"] = tier.cross_check_hit_rate
        metrics[f"{tier.name}.stale_rate"] = tier.stale_rate
        metrics[f"{tier.name}.expirations"] = _num(tier.expirations)
        metrics[f"{tier.name}.evictions"] = _num(tier.evictions)
        metrics[f"{tier.name}.keys"] = _num(tier.keys)
        metrics[f"{tier.name}.memory_bytes"] = _num(tier.memory_bytes)
    return metrics


def _num(value: int | None) -> float | None:
    return None if value is None else float(value)


def flatten(report: RunReport, checks: Sequence[Check] = ()) -> Metrics:
    """Every vocabulary metric the report holds; ``checks`` set the to-target thresholds."""
    metrics: Metrics = {}
    for phase in report.phases:
        prefix = "warm." if phase.name == "warm" else ""
        metrics.update({prefix + k: v for k, v in phase_metrics(phase).items()})
    metrics["ceiling.hit_rate"] = report.ceilings.warmable
    metrics.update(target_metrics(report.timelines.warmup, checks, report.phase("warm")))
    metrics.update(convergence_metrics(report.timelines.convergence))
    return metrics


def target_thresholds(checks: Iterable[Check]) -> dict[str, float]:
    """Tier → the highest threshold of its ``hit_rate.<tier> >=``/``>`` verify checks.

    ``hit_rate.effective`` is left out: its warmup curve (share of all responses some tier
    answered) and the metric (1 − Π of the tiers' miss ratios over lookups) are not the
    same ratio, so a threshold of one cannot be read on the other.
    """
    thresholds: dict[str, float] = {}
    for check in checks:
        if check.phase != "verify" or check.op not in (">", ">="):
            continue
        if check.tier is None or not check.metric.startswith("hit_rate."):
            continue
        tier = check.metric.removeprefix("hit_rate.")
        thresholds[tier] = max(thresholds.get(tier, check.limit), check.limit)
    return thresholds


def first_reached(points: Sequence[CurvePoint], threshold: float) -> CurvePoint | None:
    """The first point whose rolling hit rate is at or above ``threshold``."""
    return next((p for p in points if p.hit_rate is not None and p.hit_rate >= threshold), None)


def target_metrics(
    curves: Sequence[TierCurve],
    checks: Sequence[Check],
    warm: PhaseReport | None,
) -> Metrics:
    """``warm.requests_to_target[.tier]`` and ``warm.seconds_to_target[.tier]``.

    Only the warm part of each curve counts (its first ``warm.requests`` requests);
    seconds count from the start of the warm phase. The overall metric is the latest of
    the checked tiers that have a curve; a tier whose rolling rate never reached its
    threshold during warm has no data, and so has the overall metric then.
    """
    start_s = warm.started_s if warm else 0.0
    last = warm.requests if warm else None
    thresholds = target_thresholds(checks)
    by_tier = {curve.tier: curve for curve in curves}
    metrics: Metrics = {}
    reached: list[CurvePoint | None] = []
    for tier, threshold in thresholds.items():
        curve = by_tier.get(tier)
        if curve is None or not curve.points:
            continue  # no curve for this tier (e.g. ``effective`` over mixed sources)
        points = [p for p in curve.points if last is None or p.requests <= last]
        point = first_reached(points, threshold)
        reached.append(point)
        metrics[f"warm.requests_to_target.{tier}"] = None if point is None else point.requests
        metrics[f"warm.seconds_to_target.{tier}"] = (
            None if point is None else point.seconds - start_s
        )
    if reached and all(p is not None for p in reached):
        metrics["warm.requests_to_target"] = max(float(p.requests) for p in reached if p)
        metrics["warm.seconds_to_target"] = max(p.seconds - start_s for p in reached if p)
    return metrics
