"""Tiers and drift: how each Redis/Memcached tier is configured, and how it differs from production.

``tiers`` runs right after preflight, before any traffic: it reads every Redis and
Memcached tier (``CONFIG GET``, ``INFO``, ``stats settings``, a bounded key sample: see
:mod:`warmer.observe.tierconfig`) and contributes ``<tier>.config.*``, ``<tier>.ttl.*``
and ``<tier>.memory_per_key_bytes`` to the checks, plus the report's tier-configuration
table. A setting the server will not tell (``CONFIG`` renamed, managed Redis) is no data
with its reason, listed as a warning. A candidate's caches usually start cold, so the same
step runs again as ``tiers-warm`` after settle: its key sample holds the keys (and TTLs)
the candidate itself wrote while warming, and its metrics replace the first reading's.
Between settle and verify, its reads fall outside both phases' counter deltas.

``drift`` (with ``[gate] drift = true``, after ``tiers-warm``) reads each such tier's
``baseline_url`` and compares it with the candidate's reading
(:func:`warmer.observe.drift.compare`): the report's drift table, ``drift.failures`` and
``drift.<tier>.failures``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.errors import ObserverUnreachableError
from warmer.gate.steps.base import RunState, StepResult

if TYPE_CHECKING:
    from warmer.config.schema import Config, SourceConfig
    from warmer.model.run import TierConfiguration
    from warmer.observe.tierconfig import TierReading

READABLE = ("redis", "memcached")
"""Sources whose server can say how it is configured."""


def readable_tiers(config: Config) -> dict[str, SourceConfig]:
    """The configured tiers whose configuration can be read, nearest first."""
    return {n: t for n, t in config.tiers.items() if t.source in READABLE and t.url}


@dataclass(frozen=True)
class Tiers:
    """Read every Redis/Memcached tier's configuration and key sample (module docstring)."""

    name: str = "tiers"
    when: str = "before warm"
    """Said in the summary: ``before warm`` or ``after warm``."""

    def run(self, state: RunState) -> StepResult:
        from warmer.observe.tierconfig import read_configured

        tiers = readable_tiers(state.config)
        if not tiers:
            return StepResult(summary="no Redis or Memcached tier to read")
        readings = {}
        unread = []
        for name, tier in tiers.items():
            if state.halt.is_set():
                break
            try:
                readings[name] = read_configured(state.config, name, tier.source, str(tier.url))
            except ObserverUnreachableError as exc:
                if tier.required:
                    raise
                unread.append(f"tier {name}: configuration not read: {exc.message}")
        state.tier_readings.update(readings)
        metrics = {k: v for r in readings.values() for k, v in r.metrics().items()}
        return StepResult(
            summary=f"{self.when}: {_summary(readings)}",
            metrics=metrics,
            evidence={name: r.to_dict() for name, r in readings.items()},
            warnings=(*unread, *_warnings(readings, sample=self.when != "before warm")),
            report={"tier_config": tuple(configuration(r) for r in readings.values())},
        )


@dataclass(frozen=True)
class Drift:
    """Compare each tier with its ``baseline_url`` (module docstring)."""

    name: str = "drift"

    def run(self, state: RunState) -> StepResult:
        from warmer.observe.drift import config_pairs, drift_metrics, measure

        pairs = config_pairs(state.config)
        if not pairs:
            return StepResult(
                summary="no tier has a baseline_url to compare with",
                warnings=("[gate] drift = true but no Redis/Memcached tier has a baseline_url",),
            )
        report = measure(state.config, pairs, state.tier_readings, state.halt.is_set)
        tiers = [p.tier for p in pairs]
        return StepResult(
            summary=_drift_summary(report.failures, tiers),
            metrics=drift_metrics(report, tiers),
            evidence={"failures": report.failures, "rows": [vars(r) for r in report.rows]},
            report={"drift": report},
        )


def configuration(reading: TierReading) -> TierConfiguration:
    """The report's row for one reading (metric names without the tier)."""
    from warmer.model.run import TierConfiguration

    prefix = f"{reading.tier}."
    return TierConfiguration(
        tier=reading.tier,
        engine=reading.engine,
        address=reading.address,
        values={k.removeprefix(prefix): v for k, v in reading.metrics().items()},
        no_data=dict(reading.no_data),
        sampled_keys=reading.sampled,
    )


def _summary(readings: Mapping[str, TierReading]) -> str:
    parts = []
    for name, r in readings.items():
        policy = r.settings.get("maxmemory_policy")
        shown = f" ({policy})" if isinstance(policy, str) else ""
        parts.append(f"{name} {r.engine}{shown}, {r.sampled} keys sampled")
    return "read " + "; ".join(parts)


SAMPLED = ("ttl", "memory_per_key")
"""What the key sample gives, as opposed to the settings."""


def _warnings(readings: Mapping[str, TierReading], *, sample: bool) -> tuple[str, ...]:
    """Settings without data (the first reading), or a key sample without data (after warm:
    before warm, a cold cache is expected to hold no key)."""
    warnings = []
    for name, r in readings.items():
        reasons: dict[str, list[str]] = {}
        for setting, why in r.no_data.items():
            if (setting in SAMPLED) == sample:
                reasons.setdefault(why, []).append(setting)
        for why, settings in reasons.items():
            warnings.append(f"tier {name}: no data for {', '.join(settings)}: {why}")
    return tuple(warnings)


def _drift_summary(failures: int, tiers: list[str]) -> str:
    names = ", ".join(tiers)
    if failures == 0:
        return f"{names} configured like the baseline (within [drift] tolerances)"
    return f"{failures} difference(s) from the baseline beyond [drift] tolerances ({names})"
