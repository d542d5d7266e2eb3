"""Demo scenarios: lookup, the bundled config, and a stack that wires the candidate as told."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from tests.conftest import require
from warmer.checks.grammar import parse_check
from warmer.config.load import load_config
from warmer.demo.candidate.service import cache_key
from warmer.demo.scenarios import SCENARIOS, bundled_config, bundled_sample, scenario
from warmer.demo.services import find_redis_server
from warmer.errors import ExitCode, UsageError
from warmer.gate import GateOptions, prepare, run_gate
from warmer.gate.plan import split_sample
from warmer.sample.store import open_sample


def test_the_four_scenarios_and_their_expected_outcomes() -> None:
    assert list(SCENARIOS) == ["healthy", "undersized-l0", "short-ttl", "no-l2"]
    assert scenario("healthy").expected_exit is ExitCode.OK
    assert not scenario("healthy").failing_checks
    for name in ("undersized-l0", "short-ttl", "no-l2"):
        assert scenario(name).expected_exit is ExitCode.CHECK_FAILED
        assert scenario(name).failing_checks


def test_scenarios_differ_where_they_say() -> None:
    healthy = scenario("healthy").candidate
    assert scenario("undersized-l0").candidate.l0_capacity * 10 <= healthy.l0_capacity
    # Shorter than the gate's default 2 s settle, so warmed entries expire before verify.
    assert scenario("short-ttl").candidate.l0_ttl_s < 2.0
    assert scenario("short-ttl").candidate.l2_ttl_s < 2.0
    assert not scenario("no-l2").use_l2 and scenario("healthy").use_l2


def test_unknown_scenario_is_a_usage_error_listing_the_names() -> None:
    with pytest.raises(UsageError, match="unknown demo scenario") as caught:
        scenario("lukewarm")
    assert "undersized-l0" in (caught.value.hint or "")


def test_bundled_config_loads_with_the_stack_placeholders() -> None:
    env = {
        "WARMER_DEMO_TARGET": "http://127.0.0.1:9",
        "WARMER_DEMO_METRICS_URL": "http://127.0.0.1:9/metrics",
        "WARMER_DEMO_L1_URL": "unix:///tmp/l1.sock?db=0",
        "WARMER_DEMO_L2_URL": "redis://127.0.0.1:10/0",
    }
    config, _ = load_config(bundled_config(), env=env)
    assert config.replay.target == "http://127.0.0.1:9"
    assert config.tiers["l0"].source == "cache-status" and config.tiers["l0"].cache == "l0"
    assert config.tiers["l1"].url == env["WARMER_DEMO_L1_URL"]
    assert config.backend is not None
    assert config.backend.requests == "candidate_backend_requests_total"
    checked = {check.split()[0] for check in config.gate.checks}
    for spec in SCENARIOS.values():
        assert set(spec.failing_checks) <= checked, spec.name


def test_no_l2_stack_runs_l2_but_the_candidate_does_not_use_it() -> None:
    require(find_redis_server(), "redis-server")
    with scenario("no-l2").start() as stack:
        env = stack.env()
        assert set(env) >= {"WARMER_DEMO_TARGET", "WARMER_DEMO_L1_URL", "WARMER_DEMO_L2_URL"}
        response = httpx.get(stack.target + "/product/1")
        assert response.headers["cache-status"] == (
            "l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored"
        )
        assert stack.l2.is_ready()
    assert not stack.l1.is_ready() and not stack.l2.is_ready()


STACK_ENV = {
    "WARMER_DEMO_TARGET": "http://127.0.0.1:9",
    "WARMER_DEMO_METRICS_URL": "http://127.0.0.1:9/metrics",
    "WARMER_DEMO_L1_URL": "unix:///tmp/l1.sock?db=0",
    "WARMER_DEMO_L2_URL": "redis://127.0.0.1:10/0",
}


def _cacheable_keys(part: pa.Table) -> set[str]:
    keys = set()
    for row in part.select(["method", "target"]).to_pylist():
        path, _, query = row["target"].partition("?")
        key = cache_key(path, query) if row["method"] in ("GET", "HEAD") else None
        if key is not None:
            keys.add(key)
    return keys


def test_l2_keys_threshold_separates_short_ttl_by_the_sample_not_by_timing() -> None:
    """With every TTL at 1 s, L2 ends verify holding at most what verify stored (its
    distinct keys, plus expired ones Redis has not purged yet); with long TTLs it holds
    every key of the run. The threshold must sit clear of both, whatever the replay speed."""
    sample = bundled_sample()
    if sample is None:
        pytest.skip("the bundled sample ships with the source checkout only")
    config, _ = load_config(bundled_config(), env=STACK_ENV)
    [threshold] = [parse_check(c).threshold for c in config.gate.checks if c.startswith("l2.keys")]
    table = open_sample(sample).to_table()
    fraction = config.gate.warm_fraction or config.sample.warm_fraction
    split = split_sample(table, warm_fraction=fraction, warm_duration_s=config.gate.warm_duration_s)
    verify_keys = len(_cacheable_keys(split.verify.to_table()))
    run_keys = len(_cacheable_keys(table))
    assert 2 * verify_keys <= threshold <= run_keys / 2, (verify_keys, run_keys)


# scenario -> {failing metric: (words its diagnosis must contain)}
DIAGNOSES = {
    "undersized-l0": {"hit_rate.l0": ("too small: L0 holds about 150 keys", "(MRC): capacity")},
    "short-ttl": {
        "hit_rate.l0": ("TTL-limited: with entries fresh for 1s L0 reaches about", ": TTL"),
        "hit_rate.l2": ("TTL-limited", ": TTL"),
        "hit_rate.effective": ("expired", ": TTL"),
        "backend.offload": ("expired", ": TTL"),
        "l2.keys": ("L2 expired", ": TTL"),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DIAGNOSES))
def test_failing_scenario_fails_its_checks_with_the_diagnosis_of_its_fault(
    name: str, tmp_path: Path
) -> None:
    require(find_redis_server(), "redis-server")
    if bundled_sample() is None:
        pytest.skip("the bundled sample ships with the source checkout only")
    spec = scenario(name)
    with spec.start(tmp_path / "stack") as stack:
        config, _ = load_config(bundled_config(), env=stack.env())
        options = GateOptions(
            config, Path(config.gate.sample), stack.target, config.gate.checks, tmp_path / "run"
        )
        result = run_gate(prepare(options, profile=False))
    failing = {o.check.metric: o for o in result.outcomes if o.status != "pass"}
    assert set(spec.failing_checks) <= set(failing), sorted(failing)
    metrics = json.loads((tmp_path / "run" / "evidence.json").read_text())["metrics"]
    for metric, words in DIAGNOSES[name].items():
        diagnosis = failing[metric].diagnosis or ""
        assert all(w in diagnosis for w in words), (metric, diagnosis)
    if name == "undersized-l0":  # the size needed is the miss-ratio curve's, not a default
        needed = metrics["capacity.l0.needed_keys"]
        assert 500 < needed < 2000  # the curve reaches 60 % between 500 and 1 000 keys
        assert metrics["capacity.l0.keys"] == 150 and metrics["l0.evictions"] > 0
        # The prediction at this size sits beside the measurement (both near 0.39).
        assert abs(metrics["predicted.hit_rate.l0"] - metrics["hit_rate.l0"]) < 0.05
