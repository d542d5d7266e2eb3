"""Predict each tier's hit rate by replaying a sample through models of the tiers, chained.

Every cacheable request (as for the ceilings: an allowed method, not recorded as
``BYPASS``) looks its key up in L0, then L1, then L2 …, at its recorded time (divided by
``speed``); the first tier holding a fresh copy answers, and every tier above it is filled
on the way back — with its own TTL, capped by the freshness the answer had left, as a
read-through hierarchy does (the reference candidate does exactly this). A request no tier
answers is a backend fetch and fills every tier. Each tier sees only the previous tiers'
misses, so its hit rate is conditional, like ``hit_rate.<tier>``; the effective hit rate is
the share of cacheable lookups some tier answered.

A tier is modelled by its capacity (objects or bytes, from ``response_bytes``), its TTL and
its eviction policy: LRU (what the candidate's L0, Redis ``allkeys-lru`` and Memcached
approximate) or LFU. Expiry is lazy: an expired entry is found on lookup (a miss) or
dropped when it reaches the eviction end.

Large samples are simulated in miniature (Waldspurger et al., "Cache Modeling and
Optimization using Miniature Simulations", USENIX ATC '17): only keys whose hash falls in
a fraction ``R`` of the hash space are simulated, against caches ``R`` times smaller, which
keeps hit rates while the work stays under ``max_requests`` references. As in SHARDS, the
difference between the references expected at rate ``R`` and those sampled — a few heavy
keys that fell in or out of the sample — is counted as first-tier hits.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.config.sizes import Capacity, parse_capacity, parse_duration
from warmer.errors import UsageError
from warmer.sample._keyhash import hash_strings
from warmer.sample.source import SampleSource

MAX_REQUESTS = 1_000_000
"""Above this many requests, simulate in miniature (a hash-sampled share of the keys)."""

_COLUMNS = ["ts", "key", "method", "cache_status", "response_bytes"]
_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9_-]+)\s*=\s*(?P<rest>.+?)\s*$")
_TTL = re.compile(r"^ttl\s*=\s*(?P<value>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class TierSpec:
    """One tier to simulate: ``capacity`` None is unbounded, ``ttl_s`` None never expires."""

    name: str
    capacity: Capacity | None = None
    ttl_s: float | None = None
    eviction: Literal["lru", "lfu"] = "lru"

    def describe(self) -> str:
        """``l0: 10,000 objects, ttl 60 s, lru``."""
        size = "unbounded" if self.capacity is None else str(self.capacity)
        ttl = "no expiry" if self.ttl_s is None else f"ttl {self.ttl_s:g} s"
        return f"{self.name}: {size}, {ttl}, {self.eviction}"


def parse_tier_spec(text: str) -> TierSpec:
    """Read ``--simulate`` text.

    Grammar::

        spec     ::= NAME "=" capacity ["ttl=" duration] ["lru" | "lfu"]
        capacity ::= see warmer.config.sizes ("10000 objects", "2GB", "unbounded")

    e.g. ``l0=10000 objects ttl=60s``, ``l2=2GB ttl=1h``, ``l1=50000 lfu``.
    """
    match = _SPEC.match(text)
    if match is None:
        raise UsageError(f"cannot read tier {text!r}", "write e.g. 'l0=10000 objects ttl=60s'")
    words = match.group("rest").split()
    ttl, eviction, size_words = None, "lru", []
    try:
        for word in words:
            ttl_match = _TTL.match(word)
            if ttl_match is not None:
                ttl = parse_duration(ttl_match.group("value"))
            elif word.lower() in ("lru", "lfu"):
                eviction = word.lower()
            else:
                size_words.append(word)
        size_text = " ".join(size_words)
        capacity = None if size_text.lower() in ("unbounded", "inf") else parse_capacity(size_text)
    except ValueError as exc:
        raise UsageError(f"tier {text!r}: {exc}", "write e.g. 'l2=2GB ttl=1h'") from None
    return TierSpec(match.group("name"), capacity, ttl, eviction)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TierPrediction:
    """What one simulated tier did over the counted requests."""

    name: str
    lookups: int
    hits: int
    evictions: int = 0
    """Fresh entries pushed out by capacity (over the whole simulation)."""
    expirations: int = 0
    """Entries found or dropped past their TTL (over the whole simulation)."""

    @property
    def hit_rate(self) -> float | None:
        """hits / lookups that reached this tier; None when none did."""
        return self.hits / self.lookups if self.lookups else None


@dataclass(frozen=True)
class Simulation:
    """Predicted hit rates per tier, nearest first, and how they were computed."""

    tiers: tuple[TierPrediction, ...]
    requests: int
    """Cacheable requests counted (sampled ones, when simulated in miniature)."""
    answered: int
    """Counted requests some tier answered."""
    sampling_rate: float = 1.0
    """Share of the key space simulated (1: every key)."""
    counted_from: float | None = None
    """Only requests recorded at or after this time were counted (None: all)."""

    @property
    def effective_hit_rate(self) -> float | None:
        """Share of counted cacheable requests some tier answered."""
        return self.answered / self.requests if self.requests else None

    def tier(self, name: str) -> TierPrediction | None:
        """The prediction for tier ``name``, or None."""
        return next((t for t in self.tiers if t.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tiers": [
                {
                    "name": t.name,
                    "lookups": t.lookups,
                    "hits": t.hits,
                    "hit_rate": t.hit_rate,
                    "evictions": t.evictions,
                    "expirations": t.expirations,
                }
                for t in self.tiers
            ],
            "requests": self.requests,
            "effective_hit_rate": self.effective_hit_rate,
            "sampling_rate": self.sampling_rate,
            "counted_from": self.counted_from,
        }


class _Policy:
    """A bounded cache of expiry times: objects or bytes (``limit`` None: unbounded).

    Entries are sequences whose first two items are the expiry time and the size; the
    policy decides which entry a lookup refreshes (:meth:`_touch`) and which one goes when
    the cache is full (:meth:`_victim`).
    """

    entries: dict[int, Any]

    def __init__(self, limit: float | None, by_bytes: bool) -> None:
        self.limit = limit
        self.by_bytes = by_bytes
        self.used = 0.0
        self.evictions = 0
        self.expirations = 0

    def get(self, key: int, now: float) -> float | None:
        """The expiry time of a fresh entry for ``key``, or None (a miss)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            self._remove(key)
            self.expirations += 1
            return None
        self._touch(key, entry)
        return float(entry[0])

    def put(self, key: int, size: float, expires: float, now: float) -> None:
        """Store ``key`` until ``expires``, dropping what the policy says while over the limit."""
        if key in self.entries:
            self._remove(key)
        self._insert(key, expires, size)
        self.used += size if self.by_bytes else 1
        while self.limit is not None and self.used > self.limit and self.entries:
            victim = self._victim()
            if self.entries[victim][0] <= now:
                self.expirations += 1
            else:
                self.evictions += 1
            self._remove(victim)

    def _remove(self, key: int) -> None:
        entry = self.entries.pop(key)
        self.used -= entry[1] if self.by_bytes else 1

    def _touch(self, key: int, entry: Any) -> None:
        raise NotImplementedError

    def _insert(self, key: int, expires: float, size: float) -> None:
        raise NotImplementedError

    def _victim(self) -> int:
        raise NotImplementedError


