"""One observed run: preflight, background sampling, phase boundaries, then every figure.

``ObserveSession`` is what the gate drives (``warmer.gate.observation.Observation``)::

    session.preflight()                      # exit 3 if a required source does not answer
    with session.sampling():                 # background sampling while traffic flows
        session.boundary("warm_start") … session.boundary("verify_end")
    figures = session.figures(results)       # RunFigures: per phase, curves, load, missing

A phase is whatever was bracketed by ``{name}_start`` and ``{name}_end``. Live tiers
(Redis, Memcached, Prometheus, PromQL) are measured from the sampler's timeline between a
phase's two boundaries (interval deltas summed, so a restart mid-phase loses little);
header tiers (``cache-status``, ``header``) from the phase's rows of the results table,
with what a ``Cache-Status`` tier lost inferred from its re-misses (``losses.py``). The
effective hit rate compounds the tiers; the backend's offload is checked against the
offload the tiers imply.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from warmer.config.schema import Config
from warmer.model.run import BackendMetrics, CurvePoint, LoadPoint, TierCurve, TierMetrics
from warmer.observe.build import BACKEND, ObserverSet, build_observers, preflight
from warmer.observe.counters import MISSING, SnapshotDelta, timeline_delta
from warmer.observe.findings import (
    compression,
    cross_check_warnings,
    recorded_pace_warnings,
    same_cache_warnings,
)
from warmer.observe.headers import (
    HeaderRule,
    header_counts,
    header_curves,
    in_send_order,
    phase_rows,
)
from warmer.observe.inference import TierFindings, analyse_all
from warmer.observe.interface import TierSnapshot
from warmer.observe.losses import LOSS_COLUMNS, Losses, TierMemory, header_losses
from warmer.observe.metrics import Consistency, backend_metrics, effective_hit_rate, tier_metrics
from warmer.observe.sampler import Sampler

if TYPE_CHECKING:
    import pyarrow as pa

MIN_RATE_INTERVAL_S = 0.05
"""Readings closer than this give no rate: a boundary snapshot taken a few ms after an
interval sample would turn a handful of requests into a spurious peak."""


@dataclass(frozen=True)
class PhaseFigures:
    """What the observers saw during one phase."""

    tiers: tuple[TierMetrics, ...] = ()
    effective_hit_rate: float | None = None
    backend: BackendMetrics = field(default_factory=BackendMetrics)
    extra: Mapping[str, float | None] = field(default_factory=dict)
    """Evidence outside the report model, in vocabulary names (``l1.expirations`` ...)."""
    backend_gap: float | None = None
    """``|offload implied by the tiers − offload from the backend counter|``."""
    consistency: Consistency | None = None
    compression: float | None = None
    """Recorded span ÷ replay span of the phase's requests."""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunFigures:
    """Everything a run's observers saw, computed once its traffic has stopped."""

    phases: Mapping[str, PhaseFigures] = field(default_factory=dict)
    """Phase name → its figures, for every phase bracketed by boundaries."""
    curves: tuple[TierCurve, ...] = ()
    """Warmup curve per tier (and ``effective`` when it can be drawn), over the whole run."""
    backend_load: tuple[LoadPoint, ...] = ()
    """Backend requests per second between consecutive readings of its counter."""
    missing: Mapping[str, str] = field(default_factory=dict)
    """Source → why it gave no data (empty when every source reported)."""
    timelines: list[dict[str, object]] = field(default_factory=list)
    """The raw samples over time, JSON-ready (the gate writes ``timelines.json``)."""
    warnings: tuple[str, ...] = ()
    """What a report must say whatever the verdict: TTLs hidden by the replay's speed,
    one cache counted as two tiers, a disagreeing cross-check, unsettled Prometheus."""


