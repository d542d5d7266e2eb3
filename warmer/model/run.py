"""The run report: everything a gate run decided and measured, enough to re-render every report.

``RunReport`` is written by the gate as ``report.json`` in the run directory and read back by
``warmer report`` and ``warmer gate --rejudge``; the report writers render it and nothing
else. The schema is versioned (``REPORT_SCHEMA_VERSION``) and documented field by field in
``docs/report-schema.md``: additive changes (a new optional field) keep version 1, readers
ignore keys they do not know, and a reader refuses a newer version.

Conventions: rates and ratios are fractions in [0, 1]; times are seconds (``*_s``) or
milliseconds (``*_ms``) relative to the start of the run unless they are ISO 8601 strings
(``*_at``); ``None`` means "no data", never zero. Timelines are downsampled (see
``downsample``) to at most ``MAX_SERIES_POINTS`` points per series so a 1M-request run
renders fast.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

# One masking rule for every URL warmer prints or writes; re-exported for the stages.
from warmer.credentials import MASK as MASK
from warmer.credentials import mask_url as mask_url

REPORT_SCHEMA_VERSION = 1
"""Version of the ``report.json`` layout; bumped only for incompatible changes."""

MAX_SERIES_POINTS = 500
"""Upper bound on points per timeline series kept in a report."""

Verdict = Literal["pass", "fail", "error", "interrupted"]
"""pass: every check passed · fail: a check failed or had no data · error: the run could not
complete (exit 3 or 2) · interrupted: SIGINT/SIGTERM, the report is partial (exit 130)."""

Outcome = Literal["pass", "fail", "no_data", "error", "not_evaluated"]
"""Outcome of one check; ``no_data`` is its own outcome and fails unless the check allows it;
``not_evaluated``: the run stopped (error or interrupt) before the check's phase sent anything."""

StepStatus = Literal["ok", "error", "interrupted", "not_run"]
"""How one step of a run ended: ``not_run`` when an earlier error or an interrupt stopped
the run before it."""

PHASES = ("warm", "verify")


# --------------------------------------------------------------------------- latency


@dataclass(frozen=True)
class LatencyHistogram:
    """A compact latency distribution: ``counts[i]`` requests took ``edges_ms[i]`` ≤ t <
    ``edges_ms[i + 1]``; ``len(edges_ms) == len(counts) + 1`` (both empty: no data)."""

    edges_ms: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.counts and len(self.edges_ms) != len(self.counts) + 1:
            raise ValueError("LatencyHistogram needs len(edges_ms) == len(counts) + 1")


@dataclass(frozen=True)
class LatencySummary:
    """Latency of the requests of one phase that got a response (errors excluded)."""

    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)


# --------------------------------------------------------------------------- tiers, backend


@dataclass(frozen=True)
class TierMetrics:
    """One cache tier during one phase, as its observer saw it."""

    name: str
    """Tier name from ``[tiers.NAME]`` (e.g. ``l0``)."""
    source: str
    """Observer that produced the numbers (``cache-status``, ``redis``, ``prometheus`` ...)."""
    hits: int | None = None
    misses: int | None = None
    lookups: int | None = None
    """Lookups that reached this tier (hits + misses): the denominator of ``hit_rate``."""
    hit_rate: float | None = None
    """Conditional hit rate: hits / lookups that reached this tier."""
    evictions: int | None = None
    keys: int | None = None
    memory_bytes: int | None = None
    shared: bool = False
    """The tier also serves other traffic, so its counts include more than this run."""
    missing_data: bool = False
    """The observer gave no usable numbers for this phase."""
    note: str | None = None
    """Why data is missing or what is odd about it, in one sentence."""
    expirations: int | None = None
    """Keys expired (live sources), or re-misses after the object's freshness ran out
    (header tiers, inferred from the responses)."""
    stale_rate: float | None = None
    """Header tiers: share of lookups served stale or revalidated (grace, SWR)."""
    recorded_pace_hit_rate: float | None = None
    """Header tiers: the hit rate this traffic would get at its recorded pace."""
    keys_held: int | None = None
    """Header tiers: estimated keys the tier held (where evictions begin)."""
    restarted: str | None = None
    """How a restart of the tier during the phase showed, when one did."""
    cross_check_hit_rate: float | None = None
    """The hit rate the tier's ``cross_check`` source counted for the same phase."""


