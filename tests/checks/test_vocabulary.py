"""Tests for the metric vocabulary."""

from __future__ import annotations

import pytest

from warmer.checks.vocabulary import VOCABULARY, resolve, table_rows
from warmer.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "pattern", "phase", "tier"),
    [
        ("hit_rate.effective", "hit_rate.effective", "verify", None),
        ("hit_rate.l2", "hit_rate.<tier>", "verify", "l2"),
        ("warm.hit_rate.l2", "hit_rate.<tier>", "warm", "l2"),
        ("l0.evictions", "<tier>.evictions", "verify", "l0"),
        ("warm.l0.expirations", "<tier>.expirations", "warm", "l0"),
        ("backend.offload", "backend.offload", "verify", None),
        ("warm.requests_to_target", "warm.requests_to_target", "warm", None),
        ("warm.seconds_to_target.l1", "warm.seconds_to_target.<tier>", "warm", "l1"),
        ("ceiling.hit_rate", "ceiling.hit_rate", "warm", None),
    ],
)
def test_resolve(name: str, pattern: str, phase: str, tier: str | None) -> None:
    metric = resolve(name, ["l0", "l1", "l2"])
    assert (metric.spec.pattern, metric.phase, metric.tier) == (pattern, phase, tier)


@pytest.mark.parametrize(
    "name", ["hit_rate", "latency.p42_ms", "warm.ceiling.hit_rate", "requests_to_target", ""]
)
def test_unknown_metric(name: str) -> None:
    with pytest.raises(ConfigError, match="unknown metric"):
        resolve(name, ["l0"])


def test_unconfigured_tier_lists_the_configured_ones() -> None:
    with pytest.raises(ConfigError) as info:
        resolve("l3.keys", ["l1", "l0"])
    assert "tiers: l0, l1" in info.value.message
    assert info.value.hint == "add [tiers.l3] to warmer.toml or fix the check"


def test_no_tiers_configured() -> None:
    with pytest.raises(ConfigError, match="tiers: none"):
        resolve("hit_rate.l0", [])


def test_table_has_every_issue_metric() -> None:
    patterns = {row[0] for row in table_rows()}
    wanted = {
        "hit_rate.<tier>",
        "hit_rate.effective",
        "backend.requests",
        "backend.rps_mean",
        "backend.rps_peak",
        "backend.offload",
        "latency.p50_ms",
        "latency.p95_ms",
        "latency.p99_ms",
        "latency.max_ms",
        "errors.rate",
        "<tier>.evictions",
        "<tier>.keys",
        "<tier>.memory_bytes",
        "warm.requests_to_target",
        "warm.seconds_to_target",
        "ceiling.hit_rate",
    }
    assert wanted <= patterns
    assert len(patterns) == len(VOCABULARY)
