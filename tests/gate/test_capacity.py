"""Capacity diagnosis: tier sizes, keys needed from the MRC, and which failure a check shows."""

from __future__ import annotations

from typing import Any

import pytest

from warmer.checks.grammar import parse_check
from warmer.config import config_from_tree
from warmer.gate.capacity import (
    TierSize,
    explain,
    hit_at,
    keys_for,
    needed_keys,
    tier_size,
)
from warmer.gate.diagnose import Evidence, explain_failure
from warmer.model.run import MrcPoint
from warmer.observe.interface import TierSnapshot

TIERS = ("l0", "l1", "l2")
# hit rate 1 - miss: 10 keys 0.30, 100 keys 0.50, 1 000 keys 0.70, 10 000 keys 0.80 (ceiling)
CURVE = (MrcPoint(10, 0.7), MrcPoint(100, 0.5), MrcPoint(1000, 0.3), MrcPoint(10_000, 0.2))


def _check(text: str) -> Any:
    return parse_check(text, TIERS)


def test_the_curve_reads_as_a_step_function() -> None:
    assert hit_at(CURVE, 5) == 0.0 and hit_at(CURVE, 150) == pytest.approx(0.5)
    assert keys_for(CURVE, 0.6) == 1000 and keys_for(CURVE, 0.85) is None


def test_deeper_tiers_need_what_the_tiers_above_leave() -> None:
    sizes = [TierSize("l0", keys=100, source="configured"), TierSize("l1", keys=None)]
    # L0 (100 keys) answers 0.5; L1 at 0.4 conditional must bring the two to 0.7.
    needed = needed_keys(CURVE, sizes, {"l0": 0.6, "l1": 0.4})
    assert needed == {"l0": 1000.0, "l1": 1000.0}
    assert needed_keys((), sizes, {"l0": 0.6}) == {}


def test_sizes_come_from_config_then_from_the_server() -> None:
    config = config_from_tree(
        {
            "tiers": {
                "l0": {"source": "cache-status", "cache": "l0", "capacity": 2000, "ttl_s": "1h"},
                "l1": {"source": "redis", "url": "redis://h"},
                "l2": {"source": "memcached", "url": "h:11211"},
            }
        }
    ).tiers
    assert tier_size("l0", config["l0"], None) == TierSize("l0", 2000, None, "configured", 3600)
    redis = TierSnapshot(0.0, keys=4000, memory_bytes=8 * 2**20, max_memory_bytes=16 * 2**20)
    l1 = tier_size("l1", config["l1"], redis)
    assert l1.keys == pytest.approx(8000) and l1.known
    assert l1.source == "Redis maxmemory 16.0 MB / 2,097 B per key"
    unbounded = tier_size("l1", config["l1"], TierSnapshot(0.0, max_memory_bytes=0))
    assert unbounded.keys is None and unbounded.known  # maxmemory 0: no limit
    assert not tier_size("l2", config["l2"], None).known  # nothing read: unknown


def _metrics(**values: float | None) -> dict[str, float | None]:
    return {name.replace("__", "."): value for name, value in values.items()}


@pytest.mark.parametrize(
    ("check", "metrics", "expected"),
    [
        (
            "hit_rate.l0 >= 0.6",
            {"capacity.l0.keys": 2000.0, "capacity.l0.needed_keys": 9500.0},
            "too small: L0 holds about 2,000 keys; this traffic needs about 9,500 for 60% (MRC): "
            "capacity",
        ),
        (
            "hit_rate.l0 >= 0.6",
            {
                "predicted.hit_rate.l0": 0.15,
                "predicted.hit_rate.l0.unexpiring": 0.69,
                "capacity.l0.ttl_s": 1.0,
                "capacity.l0.keys": 2000.0,
                "capacity.l0.needed_keys": 920.0,
            },
            "TTL-limited: with entries fresh for 1s L0 reaches about 0.15 at the recorded pace, "
            "without expiry 0.69 (simulated): TTL",
        ),
        (
            "hit_rate.l2 >= 0.1",
            {"predicted.hit_rate.l2": 0.27, "hit_rate.l2": 0.0},
            "not warmed: a warm L2 of this size and TTL reaches about 0.27 (simulated), verify "
            "measured 0.00: warm longer or with more of the sample",
        ),
        ("hit_rate.l0 >= 0.6", {"capacity.l0.keys": 2000.0}, None),  # nothing to compare
        (
            "hit_rate.l0 >= 0.6",
            {"capacity.l0.keys": 2000.0, "capacity.l0.needed_keys": 900.0},
            None,
        ),
        ("latency.p99_ms <= 40", {"capacity.l0.keys": 1.0, "capacity.l0.needed_keys": 9.0}, None),
        ("warm.hit_rate.l0 >= 0.6", {"predicted.hit_rate.l0": 0.9, "warm.hit_rate.l0": 0.1}, None),
    ],
)
def test_explain(check: str, metrics: dict[str, float | None], expected: str | None) -> None:
    assert explain(_check(check), metrics) == expected


def test_the_diagnosis_prefers_capacity_evidence_to_the_eviction_count() -> None:
    metrics = {
        "hit_rate.l0": 0.39,
        "l0.evictions": 2193.0,
        "capacity.l0.keys": 150.0,
        "capacity.l0.needed_keys": 920.0,
    }
    evidence = Evidence(metrics=metrics, tiers=TIERS)
    reason = explain_failure(_check("hit_rate.l0 >= 0.6"), 0.39, evidence)
    assert reason.startswith("too small: L0 holds about 150 keys")
    # Without the capacity evidence the eviction count still speaks.
    plain = Evidence(metrics={"hit_rate.l0": 0.39, "l0.evictions": 2193.0}, tiers=TIERS)
    assert explain_failure(_check("hit_rate.l0 >= 0.6"), 0.39, plain).endswith(": capacity")


def test_predicted_and_convergence_failures_are_explained() -> None:
    evidence = Evidence(
        metrics={"convergence.l0.plateau": 0.42, "capacity.l0.keys": 10.0,
                 "capacity.l0.needed_keys": 900.0},
        tiers=TIERS,
    )  # fmt: skip
    converged = explain_failure(_check("warm.converged.l0 == 1"), 0.0, evidence)
    assert converged == "L0's windowed hit rate had not settled by the end of warm (last " \
        "plateau 0.42): warm longer"  # fmt: skip
    predicted = explain_failure(_check("predicted.hit_rate.l0 >= 0.6"), 0.3, evidence)
    assert predicted.startswith("too small: L0 holds about 10 keys")
