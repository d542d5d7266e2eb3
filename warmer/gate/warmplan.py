"""The warm plan: what the warm phase sends, in which order, and when it has sent enough.

``recorded`` order replays the warm part as it was recorded (every record whose method is
allowed). ``hot-first`` sends each cacheable key of the warm part **once, the most
valuable first**, stops adding keys once the **predicted** hit rate reaches the target,
and ends with a **short pass over the hottest keys** so that a small LRU tier (L0) ends
holding the hot set rather than the last, coldest keys sent:

* **value** — a key's requests in the warm part, each weighted ``2^(-age / h)`` with the
  half-life ``h`` half the warm part's span (:func:`warmer.replay.order.rank_by_value`):
  frequent and still requested lately first;
* **prediction** — the warm part is cut again (its first 75 % by time as the history, the
  rest as a stand-in for verify); warming the top share ``f`` of the history's keys
  predicts the stand-in's hit rate ``(repeats + first sightings whose key ranks in the top
  f) / requests``; the plan takes the same share of the whole warm part's keys. Only the
  warm part is read: verify stays held out;
* **target** — the highest threshold among the verify checks on ``hit_rate.effective``,
  ``hit_rate.<first tier>`` and ``backend.offload`` (divided by the cacheable share), plus
  ``gate.warm_margin``; never above what warming every key predicts minus ``TOLERANCE``
  (keys past that point add less than three quarters of a point). Without such a check
  the plan stops there too;
* **hot pass** — the hottest keys that carry 90 % of the value an L0 of its configured
  capacity can hold (without a configured capacity: the keys that carry half the value),
  sent again, the hottest last.

The plan's ``requests`` is what ``--dry-run`` prints, what progress counts against and
what the report records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from warmer.checks.grammar import Check

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.config.schema import SourceConfig
    from warmer.model.sample import SampleRecord
    from warmer.sample.source import SampleSource

TOLERANCE = 0.0075
"""The plan never aims higher than warming every key predicts, minus this."""
HOT_SHARE = 0.9
HOT_SET_SHARE = 0.5
HISTORY_SHARE = 0.75
CACHEABLE = ("GET", "HEAD")


@dataclass(frozen=True)
class WarmPlan:
    """What the warm phase will send (see the module docstring)."""

    order: str
    requests: int
    """Requests the warm phase sends: dry run, progress and report all count these."""
    keys: int | None = None
    """hot-first: distinct keys sent once."""
    available_keys: int | None = None
    """hot-first: cacheable distinct keys in the warm part."""
    hot_pass: int = 0
    """hot-first: keys sent a second time at the end."""
    target: float | None = None
    """The predicted hit rate the plan stopped at (check threshold plus margin, capped)."""
    predicted: float | None = None
    """The hit rate the plan predicts for the stand-in verify part."""
    ranked: pa.Table | None = field(default=None, repr=False)
    """hot-first: the keys to send, in order (rows of ``part``)."""
    part: SampleSource | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The plan in words, for the dry run and the report."""
        if self.order != "hot-first":
            return f"{self.requests:,} requests in recorded order"
        text = f"{self.keys or 0:,} of {self.available_keys or 0:,} keys once, most valuable first"
        if self.hot_pass:
            text += f", then the {self.hot_pass:,} hottest again"
        if self.predicted is not None:
            text += f" (predicted hit rate {self.predicted:.3f}"
            text += f", aiming at {self.target:.3f})" if self.target is not None else ")"
        return text

    def records(self) -> Iterator[SampleRecord]:
        """hot-first: the records to send, in order."""
        from warmer.replay.order import ranked_records

        if self.ranked is None or self.part is None:
            return iter(())
        return ranked_records(self.part, self.ranked, self.hot_pass)


def plan_warm(
    warm: SampleSource,
    *,
    order: str,
    checks: Sequence[Check] = (),
    tiers: Mapping[str, SourceConfig] | None = None,
    allow_methods: Sequence[str] = CACHEABLE,
    margin: float = 0.02,
) -> WarmPlan:
    """The plan for ``warm`` (the warm part of the split sample) under ``order``."""
    allowed = tuple(m.upper() for m in allow_methods)
    if order != "hot-first":
        return WarmPlan(order, requests=_count(warm.where(_methods(allowed), needs=("method",))))
    methods = tuple(m for m in CACHEABLE if m in allowed)
    part = warm.where(_cacheable(methods), needs=("method", "cache_status"))
    return _hot_first(warm, part, checks, dict(tiers or {}), margin)


def _hot_first(
    warm: SampleSource,
    part: SampleSource,
    checks: Sequence[Check],
    tiers: dict[str, SourceConfig],
    margin: float,
) -> WarmPlan:
    from warmer.replay.order import rank_by_value

    bounds = part.ts_bounds()
    if bounds is None:
        return WarmPlan("hot-first", requests=0, keys=0, available_keys=0)
    half_life = max((bounds[1] - bounds[0]) / 2, 1.0)
    ranked = rank_by_value(part, now=bounds[1], half_life_s=half_life)
    total = ranked.num_rows
    curve = _Prediction.of(part, bounds, half_life)
    wanted = _target(checks, tiers, part, warm)
    goal = None if curve is None else curve.full - TOLERANCE
    if goal is not None and wanted is not None:
        goal = min(goal, wanted + margin)
    keys = total if curve is None or goal is None else curve.keys_for(goal, total)
    hot = _hot_pass(ranked, keys, _first_capacity(tiers))
    return WarmPlan(
        "hot-first",
        requests=keys + hot,
        keys=keys,
        available_keys=total,
        hot_pass=hot,
        target=goal,
        predicted=None if curve is None else curve.at(keys / total if total else 1.0),
        ranked=ranked.slice(0, keys),
        part=part,
    )


