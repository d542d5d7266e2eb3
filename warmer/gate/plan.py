"""The gate's plan: split the sample, count requests per phase, expect durations.

This is what ``warmer gate --dry-run`` prints and what a run records as ``plan`` in its
report. Nothing here sends traffic. The split is by recorded time (see
:mod:`warmer.sample.split`): ``warm_fraction`` of the sample's span, or its first
``warm_duration_s`` recorded seconds when a duration is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.config.schema import GateConfig, ReplayConfig
from warmer.errors import InputError, UsageError
from warmer.model.run import Plan

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class SplitSample:
    """The two parts of the sample and how they were cut."""

    warm: pa.Table
    verify: pa.Table
    warm_fraction: float
    description: str
    """In words, e.g. ``first 80 % of the sample's time span``."""
    cutoff_ts: float
    """The first recorded timestamp that belongs to the verify part."""


def split_sample(
    table: pa.Table, *, warm_fraction: float = 0.8, warm_duration_s: float | None = None
) -> SplitSample:
    """Cut ``table`` (sample rows with ``ts``) into warm and verify parts; both non-empty."""
    import pyarrow.compute as pc

    from warmer.sample.split import split_by_time, time_cutoff

    fraction, description = _fraction(table, warm_fraction, warm_duration_s)
    warm, verify = split_by_time(table, fraction)
    bounds = pc.min_max(table.column("ts")).as_py()
    cutoff = time_cutoff(float(bounds["min"]), float(bounds["max"]), fraction)
    if warm.num_rows == 0 or verify.num_rows == 0:
        empty = "warm" if warm.num_rows == 0 else "verify"
        raise InputError(
            f"the {empty} part of the sample is empty ({description})",
            "choose another --warm-fraction or --warm-duration",
        )
    return SplitSample(warm, verify, fraction, description, cutoff)


def _fraction(
    table: pa.Table, warm_fraction: float, warm_duration_s: float | None
) -> tuple[float, str]:
    if warm_duration_s is None:
        return warm_fraction, f"first {warm_fraction:.0%} of the sample's time span"
    span = _span(table)
    if not 0 < warm_duration_s < span:
        raise UsageError(
            f"--warm-duration {warm_duration_s:g}s does not fit the sample's span of {span:.1f}s",
            "give a duration shorter than the recorded span, or use --warm-fraction",
        )
    return warm_duration_s / span, f"first {warm_duration_s:g}s of recorded time"


def _span(table: pa.Table) -> float:
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return 0.0
    bounds = pc.min_max(table.column("ts")).as_py()
    return float(bounds["max"] - bounds["min"])


def expected_duration(part: pa.Table, replay: ReplayConfig) -> float | None:
    """Wall time one part takes at the configured pacing; None under ``max`` (unknowable).

    Mirrors the replay pacers: recorded gaps divided by ``speed`` and capped at
    ``max_gap_s``; or ``requests / rate``.
    """
    if replay.pacing == "rate" and replay.rate:
        return float(max(part.num_rows - 1, 0) / replay.rate)
    if replay.pacing != "recorded" or part.num_rows < 2:
        return 0.0 if replay.pacing == "recorded" else None
    import numpy as np

    ts = part.column("ts").to_numpy()
    gaps = np.clip(np.diff(ts), 0.0, None) / replay.speed
    if replay.max_gap_s is not None:
        gaps = np.minimum(gaps, replay.max_gap_s)
    return float(gaps.sum())


def make_plan(split: SplitSample, gate: GateConfig, replay: ReplayConfig) -> Plan:
    """The run's :class:`~warmer.model.run.Plan` for ``split`` under the configured pacing."""
    warm_s = expected_duration(split.warm, replay)
    verify_s = expected_duration(split.verify, replay)
    total = None if warm_s is None or verify_s is None else warm_s + gate.settle_s + verify_s
    return Plan(
        warm_requests=split.warm.num_rows,
        verify_requests=split.verify.num_rows,
        split=split.description,
        warm_fraction=split.warm_fraction,
        warm_duration_s=gate.warm_duration_s,
        pacing=replay.pacing,
        speed=replay.speed if replay.pacing == "recorded" else None,
        rate=replay.rate if replay.pacing == "rate" else None,
        concurrency=replay.concurrency,
        order=replay.order,
        engine=replay.engine,
        settle_s=gate.settle_s,
        expected_duration_s=total,
    )


def plan_lines(plan: Plan, ceiling: float | None = None) -> list[str]:
    """The plan in a few human lines (what ``--dry-run`` prints)."""
    pace = {
        "recorded": f"recorded timing x{plan.speed or 1:g}",
        "rate": f"{plan.rate or 0:g} requests/s",
        "max": f"as fast as {plan.concurrency} connections allow",
    }.get(plan.pacing, plan.pacing)
    expected = (
        "unknown under --pacing max"
        if plan.expected_duration_s is None
        else f"about {plan.expected_duration_s:,.1f}s (settle {plan.settle_s:g}s included)"
    )
    lines = [
        f"split:    {plan.split}",
        f"warm:     {plan.warm_requests:,} requests, order {plan.order}",
        f"verify:   {plan.verify_requests:,} requests, recorded order",
        f"pacing:   {pace}",
        f"duration: {expected}",
    ]
    if ceiling is not None:
        lines.append(f"ceiling:  {ceiling:.3f} warmable hit rate of the verify part")
    return lines
