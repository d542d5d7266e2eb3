"""One observed run: preflight, background sampling, phase boundaries, per-phase figures.

``ObserveSession`` is what the gate drives (it has the methods of
``warmer.gate.observation.Observation``; ``PhaseFigures`` has the fields of its
``PhaseObservation``): ``preflight()`` → ``start()`` → ``boundary("warm_start")`` …
``boundary("verify_end")`` → ``stop()`` → ``phase(name, rows)`` and ``curves(rows)``.
Live tiers are measured from the sampler's timeline between a phase's two boundaries
(interval deltas summed, so a restart mid-phase loses little); header tiers from the
phase's rows of the results table.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warmer.config.schema import Config
from warmer.model.run import BackendMetrics, TierCurve, TierMetrics
from warmer.observe.build import BACKEND, ObserverSet, build_observers, preflight
from warmer.observe.counters import SnapshotDelta, snapshot_delta, timeline_delta
from warmer.observe.headers import header_counts, header_curves
from warmer.observe.interface import TierSnapshot
from warmer.observe.metrics import (
    Consistency,
    backend_metrics,
    effective_hit_rate,
    tier_metrics,
)
from warmer.observe.sampler import Sampler

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class PhaseFigures:
    """What the observers saw during one phase (the fields of the gate's PhaseObservation)."""

    tiers: tuple[TierMetrics, ...] = ()
    effective_hit_rate: float | None = None
    backend: BackendMetrics = field(default_factory=BackendMetrics)
    extra: Mapping[str, float | None] = field(default_factory=dict)
    """Evidence outside the report model, in vocabulary names (``l1.expirations`` ...)."""
    backend_gap: float | None = None
    """``|offload implied by the tiers − offload from the backend counter|``."""
    consistency: Consistency | None = None


class ObserveSession:
    """The observers of one run and everything they saw."""

    def __init__(self, config: Config, observers: ObserverSet | None = None) -> None:
        self.config = config
        self.observers = observers or build_observers(config)
        self.sampler = Sampler(list(self.observers.live.values()), config.observe.interval_s)
        self._unreached: dict[str, str] = {}

    def preflight(self) -> None:
        """Exit 3 (ObserverUnreachableError) if a required source does not answer."""
        from warmer.observe.build import require_reachable

        results = preflight(self.observers)
        require_reachable(results)
        for result in results:
            if result.reachable is False:
                self._unreached[result.name] = f"unreachable at preflight: {result.error}"

    def start(self) -> None:
        self.sampler.start()

    def boundary(self, name: str) -> None:
        self.sampler.snapshot_all(label=name)

    def stop(self) -> None:
        self.sampler.stop()
        self.observers.close()

    def delta(self, name: str, phase: str) -> SnapshotDelta:
        """What live source ``name`` counted between ``{phase}_start`` and ``{phase}_end``."""
        points = self.sampler.series(name, f"{phase}_start", f"{phase}_end")
        return timeline_delta(snapshot for _, snapshot in points)

    def phase(self, name: str, results: pa.Table) -> PhaseFigures:
        """Tier and backend figures of phase ``name`` from its rows of the results table."""
        answered = _answered(results)
        tiers = tuple(self._tier(tier, name, results, answered) for tier in self.observers.tiers)
        effective = effective_hit_rate(tiers)
        extra: dict[str, float | None] = {}
        for tier in self.observers.tiers:
            if tier in self.observers.live:
                extra[f"{tier}.expirations"] = self.delta(tier, name).expirations
        backend, check = self._backend(name, results, answered, effective)
        return PhaseFigures(tiers, effective, backend, extra, check.gap, check)

    def curves(self, results: pa.Table) -> tuple[TierCurve, ...]:
        """Warmup curves of the header tiers (and ``effective`` when every tier is one)."""
        rules = [
            self.observers.headers[t] for t in self.observers.tiers if t in self.observers.headers
        ]
        curves = header_curves(results, rules)
        if len(rules) < len(self.observers.tiers):
            curves = tuple(c for c in curves if c.tier != "effective")
        return curves

    def missing(self) -> dict[str, str]:
        """Source → why it gave no data or partial data."""
        missing = dict(self._unreached)
        for name in self.observers.live:
            if name in missing:
                continue
            points = [s for _, s in self.sampler.series(name)]
            gaps = sum(1 for s in points if s is None)
            if points and gaps == len(points):
                missing[name] = "no sample answered"
            elif gaps:
                missing[name] = f"{gaps} of {len(points)} samples missing (source dropped out)"
        return missing

    def timelines(self) -> Any:
        return [sample.to_json() for sample in self.sampler.timeline]

    def _tier(self, tier: str, phase: str, results: pa.Table, answered: int) -> TierMetrics:
        source = self.observers.sources[tier]
        rule = self.observers.headers.get(tier)
        malformed = 0
        if rule is not None:
            counts = header_counts(results, rule)
            delta = SnapshotDelta(hits=counts.hits, misses=counts.misses)
            malformed = counts.unknown + counts.malformed_members
        else:
            delta = self.delta(tier, phase)
            malformed = delta.end.malformed if delta.end else 0
        return tier_metrics(
            tier,
            source.source,
            delta,
            shared=source.shared,
            client_requests=answered,
            malformed=malformed,
        )

    def _backend(
        self, phase: str, results: pa.Table, answered: int, implied: float | None
    ) -> tuple[BackendMetrics, Consistency]:
        tolerance = self.config.observe.consistency_tolerance
        source = self.observers.sources.get(BACKEND)
        delta: SnapshotDelta | None = None
        peak = None
        if source is not None and BACKEND in self.observers.headers:
            counts = header_counts(results, self.observers.headers[BACKEND])
            delta = SnapshotDelta(requests=counts.misses)
        elif source is not None:
            delta = self.delta(BACKEND, phase)
            points = self.sampler.series(BACKEND, f"{phase}_start", f"{phase}_end")
            peak = peak_rate([s for _, s in points])
        return backend_metrics(
            source.source if source else None,
            delta,
            answered,
            implied_offload=implied,
            tolerance=tolerance,
            rps_peak=peak,
        )


def peak_rate(snapshots: Sequence[TierSnapshot | None]) -> float | None:
    """Highest backend requests per second over consecutive readings (gaps skipped)."""
    present = [s for s in snapshots if s is not None]
    rates = []
    for before, after in itertools.pairwise(present):
        step = snapshot_delta(before, after)
        if step.requests is not None and step.seconds and step.seconds > 0.05:
            rates.append(step.requests / step.seconds)
    return max(rates) if rates else None


def _answered(results: pa.Table) -> int:
    import pyarrow.compute as pc

    if "status" not in results.column_names:
        return int(results.num_rows)
    return int(pc.sum(pc.is_valid(results.column("status"))).as_py() or 0)
