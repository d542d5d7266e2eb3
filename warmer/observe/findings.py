"""What a run's figures say beyond themselves: time compression, and the warnings a report
carries whatever the verdict (TTLs hidden by a fast replay, one cache counted twice, a
cross-check that disagrees, Prometheus figures that could not settle)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from warmer.model.run import TierMetrics

if TYPE_CHECKING:
    import pyarrow as pa

RECORDED_PACE_GAP = 0.03
"""Hit rates at replay speed and at recorded pace further apart than this are a warning."""
SAME_CACHE_GAP = 0.01
"""Two tiers whose lookups match within this share look like one cache counted twice."""
MIN_LOOKUPS = 100


def compression(rows: pa.Table) -> float | None:
    """Recorded span of ``rows`` ÷ the span over which they were sent (None if unknown)."""
    import pyarrow.compute as pc

    if rows.num_rows < 2 or "recorded_s" not in rows.column_names:
        return None
    recorded = pc.min_max(rows.column("recorded_s")).as_py()
    sent = pc.min_max(rows.column("sent_s")).as_py()
    if None in (recorded["min"], recorded["max"]) or sent["max"] <= sent["min"]:
        return None
    return float((recorded["max"] - recorded["min"]) / (sent["max"] - sent["min"]))


def recorded_pace_warnings(
    phase: str, tiers: Sequence[TierMetrics], rows: pa.Table, squeeze: float | None
) -> list[str]:
    """One warning per tier whose hit rate would drop at the recorded pace (TTL expiry)."""
    warnings = []
    for tier in tiers:
        fast, slow = tier.hit_rate, tier.recorded_pace_hit_rate
        if fast is None or slow is None or fast - slow <= RECORDED_PACE_GAP:
            continue
        spans = _spans(rows, squeeze)
        warnings.append(
            f"{phase} replayed {spans}: at the recorded pace {tier.name} would hit "
            f"{slow:.1%} of lookups, not {fast:.1%}, because its objects expire between "
            f"their recorded repeats; the replay was too fast for the TTLs to show "
            f"(hit_rate.{tier.name}.recorded_pace can be checked)"
        )
    return warnings


def _spans(rows: pa.Table, squeeze: float | None) -> str:
    import pyarrow.compute as pc

    sent = pc.min_max(rows.column("sent_s")).as_py()
    replay = (sent["max"] or 0.0) - (sent["min"] or 0.0)
    if squeeze is None:
        return f"its requests in {_duration(replay)}"
    return f"{_duration(replay * squeeze)} of recorded traffic in {_duration(replay)} " + (
        f"({squeeze:,.0f}× faster)"
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def same_cache_warnings(phase: str, tiers: Sequence[TierMetrics]) -> list[str]:
    """Tiers whose lookups match within 1 %: one cache configured twice, counted twice."""
    warnings = []
    counted = [t for t in tiers if t.lookups is not None and t.lookups >= MIN_LOOKUPS]
    for index, first in enumerate(counted):
        for second in counted[index + 1 :]:
            a, b = first.lookups or 0, second.lookups or 0
            if abs(a - b) <= SAME_CACHE_GAP * max(a, b):
                warnings.append(
                    f"tiers {first.name} and {second.name} counted {a:,} and {b:,} lookups "
                    f"during {phase}: they look like the same cache, which hit_rate.effective "
                    f"then counts twice; make one the other's cross_check"
                )
    return warnings


def cross_check_warnings(
    phase: str, tiers: Sequence[TierMetrics], checks: Mapping[str, str], tolerance: float
) -> list[str]:
    """A tier whose cross-check source counted a different hit rate."""
    warnings = []
    for tier in tiers:
        other = tier.cross_check_hit_rate
        if tier.name not in checks or tier.hit_rate is None or other is None:
            continue
        if abs(tier.hit_rate - other) > tolerance:
            warnings.append(
                f"{tier.name}: {tier.source} counted a hit rate of {tier.hit_rate:.1%} during "
                f"{phase} but its cross_check counted {other:.1%}: one of the two sources "
                "does not see this cache's lookups"
            )
    return warnings
