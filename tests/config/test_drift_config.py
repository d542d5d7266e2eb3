"""The [drift] table, baseline_url and [gate] drift: defaults, validation with the field path."""

from __future__ import annotations

import pytest

from warmer.config import config_from_tree
from warmer.errors import ConfigError


def test_defaults_and_overrides() -> None:
    config = config_from_tree(
        {
            "tiers": {"l2": {"source": "redis", "url": "redis://c", "baseline_url": "redis://p"}},
            "gate": {"drift": True},
            "drift": {"maxmemory_ratio": 0.5, "ttl_compare": "distribution"},
            "observe": {"sample_keys": 50},
        }
    )
    assert config.gate.drift and config.tiers["l2"].baseline_url == "redis://p"
    assert config.drift.maxmemory_ratio == 0.5 and config.drift.ttl_compare == "distribution"
    assert "maxmemory_policy" in config.drift.must_match
    assert config.observe.sample_keys == 50
    assert "redis://p" in repr(config.tiers["l2"])


@pytest.mark.parametrize(
    ("tree", "path", "words"),
    [
        ({"drift": {"ttl_compare": "ks"}}, "drift.ttl_compare", "is not one of"),
        ({"drift": {"min_keys": 1}}, "drift.min_keys", ">= 2"),
        ({"drift": {"must_match": ["policy"]}}, "drift.must_match", "not a tier setting"),
        ({"observe": {"sample_keys": 0}}, "observe.sample_keys", ">= 1"),
        (
            {"tiers": {"l0": {"source": "cache-status", "cache": "a", "baseline_url": "x"}}},
            "tiers.l0",
            "baseline_url needs source",
        ),
    ],
)
def test_bad_values_name_the_field(tree: dict[str, object], path: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        config_from_tree(tree)
    assert caught.value.path == path


def test_baseline_password_is_masked_in_repr() -> None:
    tier = config_from_tree(
        {"tiers": {"l2": {"source": "redis", "url": "redis://c", "baseline_url": "redis://:pw@p"}}}
    ).tiers["l2"]
    assert "pw" not in repr(tier)
