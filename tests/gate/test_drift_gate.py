"""The gate with ``[gate] drift = true`` against the reference candidate and real Redis pairs.

The baseline ("production") is the reference candidate writing its L2 with a one-hour TTL
into a Redis of 100 MB under allkeys-lru. The drifted candidate writes a one-minute TTL
(a TTL changed in code) into a Redis of a tenth the memory under noeviction; the
identical candidate is configured like production.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from warmer.config import config_from_tree
from warmer.demo.candidate import CandidateServer, CandidateSettings
from warmer.demo.services import RedisServer
from warmer.gate import GateOptions, build_observation, prepare, run_gate
from warmer.gate.conclude import GateResult
from warmer.gate.rejudge import rejudge
from warmer.model.sample import SampleMeta
from warmer.sample.store import SampleWriter, open_sample

pytestmark = pytest.mark.slow

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
CHECKS = (
    "drift.failures == 0",
    'l2.config.maxmemory_policy == "allkeys-lru"',
    "l2.config.cluster_enabled == false",
    "l2.config.maxmemory >= 64MB",
    "l2.ttl.p50_s >= 300",
)


def _candidate(redis_url: str, ttl_s: float) -> CandidateServer:
    settings = CandidateSettings(
        l0_capacity=0, l2_url=redis_url, l2_ttl_s=ttl_s, backend_latency_ms=1, backend_jitter_ms=0
    )
    return CandidateServer(settings)


def _sample(tmp_path: Path, rows: int = 1200) -> Path:
    path = tmp_path / "s.jsonl"
    table = open_sample(DEMO_SAMPLE).to_table().slice(0, rows)
    writer = SampleWriter(path)
    writer.write_batch(table)
    writer.close(SampleMeta(requests=table.num_rows))
    return path


def _serve_production(baseline: RedisServer, sample: Path) -> None:
    """Production's L2 as its own traffic left it: the candidate code with a one-hour TTL."""
    targets = open_sample(sample).to_table().column("target").to_pylist()[:600]
    with _candidate(baseline.url, 3600.0) as production:
        for target in targets:
            with urllib.request.urlopen(production.url + target, timeout=10) as response:
                response.read()


def _gate(tmp_path: Path, sample: Path, candidate: CandidateServer, cache: RedisServer,
          baseline: RedisServer) -> GateResult:  # fmt: skip
    config = config_from_tree(
        {
            "tiers": {"l2": {"source": "redis", "url": cache.url, "baseline_url": baseline.url}},
            "gate": {"settle_s": 0.1, "drift": True},
            "observe": {"interval_s": 0.5, "sample_keys": 400},
        }
    )
    options = GateOptions(
        config=config, sample=sample, target=candidate.url, checks=CHECKS, run_dir=tmp_path / "run"
    )
    return run_gate(prepare(options, profile=False), build_observation(config))


def test_a_drifted_candidate_fails_the_gate_with_the_drift_table(
    tmp_path: Path, redis_factory: Callable[..., RedisServer]
) -> None:
    sample = _sample(tmp_path)
    production = redis_factory(maxmemory="100mb", maxmemory_policy="allkeys-lru")
    cache = redis_factory(maxmemory="10mb", extra_args=["--maxmemory-policy", "noeviction"])
    _serve_production(production, sample)
    with _candidate(cache.url, 60.0) as candidate:
        result = _gate(tmp_path, sample, candidate, cache, production)
    steps = [s.name for s in result.report.steps]
    assert steps[:6] == ["preflight", "tiers", "warm", "settle", "tiers-warm", "drift"]
    assert all(s.status == "ok" for s in result.report.steps), result.report.steps
    drift = result.report.drift
    assert drift is not None
    drifted = {r.aspect for r in drift.rows if r.status == "drift"}
    assert {"config.maxmemory", "config.maxmemory_policy", "ttl.p99_s"} <= drifted
    outcomes = {o.check.text: (o.status, o.value) for o in result.outcomes}
    assert outcomes[CHECKS[0]][0] == "fail" and outcomes[CHECKS[0]][1] >= 3  # type: ignore[operator]
    assert outcomes[CHECKS[1]] == ("fail", "noeviction")
    assert outcomes[CHECKS[2]] == ("pass", False)
    assert outcomes[CHECKS[3]] == ("fail", 10 * 1024**2)
    assert outcomes[CHECKS[4]][0] == "fail" and outcomes[CHECKS[4]][1] <= 60  # type: ignore[operator]
    assert result.exit_code == 1
    run_dir = tmp_path / "run"
    markdown = (run_dir / "report.md").read_text()
    assert "### Tier configuration" in markdown and "### Drift from the baseline" in markdown
    assert "noeviction" in markdown and "**DRIFT**" in markdown
    evidence = json.loads((run_dir / "evidence.json").read_text())
    assert evidence["metrics"]["l2.config.maxmemory_policy"] == "noeviction"
    assert evidence["steps"]["drift"]["failures"] == drift.failures
    # Re-judged from the run directory alone, the string metric reads back as a string.
    again = rejudge(run_dir, ['l2.config.maxmemory_policy == "noeviction"'], formats=["json"])
    assert (again.outcomes[0].status, again.outcomes[0].value) == ("pass", "noeviction")


def test_a_candidate_configured_like_production_passes(
    tmp_path: Path, redis_factory: Callable[..., RedisServer]
) -> None:
    sample = _sample(tmp_path)
    production = redis_factory(maxmemory="100mb", maxmemory_policy="allkeys-lru")
    cache = redis_factory(maxmemory="100mb", maxmemory_policy="allkeys-lru")
    _serve_production(production, sample)
    with _candidate(cache.url, 3600.0) as candidate:
        result = _gate(tmp_path, sample, candidate, cache, production)
    drift = result.report.drift
    assert drift is not None
    assert drift.failures == 0, [r for r in drift.rows if r.status == "drift"]
    assert all(o.status == "pass" for o in result.outcomes), result.outcomes
    assert result.exit_code == 0


def test_an_unreachable_baseline_is_exit_3_naming_the_setting(
    tmp_path: Path, redis_factory: Callable[..., RedisServer]
) -> None:
    sample = _sample(tmp_path, rows=300)
    cache = redis_factory(maxmemory="100mb")
    gone = redis_factory()
    gone.stop()
    with _candidate(cache.url, 3600.0) as candidate:
        result = _gate(tmp_path, sample, candidate, cache, gone)
    assert result.exit_code == 3
    assert result.fault is not None and result.fault.hint is not None
    assert "tiers.l2.baseline_url" in result.fault.hint
    assert [s.status for s in result.report.steps if s.name == "drift"] == ["error"]