class _LRU(_Policy):
    """Least recently used."""

    def __init__(self, limit: float | None, by_bytes: bool) -> None:
        super().__init__(limit, by_bytes)
        self.entries: OrderedDict[int, tuple[float, float]] = OrderedDict()

    def _touch(self, key: int, entry: Any) -> None:
        self.entries.move_to_end(key)

    def _insert(self, key: int, expires: float, size: float) -> None:
        self.entries[key] = (expires, size)

    def _victim(self) -> int:
        return next(iter(self.entries))


class _LFU(_Policy):
    """Least frequently used (ties: the least recently used of them)."""

    def __init__(self, limit: float | None, by_bytes: bool) -> None:
        super().__init__(limit, by_bytes)
        self.entries: dict[int, list[float]] = {}  # key -> [expires, size, uses, stamp]
        self.heap: list[tuple[float, float, int]] = []
        self.tick = 0

    def _touch(self, key: int, entry: Any) -> None:
        entry[2] += 1
        self._push(key, entry)

    def _insert(self, key: int, expires: float, size: float) -> None:
        entry = [expires, size, 1.0, 0.0]
        self.entries[key] = entry
        self._push(key, entry)

    def _push(self, key: int, entry: list[float]) -> None:
        self.tick += 1
        entry[3] = self.tick
        heapq.heappush(self.heap, (entry[2], entry[3], key))
        if len(self.heap) > 4 * len(self.entries) + 1024:  # mostly stale items: rebuild
            self.heap = [(e[2], e[3], k) for k, e in self.entries.items()]
            heapq.heapify(self.heap)

    def _victim(self) -> int:
        while True:
            _, stamp, key = self.heap[0]
            entry = self.entries.get(key)
            if entry is not None and entry[3] == stamp:  # stale heap items are skipped
                return key
            heapq.heappop(self.heap)


def simulate_tiers(
    sample: SampleSource | pa.Table,
    specs: Sequence[TierSpec],
    *,
    count_from: float | None = None,
    speed: float = 1.0,
    max_requests: int = MAX_REQUESTS,
    cacheable_methods: Sequence[str] = ("GET", "HEAD"),
) -> Simulation:
    """Replay ``sample`` through ``specs`` (nearest tier first); see the module docstring.

    ``count_from`` counts only requests recorded at or after that time (the tiers still
    see, and are filled by, every earlier one): a gate's verify part after its warm part.
    """
    if not specs:
        raise UsageError("nothing to simulate", "give at least one tier, e.g. 'l0=10000'")
    if speed <= 0:
        raise UsageError("the simulated speed must be greater than 0")
    source = sample if isinstance(sample, SampleSource) else SampleSource.from_table(sample)
    rows = source.rows if source.rows is not None else source.count()
    rate = min(1.0, max_requests / rows) if rows else 1.0
    run = _Run(specs, rate, count_from, speed)
    methods = pa.array([m.upper() for m in cacheable_methods])
    for batch in source.batches(_COLUMNS):
        run.feed(batch, methods)
    return run.result()


