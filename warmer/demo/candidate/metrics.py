"""The candidate's Prometheus metrics: every cache tier and the backend, read at scrape time.

Counters live as plain integers on the service (no per-request registry cost) and are
exported by a collector when ``/metrics`` is scraped. Metric names (see docs/candidate.md):

========================================  =========  ==============================================
name                                      type       meaning
========================================  =========  ==============================================
candidate_cache_requests_total            counter    lookups per ``tier`` and ``result`` (hit|miss)
candidate_cache_stores_total              counter    fills per ``tier``
candidate_cache_evictions_total           counter    L0 entries pushed out by capacity (``tier``)
candidate_cache_expirations_total         counter    L0 entries dropped after their TTL (``tier``)
candidate_cache_errors_total              counter    failed Redis commands per ``tier``
candidate_cache_entries                   gauge      entries per ``tier`` (Redis ``DBSIZE``)
candidate_cache_capacity_entries          gauge      the L0 bound
candidate_backend_requests_total          counter    requests that reached the origin
candidate_backend_rejected_total          counter    of those, answered 503 past its capacity
candidate_backend_inflight                gauge      origin requests being worked on now
candidate_backend_inflight_peak           gauge      the most ever worked on at once
candidate_backend_concurrency_limit       gauge      the origin's concurrency bound
candidate_http_request_duration_seconds   histogram  request latency per ``served_by`` tier
candidate_start_time_seconds              gauge      process start (a change means a restart)
========================================  =========  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warmer.demo.candidate.service import Candidate

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SERVED_BY = ("l0", "l1", "l2", "backend")

METRIC_NAMES = (
    "candidate_cache_requests_total",
    "candidate_cache_stores_total",
    "candidate_cache_evictions_total",
    "candidate_cache_expirations_total",
    "candidate_cache_errors_total",
    "candidate_cache_entries",
    "candidate_cache_capacity_entries",
    "candidate_backend_requests_total",
    "candidate_backend_rejected_total",
    "candidate_backend_inflight",
    "candidate_backend_inflight_peak",
    "candidate_backend_concurrency_limit",
    "candidate_http_request_duration_seconds",
    "candidate_start_time_seconds",
)
"""Every documented metric family (names as exposed, ``_total`` included for counters)."""


class CandidateMetrics:
    """A registry with the candidate's collector and its request-latency histogram."""

    def __init__(self, candidate: Candidate) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.registry = CollectorRegistry(auto_describe=False)
        self._collector = _Collector(candidate)
        self.registry.register(self._collector)
        histogram = Histogram(
            "candidate_http_request_duration_seconds",
            "Time to answer a request, by the tier that served it.",
            ["served_by"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Bound children: observing costs one lock and one add per request.
        self.latency: Mapping[str, Any] = {name: histogram.labels(name) for name in SERVED_BY}

    def set_entries(self, entries: Mapping[str, int]) -> None:
        """Redis tier sizes to export (the app refreshes them with DBSIZE before a scrape)."""
        self._collector.entries = dict(entries)

    def exposition(self) -> bytes:
        """The text format for ``GET /metrics``."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class _Collector:
    """Reads the service's counters at scrape time."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.entries: dict[str, int] = {}

    def collect(self) -> Iterator[Any]:
        yield from self._cache_families()
        yield from self._backend_families()

    def _cache_families(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        c, l0 = self.candidate, self.candidate.l0
        lookups = CounterMetricFamily(
            "candidate_cache_requests",
            "Cache lookups by tier and result.",
            labels=["tier", "result"],
        )
        lookups.add_metric(["l0", "hit"], l0.hits)
        lookups.add_metric(["l0", "miss"], l0.misses)
        for tier in c.tiers:
            lookups.add_metric([tier.name, "hit"], c.tier_hits[tier.name])
            lookups.add_metric([tier.name, "miss"], c.tier_misses[tier.name])
        stores = CounterMetricFamily("candidate_cache_stores", "Fills by tier.", labels=["tier"])
        for name, count in c.tier_stores.items():
            stores.add_metric([name], count)
        evictions = CounterMetricFamily(
            "candidate_cache_evictions", "L0 entries evicted by capacity.", labels=["tier"]
        )
        evictions.add_metric(["l0"], l0.evictions)
        expirations = CounterMetricFamily(
            "candidate_cache_expirations", "L0 entries dropped after their TTL.", labels=["tier"]
        )
        expirations.add_metric(["l0"], l0.expirations)
        errors = CounterMetricFamily(
            "candidate_cache_errors", "Failed Redis commands by tier.", labels=["tier"]
        )
        for tier in c.tiers:
            errors.add_metric([tier.name], tier.errors)
        entries = GaugeMetricFamily("candidate_cache_entries", "Entries by tier.", labels=["tier"])
        entries.add_metric(["l0"], len(l0))
        for name, count in self.entries.items():
            entries.add_metric([name], count)
        capacity = GaugeMetricFamily(
            "candidate_cache_capacity_entries", "Entry bound by tier.", labels=["tier"]
        )
        capacity.add_metric(["l0"], l0.capacity)
        yield from (lookups, stores, evictions, expirations, errors, entries, capacity)

    def _backend_families(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        backend = self.candidate.backend
        yield CounterMetricFamily(
            "candidate_backend_requests",
            "Requests that reached the origin.",
            value=backend.requests,
        )
        yield CounterMetricFamily(
            "candidate_backend_rejected",
            "Requests the origin answered 503 past its capacity.",
            value=backend.rejected,
        )
        yield GaugeMetricFamily(
            "candidate_backend_inflight", "Origin requests in progress.", value=backend.inflight
        )
        yield GaugeMetricFamily(
            "candidate_backend_inflight_peak",
            "Most origin requests ever in progress at once.",
            value=backend.peak_inflight,
        )
        yield GaugeMetricFamily(
            "candidate_backend_concurrency_limit",
            "The origin's concurrency bound.",
            value=backend.concurrency,
        )
        yield GaugeMetricFamily(
            "candidate_start_time_seconds",
            "When this process started (seconds since the epoch).",
            value=self.candidate.started_at,
        )