@dataclass(frozen=True)
class BackendMetrics:
    """Load that reached the backend (origin) during one phase."""

    source: str | None = None
    requests: int | None = None
    rps_mean: float | None = None
    rps_peak: float | None = None
    offload: float | None = None
    """Share of requests that never reached the backend: 1 - backend requests / requests."""
    consistent: bool | None = None
    """Whether the backend counter agrees with the tier counts (None: not checked)."""
    consistency_message: str | None = None
    missing_data: bool = False
    settled: bool | None = None
    """False when a Prometheus source had not scraped past the phase's boundaries in time
    (its figures may be short); None when no source needed to."""


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class PhaseReport:
    """One phase of the run (``warm`` or ``verify``): traffic sent and what the caches did."""

    name: str
    """``warm`` or ``verify``."""
    requests: int = 0
    """Requests sent in this phase."""
    started_s: float = 0.0
    """Start of the phase, seconds after the start of the run."""
    duration_s: float = 0.0
    achieved_rps: float | None = None
    status_classes: dict[str, int] = field(default_factory=dict)
    """Responses by status class: ``{"2xx": 9800, "3xx": 0, "4xx": 12, "5xx": 3}``."""
    errors: dict[str, int] = field(default_factory=dict)
    """Requests without a response, by kind (``refused``, ``timeout`` ... see ERROR_KINDS)."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Sample records not sent, by reason (``method``, ``invalid`` ...)."""
    skip_rate: float | None = None
    """Share of the phase's records that were skipped rather than sent."""
    error_rate: float | None = None
    """Share of requests that got no response or a 5xx."""
    latency: LatencySummary = field(default_factory=LatencySummary)
    """From the scheduled send under open-model pacing (coordinated-omission safe), else
    from the actual send (see ``latency_from``)."""
    latency_from: Literal["schedule", "send"] = "send"
    service_time: LatencySummary = field(default_factory=LatencySummary)
    """From the actual send to the last byte of the response (no queueing before it)."""
    compression: float | None = None
    """Recorded span of the phase's requests ÷ the time the replay took to send them."""
    tiers: tuple[TierMetrics, ...] = ()
    """Tiers in lookup order (L0 first)."""
    effective_hit_rate: float | None = None
    """Share of requests answered by some tier without reaching the backend."""
    backend: BackendMetrics = field(default_factory=BackendMetrics)

    def tier(self, name: str) -> TierMetrics | None:
        """The metrics of tier ``name``, or None."""
        return next((t for t in self.tiers if t.name == name), None)


# --------------------------------------------------------------------------- timelines


class CurvePoint(NamedTuple):
    """A point of a warmup curve: rolling hit rate after ``requests`` sent, ``seconds`` in."""

    requests: int
    seconds: float
    hit_rate: float | None


class LoadPoint(NamedTuple):
    """Backend load at ``seconds`` after the start of the run."""

    seconds: float
    rps: float


class MrcPoint(NamedTuple):
    """A point of a miss-ratio curve: the miss ratio of an LRU cache holding ``cache_keys``."""

    cache_keys: int
    miss_ratio: float


class MrcBytesPoint(NamedTuple):
    """A point of a miss-ratio curve by size: the miss ratio of an LRU cache of ``cache_bytes``."""

    cache_bytes: float
    miss_ratio: float


class RatePoint(NamedTuple):
    """The request rate a controller chose at ``seconds`` after the start of the run."""

    seconds: float
    rate: float


@dataclass(frozen=True)
class TierCurve:
    """Warmup curve of one tier (or ``effective``) over the whole run, warm then verify."""

    tier: str
    points: tuple[CurvePoint, ...] = ()


@dataclass(frozen=True)
class PhaseMark:
    """Where a phase starts on the timeline axes (for the vertical marker in charts)."""

    phase: str
    requests: int
    seconds: float


@dataclass(frozen=True)
class Timelines:
    """Downsampled series for the charts (at most ``MAX_SERIES_POINTS`` points each)."""

    warmup: tuple[TierCurve, ...] = ()
    backend_load: tuple[LoadPoint, ...] = ()
    phase_marks: tuple[PhaseMark, ...] = ()
    window_requests: int | None = None
    """Size of the rolling window behind the warmup hit rates, in requests."""
    convergence: tuple[TierConvergence, ...] = ()
    """Per tier: the warm phase's plateau and when the curve settled on it."""


