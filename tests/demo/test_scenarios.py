"""Demo scenarios: lookup, the bundled config, and a stack that wires the candidate as told."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import require
from warmer.config.load import load_config
from warmer.demo.scenarios import SCENARIOS, bundled_config, scenario
from warmer.demo.services import find_redis_server
from warmer.errors import ExitCode, UsageError


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