class ObserveSession:
    """The observers of one run and everything they saw."""

    def __init__(self, config: Config, observers: ObserverSet | None = None) -> None:
        self.config = config
        self.observers = observers or build_observers(config)
        self._sampler: Sampler | None = None
        self._unreached: dict[str, str] = {}
        self._notes: dict[str, str] = {}
        """Source → why it gave no data, found while computing phases."""
        self._unsettled: dict[str, list[str]] = {}
        """Boundary → PromQL sources whose Prometheus had not scraped past it in time."""

    @property
    def sampler(self) -> Sampler:
        """The timeline's sampler, created on first use.

        Its clock starts then: the gate starts sampling right after opening the results
        file, so sampler time and the results' ``sent_s`` share one axis (ms apart).
        """
        if self._sampler is None:
            reachable = [o for n, o in self.observers.live.items() if n not in self._unreached]
            self._sampler = Sampler(reachable, self.config.observe.interval_s)
        return self._sampler

    def preflight(self) -> None:
        """Exit 3 (ObserverUnreachableError) if a required source does not answer.

        An optional source that does not answer is left out of sampling and reported
        missing; on failure every observer is closed before the error propagates.
        """
        from warmer.observe.build import require_reachable

        results = preflight(self.observers)
        try:
            require_reachable(results)
        except BaseException:
            self.observers.close()
            raise
        for result in results:
            if result.reachable is False:
                self._unreached[result.name] = f"unreachable at preflight: {result.error}"

    def start(self) -> None:
        """Begin sampling in the background."""
        self.sampler.start()

    def stop(self) -> None:
        """Stop sampling and close every observer; idempotent."""
        if self._sampler is not None:
            self._sampler.stop()
        self.observers.close()

    @contextmanager
    def sampling(self) -> Iterator[None]:
        """Sample in the background for the duration of the block, then stop and close."""
        self.start()
        try:
            yield
        finally:
            self.stop()

    def boundary(self, name: str) -> None:
        """Snapshot every live source now, labelled ``name`` (``warm_start`` ...).

        A source that reads a Prometheus server (PromQL) is first given time to scrape
        past this instant, so the snapshot holds everything sent before it; one that could
        not within its bound is recorded as unsettled.
        """
        now = time.time()
        for source, observer in self.observers.live.items():
            wait = getattr(observer, "wait_for_scrape", None)
            if wait is not None and source not in self._unreached and not wait(now):
                self._unsettled.setdefault(name, []).append(source)
        self.sampler.snapshot_all(label=name)

    def figures(self, results: pa.Table) -> RunFigures:
        """Every phase's figures, the curves, the backend load and what was missing."""

        ordered = in_send_order(results)
        losses = self._losses(ordered)
        found = self._findings(ordered)
        phases = {}
        for name in self.phase_names():
            rows = phase_rows(ordered, name)
            mine = {tier: by_phase[name] for tier, by_phase in found.items() if name in by_phase}
            phases[name] = self.phase(name, rows, losses.get(name, {}), mine)
        # The verify phase is the one judged; warm's own figures only warn when unsettled.
        warnings = [*(phases["verify"].warnings if "verify" in phases else ())]
        if "warm" in phases and phases["warm"].backend.settled is False:
            warnings.append(phases["warm"].backend.consistency_message or "")
        return RunFigures(
            phases=phases,
            curves=self.curves(ordered) if ordered.num_rows else (),
            backend_load=tuple(self.backend_load()),
            missing=self.missing(),
            timelines=self.timelines(),
            warnings=tuple(dict.fromkeys(warnings)),
        )

    def phase_names(self) -> list[str]:
        """Phases bracketed by boundaries so far, in the order they started."""
        labels = (s.label for s in self.sampler.timeline if s.label)
        return [label.removesuffix("_start") for label in labels if label.endswith("_start")]

    def phase(
        self,
        name: str,
        results: pa.Table,
        losses: Mapping[str, Losses] | None = None,
        found: Mapping[str, TierFindings] | None = None,
    ) -> PhaseFigures:
        """Tier and backend figures of phase ``name`` from its rows of the results table.

        ``losses`` (tier → re-misses of ``Cache-Status`` tiers that report ``stored``) and
        ``found`` (source → what its responses show, ``inference.py``) default to those
        in ``results`` alone; :meth:`figures` passes the whole run's, so keys filled while
        warming count when verify misses them.
        """
        if losses is None:
            losses = self._losses(results).get(name, {})
        if found is None:
            found = {t: by_phase[name] for t, by_phase in self._findings(results).items()
                     if name in by_phase}  # fmt: skip
        answered = _answered(results)
        tiers = tuple(
            self._tier(tier, name, results, answered, losses.get(tier), found)
            for tier in self.observers.tiers
        )
        effective = effective_hit_rate(tiers)
        implied = implied_offload(effective, tiers, answered)
        backend, check = self._backend(name, results, answered, implied)
        squeeze = compression(results)
        warnings = [
            *recorded_pace_warnings(name, tiers, results, squeeze),
            *same_cache_warnings(name, tiers),
            *cross_check_warnings(
                name, tiers, self.observers.cross_checks, self.config.observe.consistency_tolerance
            ),
        ]
        if check.message and self._unsettled_sources(name):
            warnings.append(check.message)
        return PhaseFigures(
            tiers, effective, backend, {}, check.gap, check, squeeze, tuple(warnings)
        )

    def delta(self, name: str, phase: str) -> SnapshotDelta:
        """What live source ``name`` counted between ``{phase}_start`` and ``{phase}_end``."""
        if name in self._unreached:
            return MISSING
        points = self.sampler.series(name, f"{phase}_start", f"{phase}_end")
        delta = timeline_delta(snapshot for _, snapshot in points)
        if delta.missing and delta.end is None:
            self._notes.setdefault(name, f"the {name} source gave no data during {phase}")
        return delta

    def curves(self, results: pa.Table) -> tuple[TierCurve, ...]:
        """Warmup curve per tier over the whole run, plus ``effective`` when it can be drawn.

        Header tiers get a rolling curve per request; live tiers one point per sampling
        interval. ``effective`` needs every tier's outcome per response: it is drawn when
        every tier is a header tier, or when ``Cache-Status`` also names every live tier.
        """
        rules = self._rules()
        curves = list(header_curves(results, rules))
        if len(rules) != len(self.observers.tiers):
            curves = [c for c in curves if c.tier != "effective"]
            curves.extend(self._effective_from_cache_status(results))
        sent = _sorted_sent(results)
        for name in self.observers.tiers:
            if name in self.observers.live and name not in self._unreached:
                curves.append(live_curve(name, self.sampler.series(name), sent))
        return tuple(curves)

    def backend_load(self) -> list[LoadPoint]:
        """Backend requests per second over the run (empty without a live backend source)."""
        return self._load()

    def missing(self) -> dict[str, str]:
        """Source → why it gave no data (unreachable, never answered, unused tier)."""
        missing = dict(self._unreached)
        for name in self.observers.live:
            points = [s for _, s in self.sampler.series(name)]
            if name not in missing and points and all(s is None for s in points):
                missing[name] = "no sample answered"
        for name, note in self._notes.items():
            missing.setdefault(name, note)
        return missing

    def reading(self, name: str) -> TierSnapshot | None:
        """The latest answered snapshot of live source ``name`` (None: none, or not live)."""
        if name not in self.observers.live or self._sampler is None:
            return None
        return next((s for _, s in reversed(self.sampler.series(name)) if s is not None), None)

    def timelines(self) -> list[dict[str, object]]:
        """Every sample taken, JSON-ready."""
        return [sample.to_json() for sample in self.sampler.timeline]

    def lost(self) -> dict[str, str]:
        """Required live sources that stopped answering mid-run → what happened, in a sentence.

        A source is lost once no read of it answered for ``observe.lost_after_s``. Sources
        already unreachable at preflight are not lost (they were never required or the run
        did not start).
        """
        if self._sampler is None:
            return {}
        after, now = self.config.observe.lost_after_s, self.sampler.now()
        lost = {}
        for name, observer in self.observers.live.items():
            since = self.sampler.silent_since(name)
            source = self.observers.sources[name]
            if since is None or not source.required or name in self._unreached:
                continue
            if now - since >= after:
                label = name.upper() if len(name) <= 3 else name
                lost[name] = (
                    f"{label} ({source.source} at {observer.address}) stopped answering "
                    f"{since:.1f}s into the run and had not come back {now - since:.1f}s later"
                )
        return lost

    def _rules(self) -> list[HeaderRule]:
        headers = self.observers.headers
        return [headers[t] for t in self.observers.tiers if t in headers]

    def _losses(self, results: pa.Table) -> dict[str, dict[str, Losses]]:
        """Phase → ``Cache-Status`` tier → what it lost, for tiers that report ``stored``
        (what the cache says wins over what freshness headers imply)."""
        caches = {
            rule.tier: rule.cache or rule.tier
            for rule in self._rules()
            if rule.reading == "cache-status"
        }
        if not caches or not set(results.column_names) >= LOSS_COLUMNS:
            return {}
        memory: dict[str, TierMemory] = {}
        losses = header_losses(results, caches, memory)
        told = {tier for tier, seen in memory.items() if seen.stored_at}
        return {phase: {t: v for t, v in by_tier.items() if t in told}
                for phase, by_tier in losses.items()}  # fmt: skip

    def _findings(self, results: pa.Table) -> dict[str, dict[str, TierFindings]]:
        """Header source (tiers and cross-checks) → phase → what its responses show."""
        rules = {n: r for n, r in self.observers.headers.items() if n != BACKEND}
        return analyse_all(results, rules) if results.num_rows else {}

    def _tier(
        self,
        tier: str,
        phase: str,
        results: pa.Table,
        answered: int,
        lost: Losses | None,
        found: Mapping[str, TierFindings],
    ) -> TierMetrics:
        metrics = self._one_source(tier, phase, results, answered, lost, found.get(tier))
        check = self.observers.cross_checks.get(tier)
        if check is None:
            return metrics
        other = self._one_source(check, phase, results, answered, None, found.get(check))
        return replace(metrics, cross_check_hit_rate=other.hit_rate)

    def _one_source(
        self,
        tier: str,
        phase: str,
        results: pa.Table,
        answered: int,
        lost: Losses | None,
        found: TierFindings | None,
    ) -> TierMetrics:
        rule = self.observers.headers.get(tier)
        if rule is not None:
            return self._header_tier(rule, results, answered, lost, found)
        source = self.observers.sources[tier]
        delta = self.delta(tier, phase)
        metrics = tier_metrics(
            tier,
            source.source,
            delta,
            shared=source.shared,
            client_requests=answered,
            malformed=delta.end.malformed if delta.end else 0,
        )
        if metrics.lookups == 0:
            self._notes.setdefault(tier, _unused(tier))
        return metrics

    def _header_tier(
        self,
        rule: HeaderRule,
        results: pa.Table,
        answered: int,
        lost: Losses | None,
        found: TierFindings | None,
    ) -> TierMetrics:
        source = self.observers.sources[rule.tier]
        counts = header_counts(results, rule)
        if lost is None and found is not None:
            lost = Losses(found.evictions, found.expirations)
        delta = SnapshotDelta(
            hits=counts.hits,
            misses=counts.misses,
            evictions=None if lost is None else lost.evictions,
            expirations=None if lost is None else lost.expirations,
        )
        metrics = tier_metrics(
            rule.tier,
            source.source,
            delta,
            shared=source.shared,
            client_requests=answered,
            malformed=counts.unknown + counts.malformed_members,
        )
        if counts.lookups == 0:
            note = f"no response carried a lookup of {_what(rule)}"
            self._notes.setdefault(rule.tier, note)
            return replace(metrics, missing_data=True, note=note)
        if found is not None:
            metrics = _with_findings(metrics, found)
        if lost is not None:
            inferred = "evictions and expirations inferred from re-misses and freshness"
            return replace(metrics, note="; ".join(filter(None, [metrics.note, inferred])))
        return metrics

    def _backend(
        self, phase: str, results: pa.Table, answered: int, implied: float | None
    ) -> tuple[BackendMetrics, Consistency]:
        source = self.observers.sources.get(BACKEND)
        delta: SnapshotDelta | None = None
        peak = None
        if source is not None and BACKEND in self.observers.headers:
            counts = header_counts(results, self.observers.headers[BACKEND])
            delta = SnapshotDelta(requests=counts.misses)
        elif source is not None:
            delta = self.delta(BACKEND, phase)
            rates = [p.rps for p in self._load(f"{phase}_start", f"{phase}_end")]
            peak = max(rates) if rates else None
        metrics, check = backend_metrics(
            source.source if source else None,
            delta,
            answered,
            implied_offload=implied,
            tolerance=self.config.observe.consistency_tolerance,
            rps_peak=peak,
        )
        late = self._unsettled_sources(phase)
        if not late:
            return metrics, check
        message = (
            f"Prometheus had not scraped {', '.join(late)} past the {phase} boundaries within "
            "two scrape intervals: its figures for the phase may be short, so they are not "
            "called consistent"
        )
        check = replace(check, consistent=False, message=message)
        unsettled = replace(metrics, consistent=False, consistency_message=message, settled=False)
        return unsettled, check

    def _unsettled_sources(self, phase: str) -> list[str]:
        found = [
            *self._unsettled.get(f"{phase}_start", []),
            *self._unsettled.get(f"{phase}_end", []),
        ]
        return list(dict.fromkeys(found))

    def _load(self, start: str | None = None, end: str | None = None) -> list[LoadPoint]:
        if BACKEND not in self.observers.live or BACKEND in self._unreached:
            return []
        return backend_load(self.sampler.series(BACKEND, start, end))

    def _effective_from_cache_status(self, results: pa.Table) -> list[TierCurve]:
        """The ``effective`` curve when ``Cache-Status`` also names every live tier.

        Many services list every cache they consulted in the header (the reference
        candidate does); then a per-request effective curve exists although the live
        tiers' own figures come from their servers.
        """
        rules = [
            self.observers.headers.get(name) or HeaderRule(name, "cache-status", cache=name)
            for name in self.observers.tiers
        ]
        if any(header_counts(results, rule).lookups == 0 for rule in rules):
            return []
        return [c for c in header_curves(results, rules) if c.tier == "effective"]


