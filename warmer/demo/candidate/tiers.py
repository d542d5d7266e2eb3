"""L1 and L2: Redis tiers read with one ``GET`` per lookup and filled with ``SET ... PX``.

A stored value carries the time it was stored and the time it expires (two big-endian
floats, seconds since the epoch, before the body), so a hit can report its age and its
remaining TTL without a second command
(``PTTL`` would count a second keyspace hit and skew what Redis ``INFO`` tells the gate).
A tier that errors is treated as a miss for that request and counted; the service never
fails because a cache did.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio

_HEADER = struct.Struct("!dd")  # stored_at, expires_at


@dataclass(frozen=True, slots=True)
class TierResult:
    """One lookup: the body, its age and remaining TTL on a hit; ``error`` when Redis failed."""

    body: bytes | None
    ttl_s: float = 0.0
    age_s: float = 0.0
    error: bool = False


class RedisTier:
    """A named cache tier on one Redis server (TCP or Unix socket)."""

    def __init__(self, name: str, url: str, ttl_s: float, *, prefix: str = "candidate:") -> None:
        import redis.asyncio  # lazy: only the server process needs it

        self.name = name
        self.url = url
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.errors = 0

    async def get(self, key: str) -> TierResult:
        """Look ``key`` up; an expired or absent value is a miss."""
        import redis

        try:
            raw = await self.client.get(self.prefix + key)
        except (redis.RedisError, OSError):
            self.errors += 1
            return TierResult(None, error=True)
        if not isinstance(raw, bytes) or len(raw) < _HEADER.size:
            return TierResult(None)
        stored_at, expires_at = _HEADER.unpack_from(raw)
        now = time.time()
        return TierResult(
            bytes(raw[_HEADER.size :]),
            ttl_s=max(expires_at - now, 0.0),
            age_s=max(now - stored_at, 0.0),
        )

    async def put(
        self, key: str, body: bytes, ttl_s: float | None = None, age_s: float = 0.0
    ) -> bool:
        """Store ``body`` for ``ttl_s`` (capped at the tier's TTL); False when Redis failed."""
        import redis

        ttl = min(ttl_s or self.ttl_s, self.ttl_s)
        now = time.time()
        value = _HEADER.pack(now - age_s, now + ttl) + body
        try:
            await self.client.set(self.prefix + key, value, px=max(int(ttl * 1000), 1))
        except (redis.RedisError, OSError):
            self.errors += 1
            return False
        return True

    async def delete(self, key: str) -> bool:
        """Drop ``key`` (an invalidation); False when Redis failed."""
        import redis

        try:
            await self.client.delete(self.prefix + key)
        except (redis.RedisError, OSError):
            self.errors += 1
            return False
        return True

    async def entries(self) -> int | None:
        """Keys in the tier's database (all of them, not only the candidate's); None on error."""
        import redis

        try:
            return int(await self.client.dbsize())
        except (redis.RedisError, OSError):
            return None

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
