"""Stage 3 — observe: per-tier hits and misses and backend load, from headers and servers.

Public API (the modules behind it are private to the stage's layout, not to callers)::

    build_observers(config) -> ObserverSet        live observers + header rules from config
    preflight(observers) -> [Reachability]        try every source once (never raises)
    require_reachable(results)                    ObserverUnreachableError (exit 3) if needed
    observe_now(config) -> [SourceStatus]         the one-off look behind `warmer observe`
    Sampler(observers, interval_s)                background timeline + boundary snapshots
    ObserveSession(config)                        what the gate drives: preflight(),
                                                  `with sampling():`, boundary(name), and
                                                  figures(results) -> RunFigures (per-phase
                                                  figures, curves, backend load, missing)
    header_counts / header_curves                 header tiers from a results table
    snapshot_delta / timeline_delta               counter deltas with reset detection
    tier_metrics / effective_hit_rate / offload / consistency    the arithmetic
    parse_cache_status / parse_x_cache / parse_x_cache_status / parse_age
    parse_info (Redis) / parse_stats (Memcached) / parse_selector (metric{label="v"})

Heavy clients (redis-py, pyarrow) are imported only when an observer is used; HTTP sources
are scraped with the standard library (`_http`), which keeps a cold preflight short.
"""

from warmer.observe.build import (
    BACKEND,
    ObserverSet,
    Reachability,
    build_observers,
    preflight,
    require_reachable,
)
from warmer.observe.counters import CounterDelta, SnapshotDelta, snapshot_delta, timeline_delta
from warmer.observe.headers import HeaderCounts, HeaderRule, header_counts, header_curves
from warmer.observe.interface import Observer, TierSnapshot
from warmer.observe.metrics import (
    Consistency,
    consistency,
    effective_hit_rate,
    hit_rate,
    offload,
    tier_metrics,
)
from warmer.observe.parsers.cache_status import CacheEntry, CacheStatus, parse_cache_status
from warmer.observe.parsers.legacy import parse_age, parse_x_cache, parse_x_cache_status
from warmer.observe.parsers.memcached_stats import parse_stats
from warmer.observe.parsers.redis_info import parse_info
from warmer.observe.parsers.selector import Selector, parse_selector
from warmer.observe.sampler import Sample, Sampler
from warmer.observe.session import ObserveSession, PhaseFigures
from warmer.observe.status import SourceStatus, observe_now

__all__ = [
    "BACKEND",
    "CacheEntry",
    "CacheStatus",
    "Consistency",
    "CounterDelta",
    "HeaderCounts",
    "HeaderRule",
    "ObserveSession",
    "Observer",
    "ObserverSet",
    "PhaseFigures",
    "Reachability",
    "Sample",
    "Sampler",
    "Selector",
    "SnapshotDelta",
    "SourceStatus",
    "TierSnapshot",
    "build_observers",
    "consistency",
    "effective_hit_rate",
    "header_counts",
    "header_curves",
    "hit_rate",
    "observe_now",
    "offload",
    "parse_age",
    "parse_cache_status",
    "parse_info",
    "parse_selector",
    "parse_stats",
    "parse_x_cache",
    "parse_x_cache_status",
    "preflight",
    "require_reachable",
    "snapshot_delta",
    "tier_metrics",
    "timeline_delta",
]
