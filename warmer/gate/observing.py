"""The gate's observation over the observe stage: live observers, sampler and header tiers.

Live sources (Redis, Memcached, Prometheus, PromQL) are sampled in the background by
:class:`warmer.observe.sampler.Sampler` and snapshotted at every phase boundary; a phase's
figures are the counter deltas between its boundaries. Header tiers (``cache-status``,
``header``) are computed from the phase's rows of the results table. The effective hit
rate compounds the tiers (``warmer.observe.metrics``); the backend's offload is checked
against the offload the tiers imply.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from warmer.config.schema import Config, SourceConfig
from warmer.errors import ObserverUnreachableError
from warmer.gate.losses import TierMemory, header_losses
from warmer.gate.observation import PhaseObservation
from warmer.model.run import CurvePoint, LoadPoint, TierCurve, TierMetrics

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.observe.headers import HeaderRule
    from warmer.observe.interface import Observer, TierSnapshot
    from warmer.observe.sampler import Sampler

HEADER_SOURCES = ("cache-status", "header")
BACKEND = "backend"


def live_observer(name: str, source: SourceConfig, timeout_s: float) -> Observer:
    """The observer of one live source (``redis``, ``memcached``, ``prometheus``, ``promql``)."""
    url = source.url or ""
    if source.source == "redis":
        from warmer.observe.redis import RedisObserver

        return RedisObserver(name, url, timeout_s=timeout_s)
    if source.source == "memcached":
        from warmer.observe.memcached import MemcachedObserver

        return MemcachedObserver(name, url, timeout_s=timeout_s)
    fields = {k: getattr(source, k) for k in ("hits", "misses", "requests") if getattr(source, k)}
    if source.source == "prometheus":
        from warmer.observe.parsers.selector import parse_selector
        from warmer.observe.prometheus import PrometheusObserver

        selectors = {k: parse_selector(v, source.labels) for k, v in fields.items()}
        return PrometheusObserver(name, url, selectors, timeout_s=timeout_s)
    from warmer.observe.promql import PromQLObserver

    return PromQLObserver(name, url, fields, timeout_s=timeout_s)


def header_rule(name: str, source: SourceConfig) -> HeaderRule:
    """How a header tier is read from the responses."""
    from warmer.observe.headers import HeaderRule

    if source.source == "cache-status":
        return HeaderRule(name, "cache-status", cache=source.cache or name)
    return HeaderRule(name, (source.header or "").lower(), hop=source.hop)


class ObserverSet:
    """Every configured tier and the backend, for one gate run (an ``Observation``)."""

    def __init__(self, config: Config) -> None:
        timeout = config.observe.timeout_s
        self.config = config
        self.sources: dict[str, SourceConfig] = dict(config.tiers)
        if config.backend is not None:
            self.sources[BACKEND] = config.backend
        self.rules = {
            n: header_rule(n, s) for n, s in config.tiers.items() if s.source in HEADER_SOURCES
        }
        self.live = {
            n: live_observer(n, s, timeout)
            for n, s in self.sources.items()
            if s.source not in HEADER_SOURCES
        }
        self._missing: dict[str, str] = {}
        self._unreachable: set[str] = set()
        self._memory: dict[str, TierMemory] = {}
        """Header tier → what its responses told so far (see warmer.gate.losses)."""
        self._sampler: Sampler | None = None
        self._started = 0.0

    @classmethod
    def from_config(cls, config: Config) -> ObserverSet:
        return cls(config)

    def preflight(self) -> None:
        for name, observer in self.live.items():
            try:
                observer.preflight()
            except ObserverUnreachableError as exc:
                if self.sources[name].required:
                    raise
                self._missing[name] = exc.message
                self._unreachable.add(name)

    def start(self) -> None:
        from warmer.observe.sampler import Sampler

        reachable = [o for n, o in self.live.items() if n not in self._unreachable]
        self._sampler = Sampler(reachable, self.config.observe.interval_s)
        self._started = time.perf_counter()
        self._sampler.start()

    def boundary(self, name: str) -> None:
        if self._sampler is not None:
            self._sampler.snapshot_all(name)

    def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.stop()
        for observer in self.live.values():
            observer.close()

    def phase(self, name: str, results: pa.Table) -> PhaseObservation:
        from warmer.observe.metrics import backend_metrics, effective_hit_rate

        requests = int(results.num_rows)
        tiers, extra = self._tiers(name, results)
        effective = effective_hit_rate(tiers)
        implied = _implied_offload(effective, tiers, requests)
        backend, check = backend_metrics(
            self.sources[BACKEND].source if BACKEND in self.sources else None,
            self._delta(BACKEND, name) if BACKEND in self.live else None,
            requests,
            implied_offload=implied,
            tolerance=self.config.observe.consistency_tolerance,
            rps_peak=self._rps_peak(name),
        )
        return PhaseObservation(tuple(tiers), effective, backend, extra, check.gap)

    def _tiers(self, phase: str, rows: pa.Table) -> tuple[list[TierMetrics], dict[str, Any]]:
        from warmer.observe.metrics import tier_metrics

        caches = {n: r.cache or n for n, r in self.rules.items() if r.header == "cache-status"}
        losses = header_losses(rows, caches, self._memory).get(phase, {})
        tiers: list[TierMetrics] = []
        extra: dict[str, Any] = {}
        for name, source in self.config.tiers.items():
            if name in self.rules:
                tiers.append(self._header_tier(name, rows, losses.get(name)))
                if name in losses:
                    extra[f"{name}.expirations"] = float(losses[name].expirations)
                continue
            delta = self._delta(name, phase)
            tier = tier_metrics(name, source.source, delta, shared=source.shared)
            if tier.lookups == 0:
                self._missing.setdefault(name, _unused(name))
            tiers.append(tier)
            extra[f"{name}.expirations"] = delta.expirations
        return tiers, extra

    def _header_tier(self, name: str, rows: pa.Table, lost: Any) -> TierMetrics:
        from warmer.observe.headers import header_counts

        counts = header_counts(rows, self.rules[name])
        missing = counts.lookups == 0
        note = None
        if missing:
            note = f"no response carried a lookup of {self._what(name)}"
            self._missing.setdefault(name, note)
        elif lost is not None:
            note = "evictions inferred from Cache-Status: misses on keys stored earlier"
        return TierMetrics(
            name=name,
            source=self.sources[name].source,
            hits=counts.hits,
            misses=counts.misses,
            lookups=counts.lookups,
            hit_rate=counts.hit_rate,
            evictions=None if lost is None else lost.evictions,
            shared=self.sources[name].shared,
            missing_data=missing,
            note=note,
        )

    def _what(self, name: str) -> str:
        rule = self.rules[name]
        if rule.header == "cache-status":
            return f"this tier (no Cache-Status member {rule.cache!r}): is the tier in use?"
        return f"this tier in the {rule.header} header"

    def _delta(self, name: str, phase: str) -> Any:
        from warmer.observe.counters import MISSING, timeline_delta

        if self._sampler is None or name in self._unreachable:
            return MISSING
        series = self._sampler.series(name, f"{phase}_start", f"{phase}_end")
        delta = timeline_delta(snap for _, snap in series)
        if delta.missing and delta.end is None:
            self._missing.setdefault(name, f"the {name} source gave no data during {phase}")
        return delta

    def _rps_peak(self, phase: str) -> float | None:
        rates = [p.rps for p in self._load(f"{phase}_start", f"{phase}_end")]
        return max(rates) if rates else None

    def _load(self, start: str | None = None, end: str | None = None) -> list[LoadPoint]:
        if self._sampler is None or BACKEND not in self.live:
            return []
        # Sampler time and results time both start when the run's replay begins (the
        # sampler is created right after the results writer), a few ms apart at most.
        return backend_load(self._sampler.series(BACKEND, start, end))

    def backend_load(self) -> list[LoadPoint]:
        """Backend requests per second between consecutive samples, over the whole run."""
        return self._load()

    def curves(self, results: pa.Table) -> tuple[TierCurve, ...]:
        from warmer.observe.headers import header_curves

        curves = list(header_curves(results, list(self.rules.values())))
        if len(self.rules) != len(self.config.tiers):
            # "effective" from the header tiers alone would leave out the live tiers.
            curves = [c for c in curves if c.tier != "effective"]
            curves.extend(self._effective_from_cache_status(results))
        sent = _sorted_sent(results)
        for name in self.config.tiers:
            if name not in self.rules and self._sampler is not None:
                curves.append(live_curve(name, self._sampler.series(name), sent))
        return tuple(curves)

    def _effective_from_cache_status(self, results: pa.Table) -> list[TierCurve]:
        """The ``effective`` curve when ``Cache-Status`` also names every live tier.

        Many services list every cache they consulted in the header (the reference
        candidate does); then a per-request effective curve exists although the live
        tiers' own figures come from their servers.
        """
        from warmer.observe.headers import HeaderRule, header_counts, header_curves

        rules = [
            self.rules.get(name) or HeaderRule(name, "cache-status", cache=name)
            for name in self.config.tiers
        ]
        if any(header_counts(results, rule).lookups == 0 for rule in rules):
            return []
        return [c for c in header_curves(results, rules) if c.tier == "effective"]

    def missing(self) -> dict[str, str]:
        return dict(self._missing)

    def timelines(self) -> Any:
        if self._sampler is None:
            return []
        return [sample.to_json() for sample in self._sampler.timeline]


def _unused(name: str) -> str:
    from warmer.gate.diagnose import tier_label

    return (
        f"{tier_label(name)} saw no lookups (its hit and miss counters did not move): "
        "the candidate does not seem to use this tier"
    )


def _implied_offload(
    effective: float | None, tiers: Sequence[TierMetrics], requests: int
) -> float | None:
    """Share of all requests a tier answered: bypassed requests always reach the backend."""
    if effective is None or not tiers or not requests or tiers[0].lookups is None:
        return effective
    return effective * min(tiers[0].lookups, requests) / requests


def backend_load(series: Sequence[tuple[float, TierSnapshot | None]]) -> list[LoadPoint]:
    """Requests per second between consecutive readings of the backend counter."""
    points: list[LoadPoint] = []
    previous: tuple[float, float] | None = None
    for t, snap in series:
        if snap is None or snap.requests is None:
            previous = None
            continue
        if previous is not None and t > previous[0] and snap.requests >= previous[1]:
            points.append(LoadPoint(t, (snap.requests - previous[1]) / (t - previous[0])))
        previous = (t, snap.requests)
    return points


def _sorted_sent(results: pa.Table) -> Any:
    import numpy as np

    sent = results.column("sent_s").to_numpy(zero_copy_only=False)
    return np.sort(np.asarray(sent, dtype=float))


def live_curve(
    name: str, series: Sequence[tuple[float, TierSnapshot | None]], sent: Any
) -> TierCurve:
    """Hit rate of a live tier per sampling interval, placed at the requests sent by then."""
    import numpy as np

    points: list[CurvePoint] = []
    previous: TierSnapshot | None = None
    for t, snap in series:
        if snap is None or snap.hits is None or snap.misses is None:
            previous = None
            continue
        if previous is not None and previous.hits is not None and previous.misses is not None:
            hits, misses = snap.hits - previous.hits, snap.misses - previous.misses
            if hits >= 0 and misses >= 0 and hits + misses > 0:
                requests = int(np.searchsorted(sent, t, side="right"))
                points.append(CurvePoint(requests, t, hits / (hits + misses)))
        previous = snap
    return TierCurve(name, tuple(points))