@dataclass(frozen=True)
class _Prediction:
    """Predicted hit rate of the stand-in verify part by the share of keys warmed."""

    ranks: np.ndarray[Any, Any]
    """Sorted history rank of each distinct stand-in key (inf when the history lacks it)."""
    history_keys: int
    repeats: int
    requests: int

    @classmethod
    def of(
        cls, part: SampleSource, bounds: tuple[float, float], half_life: float
    ) -> _Prediction | None:
        import pyarrow.compute as pc

        from warmer.replay.order import rank_by_value

        cut = bounds[0] + HISTORY_SHARE * (bounds[1] - bounds[0])
        history = part.where(lambda b: pc.less(b.column("ts"), cut))
        later = part.where(lambda b: pc.greater_equal(b.column("ts"), cut))
        ranked = rank_by_value(history, now=cut, half_life_s=half_life)
        seen = _distinct(later)
        if ranked.num_rows == 0 or seen.num_rows == 0:
            return None
        positions = pc.index_in(seen.column("key"), value_set=ranked.column("key"))
        ranks = np.asarray(positions.to_numpy(zero_copy_only=False), dtype=np.float64)
        requests = int(pc.sum(seen.column("requests")).as_py() or 0)
        return cls(
            np.sort(np.nan_to_num(ranks, nan=np.inf)),
            ranked.num_rows,
            requests - seen.num_rows,
            requests,
        )

    @property
    def full(self) -> float:
        return self.at(1.0)

    def at(self, share: float) -> float:
        """Predicted hit rate when the top ``share`` of the keys are warmed."""
        warmed = int(np.searchsorted(self.ranks, share * self.history_keys, "left"))
        return (self.repeats + warmed) / self.requests

    def keys_for(self, goal: float, total: int) -> int:
        """The fewest of ``total`` keys whose share reaches ``goal`` (all when none does)."""
        low, high = 1, max(total, 1)
        while low < high:
            middle = (low + high) // 2
            if self.at(middle / total) >= goal:
                high = middle
            else:
                low = middle + 1
        return low


def _distinct(source: SampleSource) -> pa.Table:
    """``key``, ``requests`` over ``source`` (one row per distinct key)."""
    import pyarrow as pa

    parts = []
    for batch in source.batches(["key"]):
        table = pa.table({"key": batch.column("key")})
        parts.append(table.group_by("key", use_threads=False).aggregate([([], "count_all")]))
    if not parts:
        return pa.table({"key": pa.array([], pa.string()), "requests": pa.array([], pa.int64())})
    merged = pa.concat_tables(parts).group_by("key", use_threads=False)
    counted = merged.aggregate([("count_all", "sum")])
    return counted.rename_columns(
        ["requests" if n == "count_all_sum" else n for n in counted.column_names]
    )


def _target(
    checks: Sequence[Check],
    tiers: Mapping[str, SourceConfig],
    part: SampleSource,
    warm: SampleSource,
) -> float | None:
    """The highest effective hit rate the verify checks ask for (see the module docstring)."""
    first = next(iter(tiers), None)
    wanted: list[float] = []
    for check in checks:
        if check.phase != "verify" or check.op not in (">", ">="):
            continue
        if check.metric == "hit_rate.effective" or (first and check.metric == f"hit_rate.{first}"):
            wanted.append(check.limit)
        elif check.metric == "backend.offload":
            share = _count(part) / max(_count(warm), 1)
            wanted.append(min(check.limit / share, 1.0) if share else 1.0)
    return max(wanted) if wanted else None


def _first_capacity(tiers: Mapping[str, SourceConfig]) -> float | None:
    config = next(iter(tiers.values()), None)
    limit = config.limit() if config is not None else None
    return limit.amount if limit is not None and limit.unit == "objects" else None


def _hot_pass(ranked: pa.Table, keys: int, capacity: float | None) -> int:
    """How many of the top keys to send again (see the module docstring)."""
    if keys == 0:
        return 0
    values = np.cumsum(ranked.column("value").to_numpy()[:keys])
    if capacity is None:
        goal = HOT_SET_SHARE * values[-1]
    else:
        goal = HOT_SHARE * values[min(int(capacity), keys) - 1]
    return min(int(np.searchsorted(values, goal, "left")) + 1, keys)


def _count(source: SampleSource) -> int:
    return sum(batch.num_rows for batch in source.batches(["ts"]))


def _methods(allowed: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(allowed)
    return lambda batch: pc.is_in(pc.utf8_upper(batch.column("method")), value_set=value_set)


def _cacheable(methods: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(methods)

    def keep(batch: pa.RecordBatch) -> pa.Array:
        allowed = pc.is_in(pc.utf8_upper(batch.column("method")), value_set=value_set)
        bypass = pc.fill_null(
            pc.equal(pc.utf8_upper(batch.column("cache_status")), "BYPASS"), False
        )
        return pc.and_(allowed, pc.invert(bypass))

    return keep
