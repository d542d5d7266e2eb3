"""Predict: what each tier should reach, from its size and TTL, set beside what verify measured.

After verify, while the observers still run, the step reads every tier's size
(:mod:`warmer.gate.capacity`: configured, or a Redis/Memcached memory limit over the memory
per key it holds now), replays the sample through models of the tiers
(:func:`warmer.sample.simulate.simulate_tiers`: the warm part, then the verify part
counted, at the recorded pace) and asks the miss-ratio curve how many keys each checked
tier needs. It contributes ``predicted.hit_rate.<tier>`` for every tier whose size —
and that of every tier above it — is known (an unknown tier would be modelled unbounded,
which predicts too much), ``predicted.hit_rate.effective`` when all are, the evidence the
capacity diagnosis reads (``capacity.<tier>.*``) and the report's ``predictions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warmer.gate.steps.base import RunState, StepResult

if TYPE_CHECKING:
    from warmer.gate.capacity import TierSize
    from warmer.model.run import Predictions
    from warmer.observe.interface import TierSnapshot
    from warmer.sample.simulate import Simulation

Metrics = dict[str, float | None]


@dataclass(frozen=True)
class Predict:
    """Tier simulation of the verify part at the recorded pace (see the module docstring)."""

    name: str = "predict"

    def run(self, state: RunState) -> StepResult:
        from warmer.gate.metrics import target_thresholds

        tiers = state.config.tiers
        if not tiers or state.halt.is_set():
            return StepResult(summary="nothing to simulate")
        state.prepared = prepared = state.prepared.with_profile()
        sizes = _sizes(state)
        targets = target_thresholds(prepared.checks)
        simulated, unexpiring = _simulate(state, sizes)
        predictions = _predictions(sizes, targets, simulated, unexpiring, prepared)
        metrics = _metrics(predictions, sizes)
        return StepResult(
            summary=_summary(predictions),
            metrics=metrics,
            warnings=_unknown(sizes),
            evidence={"sizes": [vars(s) for s in sizes], "simulation": simulated.to_dict()},
            report={"predictions": predictions},
        )


def _sizes(state: RunState) -> list[TierSize]:
    from warmer.gate.capacity import tier_size

    reading: Callable[[str], TierSnapshot | None] | None = getattr(
        state.observation, "reading", None
    )
    return [
        tier_size(name, config, reading(name) if reading is not None else None)
        for name, config in state.config.tiers.items()
    ]


def _simulate(state: RunState, sizes: Sequence[TierSize]) -> tuple[Simulation, Simulation]:
    from warmer.gate.capacity import simulation_spec
    from warmer.sample.simulate import simulate_tiers

    prepared = state.prepared
    evictions = [config.eviction for config in state.config.tiers.values()]
    specs = [simulation_spec(s, e) for s, e in zip(sizes, evictions, strict=True)]
    cutoff = prepared.split.cutoff_ts
    simulated = simulate_tiers(prepared.source, specs, count_from=cutoff)
    span = prepared.sample.span_s if prepared.sample is not None else None
    if all(s.ttl_s is None or (span is not None and s.ttl_s > span) for s in sizes):
        return simulated, simulated  # nothing can expire within the sample: no second run
    forever = [simulation_spec(s, e, expire=False) for s, e in zip(sizes, evictions, strict=True)]
    return simulated, simulate_tiers(prepared.source, forever, count_from=cutoff)


def _predictions(
    sizes: Sequence[TierSize],
    targets: dict[str, float],
    simulated: Simulation,
    unexpiring: Simulation,
    prepared: Any,
) -> Predictions:
    from warmer.gate.capacity import needed_keys
    from warmer.model.run import Predictions, TierForecast

    ceilings = prepared.ceilings
    needed = needed_keys(ceilings.miss_ratio_curve if ceilings else (), sizes, targets)
    forecasts = []
    modelled = True  # every tier so far has a known size
    for size in sizes:
        modelled = modelled and size.known
        tier = simulated.tier(size.tier)
        forever = unexpiring.tier(size.tier)
        forecasts.append(
            TierForecast(
                tier=size.tier,
                capacity_keys=size.keys,
                capacity_bytes=size.bytes,
                capacity_source=size.source,
                ttl_s=size.ttl_s,
                hit_rate=tier.hit_rate if tier is not None and modelled else None,
                unexpiring_hit_rate=forever.hit_rate if forever is not None and modelled else None,
                needed_keys=needed.get(size.tier),
                target=targets.get(size.tier),
            )
        )
    return Predictions(
        tiers=tuple(forecasts),
        effective_hit_rate=simulated.effective_hit_rate if modelled else None,
        sampling_rate=simulated.sampling_rate,
        basis="verify part at the recorded pace, after the warm part (tier simulation)",
    )


def _metrics(predictions: Predictions, sizes: Sequence[TierSize]) -> Metrics:
    metrics: Metrics = {"predicted.hit_rate.effective": predictions.effective_hit_rate}
    for forecast, size in zip(predictions.tiers, sizes, strict=True):
        name = forecast.tier
        metrics[f"predicted.hit_rate.{name}"] = forecast.hit_rate
        metrics[f"predicted.hit_rate.{name}.unexpiring"] = forecast.unexpiring_hit_rate
        metrics[f"capacity.{name}.keys"] = size.keys
        metrics[f"capacity.{name}.ttl_s"] = size.ttl_s
        metrics[f"capacity.{name}.needed_keys"] = forecast.needed_keys
    return metrics


def _unknown(sizes: Sequence[TierSize]) -> tuple[str, ...]:
    """One warning when a tier's size is unknown: its prediction (and those below) has no data."""
    unknown = [s.tier for s in sizes if not s.known]
    if not unknown:
        return ()
    names = ", ".join(unknown)
    return (
        f"no predicted hit rate for {names} and the tiers below: the size of {names} is "
        "unknown (set [tiers.NAME] capacity)",
    )


def _summary(predictions: Predictions) -> str:
    known = [f"{t.tier} {t.hit_rate:.2f}" for t in predictions.tiers if t.hit_rate is not None]
    if not known:
        return "no tier size known: set [tiers.NAME] capacity to predict hit rates"
    return "predicted at the recorded pace: " + ", ".join(known)
