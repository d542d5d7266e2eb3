"""How big each tier is, what the traffic needs, and which of the two a failing check shows.

A tier's size comes from ``[tiers.NAME] capacity`` when set; otherwise from what its server
says: Redis ``maxmemory`` and Memcached ``limit_maxbytes`` over the memory per key it holds
now (``used_memory / keys``; ``maxmemory 0`` is unbounded). The miss-ratio curve of the
sample says how many keys a tier needs for a hit rate: the first tier reads it directly;
a deeper tier, which sees the misses of the tiers above, needs the size at which an LRU
cache reaches ``1 − (1 − H_above)·(1 − threshold)`` (inclusive tiers: a deeper tier holds
what the tiers above hold).

:func:`explain` turns that into the diagnosis of a failing ``hit_rate.<tier>`` check, read
from the run's metrics (the ``predict`` step writes them; names under ``capacity.`` are
evidence only, not checkable):

* **TTL-limited** — tier simulation at this size predicts a hit rate below the threshold,
  and the same size without expiry reaches it;
* **too small** — the curve needs more keys for the threshold than the tier holds;
* **not warmed** — a warm tier of this size and TTL would reach the threshold, verify
  measured less.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.checks.grammar import Check

if TYPE_CHECKING:
    from warmer.config.schema import SourceConfig
    from warmer.model.run import MrcPoint, TierForecast
    from warmer.observe.interface import TierSnapshot
    from warmer.sample.simulate import TierSpec

Metrics = Mapping[str, float | None]

OWN_ROOTS = ("predicted", "converged", "seconds_to_warm")
"""Metric roots (after ``warm.``) whose failures this module explains."""


@dataclass(frozen=True)
class TierSize:
    """One tier's modelled size and where it comes from."""

    tier: str
    keys: float | None = None
    bytes: float | None = None
    source: str | None = None
    """``configured``, ``Redis maxmemory 18 MB / 3.6 kB per key`` ...; None: unknown."""
    ttl_s: float | None = None

    @property
    def known(self) -> bool:
        """True when the size was configured or read from the tier's server."""
        return self.source is not None


def tier_size(name: str, config: SourceConfig, reading: TierSnapshot | None) -> TierSize:
    """The size of tier ``name``: configured, else observed, else unknown."""
    limit = config.limit()
    if limit is not None:
        keys = limit.amount if limit.unit == "objects" else None
        size = limit.amount if limit.unit == "bytes" else None
        return TierSize(name, keys, size, "configured", config.ttl_seconds())
    observed = _observed(config.source, reading)
    if observed is not None:
        return TierSize(name, observed[0], observed[1], observed[2], config.ttl_seconds())
    return TierSize(name, ttl_s=config.ttl_seconds())


def _observed(
    source: str, reading: TierSnapshot | None
) -> tuple[float | None, float | None, str] | None:
    """(keys, bytes, how) from a Redis/Memcached reading of its memory limit."""
    if reading is None or reading.max_memory_bytes is None:
        return None
    what = "maxmemory" if source == "redis" else "limit_maxbytes"
    if reading.max_memory_bytes == 0:
        return None, None, f"{source.capitalize()} {what} 0 (no limit)"
    limit = float(reading.max_memory_bytes)
    label = f"{source.capitalize()} {what} {_mb(limit)}"
    if not reading.keys or not reading.memory_bytes:
        return None, limit, label
    per_key = reading.memory_bytes / reading.keys
    return limit / per_key, limit, f"{label} / {per_key:,.0f} B per key"


def _mb(value: float) -> str:
    return f"{value / 2**20:,.1f} MB"


def simulation_spec(size: TierSize, eviction: str, *, expire: bool = True) -> TierSpec:
    """The tier model for :func:`warmer.sample.simulate.simulate_tiers`.

    A size read from a server is modelled in keys (its memory per key includes the server's
    overhead, which recorded response sizes do not); unknown sizes are unbounded.
    """
    from warmer.config.sizes import Capacity
    from warmer.sample.simulate import TierSpec

    capacity = None
    if size.keys is not None:
        capacity = Capacity(max(size.keys, 1.0), "objects")
    elif size.bytes is not None and size.source == "configured":
        capacity = Capacity(size.bytes, "bytes")
    ttl = size.ttl_s if expire else None
    return TierSpec(size.tier, capacity, ttl, "lfu" if eviction == "lfu" else "lru")


def hit_at(points: Sequence[MrcPoint], keys: float) -> float:
    """The LRU hit rate of a cache of ``keys`` objects on the curve (step function)."""
    best = 1.0
    for point in points:
        if point.cache_keys > keys:
            break
        best = point.miss_ratio
    return 1.0 - best


def keys_for(points: Sequence[MrcPoint], hit_rate: float) -> float | None:
    """The fewest keys whose LRU hit rate reaches ``hit_rate``; None when no size does."""
    return next((float(p.cache_keys) for p in points if 1.0 - p.miss_ratio >= hit_rate), None)