@dataclass(frozen=True)
class Ceilings:
    """Best hit rates the sample allows, whatever the cache does."""

    infinite_cache: float | None = None
    """Hit rate of an infinite cache over the whole sample (1 - unique keys / requests)."""
    warmable: float | None = None
    """Verify-part hit rate of an infinite cache warmed with the warm part."""
    unique_keys: int | None = None
    miss_ratio_curve: tuple[MrcPoint, ...] = ()
    """LRU miss ratio by cache size in keys (empty when not computed)."""
    miss_ratio_curve_bytes: tuple[MrcBytesPoint, ...] = ()
    """LRU miss ratio by cache size in bytes (empty without recorded response sizes)."""
    mrc_method: str | None = None
    """How the curves were computed: ``exact`` or ``shards`` (None: not computed)."""
    mrc_sampling_rate: float | None = None
    """Share of the key space SHARDS tracked (1 for exact curves)."""


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class TierForecast:
    """One tier as the gate modelled it: its size, its TTL and the hit rate they predict."""

    tier: str
    capacity_keys: float | None = None
    """Objects the tier holds (configured, or its byte limit over the memory per key)."""
    capacity_bytes: float | None = None
    capacity_source: str | None = None
    """Where the size comes from, in words (``configured``, ``Redis maxmemory`` ...)."""
    ttl_s: float | None = None
    """The tier's TTL as configured (None: no expiry modelled)."""
    hit_rate: float | None = None
    """Predicted verify hit rate at the recorded pace, after the warm part (simulated)."""
    unexpiring_hit_rate: float | None = None
    """The same with no entry ever expiring: what the TTL costs."""
    needed_keys: float | None = None
    """Objects the miss-ratio curve says this tier needs for its check's threshold."""
    target: float | None = None
    """The threshold of the tier's ``hit_rate.<tier> >=`` check (None: no such check)."""


@dataclass(frozen=True)
class Predictions:
    """What tier simulation predicts, to set beside what the run measured."""

    tiers: tuple[TierForecast, ...] = ()
    effective_hit_rate: float | None = None
    sampling_rate: float = 1.0
    """Share of the keys simulated (below 1: a miniature simulation of a large sample)."""
    basis: str = ""
    """What was simulated, in words."""

    def tier(self, name: str) -> TierForecast | None:
        """The forecast of tier ``name``, or None."""
        return next((t for t in self.tiers if t.tier == name), None)


# --------------------------------------------------------------------------- stale reads


@dataclass(frozen=True)
class StaleKey:
    """One key the cache answered differently from the origin (texts scrubbed)."""

    key: str
    through: str
    """What came through the cache: ``ETag``, ``Last-Modified`` and body digest."""
    around: str
    """What came around it (the origin or the bypass request)."""
    differs: tuple[str, ...] = ()
    """Which of ``etag``, ``last-modified``, ``body`` differed."""


@dataclass(frozen=True)
class StaleReads:
    """The stale-read probe after verify: cache hits re-fetched through and around the cache."""

    around: str
    """How the cache was bypassed: ``origin <url>`` (masked) or ``header <names>``."""
    hit_keys: int = 0
    """Distinct keys that were cache hits during verify."""
    checked: int = 0
    """Keys fetched both ways with a usable answer each."""
    stale: int = 0
    failed: int = 0
    """Keys left out: a fetch failed or answered other than 200."""
    rate: float | None = None
    """stale / checked; None (no data) with ``reason`` when too few keys were checked."""
    reason: str | None = None
    examples: tuple[StaleKey, ...] = ()


