"""The one table of metrics a check may name: pattern, unit, meaning and where it comes from.

Names are dotted. ``<tier>`` stands for a tier configured under ``[tiers.NAME]`` (``l0``,
``l1`` ...). Every metric is measured on the verify phase unless prefixed with ``warm.``,
which reads the same metric over the warm phase (``warm.hit_rate.l0``).

=============================  =======  =====================================================
metric                         unit     meaning (source)
=============================  =======  =====================================================
hit_rate.<tier>                ratio    hits / lookups that reached the tier (tier observer)
hit_rate.<tier>.recorded_pace  ratio    the hit rate the same traffic would get at its recorded
                                        pace: objects expire between recorded repeats (header
                                        tiers: freshness headers and recorded times)
hit_rate.<tier>.cross_check    ratio    the hit rate the tier's cross_check source counted
hit_rate.effective             ratio    1 - product of the tiers' miss ratios: share of cacheable
                                        lookups some tier answered (observers)
backend.requests               count    requests that reached the backend (backend observer)
backend.rps_mean               rps      mean backend requests per second (backend timeline)
backend.rps_peak               rps      highest per-interval backend rate (backend timeline)
backend.offload                ratio    1 - backend requests / requests sent (backend, results)
latency.p50_ms                 ms       median latency, from the scheduled send under open-model
                                        pacing (coordinated-omission safe), else from the send
latency.p95_ms                 ms       95th percentile latency (as latency.p50_ms)
latency.p99_ms                 ms       99th percentile latency (as latency.p50_ms)
latency.max_ms                 ms       slowest response (as latency.p50_ms)
service_time.p50_ms            ms       median time from the actual send to the response's last
                                        byte (also p95_ms, p99_ms, max_ms; results)
errors.rate                    ratio    transport errors and 5xx / requests sent (results)
skipped.rate                   ratio    sample records the phase could not send as recorded
                                        (invalid target, refused header; not the methods the
                                        safety rules skip by design) / its records (replay);
                                        the gate adds ``skipped.rate <= gate.max_skip_rate``
<tier>.evictions               count    keys evicted during the phase (tier observer)
<tier>.expirations             count    keys expired during the phase (tier observer)
<tier>.stale_rate              ratio    lookups served stale or revalidated (header tiers)
<tier>.keys                    count    keys held at the end of the phase (tier observer)
<tier>.memory_bytes            bytes    memory used at the end of the phase (tier observer)
warm.requests_to_target        count    warm requests until the rolling hit rate of every checked
                                        tier with a warmup curve first reached the threshold
                                        of its ``hit_rate.<tier> >=`` check (curves;
                                        ``hit_rate.effective`` checks do not count)
warm.requests_to_target.<tier> count    the same for one tier (results)
warm.seconds_to_target         s        as warm.requests_to_target, in seconds (results)
warm.seconds_to_target.<tier>  s        the same for one tier (results)
ceiling.hit_rate               ratio    warmable ceiling of the verify part: share of its
                                        requests whose key was seen before (sample)
predicted.hit_rate.<tier>      ratio    the tier's verify hit rate at the recorded pace after
                                        the warm part, as tier simulation predicts it from its
                                        capacity and TTL (sample, tier settings)
predicted.hit_rate.effective   ratio    the same for the tiers together (sample)
warm.converged.<tier>          count    1 when the tier's windowed hit rate stayed within
                                        epsilon of its plateau for the last hold window of the
                                        warm phase, else 0 (curves)
warm.seconds_to_warm.<tier>    s        seconds from the start of warm until the windowed hit
                                        rate stayed within epsilon of its plateau (curves)
<tier>.config.<setting>        varies   the tier's configuration, read before any traffic
                                        (``tiers`` step; Redis ``CONFIG GET`` and ``INFO``,
                                        Memcached ``stats settings``): maxmemory (bytes),
                                        maxmemory_policy (text), maxmemory_samples,
                                        lfu_log_factor, lfu_decay_time, io_threads (counts),
                                        version, mode (text), cluster_enabled (bool),
                                        item_size_max (bytes), evictions (bool), threads
<tier>.ttl.p50_s               s        median remaining TTL of a bounded key sample (keys
                                        with a TTL; also p90_s)
<tier>.ttl.no_expiry_rate      ratio    share of sampled keys without a TTL
<tier>.memory_per_key_bytes    bytes    mean ``MEMORY USAGE`` of the sampled keys (else
                                        used_memory / keys; Memcached: bytes / curr_items)
drift.failures                 count    tier differences beyond the ``[drift]`` tolerances
                                        (``drift`` step, ``[gate] drift = true``)
drift.<tier>.failures          count    the same for one tier
stale_reads.rate               ratio    hit keys whose answer through the cache differs from
                                        the one around it / keys checked (stale_reads step)
stale_reads.checked            count    hit keys fetched both ways (stale_reads step)
stale_reads.stale              count    of those, stale (stale_reads step)
invalidation.visible_after_s   s        seconds from the probe's write until a read through
                                        the candidate showed it (invalidation step)
invalidation.ok                count    1 when the write showed within within_s, else 0
compare.hit_rate.<tier>.delta  delta    candidate − baseline hit rate on the same traffic
                                        (also .delta_low, .delta_high: its Newcombe interval;
                                        <tier> may be ``effective``; compare step)
compare.error_rate.delta       delta    candidate − baseline error rate (also .delta_low,
                                        .delta_high)
compare.latency.p99_ms.ratio   count    candidate / baseline p99 latency (also p50, p95)
compare.latency.mwu_p          ratio    Mann–Whitney U two-sided p of the latencies
compare.latency.cliffs_delta   delta    Cliff's delta of candidate against baseline latency
                                        (> 0: the candidate is slower)
compare.regressions            count    compared quantities where the candidate is
                                        significantly worse
compare.requests               count    answered requests on the weaker side
=============================  =======  =====================================================

Metrics of unit ``text`` compare with a quoted string (``== "allkeys-lru"``), metrics of
unit ``bool`` with ``true`` or ``false``; both only with ``==`` and ``!=``.

``[replay] protect`` limits use the same grammar over live metrics of the warm phase
(:data:`PROTECT_VOCABULARY`): ``backend.rps`` (the backend's request rate over the last
sampling interval), ``errors.rate`` and ``latency.p50_ms``/``p95_ms``/``p99_ms`` (the
target's responses over the last half second).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from warmer.errors import ConfigError

Unit = Literal["ratio", "delta", "ms", "s", "count", "rps", "bytes", "text", "bool"]
"""``delta`` is a difference of two ratios, in [-1, 1] (``-2%`` is two points)."""

MetricValue = float | str | bool | None
"""A metric's value: a number in its unit, a string (``text``), a boolean (``bool``);
None is no data."""

WARM_PREFIX = "warm."


@dataclass(frozen=True)
class MetricSpec:
    """One row of the vocabulary table."""

    pattern: str
    """Name with ``<tier>`` placeholders, e.g. ``hit_rate.<tier>``."""
    unit: Unit
    description: str
    source: str
    """The evidence it is computed from: ``results``, ``tier``, ``backend``, ``sample`` or
    ``drift``."""
    phased: bool = True
    """False for metrics that already name their phase (``warm.*_to_target``, ceilings)."""


_CONFIG_SETTINGS: tuple[tuple[str, Unit, str], ...] = (
    ("maxmemory", "bytes", "memory limit (Redis maxmemory, Memcached maxbytes)"),
    ("maxmemory_policy", "text", "what Redis drops when full (allkeys-lru ...)"),
    ("maxmemory_samples", "count", "keys Redis samples per eviction"),
    ("lfu_log_factor", "count", "Redis LFU counter logarithm factor"),
    ("lfu_decay_time", "count", "minutes after which Redis halves an LFU counter"),
    ("io_threads", "count", "Redis I/O threads"),
    ("version", "text", "server version (redis_version, memcached version)"),
    ("mode", "text", "Redis mode: standalone, cluster or sentinel"),
    ("cluster_enabled", "bool", "Redis Cluster mode is on"),
    ("item_size_max", "bytes", "largest item Memcached stores"),
    ("evictions", "bool", "Memcached evicts when full (false: -M, errors instead)"),
    ("threads", "count", "Memcached worker threads"),
)
"""The ``<tier>.config.*`` settings the ``tiers`` step reads (name, unit, meaning)."""

VOCABULARY: tuple[MetricSpec, ...] = (
    MetricSpec(
        "hit_rate.effective", "ratio", "1 - product of tier miss ratios (lookups answered)", "tier"
    ),
    MetricSpec(
        "hit_rate.<tier>.recorded_pace",
        "ratio",
        "hit rate of the same traffic at its recorded pace (TTL expiry between repeats)",
        "tier",
    ),
    MetricSpec(
        "hit_rate.<tier>.cross_check", "ratio", "hit rate its cross_check source counted", "tier"
    ),
    MetricSpec("hit_rate.<tier>", "ratio", "hits / lookups that reached the tier", "tier"),
    MetricSpec("backend.requests", "count", "requests that reached the backend", "backend"),
    MetricSpec("backend.rps_mean", "rps", "mean backend requests per second", "backend"),
    MetricSpec("backend.rps_peak", "rps", "highest per-interval backend rate", "backend"),
    MetricSpec("backend.offload", "ratio", "1 - backend requests / requests sent", "backend"),
    MetricSpec("latency.p50_ms", "ms", "median latency from the scheduled send", "results"),
    MetricSpec("latency.p95_ms", "ms", "95th percentile latency from the schedule", "results"),
    MetricSpec("latency.p99_ms", "ms", "99th percentile latency from the schedule", "results"),
    MetricSpec("latency.max_ms", "ms", "slowest response from the schedule", "results"),
    MetricSpec("service_time.p50_ms", "ms", "median send-to-response time", "results"),
    MetricSpec("service_time.p95_ms", "ms", "95th percentile send-to-response", "results"),
    MetricSpec("service_time.p99_ms", "ms", "99th percentile send-to-response", "results"),
    MetricSpec("service_time.max_ms", "ms", "slowest send-to-response", "results"),
    MetricSpec("errors.rate", "ratio", "transport errors and 5xx / requests sent", "results"),
    MetricSpec(
        "skipped.rate",
        "ratio",
        "records not sent (method, invalid) / records of the phase",
        "results",
    ),
    MetricSpec("<tier>.evictions", "count", "keys evicted during the phase", "tier"),
    MetricSpec("<tier>.expirations", "count", "keys expired during the phase", "tier"),
    MetricSpec("<tier>.stale_rate", "ratio", "lookups served stale or revalidated", "tier"),
    MetricSpec("<tier>.keys", "count", "keys held at the end of the phase", "tier"),
    MetricSpec("<tier>.memory_bytes", "bytes", "memory used at the end of the phase", "tier"),
    MetricSpec(
        "warm.requests_to_target",
        "count",
        "warm requests until every checked rolling tier hit rate reached its threshold",
        "results",
        phased=False,
    ),
    MetricSpec(
        "warm.requests_to_target.<tier>",
        "count",
        "warm requests until the tier's rolling hit rate reached its threshold",
        "results",
        phased=False,
    ),
    MetricSpec(
        "warm.seconds_to_target",
        "s",
        "warm seconds until every checked rolling tier hit rate reached its threshold",
        "results",
        phased=False,
    ),
    MetricSpec(
        "warm.seconds_to_target.<tier>",
        "s",
        "warm seconds until the tier's rolling hit rate reached its threshold",
        "results",
        phased=False,
    ),
    MetricSpec(
        "ceiling.hit_rate",
        "ratio",
        "warmable ceiling of the verify part (keys seen before)",
        "sample",
        phased=False,
    ),
    MetricSpec(
        "predicted.hit_rate.effective",
        "ratio",
        "predicted effective verify hit rate at the recorded pace (tier simulation)",
        "sample",
        phased=False,
    ),
    MetricSpec(
        "predicted.hit_rate.<tier>",
        "ratio",
        "predicted verify hit rate at the recorded pace from capacity and TTL (simulation)",
        "sample",
        phased=False,
    ),
    *(
        MetricSpec(f"<tier>.config.{name}", unit, description, "tier", phased=False)
        for name, unit, description in _CONFIG_SETTINGS
    ),
    MetricSpec("<tier>.ttl.p50_s", "s", "median TTL of a bounded key sample", "tier", phased=False),
    MetricSpec(
        "<tier>.ttl.p90_s", "s", "90th percentile TTL of the key sample", "tier", phased=False
    ),
    MetricSpec(
        "<tier>.ttl.no_expiry_rate", "ratio", "sampled keys without a TTL", "tier", phased=False
    ),
    MetricSpec(
        "<tier>.memory_per_key_bytes", "bytes", "memory per key (sample)", "tier", phased=False
    ),
    MetricSpec(
        "drift.failures",
        "count",
        "tier differences beyond [drift] tolerances",
        "drift",
        phased=False,
    ),
    MetricSpec(
        "drift.<tier>.failures",
        "count",
        "the tier's differences beyond tolerances",
        "drift",
        phased=False,
    ),
    MetricSpec(
        "warm.converged.<tier>",
        "count",
        "1 when the windowed hit rate settled within epsilon of its plateau while warming",
        "results",
        phased=False,
    ),
    MetricSpec(
        "warm.seconds_to_warm.<tier>",
        "s",
        "warm seconds until the windowed hit rate stayed within epsilon of its plateau",
        "results",
        phased=False,
    ),
    MetricSpec(
        "stale_reads.rate",
        "ratio",
        "hit keys answered differently around the cache / keys checked",
        "stale_reads",
        phased=False,
    ),
    MetricSpec(
        "stale_reads.checked",
        "count",
        "hit keys fetched through and around the cache",
        "stale_reads",
        phased=False,
    ),
    MetricSpec(
        "stale_reads.stale",
        "count",
        "hit keys whose two answers differed",
        "stale_reads",
        phased=False,
    ),
    MetricSpec(
        "invalidation.visible_after_s",
        "s",
        "seconds until a write showed through the candidate",
        "invalidation",
        phased=False,
    ),
    MetricSpec(
        "invalidation.ok",
        "count",
        "1 when the write showed within within_s",
        "invalidation",
        phased=False,
    ),
    *(
        MetricSpec(f"compare.hit_rate.{tier}.{part}", "delta", text, "compare", phased=False)
        for tier in ("effective", "<tier>")  # effective first: it is not a tier name
        for part, text in (
            ("delta", "candidate - baseline hit rate, same traffic"),
            ("delta_low", "lower bound of the hit-rate difference's interval"),
            ("delta_high", "upper bound of the hit-rate difference's interval"),
        )
    ),
    *(
        MetricSpec(f"compare.error_rate.{part}", "delta", text, "compare", phased=False)
        for part, text in (
            ("delta", "candidate - baseline error rate, same traffic"),
            ("delta_low", "lower bound of the error-rate difference's interval"),
            ("delta_high", "upper bound of the error-rate difference's interval"),
        )
    ),
    *(
        MetricSpec(
            f"compare.latency.p{q}_ms.ratio",
            "count",
            f"candidate / baseline p{q} latency, same traffic",
            "compare",
            phased=False,
        )
        for q in (50, 95, 99)
    ),
    MetricSpec(
        "compare.latency.mwu_p",
        "ratio",
        "Mann-Whitney U p of the latencies",
        "compare",
        phased=False,
    ),
    MetricSpec(
        "compare.latency.cliffs_delta",
        "delta",
        "Cliff's delta of candidate against baseline latency (> 0: slower)",
        "compare",
        phased=False,
    ),
    MetricSpec(
        "compare.regressions",
        "count",
        "compared quantities where the candidate is significantly worse",
        "compare",
        phased=False,
    ),
    MetricSpec(
        "compare.requests",
        "count",
        "answered requests on the weaker side",
        "compare",
        phased=False,
    ),
)

PROTECT_VOCABULARY: tuple[MetricSpec, ...] = (
    MetricSpec("backend.rps", "rps", "backend requests per second, last interval", "backend"),
    MetricSpec(
        "errors.rate", "ratio", "transport errors and 5xx / responses, last 0.5 s", "results"
    ),
    MetricSpec("latency.p50_ms", "ms", "median latency, last 0.5 s", "results"),
    MetricSpec("latency.p95_ms", "ms", "95th percentile latency, last 0.5 s", "results"),
    MetricSpec("latency.p99_ms", "ms", "99th percentile latency, last 0.5 s", "results"),
)
"""Live metrics a ``[replay] protect`` limit may name (the warm phase's pace controller)."""


@dataclass(frozen=True)
class ResolvedMetric:
    """A concrete metric name matched against the vocabulary."""

    name: str
    spec: MetricSpec
    phase: Literal["warm", "verify"]
    tier: str | None = None


def _regex(pattern: str) -> re.Pattern[str]:
    escaped = re.escape(pattern).replace(re.escape("<tier>"), r"(?P<tier>[A-Za-z0-9_-]+)")
    return re.compile(escaped + r"\Z")


_COMPILED = tuple((spec, _regex(spec.pattern)) for spec in VOCABULARY)
_PROTECT_COMPILED = tuple((spec, _regex(spec.pattern)) for spec in PROTECT_VOCABULARY)


def resolve(
    name: str, tiers: Iterable[str] | None = None, *, vocabulary: str = "gate"
) -> ResolvedMetric:
    """Match ``name`` against the table; ``tiers`` (when given) are the only valid tier names.

    ``vocabulary`` is ``gate`` (:data:`VOCABULARY`) or ``protect``
    (:data:`PROTECT_VOCABULARY`, no ``warm.`` readings). Raises :class:`ConfigError` for
    an unknown metric or an unconfigured tier.
    """
    if vocabulary == "protect":
        return _resolve_protect(name)
    for candidate, phase in _readings(name):
        for spec, regex in _COMPILED:
            if phase == "warm" and not spec.phased:
                continue
            match = regex.match(candidate)
            if match is None:
                continue
            tier = match.groupdict().get("tier")
            _check_tier(name, tier, tiers)
            return ResolvedMetric(name, spec, "warm" if not spec.phased else phase, tier)
    raise ConfigError(
        f"unknown metric {name!r}",
        hint="`warmer gate --list-metrics` lists them "
        "(hit_rate.<tier>, backend.offload, latency.p99_ms, errors.rate ...)",
    )


def _resolve_protect(name: str) -> ResolvedMetric:
    for spec, regex in _PROTECT_COMPILED:
        if regex.match(name):
            return ResolvedMetric(name, spec, "warm")
    known = ", ".join(s.pattern for s in PROTECT_VOCABULARY)
    raise ConfigError(f"unknown protect metric {name!r}", hint=f"a limit reads one of: {known}")


def _readings(name: str) -> list[tuple[str, Literal["warm", "verify"]]]:
    readings: list[tuple[str, Literal["warm", "verify"]]] = [(name, "verify")]
    if name.startswith(WARM_PREFIX):
        readings.append((name[len(WARM_PREFIX) :], "warm"))
    return readings


def _check_tier(name: str, tier: str | None, tiers: Iterable[str] | None) -> None:
    if tier is None or tiers is None:
        return
    known = sorted(tiers)
    if tier not in known:
        listed = ", ".join(known) if known else "none"
        raise ConfigError(
            f"metric {name!r} names tier {tier!r}, which is not configured (tiers: {listed})",
            hint=f"add [tiers.{tier}] to warmer.toml or fix the check",
        )


def table_rows(specs: Sequence[MetricSpec] = VOCABULARY) -> list[tuple[str, str, str, str]]:
    """The vocabulary as (pattern, unit, source, description) rows, for help and docs."""
    return [(s.pattern, s.unit, s.source, s.description) for s in specs]
