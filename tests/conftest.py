"""Shared fixtures: real servers (Redis, Memcached, Prometheus) on free loopback ports.

A missing binary skips the test with a reason on a developer machine, but fails it under
CI (``CI=true``), where ``scripts/bootstrap.sh`` must have installed it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

import pytest

from warmer.demo.services import (
    MemcachedServer,
    PrometheusServer,
    RedisServer,
    find_binary,
    find_redis_server,
)


def require(binary: str | None, name: str) -> None:
    """Skip (or fail under CI) when a server binary is missing."""
    if binary is None:
        message = f"{name} is not installed (scripts/bootstrap.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def redis_tcp() -> Iterator[RedisServer]:
    """A fresh redis-server on a free TCP port (an L2-like tier)."""
    require(find_redis_server(), "redis-server")
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_unix() -> Iterator[RedisServer]:
    """A fresh redis-server on a Unix socket (an L1 sidecar-like tier)."""
    require(find_redis_server(), "redis-server")
    with RedisServer(unix_socket=True) as server:
        yield server


@pytest.fixture
def redis_factory() -> Iterator[Callable[..., RedisServer]]:
    """Start Redis servers with custom options; all are stopped at teardown."""
    require(find_redis_server(), "redis-server")
    started: list[RedisServer] = []

    def make(**options: object) -> RedisServer:
        server = RedisServer(**options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def memcached_server() -> Iterator[MemcachedServer]:
    """A fresh memcached on a free TCP port."""
    require(find_binary("memcached"), "memcached")
    with MemcachedServer() as server:
        yield server


@pytest.fixture
def prometheus_factory() -> Iterator[Callable[[Sequence[str]], PrometheusServer]]:
    """Start a Prometheus server scraping the given ``host:port`` targets every second."""
    require(find_binary("prometheus"), "prometheus")
    started: list[PrometheusServer] = []

    def make(targets: Sequence[str], scrape_interval_s: float = 1.0) -> PrometheusServer:
        server = PrometheusServer(targets, scrape_interval_s=scrape_interval_s).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