@dataclass(frozen=True)
class InvalidationProbe:
    """The write-then-read probe: how long a change took to show through the candidate."""

    write: str
    """What was written, in words (``POST http://…/x`` or ``redis SET …``), masked."""
    read: str
    """The target read back through the candidate."""
    within_s: float
    written: bool = False
    """The first read and the write went through (False: the probe could not run)."""
    visible_after_s: float | None = None
    """Seconds from the write until a read showed the change; None when none did."""
    ok: bool = False
    reason: str | None = None
    """Why the probe has no result (a write that failed), or what it saw."""


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class ComparisonRow:
    """One compared quantity: baseline, candidate, their difference and its interval."""

    metric: str
    """``hit_rate.l0``, ``hit_rate.effective``, ``error_rate``, ``latency.p99_ms`` ..."""
    baseline: float | None = None
    candidate: float | None = None
    delta: float | None = None
    """candidate − baseline (a ratio for latency percentiles: candidate / baseline)."""
    low: float | None = None
    high: float | None = None
    """Confidence interval of ``delta`` (None for latency percentiles)."""
    p_value: float | None = None
    counts: str = ""
    """The counts behind it (``4,210/5,000 vs 4,190/5,000``)."""
    verdict: str = ""
    """``worse``, ``better``, ``same`` or ``no data: <why>``."""


@dataclass(frozen=True)
class Comparison:
    """The candidate against the running release on the same verify traffic, interleaved."""

    baseline: str
    """The baseline's URL, credentials masked."""
    requests: int = 0
    """Requests sent to each side."""
    confidence: float = 0.95
    rows: tuple[ComparisonRow, ...] = ()
    mwu_p: float | None = None
    """Mann–Whitney U two-sided p of the latency distributions."""
    cliffs_delta: float | None = None
    """Cliff's delta of candidate against baseline latency (> 0: the candidate is slower)."""
    reason: str | None = None
    """Why the comparison is inconclusive (too little data), when it is."""


# --------------------------------------------------------------------------- warming


@dataclass(frozen=True)
class WarmControl:
    """How the warm phase was stopped and paced (its plan is in ``Plan``)."""

    stopped_early: str | None = None
    """Why warming ended before the plan did (a ``warm_until`` condition held), if it did."""
    protect: tuple[str, ...] = ()
    """The backend-protection limits (``[replay] protect``)."""
    rates: tuple[RatePoint, ...] = ()
    """The request rate the protection controller chose over time (downsampled)."""
    decisions: int = 0
    """How many times the controller decided on the rate."""
    decreases: int = 0
    """How often the controller cut the rate."""
    peak_backend_rps: float | None = None
    """Highest backend rate the controller read during warm."""


@dataclass(frozen=True)
class TierConvergence:
    """Whether a tier's windowed hit rate settled on a plateau during the warm phase."""

    tier: str
    converged: bool
    plateau: float | None
    """Median windowed hit rate over the last ``hold`` requests of the warm phase."""
    epsilon: float
    """How close to the plateau the curve must stay."""
    hold_requests: int
    """How many requests it must stay there."""
    seconds_to_warm: float | None = None
    """Seconds from the start of warm until the curve stayed within epsilon of the plateau."""
    requests_to_warm: int | None = None


# --------------------------------------------------------------------------- inputs, plan


@dataclass(frozen=True)
class SampleSummary:
    """The sample the run used (traffic-derived: renderers escape every string)."""

    path: str
    requests: int = 0
    unique_keys: int | None = None
    span_s: float | None = None
    """Recorded time covered by the sample."""
    sample_rate: float = 1.0
    created: str = ""
    formats: tuple[str, ...] = ()
    """Formats of the logs it was imported from (``combined``, ``har`` ...)."""


@dataclass(frozen=True)
class Plan:
    """What the run intended to send (also what ``warmer gate --dry-run`` prints)."""

    warm_requests: int = 0
    verify_requests: int = 0
    split: str = ""
    """How the sample was split, in words, e.g. ``first 80 % by time``."""
    warm_fraction: float | None = None
    warm_duration_s: float | None = None
    pacing: str = "max"
    speed: float | None = None
    rate: float | None = None
    concurrency: int | None = None
    order: str = "recorded"
    engine: str = ""
    settle_s: float = 0.0
    expected_duration_s: float | None = None
    """Expected wall time of both phases at the chosen pacing (None under ``max``)."""
    warm_plan: str = ""
    """The warm phase's plan in words (hot-first: keys once, the hot pass, the prediction)."""
    warm_keys: int | None = None
    """hot-first: distinct keys the warm phase sends once."""
    hot_pass: int | None = None
    """hot-first: hottest keys sent again at the end, so small LRU tiers hold them."""
    warm_target: float | None = None
    """hot-first: the predicted hit rate the plan stops adding keys at."""
    warm_predicted: float | None = None
    """hot-first: the hit rate the plan predicts."""
    warm_until: tuple[str, ...] = ()
    """Conditions that end warming as soon as the live windowed hit rate holds them."""
    protect: tuple[str, ...] = ()
    """Backend-protection limits the warm phase's pace obeys."""


