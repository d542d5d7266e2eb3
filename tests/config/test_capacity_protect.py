"""Tier capacity and TTL, backend-protection limits and warm_until: parsed when the file loads."""

from __future__ import annotations

from typing import Any

import pytest

from warmer.config import config_from_tree
from warmer.config.sizes import Capacity, parse_capacity, parse_duration
from warmer.errors import ConfigError


def _tier(**fields: Any) -> dict[str, Any]:
    return {"tiers": {"l0": {"source": "cache-status", "cache": "l0", **fields}}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2000, Capacity(2000, "objects")),
        ("2000", Capacity(2000, "objects")),
        ("10_000 objects", Capacity(10_000, "objects")),
        ("5000 keys", Capacity(5000, "objects")),
        ("512MB", Capacity(512 * 2**20, "bytes")),
        ("2 GB", Capacity(2 * 2**30, "bytes")),
        ("1.5kb", Capacity(1536, "bytes")),
    ],
)
def test_capacities(value: int | str, expected: Capacity) -> None:
    assert parse_capacity(value) == expected
    assert config_from_tree(_tier(capacity=value)).tiers["l0"].limit() == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(60, 60.0), ("90s", 90.0), ("1.5m", 90.0), ("250ms", 0.25), ("1h", 3600.0), ("3600", 3600.0)],
)
def test_ttls(value: float | str, seconds: float) -> None:
    assert parse_duration(value) == seconds
    assert config_from_tree(_tier(ttl_s=value)).tiers["l0"].ttl_seconds() == seconds


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"capacity": "2XB"}, "tiers.l0.capacity: unknown capacity unit 'xb'"),
        ({"capacity": 0}, "tiers.l0.capacity: capacity 0 must be greater than 0"),
        ({"capacity": "lots"}, "tiers.l0.capacity: cannot read capacity 'lots'"),
        ({"ttl_s": "soon"}, "tiers.l0.ttl_s: cannot read duration 'soon'"),
        ({"ttl_s": -5}, "tiers.l0.ttl_s: duration -5.0 must be greater than 0"),
        ({"eviction": "fifo"}, "tiers.l0.eviction"),
    ],
)
def test_bad_capacity_or_ttl_is_a_config_error_naming_the_tier(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_tree(_tier(**fields))
    assert message in str(info.value)


def test_protect_limits_are_parsed_when_the_file_loads() -> None:
    config = config_from_tree(
        {
            "replay": {
                "protect": ["backend.rps <= 800", "errors.rate < 1%", "latency.p99_ms <= 0.2s"]
            }
        }
    )
    assert config.replay.protect[0] == "backend.rps <= 800"


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("backend.rpz <= 800", "replay.protect[0]: bad check: unknown protect metric"),
        ("backend.rps >= 800", "must be an upper limit"),
        ("hit_rate.l0 <= 0.5", "unknown protect metric 'hit_rate.l0'"),
        ("errors.rate < 5", "write 5%"),
    ],
)
def test_bad_protect_limits(limit: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_tree({"replay": {"protect": [limit]}})
    assert message in str(info.value)


def test_warm_until_takes_hit_rate_floors_only() -> None:
    assert config_from_tree({"gate": {"warm_until": ["hit_rate.l0 >= 0.9"]}}).gate.warm_until
    for text in ("latency.p99_ms <= 40", "hit_rate.l0 <= 0.9", "warm.hit_rate.l0 >= 0.5"):
        with pytest.raises(ConfigError, match="must be hit_rate"):
            config_from_tree({"gate": {"warm_until": [text]}})