def _with_findings(metrics: TierMetrics, found: TierFindings) -> TierMetrics:
    restarted = None
    if found.restart_at_s is not None:
        restarted = (
            f"{found.restart_misses} lookups of keys that should still have been fresh "
            f"missed at {found.restart_at_s:.1f} s"
        )
    return replace(
        metrics,
        stale_rate=found.stale_rate,
        recorded_pace_hit_rate=found.recorded_pace_hit_rate,
        keys_held=found.keys_held,
        restarted=restarted,
    )


def _what(rule: HeaderRule) -> str:
    if rule.header == "cache-status":
        return f"this tier (no Cache-Status member {rule.cache!r}): is the tier in use?"
    return f"this tier in the {rule.header} header"


def _unused(tier: str) -> str:
    label = tier.upper() if len(tier) <= 3 else tier
    return (
        f"{label} saw no lookups (its hit and miss counters did not move): "
        "the candidate does not seem to use this tier"
    )


def implied_offload(
    effective: float | None, tiers: Sequence[TierMetrics], requests: int
) -> float | None:
    """Share of all requests the tiers answered: bypassed requests always reach the backend."""
    if effective is None or not tiers or not requests or tiers[0].lookups is None:
        return effective
    return effective * min(tiers[0].lookups, requests) / requests