# --------------------------------------------------------------------------- tiers, drift


@dataclass(frozen=True)
class TierConfiguration:
    """How one Redis or Memcached tier was configured when the run began (``tiers`` step)."""

    tier: str
    engine: str
    """``redis`` or ``memcached``."""
    address: str
    """Where it was read, password masked."""
    values: dict[str, float | str | bool | None] = field(default_factory=dict)
    """Metric name without the tier (``config.maxmemory_policy``, ``ttl.p50_s``,
    ``memory_per_key_bytes`` ...) → value; None is no data."""
    no_data: dict[str, str] = field(default_factory=dict)
    """Setting (``maxmemory_samples``, ``ttl``, ``memory_per_key``) → why it has no value."""
    sampled_keys: int = 0
    """Keys in the bounded sample the TTLs and memory per key come from."""


DriftStatus = Literal["ok", "drift", "no_data", "info"]
"""``drift``: beyond the ``[drift]`` tolerance; ``info``: shown, never judged."""


@dataclass(frozen=True)
class DriftRow:
    """One aspect of one tier, baseline beside candidate, as shown to people."""

    tier: str
    aspect: str
    """``config.maxmemory_policy``, ``ttl.distribution``, ``prefix user`` ..."""
    baseline: str
    candidate: str
    status: DriftStatus
    detail: str = ""
    """The test and tolerance behind the status, or why there is no data."""


@dataclass(frozen=True)
class DriftReport:
    """Baseline against candidate, tier by tier (``warmer drift``, ``[gate] drift``)."""

    rows: tuple[DriftRow, ...] = ()
    failures: int = 0
    """Rows whose status is ``drift``."""


# --------------------------------------------------------------------------- checks, run


@dataclass(frozen=True)
class CheckResult:
    """One evaluated check.

    ``threshold`` and ``observed`` are in the metric's own unit (fractions for rates, ms for
    latencies, bytes for memory) so they compare directly; ``unit`` is the unit the user
    wrote (``%``, ``ms``, ``s``, ``MB`` or None), kept for display. A check on a ``text``
    or ``bool`` metric (``l2.config.maxmemory_policy == "allkeys-lru"``) holds a string or
    a boolean in both.
    """

    expression: str
    metric: str
    operator: str
    threshold: float | str | bool
    observed: float | str | bool | None
    outcome: Outcome
    unit: str | None = None
    diagnosis: str | None = None
    """One sentence saying why a check did not pass (None when it passed)."""
    diagnosis_id: str | None = None
    """Stable id of the diagnosis's kind (``warmer.gate.diagnose.CATALOG``: ``capacity``,
    ``ttl``, ``restart``, ``stale-hits`` ...), for tooling and the troubleshooting page."""
    allow_no_data: bool = False
    """The check passes when its metric has no data."""


@dataclass(frozen=True)
class StepReport:
    """One step of the run (preflight, warm, settle, verify ...) and how it ended."""

    name: str
    status: StepStatus
    started_s: float | None = None
    """Seconds after the start of the run (None: the step never started)."""
    duration_s: float | None = None
    summary: str = ""
    """What the step did, in one line (``9,901 requests sent in 3.2s``)."""
    error: str | None = None
    """What stopped the step (status ``error``) or why it did not run."""


