"""Reading a real tier's configuration and key sample: Redis, Redis without CONFIG, Memcached."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import require
from tests.observe.tiers_fixtures import fill_memcached, fill_redis
from warmer.demo.services import MemcachedServer, RedisServer, find_binary
from warmer.errors import InputError, ObserverUnreachableError
from warmer.observe.tierconfig import key_prefix, quantile, read_tier

pytestmark = pytest.mark.slow


def test_redis_settings_ttls_prefixes_and_memory(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory(maxmemory="64mb", maxmemory_policy="allkeys-lfu")
    fill_redis(server, keys=600, ttl_range=(1000, 2000), no_ttl_every=4)
    reading = read_tier("l2", "redis", server.url, sample_keys=400)
    settings = reading.settings
    assert settings["maxmemory"] == 64 * 1024**2
    assert settings["maxmemory_policy"] == "allkeys-lfu"
    assert settings["maxmemory_samples"] == 5.0
    assert settings["cluster_enabled"] is False and settings["mode"] == "standalone"
    assert isinstance(settings["version"], str) and settings["version"]
    assert reading.no_data == {}
    assert reading.sampled == 400  # bounded, although 600 keys exist
    # every 4th key has no TTL; the others expire within 1000-2000 s
    assert reading.no_expiry_rate == pytest.approx(0.25, abs=0.06)
    p50, p90 = reading.ttl_quantile(0.5), reading.ttl_quantile(0.9)
    assert p50 is not None and p90 is not None and 1000 - 5 < p50 < p90 <= 2000
    assert set(reading.prefixes) == {"user", "page"}
    assert reading.memory_per_key_bytes and 64 < reading.memory_per_key_bytes < 400
    assert "MEMORY USAGE" in reading.memory_method
    metrics = reading.metrics()
    assert metrics["l2.config.maxmemory_policy"] == "allkeys-lfu"
    assert metrics["l2.ttl.p50_s"] == p50


def test_renamed_config_is_no_data_with_the_reason(
    redis_factory: Callable[..., RedisServer],
) -> None:
    """Managed Redis (ElastiCache, Memorystore) refuses CONFIG; the settings INFO does not
    report are no data with the reason, never zero; maxmemory and its policy come from INFO."""
    server = redis_factory(
        maxmemory="32mb", extra_args=["--rename-command", "CONFIG", "", "--maxmemory-samples", "7"]
    )
    fill_redis(server, keys=50)
    reading = read_tier("l2", "redis", server.url)
    for name in ("maxmemory_samples", "lfu_log_factor", "lfu_decay_time", "io_threads"):
        assert reading.settings[name] is None
        assert "CONFIG GET is renamed or not allowed" in reading.no_data[name]
        assert "unknown command" in reading.no_data[name]
    assert reading.settings["maxmemory"] == 32 * 1024**2  # from INFO
    assert reading.settings["maxmemory_policy"] == "allkeys-lru"
    assert reading.metrics()["l2.config.maxmemory_samples"] is None
    assert reading.sampled == 50


def test_an_empty_redis_has_no_ttl_data(redis_factory: Callable[..., RedisServer]) -> None:
    reading = read_tier("l1", "redis", redis_factory().url)
    assert reading.sampled == 0 and reading.no_expiry_rate is None
    assert reading.ttl_quantile(0.5) is None
    assert "empty" in reading.no_data["ttl"]
    assert reading.metrics()["l1.ttl.no_expiry_rate"] is None


def test_memcached_settings_and_metadump_sample() -> None:
    require(find_binary("memcached"), "memcached")
    with MemcachedServer(memory_mb=32, extra_args=["-M"]) as server:
        fill_memcached(server, keys=300)
        reading = read_tier("l1", "memcached", server.address, sample_keys=100)
    assert reading.settings["maxmemory"] == 32 * 1024**2
    assert reading.settings["evictions"] is False  # -M: errors instead of evicting
    assert reading.settings["item_size_max"] == 1024**2
    assert reading.sampled == 100 and reading.prefixes == {"page": 100}
    assert reading.no_expiry_rate == pytest.approx(0.2, abs=0.08)
    p50 = reading.ttl_quantile(0.5)
    assert p50 is not None and 300 - 5 < p50 <= 3600
    assert reading.memory_per_key_bytes and "metadump" in reading.memory_method


def test_unreachable_and_malformed() -> None:
    with pytest.raises(ObserverUnreachableError, match="tier l2") as caught:
        read_tier("l2", "redis", "redis://:s3cret@127.0.0.1:1/0", setting="baseline_url")
    assert "s3cret" not in caught.value.message
    assert caught.value.hint == "check tiers.l2.baseline_url in warmer.toml"
    with pytest.raises(InputError, match="expected host:port"):
        read_tier("l1", "memcached", "nonsense")


@pytest.mark.parametrize(
    ("key", "prefix"),
    [("user:42", "user"), ("a:b:c", "a"), ("plain", "(no prefix)"), (":x", "(no prefix)")],
)
def test_key_prefix(key: str, prefix: str) -> None:
    assert key_prefix(key) == prefix


def test_quantile_nearest_rank() -> None:
    assert quantile([], 0.5) is None
    assert quantile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert quantile([float(i) for i in range(1, 11)], 0.9) == 9.0


def test_an_acl_user_without_config_info_or_scan_gets_reasons(
    redis_factory: Callable[..., RedisServer],
) -> None:
    """A least-privilege monitoring user: GET only. Nothing crashes; each missing value says
    which command was refused."""
    server = redis_factory()
    fill_redis(server, keys=30)
    import redis

    admin = redis.Redis.from_url(server.url)
    admin.execute_command("ACL", "SETUSER", "reader", "on", ">pw", "~*", "+get", "+ping")
    admin.close()
    url = f"redis://reader:pw@{server.address}/0"
    reading = read_tier("l2", "redis", url)
    assert reading.settings["maxmemory_samples"] is None
    assert "CONFIG GET is renamed or not allowed" in reading.no_data["maxmemory_samples"]
    assert reading.settings["version"] is None
    assert "INFO is not allowed" in reading.no_data["version"]
    assert "the key sample is not allowed" in reading.no_data["ttl"]
    assert reading.sampled == 0 and reading.metrics()["l2.ttl.p50_s"] is None
    assert "pw" not in str(reading.to_dict())
