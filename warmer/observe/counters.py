"""Counter deltas between snapshots, with reset detection so a restart never yields a negative rate.

A cumulative counter only grows while its process lives. When it drops, or the process
identity (``TierSnapshot.instance``) changes, the process restarted and the new value is all
that happened since the restart: that value is the delta, and the delta is flagged as reset.
Counts that happened between the last read before the restart and the restart itself are
lost; sampling often (``Sampler``) keeps that loss small, which is why ``timeline_delta``
sums interval deltas instead of subtracting the endpoints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from warmer.observe.interface import COUNTERS, TierSnapshot


@dataclass(frozen=True)
class CounterDelta:
    """How much a counter grew; ``value`` None means no data."""

    value: float | None
    reset: bool = False


def counter_delta(
    before: float | None, after: float | None, *, restarted: bool = False
) -> CounterDelta:
    """``after - before``, or ``after`` alone (flagged) when the counter was reset."""
    if before is None or after is None:
        return CounterDelta(None)
    if restarted or after < before:
        return CounterDelta(after, reset=True)
    return CounterDelta(after - before)


@dataclass(frozen=True)
class SnapshotDelta:
    """What happened at a source between two snapshots (None: no data for that field)."""

    hits: float | None = None
    misses: float | None = None
    evictions: float | None = None
    expirations: float | None = None
    requests: float | None = None
    seconds: float | None = None
    reset: bool = False
    """A counter reset (restarted process) was seen inside the interval."""
    new_instance: bool = False
    """The source's process identity changed (Redis ``run_id``, Memcached pid/uptime)."""
    missing: bool = False
    """One endpoint (or every sample) had no data."""
    end: TierSnapshot | None = None
    """The last snapshot with data: gauges (keys, memory) are read from it."""


MISSING = SnapshotDelta(missing=True)


def snapshot_delta(before: TierSnapshot | None, after: TierSnapshot | None) -> SnapshotDelta:
    """Counter deltas from ``before`` to ``after``; missing when either is None."""
    if before is None or after is None:
        return SnapshotDelta(missing=True, end=after)
    restarted = _restarted(before, after)
    deltas = {
        name: counter_delta(getattr(before, name), getattr(after, name), restarted=restarted)
        for name in COUNTERS
    }
    return _delta(
        {name: d.value for name, d in deltas.items()},
        seconds=after.at - before.at,
        reset=any(d.reset for d in deltas.values()),
        end=after,
        new_instance=restarted,
    )


def timeline_delta(snapshots: Iterable[TierSnapshot | None]) -> SnapshotDelta:
    """Sum of interval deltas over a timeline, skipping gaps (None) between readings.

    ``missing`` is set when fewer than two readings exist, or when a gap was bridged (the
    total is then still the best estimate, but a reset inside the gap may have hidden counts).
    """
    readings = list(snapshots)
    present = [s for s in readings if s is not None]
    if len(present) < 2:
        return SnapshotDelta(missing=True, end=present[-1] if present else None)
    totals: dict[str, float | None] = dict.fromkeys(COUNTERS, 0.0)
    reset = new_instance = False
    for before, after in itertools.pairwise(present):
        step = snapshot_delta(before, after)
        reset = reset or step.reset
        new_instance = new_instance or step.new_instance
        for name in COUNTERS:
            value, total = getattr(step, name), totals[name]
            totals[name] = None if value is None or total is None else total + value
    return _delta(
        totals,
        seconds=present[-1].at - present[0].at,
        reset=reset,
        missing=len(present) < len(readings),
        end=present[-1],
        new_instance=new_instance,
    )


def _delta(
    values: dict[str, float | None],
    *,
    seconds: float,
    reset: bool,
    end: TierSnapshot,
    missing: bool = False,
    new_instance: bool = False,
) -> SnapshotDelta:
    return SnapshotDelta(
        hits=values["hits"],
        misses=values["misses"],
        evictions=values["evictions"],
        expirations=values["expirations"],
        requests=values["requests"],
        seconds=seconds,
        reset=reset,
        new_instance=new_instance,
        missing=missing,
        end=end,
    )


def _restarted(before: TierSnapshot, after: TierSnapshot) -> bool:
    return before.instance is not None and after.instance not in (None, before.instance)