@dataclass(frozen=True, kw_only=True)
class RunReport:
    """A whole gate run: the root of ``report.json``."""

    schema_version: int = REPORT_SCHEMA_VERSION
    run_id: str
    verdict: Verdict
    exit_code: int
    partial: bool = False
    """The run stopped early (interrupt or error); numbers cover what was sent."""
    started_at: str = ""
    finished_at: str = ""
    warmer_version: str = ""
    target: str = ""
    """Candidate base URL, credentials masked (see ``mask_url``)."""
    error: str | None = None
    """What stopped the run when the verdict is ``error`` or ``interrupted``."""
    warnings: tuple[str, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    steps: tuple[StepReport, ...] = ()
    """The run's steps in order, each with how it ended (empty in reports before steps)."""
    sample: SampleSummary | None = None
    plan: Plan = field(default_factory=Plan)
    phases: tuple[PhaseReport, ...] = ()
    ceilings: Ceilings = field(default_factory=Ceilings)
    timelines: Timelines = field(default_factory=Timelines)
    predictions: Predictions | None = None
    """Tier simulation beside what was measured (None: nothing to simulate)."""
    warming: WarmControl | None = None
    tier_config: tuple[TierConfiguration, ...] = ()
    """Each Redis/Memcached tier's configuration and key sample (``tiers`` step)."""
    drift: DriftReport | None = None
    """Baseline against candidate per tier (``drift`` step, ``[gate] drift = true``)."""
    """How the warm phase was planned, stopped and paced (None: a plain replay)."""
    stale_reads: StaleReads | None = None
    """The stale-read probe (None: ``[stale_reads]`` not configured)."""
    invalidation: InvalidationProbe | None = None
    """The invalidation probe (None: ``[invalidation]`` not configured)."""
    comparison: Comparison | None = None
    """The candidate against ``--baseline`` (None: no baseline given)."""
    config: dict[str, Any] = field(default_factory=dict)
    """Effective configuration, secrets masked (see ``mask_secrets``)."""

    def phase(self, name: str) -> PhaseReport | None:
        """The phase called ``name`` (``warm`` or ``verify``), or None."""
        return next((p for p in self.phases if p.name == name), None)

    @property
    def verify(self) -> PhaseReport | None:
        """The verify phase, the one checks read by default."""
        return self.phase("verify")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in field order; non-finite floats become None."""
        result = _to_jsonable(self)
        assert isinstance(result, dict)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunReport:
        """Rebuild from ``to_dict`` output; raises ``ValueError`` naming the bad field.

        Unknown keys are ignored (additive v1 changes); a newer ``schema_version`` is refused.
        """
        version = data.get("schema_version") if isinstance(data, Mapping) else None
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("schema_version: missing or not an integer")
        if version > REPORT_SCHEMA_VERSION:
            raise ValueError(
                f"schema_version: {version} is newer than this warmer understands "
                f"({REPORT_SCHEMA_VERSION})"
            )
        report = _from_jsonable(cls, data, "")
        assert isinstance(report, RunReport)
        return report


# --------------------------------------------------------------------------- (de)serialising


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _from_jsonable(tp: Any, value: Any, path: str) -> Any:
    """Convert JSON data to type ``tp`` strictly; ``path`` names the field in errors."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _from_union(tp, value, path)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ValueError(f"{path}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin is tuple:
        return tuple(
            _from_jsonable(typing.get_args(tp)[0], v, f"{path}[{i}]")
            for i, v in enumerate(_expect(list, value, path))
        )
    if origin is dict:
        item_tp = typing.get_args(tp)[1]
        return {
            str(k): _from_jsonable(item_tp, v, f"{path}.{k}")
            for k, v in _expect(dict, value, path).items()
        }
    if dataclasses.is_dataclass(tp):
        return _from_dataclass(tp, value, path)
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return _from_namedtuple(tp, value, path)
    return _from_scalar(tp, value, path)


def _from_union(tp: Any, value: Any, path: str) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if value is None:
        return None
    if type(value) in (str, bool) and type(value) in args:
        return value  # a value typed float | str | bool keeps its JSON kind
    return _from_jsonable(args[0], value, path)


def _from_dataclass(cls: Any, value: Any, path: str) -> Any:
    data = _expect(dict, value, path)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        sub = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            kwargs[f.name] = _from_jsonable(hints[f.name], data[f.name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{sub}: missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path or 'report'}: {exc}") from exc


def _from_namedtuple(cls: Any, value: Any, path: str) -> Any:
    items = _expect(list, value, path)
    hints = _hints(cls)
    if len(items) != len(cls._fields):
        raise ValueError(f"{path}: expected {len(cls._fields)} values, got {len(items)}")
    return cls(
        *(
            _from_jsonable(hints[n], v, f"{path}.{n}")
            for n, v in zip(cls._fields, items, strict=True)
        )
    )


def _from_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ValueError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r:.60}")


_T = TypeVar("_T")


def _expect(kind: type[_T], value: Any, path: str) -> _T:
    if not isinstance(value, kind):
        raise ValueError(f"{path or 'report'}: expected a JSON {kind.__name__}, got {value!r:.60}")
    return value


# --------------------------------------------------------------------------- masking

_SECRET_NAME = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|apikey|authorization|cookie|credential|signature",
    re.IGNORECASE,
)
"""Configuration keys whose values are secrets; narrower than the traffic rule of
``warmer/credentials.py``, since ``[sample] key`` is the cache-key table, not a secret."""


