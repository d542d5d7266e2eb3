"""Drift: the KS test by hand, the comparison rules, and real Redis/Memcached pairs."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from tests.conftest import require
from tests.observe.tiers_fixtures import fill_memcached, fill_redis
from warmer.config import config_from_tree
from warmer.config.schema import DriftConfig
from warmer.demo.services import MemcachedServer, RedisServer, find_binary
from warmer.observe.drift import (
    DriftPair,
    compare,
    drift_metrics,
    drift_report,
    kolmogorov_tail,
    ks_2samp,
    measure,
)
from warmer.observe.tierconfig import TierReading, read_tier

# --------------------------------------------------------------------------- KS by hand


@pytest.mark.parametrize(
    ("lam", "p"), [(1.224, 0.10), (1.358, 0.05), (1.628, 0.01), (1.949, 0.001)]
)
def test_kolmogorov_tail_matches_the_tabulated_critical_values(lam: float, p: float) -> None:
    assert kolmogorov_tail(lam) == pytest.approx(p, rel=0.02)


def test_ks_statistic_exact_with_ties() -> None:
    assert ks_2samp([1, 2, 3], [1, 2, 3]) == (0.0, 1.0)
    statistic, p = ks_2samp([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert statistic == 1.0 and p < 0.01
    # F_a(2) = 2/4, F_b(2) = 1/2 ... the largest gap is at 3: 3/4 against 1/4
    statistic, _ = ks_2samp([1, 2, 3, 9], [2, 5, 6, 7])
    assert statistic == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least one"):
        ks_2samp([], [1.0])


def test_same_distribution_is_not_flagged_in_20_repeats() -> None:
    config = DriftConfig()
    flagged = 0
    for seed in range(20):
        rng = random.Random(seed)
        a = [rng.uniform(300, 3600) for _ in range(800)]
        b = [rng.uniform(300, 3600) for _ in range(800)]
        statistic, p = ks_2samp(a, b)
        flagged += p < config.ttl_p_value and statistic > config.ttl_max_statistic
    assert flagged == 0


def test_a_shifted_distribution_is_flagged() -> None:
    rng = random.Random(1)
    a = [rng.uniform(300, 3600) for _ in range(500)]
    b = [rng.uniform(30, 600) for _ in range(500)]
    statistic, p = ks_2samp(a, b)
    assert statistic > 0.8 and p < 1e-6


# --------------------------------------------------------------------------- rules


def _reading(**changes: object) -> TierReading:
    base: dict[str, object] = {
        "tier": "l2",
        "engine": "redis",
        "address": "redis://x",
        "settings": {
            "maxmemory": 1024.0**3,
            "maxmemory_policy": "allkeys-lru",
            "version": "7.0.15",
            "cluster_enabled": False,
        },
        "ttls_s": tuple(float(t) for t in range(100, 1100, 10)),
        "sampled": 100,
        "prefixes": {"user": 60, "page": 40},
        "memory_per_key_bytes": 120.0,
    }
    base.update(changes)
    return TierReading(**base)  # type: ignore[arg-type]


def _statuses(rows: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {r.aspect: r.status for r in rows}


def test_identical_readings_do_not_drift() -> None:
    rows = compare(_reading(), _reading(), DriftConfig())
    statuses = _statuses(rows)
    assert "drift" not in statuses.values()
    assert statuses["config.version"] == "info"
    assert drift_report(rows).failures == 0


def test_each_aspect_beyond_tolerance_drifts() -> None:
    candidate = _reading(
        settings={
            "maxmemory": 1024.0**3 / 10,
            "maxmemory_policy": "noeviction",
            "version": "6.2.0",
            "cluster_enabled": False,
        },
        ttls_s=tuple(float(t) for t in range(10, 110)),
        prefixes={"user": 20, "page": 40, "cart": 40},
        memory_per_key_bytes=400.0,
    )
    rows = compare(_reading(), candidate, DriftConfig())
    statuses = _statuses(rows)
    for aspect in (
        "config.maxmemory",
        "config.maxmemory_policy",
        "ttl.p99_s",
        "memory_per_key_bytes",
        "prefix user",
        "prefix cart",
    ):
        assert statuses[aspect] == "drift", aspect
    assert statuses["config.version"] == "info"  # a newer patch release is no drift
    assert statuses["ttl.distribution"] == "info"  # ttl_compare = "upper" shows it only
    assert statuses["prefix page"] == "ok"
    report = drift_report(rows)
    assert report.failures == 6
    assert drift_metrics(report, ["l2"]) == {"drift.failures": 6.0, "drift.l2.failures": 6.0}


def test_remaining_ttls_of_a_fresh_cache_are_judged_by_their_upper_end() -> None:
    """Production has served for hours: remaining TTLs spread over 0-3600 s. The candidate
    was warmed a minute ago with the same TTL: all near 3600 s. Same TTL set: no drift under
    the default; the distribution test (for two steady-state caches) would flag it."""
    rng = random.Random(5)
    steady = tuple(rng.uniform(0, 3600) for _ in range(500))
    fresh = tuple(rng.uniform(3540, 3600) for _ in range(500))
    base, cand = _reading(ttls_s=steady), _reading(ttls_s=fresh)
    upper = _statuses(compare(base, cand, DriftConfig()))
    assert upper["ttl.p99_s"] == "ok" and upper["ttl.distribution"] == "info"
    judged = _statuses(compare(base, cand, DriftConfig(ttl_compare="distribution")))
    assert judged["ttl.distribution"] == "drift" and judged["ttl.p99_s"] == "info"
    same = tuple(rng.uniform(0, 3600) for _ in range(500))
    alike = _statuses(compare(base, _reading(ttls_s=same), DriftConfig(ttl_compare="distribution")))
    assert alike["ttl.distribution"] == "ok"


def test_tolerances_come_from_config() -> None:
    candidate = _reading(settings={**_reading().settings, "maxmemory": 1024.0**3 * 0.7})
    loose = DriftConfig(maxmemory_ratio=0.5, must_match=())
    assert _statuses(compare(_reading(), candidate, loose))["config.maxmemory"] == "ok"
    assert _statuses(compare(_reading(), candidate, DriftConfig()))["config.maxmemory"] == "drift"
    policy = _reading(settings={**_reading().settings, "maxmemory_policy": "volatile-lru"})
    assert _statuses(compare(_reading(), policy, loose))["config.maxmemory_policy"] == "info"


def test_too_few_keys_is_no_data_not_a_verdict() -> None:
    few = _reading(ttls_s=(10.0, 20.0), sampled=2, prefixes={"user": 2})
    statuses = _statuses(compare(_reading(), few, DriftConfig()))
    assert statuses["ttl.distribution"] == "no_data"
    assert statuses["prefix mix"] == "no_data"
    assert statuses["ttl.no_expiry_rate"] == "no_data"


def test_unknown_must_match_setting_is_a_config_error() -> None:
    from warmer.errors import ConfigError

    with pytest.raises(ConfigError, match="must_match"):
        config_from_tree({"drift": {"must_match": ["maxmemory_polcy"]}})


# --------------------------------------------------------------------------- real pairs


@pytest.mark.slow
def test_drifted_redis_pair_is_flagged(redis_factory: Callable[..., RedisServer]) -> None:
    """Production: allkeys-lru, 100 MB, TTLs of hours. Candidate: noeviction, a tenth of
    the memory, TTLs of seconds to a minute (a TTL changed in code)."""
    prod = redis_factory(maxmemory="100mb", maxmemory_policy="allkeys-lru")
    cand = redis_factory(maxmemory="10mb", extra_args=["--maxmemory-policy", "noeviction"])
    fill_redis(prod, keys=500, ttl_range=(600, 7200), seed=1)
    fill_redis(cand, keys=500, ttl_range=(10, 60), seed=2)
    config = config_from_tree({"observe": {"sample_keys": 300}})
    report = measure(config, [DriftPair("l2", "redis", prod.url, cand.url)])
    statuses = _statuses(list(report.rows))
    assert statuses["config.maxmemory_policy"] == "drift"
    assert statuses["config.maxmemory"] == "drift"
    assert statuses["ttl.p99_s"] == "drift"
    assert statuses["prefix user"] == "ok" and statuses["memory_per_key_bytes"] == "ok"
    assert report.failures == 3
    ttl_row = next(r for r in report.rows if r.aspect == "ttl.distribution")
    assert "Kolmogorov" in ttl_row.detail and "D = 1.000" in ttl_row.detail


@pytest.mark.slow
def test_identical_redis_pair_is_not_flagged(redis_factory: Callable[..., RedisServer]) -> None:
    """Two deployments configured alike, filled by the same kind of traffic (different
    draws from one TTL distribution): nothing drifts."""
    prod = redis_factory(maxmemory="100mb")
    cand = redis_factory(maxmemory="100mb")
    fill_redis(prod, keys=500, ttl_range=(600, 7200), seed=1, no_ttl_every=10)
    fill_redis(cand, keys=500, ttl_range=(600, 7200), seed=2, no_ttl_every=10)
    report = measure(config_from_tree({}), [DriftPair("l2", "redis", prod.url, cand.url)])
    assert report.failures == 0, [r for r in report.rows if r.status == "drift"]
    statuses = _statuses(list(report.rows))
    assert statuses["ttl.p99_s"] == "ok" and statuses["config.maxmemory_policy"] == "ok"
    # Both filled the same way at the same time: the distribution test agrees.
    config = config_from_tree({"drift": {"ttl_compare": "distribution"}})
    judged = measure(config, [DriftPair("l2", "redis", prod.url, cand.url)])
    assert _statuses(list(judged.rows))["ttl.distribution"] == "ok"


@pytest.mark.slow
def test_renamed_config_on_one_side_is_no_data(redis_factory: Callable[..., RedisServer]) -> None:
    prod = redis_factory(maxmemory="100mb", extra_args=["--rename-command", "CONFIG", ""])
    cand = redis_factory(maxmemory="100mb")
    fill_redis(prod, keys=100)
    fill_redis(cand, keys=100)
    report = measure(config_from_tree({}), [DriftPair("l2", "redis", prod.url, cand.url)])
    rows = {r.aspect: r for r in report.rows}
    samples = rows["config.maxmemory_samples"]
    assert samples.status == "no_data" and samples.baseline == "no data"
    assert "CONFIG GET is renamed" in samples.detail
    assert rows["config.maxmemory_policy"].status == "ok"  # INFO reports it
    assert report.failures == 0


@pytest.mark.slow
def test_memcached_pair() -> None:
    require(find_binary("memcached"), "memcached")
    with (
        MemcachedServer(memory_mb=64) as prod,
        MemcachedServer(memory_mb=8, extra_args=["-M"]) as cand,
    ):
        fill_memcached(prod, keys=200, ttl_range=(600, 3600))
        fill_memcached(cand, keys=200, ttl_range=(600, 3600))
        pair = DriftPair("l1", "memcached", prod.address, cand.address)
        report = measure(config_from_tree({}), [pair])
    statuses = _statuses(list(report.rows))
    assert statuses["config.maxmemory"] == "drift"  # 8 MB against 64 MB
    assert statuses["config.evictions"] == "drift"  # -M: no eviction
    assert statuses["ttl.p99_s"] == "ok"
    assert report.failures == 2


@pytest.mark.slow
def test_reading_the_same_server_twice_does_not_drift(
    redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory(maxmemory="50mb")
    fill_redis(server, keys=300)
    one = read_tier("l2", "redis", server.url)
    two = read_tier("l2", "redis", server.url)
    assert drift_report(compare(one, two, DriftConfig())).failures == 0
