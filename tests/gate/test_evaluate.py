"""Tests for check evaluation."""

from __future__ import annotations

import math

import pytest

from warmer.checks.grammar import parse_check
from warmer.gate.evaluate import evaluate, verdict


@pytest.mark.parametrize(
    ("check", "metrics", "policy", "status", "passed"),
    [
        ("hit_rate.l0 >= 0.85", {"hit_rate.l0": 0.9}, "fail", "pass", True),
        ("hit_rate.l0 >= 0.85", {"hit_rate.l0": 0.85}, "fail", "pass", True),
        ("hit_rate.l0 >= 0.85", {"hit_rate.l0": 0.8}, "fail", "fail", False),
        ("hit_rate.l0 >= 0.85", {}, "fail", "no_data", False),
        ("hit_rate.l0 >= 0.85", {"hit_rate.l0": None}, "fail", "no_data", False),
        ("hit_rate.l0 >= 0.85", {"hit_rate.l0": math.nan}, "fail", "no_data", False),
        ("hit_rate.l0 >= 0.85", {}, "pass", "no_data", True),
        ("hit_rate.l0 >= 0.85 on no_data pass", {}, "fail", "no_data", True),
        ("hit_rate.l0 >= 0.85 on no_data fail", {}, "pass", "no_data", False),
        ("hit_rate.l0 >= 0.85 on no_data pass", {"hit_rate.l0": 0.1}, "fail", "fail", False),
        (
            "warm.hit_rate.l0 >= 0.5",
            {"hit_rate.l0": 0.9, "warm.hit_rate.l0": 0.4},
            "fail",
            "fail",
            False,
        ),
        ("latency.p99_ms <= 40", {"latency.p99_ms": 12}, "fail", "pass", True),
    ],
)
def test_evaluate(
    check: str, metrics: dict[str, float | None], policy: str, status: str, passed: bool
) -> None:
    [outcome] = evaluate([parse_check(check)], metrics, no_data=policy)  # type: ignore[arg-type]
    assert (outcome.status, outcome.passed) == (status, passed)
    assert outcome.value == metrics.get(parse_check(check).metric) or status == "no_data"


def test_verdict() -> None:
    checks = [parse_check("errors.rate < 0.01"), parse_check("backend.requests < 10")]
    assert verdict(evaluate(checks, {"errors.rate": 0.0, "backend.requests": 3})) == "pass"
    assert verdict(evaluate(checks, {"errors.rate": 0.0})) == "fail"
    assert verdict([]) == "pass"
