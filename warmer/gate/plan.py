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
from warmer.sample.source import SampleSource

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.gate.warmplan import WarmPlan


@dataclass(frozen=True)
class SplitSample:
    """The two parts of the sample, how they were cut, and how many records each holds.

    The parts are :class:`~warmer.sample.source.SampleSource` s: each read streams the
    sample and keeps the part's rows, so no part is ever held in memory whole.
    """

    warm: SampleSource
    verify: SampleSource
    warm_rows: int
    verify_rows: int
    warm_fraction: float
    description: str
    """In words, e.g. ``first 80 % of the sample's time span``."""
    cutoff_ts: float
    """The first recorded timestamp that belongs to the verify part."""


def split_sample(
    sample: SampleSource | pa.Table,
    *,
    warm_fraction: float = 0.8,
    warm_duration_s: float | None = None,
) -> SplitSample:
    """Cut ``sample`` (rows with ``ts``) into warm and verify parts; both non-empty."""
    import pyarrow.compute as pc

    from warmer.sample.split import time_cutoff

    source = sample if isinstance(sample, SampleSource) else SampleSource.from_table(sample)
    bounds = source.ts_bounds()
    if bounds is None:
        raise InputError("the sample holds no requests", "import some traffic into it first")
    fraction, description = _fraction(bounds, warm_fraction, warm_duration_s)
    cutoff = time_cutoff(bounds[0], bounds[1], fraction)

    def warm(batch: pa.RecordBatch) -> pa.Array:
        return pc.less(batch.column("ts"), cutoff)

    def verify(batch: pa.RecordBatch) -> pa.Array:
        return pc.invert(warm(batch))

    warm_rows, rows = _count_before(source, cutoff)
    warm_part, verify_part = source.where(warm), source.where(verify)
    warm_part.rows, verify_part.rows = warm_rows, rows - warm_rows
    split = SplitSample(
        warm_part, verify_part, warm_rows, rows - warm_rows, fraction, description, cutoff
    )
    if split.warm_rows == 0 or split.verify_rows == 0:
        empty = "warm" if split.warm_rows == 0 else "verify"
        raise InputError(
            f"the {empty} part of the sample is empty ({description})",
            "choose another --warm-fraction or --warm-duration",
        )
    return split


def _count_before(source: SampleSource, cutoff: float) -> tuple[int, int]:
    """(records before ``cutoff``, all records), in one pass over ``ts``."""
    import pyarrow.compute as pc

    before = total = 0
    for batch in source.batches(["ts"]):
        before += int(pc.sum(pc.less(batch.column("ts"), cutoff)).as_py() or 0)
        total += batch.num_rows
    return before, total


def _fraction(
    bounds: tuple[float, float], warm_fraction: float, warm_duration_s: float | None
) -> tuple[float, str]:
    if warm_duration_s is None:
        return warm_fraction, f"first {warm_fraction:.0%} of the sample's time span"
    span = bounds[1] - bounds[0]
    if not 0 < warm_duration_s < span:
        raise UsageError(
            f"--warm-duration {warm_duration_s:g}s does not fit the sample's span of {span:.1f}s",
            "give a duration shorter than the recorded span, or use --warm-fraction",
        )
    return warm_duration_s / span, f"first {warm_duration_s:g}s of recorded time"


def expected_duration(
    part: SampleSource | pa.Table, replay: ReplayConfig, requests: int | None = None
) -> float | None:
    """Wall time one part takes at the configured pacing; None under ``max`` (unknowable).

    Mirrors the replay pacers: recorded gaps divided by ``speed`` and capped at
    ``max_gap_s``; or ``requests / rate`` (``requests`` defaults to the part's records).
    Reads the part's ``ts`` in one pass.
    """
    import numpy as np

    source = part if isinstance(part, SampleSource) else SampleSource.from_table(part)
    if replay.pacing == "rate" and replay.rate:
        count = source.count() if requests is None else requests
        return float(max(count - 1, 0) / replay.rate)
    if replay.pacing != "recorded":
        return None
    total, last = 0.0, None
    for batch in source.batches(["ts"]):
        ts = batch.column("ts").to_numpy()
        if last is not None:
            ts = np.concatenate([[last], ts])
        gaps = np.clip(np.diff(ts), 0.0, None) / replay.speed
        if replay.max_gap_s is not None:
            gaps = np.minimum(gaps, replay.max_gap_s)
        total += float(gaps.sum())
        last = float(ts[-1])
    return total


def make_plan(
    split: SplitSample,
    gate: GateConfig,
    replay: ReplayConfig,
    warm: WarmPlan | None = None,
    verify_requests: int | None = None,
    warm_until: tuple[str, ...] = (),
) -> Plan:
    """The run's :class:`~warmer.model.run.Plan` for ``split`` under the configured pacing.

    ``warm`` is the warm phase's plan and ``verify_requests`` what verify will send (the
    records whose method is allowed); without them every record of a part counts.
    """
    warm_requests = split.warm_rows if warm is None else warm.requests
    verify = split.verify_rows if verify_requests is None else verify_requests
    if warm is not None and warm.order == "hot-first":
        warm_s = warm_requests / replay.rate if replay.pacing == "rate" and replay.rate else None
    else:
        warm_s = expected_duration(split.warm, replay, warm_requests)
    verify_s = expected_duration(split.verify, replay, verify)
    total = None if warm_s is None or verify_s is None else warm_s + gate.settle_s + verify_s
    hot_first = warm is not None and warm.order == "hot-first"
    return Plan(
        warm_requests=warm_requests,
        verify_requests=verify,
        warm_plan=warm.describe() if warm is not None else "",
        warm_keys=warm.keys if hot_first and warm is not None else None,
        hot_pass=warm.hot_pass if hot_first and warm is not None else None,
        warm_target=warm.target if warm is not None else None,
        warm_predicted=warm.predicted if warm is not None else None,
        warm_until=warm_until,
        protect=replay.protect,
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
    ]
    if plan.order == "hot-first" and plan.warm_plan:
        lines.append(f"          {plan.warm_plan}")
    lines += [f"          until {text}" for text in plan.warm_until]
    lines += [
        f"verify:   {plan.verify_requests:,} requests, recorded order",
        f"pacing:   {pace}",
    ]
    lines += [f"          protect {text}" for text in plan.protect]
    lines.append(f"duration: {expected}")
    if ceiling is not None:
        lines.append(f"ceiling:  {ceiling:.3f} warmable hit rate of the verify part")
    return lines
