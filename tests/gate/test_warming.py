"""The warm phase against the real candidate: one plan count everywhere, warm_until, protection,
and the prediction and capacity evidence the gate writes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warmer.config import config_from_tree
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.gate import GateOptions, build_observation, prepare, run_gate
from warmer.gate.plan import plan_lines
from warmer.gate.run import PhaseStarted
from warmer.model.sample import SampleMeta
from warmer.replay.results import open_results
from warmer.replay.run import ReplayFinished, ReplayProgress
from warmer.sample.store import SampleWriter, open_sample

pytestmark = pytest.mark.slow

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first six recorded minutes of the demo sample (about 4 000 requests)."""
    path = tmp_path_factory.mktemp("sample") / "s.parquet"
    table = open_sample(DEMO_SAMPLE).to_table()
    table = table.filter(table.column("ts").to_numpy() < table.column("ts")[0].as_py() + 360)
    with SampleWriter(path) as writer:
        writer.write_batch(table)
        writer.close(SampleMeta(requests=table.num_rows))
    return path


def _config(candidate: CandidateServer, redis: RedisServer, **replay: Any) -> Any:
    return config_from_tree(
        {
            "replay": {"concurrency": 16, **replay},
            "tiers": {
                "l0": {"source": "cache-status", "cache": "l0", "capacity": 300, "ttl_s": "1h"},
                "l2": {"source": "redis", "url": redis.url, "ttl_s": 3600},
            },
            "backend": {
                "source": "prometheus",
                "url": candidate.metrics_url,
                "requests": "candidate_backend_requests_total",
            },
            "gate": {"settle_s": 0.2},
            "observe": {"interval_s": 0.25},
        }
    )


def _settings(redis: RedisServer, capacity_rps: float | None = None) -> CandidateSettings:
    """L0 of 300 entries, L2 on ``redis``, a 2 ms origin taking ``capacity_rps`` at most."""
    return CandidateSettings(
        l0_capacity=300,
        l2_url=redis.url,
        backend_latency_ms=2,
        backend_jitter_ms=1,
        backend_capacity_rps=capacity_rps,
    )


@pytest.fixture
def stack(redis_tcp: RedisServer) -> Iterator[tuple[CandidateServer, RedisServer]]:
    with CandidateServer(_settings(redis_tcp)) as candidate:
        yield candidate, redis_tcp


def _run(
    config: Any,
    sample: Path,
    tmp_path: Path,
    target: str,
    checks: tuple[str, ...] = ("hit_rate.effective >= 0.5", "hit_rate.l0 >= 0.3"),
    **options: Any,
) -> Any:
    gate = GateOptions(config, sample, target, checks, tmp_path / "run", **options)
    prepared = prepare(gate, profile=False)
    events: list[Any] = []
    result = run_gate(prepared, build_observation(config), on_event=events.append)
    return prepared, result, events


def test_hot_first_sends_exactly_what_its_plan_says(
    sample: Path, tmp_path: Path, stack: tuple[CandidateServer, RedisServer]
) -> None:
    candidate, redis = stack
    config = _config(candidate, redis, order="hot-first")
    prepared, result, events = _run(config, sample, tmp_path, candidate.url)
    planned = prepared.plan.warm_requests
    warm = prepared.warm_plan
    assert warm is not None and planned == warm.requests == warm.keys + warm.hot_pass
    assert f"warm:     {planned:,} requests, order hot-first" in plan_lines(prepared.plan)
    started = next(e for e in events if isinstance(e, PhaseStarted) and e.phase == "warm")
    progress = [e for e in events if isinstance(e, ReplayProgress) and e.phase == "warm"]
    finished = next(e for e in events if isinstance(e, ReplayFinished))
    assert started.requests == planned
    assert all(e.expected == planned for e in progress)
    assert finished.summary.sent == planned and not finished.summary.skipped
    assert result.report.plan.warm_requests == planned
    assert result.report.phase("warm").requests == planned
    rows = open_results(tmp_path / "run" / "results.parquet").to_table()
    warm_keys = rows.filter(rows.column("phase").to_numpy(zero_copy_only=False) == "warm")
    assert warm_keys.num_rows == planned
    # Each key once, then the hot pass: no key more than twice.
    counts = {}
    for key in warm_keys.column("key").to_pylist():
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == warm.keys and max(counts.values()) <= 2
    assert sum(1 for c in counts.values() if c == 2) == warm.hot_pass


