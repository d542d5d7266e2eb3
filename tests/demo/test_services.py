"""The local server launchers start real servers that answer, and clean up after themselves."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable, Sequence

import redis

from warmer.demo.services import MemcachedServer, PrometheusServer, RedisServer


def test_redis_tcp_and_unix_are_separate_servers(
    redis_tcp: RedisServer, redis_unix: RedisServer
) -> None:
    tcp = redis.Redis.from_url(redis_tcp.url)
    unix = redis.Redis.from_url(redis_unix.url)
    tcp.set("k", "tcp")
    assert unix.get("k") is None
    assert tcp.get("k") == b"tcp"
    assert redis_unix.url.startswith("unix://")


def test_redis_options_are_applied(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory(maxmemory="5mb", maxmemory_policy="allkeys-lfu", password="pw")
    client = redis.Redis.from_url(server.url)
    assert client.config_get("maxmemory")["maxmemory"] == str(5 * 1024 * 1024)
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lfu"
    try:
        redis.Redis(port=server.port).get("x")
        raise AssertionError("unauthenticated access must fail")
    except redis.AuthenticationError:
        pass


def test_stop_frees_the_port_and_workdir() -> None:
    server = RedisServer().start()
    port, workdir = server.port, server.workdir
    server.stop()
    assert not workdir.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_memcached_answers(memcached_server: MemcachedServer) -> None:
    host, port = memcached_server.address.split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"set a 0 0 1\r\nx\r\nget a\r\n")
        data = b""
        while b"END" not in data:
            data += sock.recv(1024)
    assert b"VALUE a 0 1" in data


def test_prometheus_scrapes_its_target(
    prometheus_factory: Callable[[Sequence[str]], PrometheusServer],
) -> None:
    server = prometheus_factory(["127.0.0.1:1"])
    targets: list[dict[str, str]] = []
    deadline = time.monotonic() + 15
    while not targets and time.monotonic() < deadline:  # discovery runs after /-/ready
        with urllib.request.urlopen(f"{server.url}/api/v1/targets") as response:
            targets = json.load(response)["data"]["activeTargets"]
        time.sleep(0.2)
    assert [t["scrapeUrl"] for t in targets] == ["http://127.0.0.1:1/metrics"]
