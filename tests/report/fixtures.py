"""A fixed, hand-built ``RunReport`` for the report tests and golden files.

It holds a passing, a failing and a no-data check, three tiers, and traffic strings that try
to break out of every format (``<script>``, ``|``, backticks, control characters).
"""

from __future__ import annotations

import math

from warmer.model.run import (
    BackendMetrics,
    Ceilings,
    CheckResult,
    CurvePoint,
    DriftReport,
    DriftRow,
    LatencyHistogram,
    LatencySummary,
    LoadPoint,
    MrcBytesPoint,
    MrcPoint,
    PhaseMark,
    PhaseReport,
    Plan,
    Predictions,
    RatePoint,
    RunReport,
    SampleSummary,
    TierConfiguration,
    TierConvergence,
    TierCurve,
    TierForecast,
    TierMetrics,
    Timelines,
    WarmControl,
)

INJECTED_TITLE = "PWNED"
SCRIPT = f"<script>document.title='{INJECTED_TITLE}'</script>"
SAMPLE_PATH = f"traffic/{SCRIPT}|prod`x`.jsonl.gz"
EDGES = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)


def _curve(tier: str, rate: float, speed: float, n: int = 200) -> TierCurve:
    points = []
    for i in range(1, n + 1):
        requests = i * 50
        hit = rate * (1 - math.exp(-requests / speed)) if i > 3 else None
        points.append(CurvePoint(requests, round(requests / 400, 3), _r(hit)))
    return TierCurve(tier, tuple(points))


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _tiers(verify: bool) -> tuple[TierMetrics, ...]:
    scale = 1 if verify else 4
    return (
        TierMetrics(
            "l0",
            "cache-status",
            hits=1420 // scale,
            misses=580 // scale,
            lookups=2000 // scale,
            hit_rate=0.71 if verify else 0.52,
            evictions=12400,
            keys=1200,
            memory_bytes=52_428_800,
        ),
        TierMetrics(
            "l1",
            "redis",
            hits=560 // scale,
            misses=20 // scale,
            lookups=580 // scale,
            hit_rate=0.9655 if verify else 0.8,
            evictions=0,
            keys=9800,
            memory_bytes=104_857_600,
            shared=True,
        ),
        TierMetrics(
            "l2",
            "prometheus",
            missing_data=True,
            note="no sample from http://prom:9090/metrics | timeout",
        ),
    )


def _phase(name: str, requests: int, started: float, duration: float) -> PhaseReport:
    verify = name == "verify"
    counts = (
        (3, 40, 210, 900, 500, 200, 90, 40, 12, 5)
        if verify
        else (1, 10, 300, 2500, 3000, 1200, 600, 300, 70, 19)
    )
    return PhaseReport(
        name=name,
        requests=requests,
        started_s=started,
        duration_s=duration,
        achieved_rps=round(requests / duration, 2),
        status_classes={"2xx": requests - 15, "3xx": 0, "4xx": 12, "5xx": 3},
        errors={"timeout": 2, "refused": 0},
        error_rate=0.0025,
        latency=LatencySummary(
            p50_ms=3.4 if verify else 4.9,
            p90_ms=9.5,
            p95_ms=14.2,
            p99_ms=48.7,
            max_ms=431.0,
            mean_ms=5.1,
            histogram=LatencyHistogram(EDGES, counts),
        ),
        tiers=_tiers(verify),
        effective_hit_rate=0.99 if verify else 0.9,
        backend=BackendMetrics(
            "prometheus",
            requests=20 if verify else 800,
            rps_mean=4.1,
            rps_peak=35.0,
            offload=0.99 if verify else 0.9,
            consistent=False,
            consistency_message="backend counter 20 vs tier misses 35",
        ),
    )


def _checks() -> tuple[CheckResult, ...]:
    return (
        CheckResult(
            "backend.offload >= 95%", "backend.offload", ">=", 0.95, 0.99, "pass", unit="%"
        ),
        CheckResult(
            "hit_rate.l0 >= 0.85",
            "hit_rate.l0",
            ">=",
            0.85,
            0.71,
            "fail",
            diagnosis="L0 evicted 12,400 keys during verify: capacity",
        ),
        CheckResult(
            "hit_rate.l2 >= 0.5",
            "hit_rate.l2",
            ">=",
            0.5,
            None,
            "no_data",
            diagnosis="no data from tier l2 (prometheus): <b>|timeout|</b>",
        ),
        CheckResult(
            "latency.p99_ms <= 40ms",
            "latency.p99_ms",
            "<=",
            40.0,
            48.7,
            "fail",
            unit="ms",
            diagnosis="tail latency from `backend` misses",
        ),
    )


def _timelines() -> Timelines:
    load = tuple(LoadPoint(s / 2, round(40 * math.exp(-s / 40) + 2, 2)) for s in range(0, 51))
    return Timelines(
        warmup=(_curve("l0", 0.72, 1500), _curve("l1", 0.97, 900), _curve("effective", 0.99, 700)),
        backend_load=load,
        phase_marks=(PhaseMark("warm", 0, 0.0), PhaseMark("verify", 8000, 22.0)),
        window_requests=500,
        convergence=(
            TierConvergence(
                "l0", True, 0.71, 0.04, 800, seconds_to_warm=12.5, requests_to_warm=5000
            ),
            TierConvergence("l1", False, 0.93, 0.03, 800),
        ),
    )


