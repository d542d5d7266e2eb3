"""L0: a bounded in-process LRU with a per-entry TTL that counts what a gate wants to know.

Expiry is lazy (an expired entry is found on lookup, or reaches the LRU end first); each
removal is counted once, as an *expiration* when its TTL had passed and as an *eviction*
when capacity pushed out a still-fresh entry — the difference between "TTL too short"
and "cache too small".
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored value with the (clock) time it was stored and the time it expires."""

    value: bytes
    stored_at: float
    expires_at: float

    def ttl(self, now: float) -> float:
        """Seconds of freshness left."""
        return self.expires_at - now


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a lookup found: a fresh entry (``entry``), or nothing and whether it had expired."""

    entry: Entry | None
    expired: bool = False


class LRUCache:
    """At most ``capacity`` entries (0 stores nothing), each fresh for ``ttl_s`` seconds."""

    def __init__(
        self, capacity: int, ttl_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str) -> Lookup:
        """The fresh entry for ``key`` (now most recently used), counted as a hit or a miss."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return Lookup(None)
        if entry.expires_at <= self.clock():
            del self._entries[key]
            self.expirations += 1
            self.misses += 1
            return Lookup(None, expired=True)
        self._entries.move_to_end(key)
        self.hits += 1
        return Lookup(entry)

    def store(
        self, key: str, value: bytes, ttl_s: float | None = None, age_s: float = 0.0
    ) -> Entry | None:
        """Store ``value`` for ``ttl_s`` (capped at the cache's TTL), evicting the LRU entry.

        ``age_s`` is how old the value already is (it came from a lower tier), for ``Age``.
        """
        if self.capacity <= 0:
            return None
        now = self.clock()
        entry = Entry(value, now - age_s, now + min(ttl_s or self.ttl_s, self.ttl_s))
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._drop_oldest(now)
        return entry

    def _drop_oldest(self, now: float) -> None:
        _, oldest = self._entries.popitem(last=False)
        if oldest.expires_at <= now:
            self.expirations += 1
        else:
            self.evictions += 1

    def remove(self, key: str) -> None:
        """Forget ``key`` (an invalidation; not counted as an eviction)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry (counters keep counting)."""
        self._entries.clear()