class _Run:
    """One simulation: the tier models, the clock and the counts."""

    def __init__(
        self, specs: Sequence[TierSpec], rate: float, count_from: float | None, speed: float
    ) -> None:
        self.specs = tuple(specs)
        self.rate = rate
        self.limit = np.uint64(min(int(rate * 2.0**64), (1 << 64) - 1))
        self.count_from = count_from
        self.speed = speed
        self.caches = [_model(spec, rate) for spec in specs]
        self.lookups = [0] * len(specs)
        self.hits = [0] * len(specs)
        self.requests = self.answered = 0
        self.population = 0
        """Counted cacheable requests before key sampling."""
        self.now = -math.inf
        self.mean_size = 0.0
        self.sizes_seen = 0

    def feed(self, batch: pa.RecordBatch, methods: pa.Array) -> None:
        mask = pc.is_in(pc.utf8_upper(batch.column("method")), value_set=methods)
        bypass = pc.equal(pc.utf8_upper(batch.column("cache_status")), "BYPASS")
        batch = batch.filter(pc.and_(mask, pc.invert(pc.fill_null(bypass, False))))
        if batch.num_rows == 0:
            return
        keys = hash_strings(batch.column("key"))
        ts = np.asarray(batch.column("ts").to_numpy(zero_copy_only=False), dtype=np.float64)
        sizes = self._sizes(batch.column("response_bytes"))
        self.population += (
            len(ts) if self.count_from is None else int((ts >= self.count_from).sum())
        )
        if self.rate < 1.0:
            keep = keys <= self.limit
            keys, ts, sizes = keys[keep], ts[keep], sizes[keep]
        counted = np.ones(len(ts), bool) if self.count_from is None else ts >= self.count_from
        self._requests(keys.tolist(), (ts / self.speed).tolist(), sizes.tolist(), counted.tolist())

    def _sizes(self, column: pa.Array) -> np.ndarray[Any, Any]:
        sizes = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        known = ~np.isnan(sizes)
        if known.any():
            total = self.mean_size * self.sizes_seen + float(sizes[known].sum())
            self.sizes_seen += int(known.sum())
            self.mean_size = total / self.sizes_seen
        return np.where(known, sizes, self.mean_size)

    def _requests(
        self, keys: list[int], times: list[float], sizes: list[float], counted: list[bool]
    ) -> None:
        caches, depth = self.caches, len(self.caches)
        lookups, hits = self.lookups, self.hits
        ttls = [math.inf if s.ttl_s is None else s.ttl_s for s in self.specs]
        for key, ts, size, count in zip(keys, times, sizes, counted, strict=True):
            now = self.now = ts if ts > self.now else self.now  # recorded pacing: gaps >= 0
            found, expires = depth, math.inf
            for level in range(depth):
                if count:
                    lookups[level] += 1
                fresh = caches[level].get(key, now)
                if fresh is not None:
                    found, expires = level, fresh
                    if count:
                        hits[level] += 1
                    break
            for level in range(found):
                caches[level].put(key, size, min(now + ttls[level], expires), now)
            if count:
                self.requests += 1
                self.answered += found < depth

    def result(self) -> Simulation:
        lookups, hits = list(self.lookups), list(self.hits)
        requests, answered = self.requests, self.answered
        if self.rate < 1.0 and lookups:
            # SHARDS_adj for a miniature run: the sample holds more or fewer references
            # than population x rate when a few heavy keys fell in or out of it; those
            # keys are hits in any cache worth simulating, so the difference goes to the
            # first tier's hits (as SHARDS puts it in its first bucket).
            extra = round(self.population * self.rate) - requests
            extra = max(extra, -min(hits[0], requests))
            lookups[0] += extra
            hits[0] += extra
            requests += extra
            answered += extra
        tiers = tuple(
            TierPrediction(spec.name, tier_lookups, tier_hits, cache.evictions, cache.expirations)
            for spec, tier_lookups, tier_hits, cache in zip(
                self.specs, lookups, hits, self.caches, strict=True
            )
        )
        return Simulation(tiers, requests, answered, self.rate, self.count_from)


def _model(spec: TierSpec, rate: float) -> _Policy:
    limit, by_bytes = None, False
    if spec.capacity is not None:
        by_bytes = spec.capacity.unit == "bytes"
        limit = spec.capacity.amount * rate
        if not by_bytes:
            limit = max(1.0, round(limit))
    return _LFU(limit, by_bytes) if spec.eviction == "lfu" else _LRU(limit, by_bytes)
