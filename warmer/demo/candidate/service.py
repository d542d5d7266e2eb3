"""The candidate's request path: cacheability, cache keys, read-through and ``Cache-Status``.

Read-through order is L0 → L1 → L2 → backend; on the way back each tier above the one
that answered is filled (its own TTL, capped by the freshness the answer had left).
``Cache-Status`` (RFC 9211 §2) lists one member per tier the request traversed, **the
cache nearest the origin first**, so a full miss with every tier present reads::

    l2; fwd=uri-miss; stored, l1; fwd=uri-miss; stored, l0; fwd=uri-miss; stored

an L1 hit reads ``l1; hit; ttl=3542, l0; fwd=uri-miss; stored`` and an L0 hit
``l0; hit; ttl=3599``. Absent tiers are not listed. Uncacheable requests read
``l0; fwd=bypass`` (``/api/*``, ``/account/*``, unknown paths) or ``l0; fwd=method``
(anything but GET and HEAD). An L0 entry found past its TTL reads ``l0; fwd=stale``; a
Redis tier that failed reads ``l1; fwd=miss; detail=error``. A request with
``Cache-Control: no-cache`` (or ``Pragma: no-cache``) goes around every tier to the origin
and stores nothing: ``l0; fwd=request``.

The origin keeps a version per object (:meth:`Backend.write`); ``POST /_admin/write``
changes one and invalidates it after ``invalidation_delay_s``, and ``stale_fraction``
changes some objects right after their first fill without invalidating them (stale reads).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from warmer.demo.candidate.backend import ROOT_FILES, Backend, content_type_of
from warmer.demo.candidate.l0 import LRUCache
from warmer.demo.candidate.settings import CandidateSettings
from warmer.demo.candidate.tiers import RedisTier, TierResult

CACHEABLE_PREFIXES = ("/product/", "/search/", "/static/", "/category/")
"""Paths whose GET/HEAD responses are cached, with ``/search`` itself."""
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
IGNORED_PREFIXES = ("utm_",)
IGNORED_NAMES = frozenset({"gclid", "fbclid", "msclkid", "_"})


@dataclass(frozen=True, slots=True)
class Served:
    """A finished response: who served it (``l0``/``l1``/``l2``/``backend``) and its headers."""

    status: int
    content_type: str
    body: bytes
    cache_status: str
    served_by: str
    age_s: float | None = None

    @property
    def hit(self) -> bool:
        """True when a cache tier answered."""
        return self.served_by != "backend"


def cache_key(path: str, query: str) -> str | None:
    """The cache key of a GET/HEAD to ``path?query``, or None when it is not cacheable.

    ``key = path [ "?" param *( "&" param ) ]``: empty parameters, ``utm_*``, ``gclid``,
    ``fbclid``, ``msclkid`` and ``_`` dropped, the rest sorted by their full text (the
    same normalisation as warmer's default ``[sample.key]``, without the method).
    """
    if not is_cacheable_path(path):
        return None
    params = sorted(p for p in query.split("&") if p and not _ignored(p))
    return f"{path}?{'&'.join(params)}" if params else path


def is_cacheable_path(path: str) -> bool:
    """True for ``/product/*``, ``/static/*``, ``/category/*``, ``/search`` (``/search/*``)
    and the root files (``/favicon.ico``, ``/robots.txt``)."""
    return path.startswith(CACHEABLE_PREFIXES) or path == "/search" or path in ROOT_FILES


def _ignored(param: str) -> bool:
    name = param.split("=", 1)[0].lower()
    return name in IGNORED_NAMES or name.startswith(IGNORED_PREFIXES)


class Candidate:
    """The service's caches and backend, independent of any web framework."""

    def __init__(self, settings: CandidateSettings) -> None:
        self.settings = settings
        self.l0 = LRUCache(settings.l0_capacity, settings.l0_ttl_s)
        self.tiers: list[RedisTier] = []  # nearest the client first: l1, then l2
        if settings.l1_url:
            self.tiers.append(
                RedisTier("l1", settings.l1_url, settings.l1_ttl_s, prefix=settings.key_prefix)
            )
        if settings.l2_url:
            self.tiers.append(
                RedisTier("l2", settings.l2_url, settings.l2_ttl_s, prefix=settings.key_prefix)
            )
        self.backend = Backend(
            settings.backend_latency_ms,
            settings.backend_jitter_ms,
            settings.backend_concurrency,
            seed=settings.seed,
            capacity_rps=settings.backend_capacity_rps,
        )
        self.tier_hits = {tier.name: 0 for tier in self.tiers}
        self.tier_misses = {tier.name: 0 for tier in self.tiers}
        self.tier_stores = {tier.name: 0 for tier in self.tiers} | {"l0": 0}
        self.started_at = time.time()
        self._filled: set[str] = set()
        """Keys filled from the origin at least once (the stale injection counts them)."""
        self.stale_keys = 0
        """Keys made stale by ``stale_fraction``."""
        self._pending: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Close the Redis connections."""
        for tier in self.tiers:
            await tier.close()

    async def handle(self, method: str, path: str, query: str, *, no_cache: bool = False) -> Served:
        """Serve one request through the tiers (or around them when it is uncacheable).

        ``no_cache``: the client asked to go around the caches (``Cache-Control:
        no-cache``); the origin's current version is served and nothing is stored.
        """
        key = cache_key(path, query) if method in CACHEABLE_METHODS else None
        if key is None or no_cache:
            reason = "method" if method not in CACHEABLE_METHODS else "bypass"
            reason = "request" if no_cache and key is not None else reason
            version = self.backend.version(key)
            response = await self.backend.fetch(method, path, query, version)
            return Served(
                response.status,
                response.content_type,
                response.body,
                f"l0; fwd={reason}",
                "backend",
            )
        return await self._read_through(method, path, query, key)

    async def write(self, target: str) -> int | None:
        """A write to the object at request target ``target``: a new origin version, then
        its invalidation after ``invalidation_delay_s`` (never when that is None).

        Returns the new version, None when ``target`` is not cacheable.
        """
        path, _, query = target.partition("?")
        key = cache_key(path, query)
        if key is None:
            return None
        version = self.backend.write(key)
        delay = self.settings.invalidation_delay_s
        if delay is not None:
            task = asyncio.create_task(self._invalidate(key, delay))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return version

    async def _invalidate(self, key: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self.l0.remove(key)
        for tier in self.tiers:
            await tier.delete(key)

    def _after_fill(self, key: str) -> None:
        """The stale injection: the origin changes some objects right after their first
        fill and nobody invalidates them (``stale_fraction``, exact over fills)."""
        fraction = self.settings.stale_fraction
        if not fraction or key in self._filled:
            return
        self._filled.add(key)
        n = len(self._filled)
        if math.floor(n * fraction) > math.floor((n - 1) * fraction):
            self.backend.write(key)
            self.stale_keys += 1

    async def _read_through(self, method: str, path: str, query: str, key: str) -> Served:
        lookup = self.l0.lookup(key)
        if lookup.entry is not None:
            now = self.l0.clock()
            ttl, age = int(lookup.entry.ttl(now)), now - lookup.entry.stored_at
            value = lookup.entry.value
            return Served(200, content_type_of(path), value, f"l0; hit; ttl={ttl}", "l0", age)
        l0_member = "l0; fwd=stale" if lookup.expired else "l0; fwd=uri-miss"
        descent = await self._descend(key)
        found = descent.found
        ttl_s: float | None = None  # a backend answer is stored with each tier's own TTL
        age_s = 0.0
        if found is None:
            response = await self.backend.fetch(method, path, query, self.backend.version(key))
            status, content_type, body = response.status, response.content_type, response.body
        else:
            status, content_type, body = 200, content_type_of(path), found.body or b""
            ttl_s, age_s = found.ttl_s, found.age_s
        if status == 200:
            await self._fill(descent, key, body, ttl_s, age_s)
            if self.l0.store(key, body, ttl_s, age_s) is not None:
                self.tier_stores["l0"] += 1
                l0_member += "; stored"
            if found is None:
                self._after_fill(key)
        cache_status = ", ".join([*reversed(descent.members), l0_member])
        served_age = None if found is None else age_s
        return Served(status, content_type, body, cache_status, descent.served_by, served_age)

    async def _descend(self, key: str) -> _Descent:
        """Look ``key`` up in L1, then L2, until one hits."""
        descent = _Descent()
        for tier in self.tiers:
            result = await tier.get(key)
            if result.body is not None:
                self.tier_hits[tier.name] += 1
                descent.members.append(f"{tier.name}; hit; ttl={int(result.ttl_s)}")
                descent.found, descent.served_by = result, tier.name
                return descent
            self.tier_misses[tier.name] += 1
            if result.error:  # not filled either: the tier is in trouble
                descent.members.append(f"{tier.name}; fwd=miss; detail=error")
            else:
                descent.members.append(f"{tier.name}; fwd=uri-miss")
                descent.to_fill.append((len(descent.members) - 1, tier))
        return descent

    async def _fill(
        self, descent: _Descent, key: str, body: bytes, ttl_s: float | None, age_s: float
    ) -> None:
        """Store ``body`` in the tiers that missed; mark their members ``stored``."""
        for index, tier in descent.to_fill:
            if await tier.put(key, body, ttl_s, age_s):
                self.tier_stores[tier.name] += 1
                descent.members[index] += "; stored"


@dataclass
class _Descent:
    """What the Redis tiers said about one key: members nearest the client first."""

    members: list[str] = field(default_factory=list)
    to_fill: list[tuple[int, RedisTier]] = field(default_factory=list)
    """(index in ``members``, tier) of the tiers that missed cleanly."""
    found: TierResult | None = None
    served_by: str = "backend"