def test_warm_until_stops_warming_once_the_live_rate_holds(
    sample: Path, tmp_path: Path, stack: tuple[CandidateServer, RedisServer]
) -> None:
    candidate, redis = stack
    # Paced, so the live rate is read a few times (twice a second) before the plan runs out.
    config = _config(candidate, redis, pacing="rate", rate=400)
    prepared, result, events = _run(
        config, sample, tmp_path, candidate.url, warm_until=("hit_rate.l0 >= 0.2",)
    )
    finished = next(e for e in events if isinstance(e, ReplayFinished))
    assert finished.summary.sent < prepared.plan.warm_requests
    warming = result.report.warming
    assert warming is not None and warming.stopped_early is not None
    assert warming.stopped_early.startswith("warm_until held: hit_rate.l0 >= 0.2 (observed 0.")
    warm_step = next(s for s in result.report.steps if s.name == "warm")
    assert "stopped early" in warm_step.summary and warm_step.status == "ok"
    assert result.report.plan.warm_until == ("hit_rate.l0 >= 0.2",)


def test_protection_cuts_the_pace_when_the_backend_passes_its_limit(
    sample: Path, tmp_path: Path, redis_tcp: RedisServer
) -> None:
    with CandidateServer(_settings(redis_tcp, capacity_rps=150)) as candidate:
        config = _config(
            candidate,
            redis_tcp,
            order="hot-first",  # every warm request is a miss: the backend sees the pace
            protect=["backend.rps <= 100"],
            protect_start_rate=300.0,  # three times what the backend may take
            protect_interval_s=0.25,
        )
        # No hit-rate target: the plan warms nearly every key, a few seconds at this pace.
        _, result, _ = _run(config, sample, tmp_path, candidate.url, checks=())
    warming = result.report.warming
    assert warming is not None and warming.protect == ("backend.rps <= 100",)
    rates = [p.rate for p in warming.rates]
    assert len(rates) >= 4
    # Every warm request is a miss: the backend reads about 300/s, and the pace is cut.
    assert warming.decreases >= 1 and min(rates) < 150
    assert any(later < earlier for earlier, later in itertools.pairwise(rates))
    assert warming.peak_backend_rps is not None and warming.peak_backend_rps > 100
    evidence = json.loads((tmp_path / "run" / "evidence.json").read_text())
    assert evidence["steps"]["warm"]["warming"]["decreases"] == warming.decreases


def test_unprotected_warming_at_max_pace_overruns_a_backend_with_a_capacity(
    sample: Path, tmp_path: Path, redis_tcp: RedisServer
) -> None:
    with CandidateServer(_settings(redis_tcp, capacity_rps=50)) as candidate:
        config = _config(candidate, redis_tcp, order="hot-first")
        _, result, _ = _run(config, sample, tmp_path, candidate.url)
    warm = result.report.phase("warm")
    # Thousands of misses as fast as 16 connections go: far past 50 a second, answered 503.
    assert warm is not None and warm.status_classes["5xx"] > 0


def test_the_gate_predicts_each_tier_and_explains_a_small_one(
    sample: Path, tmp_path: Path, stack: tuple[CandidateServer, RedisServer]
) -> None:
    candidate, redis = stack
    config = _config(candidate, redis)
    # An LRU of 300 keys reaches 0.46 on this sample; 0.5 needs about 450.
    checks = ("hit_rate.l0 >= 0.5", "predicted.hit_rate.l0 > 0", "warm.converged.l2 == 1")
    gate = GateOptions(config, sample, candidate.url, checks, tmp_path / "run")
    result = run_gate(prepare(gate, profile=False), build_observation(config))
    report = result.report
    assert report.ceilings.miss_ratio_curve and report.ceilings.mrc_method == "exact"
    predictions = report.predictions
    assert predictions is not None
    l0 = predictions.tier("l0")
    assert l0 is not None and l0.capacity_keys == 300 and l0.capacity_source == "configured"
    assert l0.hit_rate is not None and l0.needed_keys is not None and l0.needed_keys > 300
    l2 = predictions.tier("l2")
    assert l2 is not None and l2.capacity_source == "Redis maxmemory 0 (no limit)"
    by_metric = {o.check.metric: o for o in result.outcomes}
    small = by_metric["hit_rate.l0"]
    assert small.status == "fail"
    assert small.diagnosis is not None
    assert small.diagnosis.startswith("too small: L0 holds about 300 keys; this traffic needs")
    assert by_metric["predicted.hit_rate.l0"].status == "pass"
    assert by_metric["warm.converged.l2"].value in (0.0, 1.0)
    assert report.timelines.convergence
