"""Observe a Redis tier through ``INFO``: keyspace hits and misses, evictions, expirations, memory.

Connects with redis-py over TCP (``redis://``), TLS (``rediss://``) or a Unix socket
(``unix://``), with an optional ACL user and password in the URL (``${ENV}`` in warmer.toml
keeps them out of the file). The URL is never printed unmasked.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from warmer.observe._common import masked, scrub, unreachable
from warmer.observe.interface import TierSnapshot
from warmer.observe.parsers.redis_info import RedisInfo, parse_info

if TYPE_CHECKING:
    import redis


class RedisObserver:
    """Reads ``INFO`` of one Redis server; one connection, reopened after a failure."""

    source = "redis"

    def __init__(self, name: str, url: str, *, timeout_s: float = 2.0) -> None:
        self.name = name
        self.address = masked(url)
        self._url = url
        self._timeout_s = timeout_s
        self._client: redis.Redis | None = None

    def __repr__(self) -> str:
        return f"RedisObserver(name={self.name!r}, address={self.address!r})"

    def preflight(self) -> None:
        """Send ``INFO`` once; ObserverUnreachableError (exit 3) when it fails."""
        import redis

        try:
            self._info()
        except (redis.RedisError, OSError) as exc:
            self.close()
            reason = scrub(str(exc) or type(exc).__name__, self._password())
            raise unreachable(self.name, "Redis", self.address, reason) from exc

    def snapshot(self) -> TierSnapshot | None:
        """Counters and gauges from ``INFO`` now, or None when the server does not answer."""
        import redis

        try:
            text = self._info()
        except (redis.RedisError, OSError):
            self.close()  # reconnect on the next call: the server may come back
            return None
        return snapshot_from_info(parse_info(text), time.monotonic())

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _info(self) -> str:
        client = self._client or self._connect()
        raw: Any = client.execute_command("INFO")  # type: ignore[no-untyped-call]
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    def _connect(self) -> redis.Redis:
        import redis

        client = redis.Redis.from_url(
            self._url,
            socket_timeout=self._timeout_s,
            socket_connect_timeout=self._timeout_s,
            retry_on_timeout=False,
        )
        client.set_response_callback("INFO", lambda response, **_: response)  # raw text
        self._client = client
        return client

    def _password(self) -> str | None:
        try:
            password = urlsplit(self._url).password
        except ValueError:
            return None
        return unquote(password) if password else None


def snapshot_from_info(info: RedisInfo, at: float) -> TierSnapshot:
    """Map parsed ``INFO`` fields onto a snapshot (``run_id`` identifies the process)."""
    policy = info.fields.get("maxmemory_policy")
    run_id = info.fields.get("run_id")
    return TierSnapshot(
        at=at,
        hits=info.number("keyspace_hits"),
        misses=info.number("keyspace_misses"),
        evictions=info.number("evicted_keys"),
        expirations=info.number("expired_keys"),
        keys=info.keys,
        memory_bytes=info.number("used_memory"),
        max_memory_bytes=info.number("maxmemory"),
        eviction_policy=str(policy) if policy is not None else None,
        instance=str(run_id) if run_id is not None else None,
        malformed=info.malformed,
    )
