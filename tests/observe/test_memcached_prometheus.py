"""Memcached stats and Prometheus /metrics observers against real servers."""

from __future__ import annotations

import socket

import pytest
from pymemcache.client.base import Client as MemcacheClient

from tests.observe.conftest import Endpoint
from warmer.config import config_from_tree
from warmer.demo.services import MemcachedServer, free_port
from warmer.errors import ConfigError, ObserverUnreachableError
from warmer.observe.build import build_observers
from warmer.observe.counters import snapshot_delta
from warmer.observe.memcached import MemcachedObserver, parse_address
from warmer.observe.parsers.selector import parse_selector
from warmer.observe.prometheus import PrometheusObserver, parse_exposition, select, start_time


def test_memcached_hits_and_misses_after_real_gets(memcached_server: MemcachedServer) -> None:
    observer = MemcachedObserver("l2", memcached_server.address)
    observer.preflight()
    before = observer.snapshot()
    mc = MemcacheClient(("127.0.0.1", memcached_server.port))
    mc.set("a", b"1")
    for key in ("a", "a", "b", "c"):
        mc.get(key)
    mc.close()
    after = observer.snapshot()
    delta = snapshot_delta(before, after)
    assert (delta.hits, delta.misses, delta.reset) == (2, 2, False)
    assert after is not None and after.keys == 1 and after.max_memory_bytes == 64 * 1024 * 1024


def test_memcached_unreachable_is_exit_3_and_missing_mid_run() -> None:
    observer = MemcachedObserver("l2", f"127.0.0.1:{free_port()}", timeout_s=0.5)
    with pytest.raises(ObserverUnreachableError, match=r"tier l2 at 127\.0\.0\.1:"):
        observer.preflight()
    assert observer.snapshot() is None


@pytest.mark.parametrize(
    ("url", "family", "where"),
    [
        ("127.0.0.1:11211", socket.AF_INET, ("127.0.0.1", 11211)),
        ("memcached://cache:11211", socket.AF_INET, ("cache", 11211)),
        ("[::1]:11211", socket.AF_INET6, ("::1", 11211)),
        ("unix:///run/mc.sock", socket.AF_UNIX, "/run/mc.sock"),
    ],
)
def test_memcached_addresses(url: str, family: int, where: object) -> None:
    assert parse_address(url) == (family, where)


@pytest.mark.parametrize("url", ["cache", "cache:port", "unix:relative.sock", ":11211"])
def test_bad_memcached_address_is_a_config_error(url: str) -> None:
    tree = {"tiers": {"l2": {"source": "memcached", "url": url}}}
    with pytest.raises(ConfigError, match=r"tiers\.l2\.url"):
        build_observers(config_from_tree(tree, {}))


def test_prometheus_label_selection(endpoint: Endpoint) -> None:
    url, cache, backend = endpoint.url, endpoint.cache, endpoint.backend
    tree = {
        "tiers": {
            "l0": {
                "source": "prometheus",
                "url": url,
                "hits": 'candidate_cache_requests_total{result="hit"}',
                "misses": 'candidate_cache_requests_total{result="miss"}',
                "labels": {"tier": "l0"},
            }
        },
        "backend": {"source": "prometheus", "url": url, "requests": "candidate_backend_requests"},
    }
    observers = build_observers(config_from_tree(tree, {}))
    l0, origin = observers.live["l0"], observers.live["backend"]
    l0.preflight()
    before, origin_before = l0.snapshot(), origin.snapshot()
    assert before is not None and (before.hits, before.misses) == (0, 0)  # declared, no series
    cache.labels("l0", "hit").inc(7)
    cache.labels("l0", "miss").inc(3)
    cache.labels("l1", "hit").inc(100)  # another tier: not counted
    backend.inc(3)
    delta = snapshot_delta(before, l0.snapshot())
    assert (delta.hits, delta.misses) == (7, 3)
    assert snapshot_delta(origin_before, origin.snapshot()).requests == 3
    observers.close()


def test_prometheus_undeclared_metric_is_no_data(endpoint: Endpoint) -> None:
    url = endpoint.url
    observer = PrometheusObserver("l0", url, {"hits": parse_selector("not_exposed_total")})
    snapshot = observer.snapshot()
    assert snapshot is not None and snapshot.hits is None


def test_prometheus_unreachable() -> None:
    url = f"http://user:pw123@127.0.0.1:{free_port()}/metrics"
    observer = PrometheusObserver("backend", url, {"requests": parse_selector("x")}, timeout_s=0.5)
    with pytest.raises(ObserverUnreachableError) as caught:
        observer.preflight()
    assert "the backend" in str(caught.value) and "pw123" not in str(caught.value)
    assert observer.snapshot() is None


def test_exposition_garbage_lines_are_counted() -> None:
    text = (
        "# TYPE hits_total counter\n"
        'hits_total{tier="l0"} 5\n'
        "this line is garbage\n"
        'hits_total{tier="l1"} 2\n'
    )
    exposition = parse_exposition(text)
    assert exposition.malformed == 1
    assert select(exposition, parse_selector('hits_total{tier="l0"}')) == 5
    assert select(exposition, parse_selector("hits")) == 7


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("app_start_time_seconds 10\nprocess_start_time_seconds 5\n", 5.0),
        ("candidate_start_time_seconds 10\n", 10.0),
        ("other 1\n", None),
    ],
)
def test_start_time_identifies_the_process(text: str, start: float | None) -> None:
    assert start_time(parse_exposition(text)) == start


def test_memcached_restart_is_a_reset(memcached_server: MemcachedServer) -> None:
    observer = MemcachedObserver("l2", memcached_server.address, timeout_s=0.5)
    mc = MemcacheClient(("127.0.0.1", memcached_server.port))
    for key in ("a", "b", "c"):
        mc.get(key)
    mc.close()
    before = observer.snapshot()
    memcached_server.kill()
    assert observer.snapshot() is None
    memcached_server.start()  # same port, new process: counters from zero
    mc = MemcacheClient(("127.0.0.1", memcached_server.port))
    mc.get("d")
    mc.close()
    delta = snapshot_delta(before, observer.snapshot())
    assert delta.reset and delta.misses == 1