def needed_keys(
    points: Sequence[MrcPoint], sizes: Sequence[TierSize], targets: Mapping[str, float]
) -> dict[str, float | None]:
    """Tier → keys it needs for its target (conditional hit rate), tiers nearest first."""
    needed: dict[str, float | None] = {}
    if not points:
        return needed
    above = 0.0  # hit rate of the tiers above, together
    for size in sizes:
        target = targets.get(size.tier)
        if target is not None:
            needed[size.tier] = keys_for(points, 1.0 - (1.0 - above) * (1.0 - target))
        reach = hit_at(points, size.keys) if size.keys is not None else 1.0 - points[-1].miss_ratio
        above = max(above, reach)
    return needed


def needed_metrics(
    points: Sequence[MrcPoint], sizes: Sequence[TierSize], targets: Mapping[str, float]
) -> dict[str, float | None]:
    """``capacity.<tier>.needed_keys`` for every tier (None without a target or a curve)."""
    needed = needed_keys(points, sizes, targets)
    return {f"capacity.{s.tier}.needed_keys": needed.get(s.tier) for s in sizes}


def sizes_of(forecasts: Sequence[TierForecast]) -> list[TierSize]:
    """The tier sizes a report's predictions recorded (for ``--rejudge``)."""
    return [
        TierSize(f.tier, f.capacity_keys, f.capacity_bytes, f.capacity_source, f.ttl_s)
        for f in forecasts
    ]


def explain(check: Check, metrics: Metrics) -> str | None:
    """The capacity, TTL or warming diagnosis of a failing check, when the run knows enough.

    Reads ``predicted.hit_rate.<tier>``, ``predicted.hit_rate.<tier>.unexpiring``,
    ``capacity.<tier>.keys``, ``capacity.<tier>.ttl_s``, ``capacity.<tier>.needed_keys``
    and, for the convergence metrics, ``convergence.<tier>.plateau``.
    """
    root = check.metric.removeprefix("warm.").split(".")[0]
    if root in ("converged", "seconds_to_warm"):
        return _convergence(check, metrics)
    if check.tier is None or check.op not in (">", ">=") or root not in ("hit_rate", "predicted"):
        return None
    if root == "hit_rate" and check.metric.startswith("warm."):
        return None  # while warming a tier is expected to be short of its steady state
    tier, threshold = check.tier, check.limit
    return (
        _ttl_limited(tier, threshold, metrics)
        or _too_small(tier, threshold, metrics)
        or (_not_warmed(tier, threshold, metrics) if root == "hit_rate" else None)
    )


def label(tier: str) -> str:
    """``l0`` → ``L0``; other names as configured."""
    return tier.upper() if len(tier) <= 3 else tier


def _ttl_limited(tier: str, threshold: float, metrics: Metrics) -> str | None:
    predicted = metrics.get(f"predicted.hit_rate.{tier}")
    unexpiring = metrics.get(f"predicted.hit_rate.{tier}.unexpiring")
    ttl = metrics.get(f"capacity.{tier}.ttl_s")
    if predicted is None or unexpiring is None or ttl is None:
        return None
    if not predicted < threshold <= unexpiring:
        return None
    return (
        f"TTL-limited: with entries fresh for {ttl:g}s {label(tier)} reaches about "
        f"{predicted:.2f} at the recorded pace, without expiry {unexpiring:.2f} (simulated): TTL"
    )


def _too_small(tier: str, threshold: float, metrics: Metrics) -> str | None:
    keys = metrics.get(f"capacity.{tier}.keys")
    needed = metrics.get(f"capacity.{tier}.needed_keys")
    if keys is None or needed is None or needed <= keys:
        return None
    return (
        f"too small: {label(tier)} holds about {_round(keys)} keys; this traffic needs about "
        f"{_round(needed)} for {threshold:.0%} (MRC): capacity"
    )


def _not_warmed(tier: str, threshold: float, metrics: Metrics) -> str | None:
    predicted = metrics.get(f"predicted.hit_rate.{tier}")
    measured = metrics.get(f"hit_rate.{tier}")
    if predicted is None or measured is None or predicted < threshold or measured >= threshold:
        return None
    return (
        f"not warmed: a warm {label(tier)} of this size and TTL reaches about {predicted:.2f} "
        f"(simulated), verify measured {measured:.2f}: warm longer or with more of the sample"
    )


def _convergence(check: Check, metrics: Metrics) -> str | None:
    tier = check.tier or ""
    plateau = metrics.get(f"convergence.{tier}.plateau")
    if plateau is None:
        return f"{label(tier)} has no warmup curve to settle on"
    return (
        f"{label(tier)}'s windowed hit rate had not settled by the end of warm "
        f"(last plateau {plateau:.2f}): warm longer"
    )


def _round(value: float) -> str:
    """About-figures: two significant digits (``9,500``, ``2,000``, ``120``)."""
    if value < 100:
        return f"{value:,.0f}"
    digits = len(str(int(value))) - 2
    return f"{round(value, -digits):,.0f}"