def backend_load(series: Sequence[tuple[float, TierSnapshot | None]]) -> list[LoadPoint]:
    """Requests per second between readings of the backend counter (gaps and resets skipped).

    Readings less than ``MIN_RATE_INTERVAL_S`` after the last one used are passed over,
    so the rate spans at least that long.
    """
    points: list[LoadPoint] = []
    previous: tuple[float, float] | None = None
    for t, snap in series:
        if snap is None or snap.requests is None:
            previous = None
            continue
        if previous is not None and t - previous[0] < MIN_RATE_INTERVAL_S:
            continue
        if previous is not None and snap.requests >= previous[1]:
            points.append(LoadPoint(t, (snap.requests - previous[1]) / (t - previous[0])))
        previous = (t, snap.requests)
    return points


def live_curve(
    name: str, series: Sequence[tuple[float, TierSnapshot | None]], sent: Any
) -> TierCurve:
    """Hit rate of a live tier per sampling interval, placed at the requests sent by then."""
    import numpy as np

    points: list[CurvePoint] = []
    for (_, before), (t, after) in itertools.pairwise(series):
        counted = _interval_counts(before, after)
        if counted is not None and counted[0] + counted[1] > 0:
            hits, misses = counted
            requests = int(np.searchsorted(sent, t, side="right"))
            points.append(CurvePoint(requests, t, hits / (hits + misses)))
    return TierCurve(name, tuple(points))


def _interval_counts(
    before: TierSnapshot | None, after: TierSnapshot | None
) -> tuple[float, float] | None:
    """(hits, misses) between two readings; None across a gap or a counter reset."""
    if before is None or after is None:
        return None
    if None in (before.hits, before.misses, after.hits, after.misses):
        return None
    hits = (after.hits or 0.0) - (before.hits or 0.0)
    misses = (after.misses or 0.0) - (before.misses or 0.0)
    return (hits, misses) if hits >= 0 and misses >= 0 else None


def _sorted_sent(results: pa.Table) -> Any:
    import numpy as np

    sent = results.column("sent_s").to_numpy(zero_copy_only=False)
    return np.sort(np.asarray(sent, dtype=float))


def _answered(results: pa.Table) -> int:
    import pyarrow.compute as pc

    if "status" not in results.column_names:
        return int(results.num_rows)
    return int(pc.sum(pc.is_valid(results.column("status"))).as_py() or 0)