def mask_secrets(value: Any) -> Any:
    """Copy of a JSON-like config with secrets masked.

    Values under secret-looking keys (password, token, authorization, cookie, api key ...)
    become ``***``; every string holding a URL goes through ``mask_url``.
    """
    if isinstance(value, Mapping):
        return {
            k: MASK
            if _SECRET_NAME.search(str(k)) and value[k] not in (None, "")
            else mask_secrets(value[k])
            for k in value
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


# --------------------------------------------------------------------------- downsampling

_P = TypeVar("_P", bound=Sequence[Any])


def downsample(
    points: Sequence[_P],
    max_points: int = MAX_SERIES_POINTS,
    *,
    x: Callable[[_P], float] | int = 0,
    y: Callable[[_P], float | None] | int = -1,
) -> list[_P]:
    """At most ``max_points`` of ``points`` (sorted by x) that keep the shape of the series.

    Largest-Triangle-Three-Buckets: the first and last points are kept; the rest fall into
    ``max_points - 2`` buckets of equal count and each bucket keeps the point that makes the
    largest triangle with the point kept before and the mean of the next bucket, so peaks
    and knees survive where plain striding would skip them. ``x`` and ``y`` select the
    coordinates (an index into the point or a function); a ``None`` y counts as 0.
    Returns the original points (no copies), in order.
    """
    if max_points < 3:
        raise ValueError("downsample needs max_points >= 3")
    n = len(points)
    if n <= max_points:
        return list(points)
    xs, ys = _coordinates(points, x, y)
    return [points[i] for i in downsample_indices(xs, ys, max_points)]


def _coordinates(points: Sequence[Any], x: Any, y: Any) -> tuple[Any, Any]:
    import numpy as np

    def column(sel: Any) -> Any:
        get = operator.itemgetter(sel) if isinstance(sel, int) else sel
        values = np.array(list(map(get, points)), dtype=float)  # None becomes NaN
        return np.nan_to_num(values, copy=False, nan=0.0)

    return column(x), column(y)


def downsample_indices(xs: Any, ys: Any, max_points: int = MAX_SERIES_POINTS) -> list[int]:
    """Indices ``downsample`` would keep, for x and y already in arrays.

    ``xs``/``ys`` are numpy arrays or number sequences (an Arrow column:
    ``.to_numpy(zero_copy_only=False)``).

    The fast path for a gate holding 1M results in columns: no Python tuple per point.
    A NaN y counts as 0, like a None in ``downsample``.
    """
    import numpy as np

    xs = np.asarray(xs, dtype=float)
    ys = np.nan_to_num(np.asarray(ys, dtype=float), nan=0.0)
    n = len(xs)
    if max_points < 3:
        raise ValueError("downsample needs max_points >= 3")
    if n <= max_points:
        return list(range(n))
    edges = np.linspace(1, n - 1, max_points - 1).astype(int)  # bucket bounds over inner points
    chosen = [0]
    for b in range(max_points - 2):
        lo, hi = edges[b], max(edges[b + 1], edges[b] + 1)
        nlo, nhi = hi, (edges[b + 2] if b + 2 < len(edges) else n)
        cx, cy = (xs[nlo:nhi].mean(), ys[nlo:nhi].mean()) if nhi > nlo else (xs[-1], ys[-1])
        ax, ay = xs[chosen[-1]], ys[chosen[-1]]
        area = np.abs((ax - cx) * (ys[lo:hi] - ay) - (ax - xs[lo:hi]) * (cy - ay))
        chosen.append(int(lo + int(np.argmax(area))))
    chosen.append(n - 1)
    return chosen
