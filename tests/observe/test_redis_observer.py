"""The Redis observer against real redis-server processes (TCP, Unix socket, password, restart)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis

from tests.observe.conftest import TlsRedis
from warmer.config import config_from_tree
from warmer.demo.services import RedisServer
from warmer.errors import ExitCode, ObserverUnreachableError
from warmer.observe.build import build_observers
from warmer.observe.counters import snapshot_delta, timeline_delta
from warmer.observe.redis import RedisObserver


def client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url)


@pytest.mark.parametrize("fixture", ["redis_tcp", "redis_unix"])
def test_hits_and_misses_after_real_gets(fixture: str, request: pytest.FixtureRequest) -> None:
    server: RedisServer = request.getfixturevalue(fixture)
    observer = RedisObserver("l1", server.url)
    observer.preflight()
    before = observer.snapshot()
    c = client(server)
    c.set("a", "1")
    c.set("b", "2")
    for key in ("a", "b", "a", "nope-1", "nope-2", "nope-3"):
        c.get(key)
    after = observer.snapshot()
    delta = snapshot_delta(before, after)
    assert (delta.hits, delta.misses, delta.reset) == (3, 3, False)
    assert after is not None and after.keys == 2
    assert after.memory_bytes and after.memory_bytes > 0
    assert after.instance  # run_id
    observer.close()


def test_evictions_with_a_tiny_maxmemory(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory(maxmemory="2mb", maxmemory_policy="allkeys-lru")
    observer = RedisObserver("l2", server.url)
    before = observer.snapshot()
    c = client(server)
    value = b"x" * 10_000
    for i in range(600):  # 6 MB into 2 MB
        c.set(f"k{i}", value)
    after = observer.snapshot()
    delta = snapshot_delta(before, after)
    assert delta.evictions and delta.evictions > 0
    assert after is not None
    assert after.max_memory_bytes == 2 * 1024 * 1024
    assert after.eviction_policy == "allkeys-lru"
    assert after.keys is not None and after.keys < 600


def test_expirations_are_counted(redis_tcp: RedisServer) -> None:
    observer = RedisObserver("l2", redis_tcp.url)
    before = observer.snapshot()
    c = client(redis_tcp)
    for i in range(20):
        c.set(f"short{i}", "v", px=1)
    deadline = time.monotonic() + 10
    while any(c.get(f"short{i}") is not None for i in range(20)):  # reading expires them
        assert time.monotonic() < deadline, "keys with a 1 ms TTL never expired"
        time.sleep(0.01)
    delta = snapshot_delta(before, observer.snapshot())
    assert delta.expirations == 20  # each key expires once, lazily or by the active cycle


def test_password_from_env_is_used_and_masked(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory(password="s3cret-pw", unix_socket=True)
    tree = {
        "tiers": {
            "l1": {"source": "redis", "url": f"unix://:${{L1_PASSWORD}}@{server.socket_path}?db=0"}
        }
    }
    good = build_observers(config_from_tree(tree, {"L1_PASSWORD": "s3cret-pw"}))
    good.live["l1"].preflight()
    assert "s3cret-pw" not in repr(good.live["l1"]) + good.live["l1"].address
    assert "***" in good.live["l1"].address

    bad = build_observers(config_from_tree(tree, {"L1_PASSWORD": "wrong-pw"}))
    with pytest.raises(ObserverUnreachableError) as caught:
        bad.live["l1"].preflight()
    text = str(caught.value)
    assert "tier l1" in text and str(server.socket_path) in text
    assert "wrong-pw" not in text and "***" in text
    assert caught.value.exit_code == ExitCode.RUN_ERROR


def test_unreachable_names_tier_and_address() -> None:
    observer = RedisObserver("l2", "redis://user:hunter2@127.0.0.1:1/0", timeout_s=0.5)
    with pytest.raises(ObserverUnreachableError) as caught:
        observer.preflight()
    text = str(caught.value)
    assert "tier l2" in text and "redis://user:***@127.0.0.1:1/0" in text
    assert "hunter2" not in text
    assert observer.snapshot() is None  # mid-run: missing, not zeros


def test_restart_mid_run_is_a_reset_not_a_negative_rate(redis_tcp: RedisServer) -> None:
    observer = RedisObserver("l2", redis_tcp.url, timeout_s=0.5)
    c = client(redis_tcp)
    first = observer.snapshot()
    for i in range(10):
        c.get(f"miss{i}")
    second = observer.snapshot()
    redis_tcp.kill()
    gone = observer.snapshot()
    assert gone is None
    redis_tcp.start()  # same port, fresh process: counters start from zero
    c = client(redis_tcp)
    c.set("k", "v")
    c.get("k")
    c.get("absent")
    third = observer.snapshot()
    assert third is not None and second is not None
    assert third.instance != second.instance
    delta = timeline_delta([first, second, gone, third])
    assert delta.reset and delta.missing
    assert (delta.hits, delta.misses) == (1, 11)


def test_acl_user_that_may_only_run_info(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory(password="admin-pw")
    admin = client(server)
    admin.execute_command("ACL", "SETUSER", "warmer", "on", ">observer-pw", "+info")
    tree = {
        "tiers": {
            "l2": {
                "source": "redis",
                "url": f"redis://${{L2_USER}}:${{L2_PASSWORD}}@127.0.0.1:{server.port}/0",
            }
        }
    }
    env = {"L2_USER": "warmer", "L2_PASSWORD": "observer-pw"}
    observer = build_observers(config_from_tree(tree, env)).live["l2"]
    observer.preflight()
    admin.get("absent")
    snapshot = observer.snapshot()
    assert snapshot is not None and snapshot.misses == 1
    assert observer.address == f"redis://warmer:***@127.0.0.1:{server.port}/0"


def test_tls_url(redis_tls: TlsRedis) -> None:
    url = f"rediss://127.0.0.1:{redis_tls.port}/0?ssl_ca_certs={redis_tls.ca_file}"
    observer = RedisObserver("l2", url)
    observer.preflight()
    snapshot = observer.snapshot()
    assert snapshot is not None and snapshot.hits == 0 and snapshot.instance
    plain = RedisObserver("l2", f"redis://127.0.0.1:{redis_tls.port}/0", timeout_s=0.5)
    with pytest.raises(ObserverUnreachableError, match="tier l2"):
        plain.preflight()  # plain TCP to a TLS-only port does not pass for reachable