def _predictions() -> Predictions:
    return Predictions(
        tiers=(
            TierForecast("l0", 2000.0, None, "configured", 60.0, 0.74, 0.78, 9500.0, 0.85),
            TierForecast("l1", 50000.0, 2**28, f"Redis maxmemory {SCRIPT}", None, 0.95, 0.95),
            TierForecast("l2", None, None, None, None, None, None),
        ),
        effective_hit_rate=0.98,
        basis="verify part at the recorded pace, after the warm part (tier simulation)",
    )


def _warming() -> WarmControl:
    return WarmControl(
        stopped_early=f"warm_until held: hit_rate.l0 >= 0.7 {SCRIPT}",
        protect=("backend.rps <= 30", "errors.rate < 0.01"),
        rates=tuple(RatePoint(s / 2, min(100.0 * 1.5 ** (s / 2), 400.0)) for s in range(0, 40)),
        decisions=40,
        decreases=2,
        peak_backend_rps=31.5,
    )


def _tier_config() -> tuple[TierConfiguration, ...]:
    """An L2 whose CONFIG is renamed (managed Redis) and whose key prefix is hostile."""
    return (
        TierConfiguration(
            "l2",
            "redis",
            "redis://:***@cache:6379/0",
            values={
                "config.maxmemory": 100.0 * 1024**2,
                "config.maxmemory_policy": "allkeys-lru",
                "config.maxmemory_samples": None,
                "config.cluster_enabled": False,
                "ttl.p50_s": 1800.0,
                "ttl.no_expiry_rate": 0.02,
                "memory_per_key_bytes": 2048.0,
            },
            no_data={"maxmemory_samples": f"CONFIG GET is renamed {SCRIPT}"},
            sampled_keys=1000,
        ),
    )


def _drift() -> DriftReport:
    rows = (
        DriftRow("l2", "config.maxmemory_policy", "allkeys-lru", "noeviction", "drift",
                 "must match ([drift] must_match)"),
        DriftRow("l2", "ttl.p99_s", "3,590 s", "3,598 s", "ok", "candidate/baseline 1.00"),
        DriftRow("l2", f"prefix {SCRIPT}|x", "10.0%", "9.0%", "ok"),
    )  # fmt: skip
    return DriftReport(rows=rows, failures=1)


def build_run() -> RunReport:
    """The fixed run every report test renders."""
    return RunReport(
        run_id="20261130T184000Z-3f2a",
        verdict="fail",
        exit_code=1,
        started_at="2026-11-30T18:40:00Z",
        finished_at="2026-11-30T18:40:27Z",
        warmer_version="0.1.0",
        target="http://127.0.0.1:8080",
        warnings=(
            f"1,204 requests skipped: method POST not allowed | see {SCRIPT}",
            "tier l1 is shared: its counts include other `traffic`",
        ),
        checks=_checks(),
        tier_config=_tier_config(),
        drift=_drift(),
        sample=SampleSummary(
            SAMPLE_PATH,
            requests=10000,
            unique_keys=2300,
            span_s=3600.0,
            sample_rate=0.5,
            created="2026-11-30T10:00:00Z",
            formats=("combined",),
        ),
        plan=Plan(
            warm_requests=8000,
            verify_requests=2000,
            split="first 80 % by time",
            warm_fraction=0.8,
            pacing="rate",
            rate=400.0,
            concurrency=64,
            order="hot-first",
            engine="fast",
            settle_s=2.0,
            expected_duration_s=25.0,
            warm_plan="1,800 of 2,300 keys once, most valuable first, then the 400 hottest again",
            warm_keys=1800,
            hot_pass=400,
            warm_target=0.87,
            warm_predicted=0.87,
            warm_until=("hit_rate.l0 >= 0.7",),
            protect=("backend.rps <= 30", "errors.rate < 0.01"),
        ),
        phases=(_phase("warm", 8000, 0.0, 20.0), _phase("verify", 2000, 22.0, 5.0)),
        ceilings=Ceilings(
            infinite_cache=0.77,
            warmable=0.92,
            unique_keys=2300,
            miss_ratio_curve=tuple(
                MrcPoint(k, round(0.23 + 0.77 * math.exp(-k / 400), 4)) for k in range(0, 2400, 100)
            ),
            miss_ratio_curve_bytes=tuple(
                MrcBytesPoint(k * 2**20, round(0.23 + 0.77 * math.exp(-k / 8), 4))
                for k in range(0, 48, 2)
            ),
            mrc_method="exact",
            mrc_sampling_rate=1.0,
        ),
        timelines=_timelines(),
        predictions=_predictions(),
        warming=_warming(),
        config={
            "replay": {"target": "http://127.0.0.1:8080", "headers": {"authorization": "***"}},
            "tiers": {"l1": {"source": "redis", "url": "redis://:***@127.0.0.1:6390"}},
            "gate": {"checks": ["hit_rate.l0 >= 0.85"], "note": SCRIPT},
        },
    )
