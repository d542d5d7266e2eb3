"""Fill real caches with keys whose TTLs follow a chosen distribution (drift and tiers tests)."""

from __future__ import annotations

import random
import socket

import redis

from warmer.demo.services import MemcachedServer, RedisServer


def fill_redis(
    server: RedisServer,
    keys: int = 600,
    ttl_range: tuple[int, int] | None = (300, 3600),
    *,
    no_ttl_every: int = 0,
    prefixes: tuple[str, ...] = ("user", "page"),
    value_bytes: int = 64,
    seed: int = 7,
) -> None:
    """``keys`` keys ``<prefix>:<i>``, each with a TTL drawn uniformly from ``ttl_range``
    (seconds), except every ``no_ttl_every``-th key, which never expires."""
    rng = random.Random(seed)
    client = redis.Redis.from_url(server.url)
    pipe = client.pipeline(transaction=False)
    for i in range(keys):
        key = f"{prefixes[i % len(prefixes)]}:{i}"
        forever = ttl_range is None or (no_ttl_every and i % no_ttl_every == 0)
        ttl = None if forever else rng.randint(*ttl_range)  # type: ignore[misc]
        pipe.set(key, b"v" * value_bytes, ex=ttl)
    pipe.execute()
    client.close()


def fill_memcached(
    server: MemcachedServer, keys: int = 300, ttl_range: tuple[int, int] = (300, 3600)
) -> None:
    """``keys`` items ``page:<i>`` with TTLs uniform in ``ttl_range``; every 5th never expires."""
    rng = random.Random(3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for i in range(keys):
            ttl = 0 if i % 5 == 0 else rng.randint(*ttl_range)
            sock.sendall(f"set page:{i} 0 {ttl} 3\r\nabc\r\n".encode())
            assert sock.recv(64) == b"STORED\r\n"
