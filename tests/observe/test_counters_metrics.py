"""Counter deltas with reset detection, and the hit-rate / offload / consistency arithmetic."""

from __future__ import annotations

import pytest

from warmer.model.run import TierMetrics
from warmer.observe.counters import (
    CounterDelta,
    SnapshotDelta,
    counter_delta,
    snapshot_delta,
    timeline_delta,
)
from warmer.observe.interface import TierSnapshot
from warmer.observe.metrics import (
    backend_metrics,
    consistency,
    effective_hit_rate,
    hit_rate,
    offload,
    tier_metrics,
)


@pytest.mark.parametrize(
    ("before", "after", "restarted", "expected"),
    [
        (10, 25, False, CounterDelta(15)),
        (10, 10, False, CounterDelta(0)),
        (100, 7, False, CounterDelta(7, reset=True)),  # dropped: restarted, 7 since restart
        (10, 25, True, CounterDelta(25, reset=True)),  # new process id, even if it grew
        (None, 5, False, CounterDelta(None)),
        (5, None, False, CounterDelta(None)),
    ],
)
def test_counter_delta(
    before: float | None, after: float | None, restarted: bool, expected: CounterDelta
) -> None:
    assert counter_delta(before, after, restarted=restarted) == expected


def snap(at: float, hits: float, misses: float, instance: str = "a") -> TierSnapshot:
    return TierSnapshot(at=at, hits=hits, misses=misses, instance=instance, keys=int(hits))


def test_snapshot_delta_detects_a_new_instance() -> None:
    delta = snapshot_delta(snap(0, 50, 50, "a"), snap(1, 60, 70, "b"))
    assert (delta.hits, delta.misses, delta.reset) == (60, 70, True)


def test_snapshot_delta_missing_endpoint() -> None:
    assert snapshot_delta(None, snap(1, 1, 1)).missing
    assert snapshot_delta(snap(0, 1, 1), None).missing


def test_timeline_delta_sums_across_a_restart_and_a_gap() -> None:
    timeline = [snap(0, 0, 0), snap(1, 10, 5), None, snap(3, 30, 15), snap(4, 4, 1, "b")]
    delta = timeline_delta(timeline)
    # 0→10→30 (gap bridged), then restart: +4 hits, +1 miss since the restart
    assert (delta.hits, delta.misses) == (34, 16)
    assert delta.reset and delta.missing
    assert delta.seconds == 4
    assert delta.end is not None and delta.end.keys == 4
    assert all(v is None or v >= 0 for v in (delta.hits, delta.misses))


def test_timeline_delta_needs_two_readings() -> None:
    assert timeline_delta([None, snap(1, 1, 1), None]).missing
    assert timeline_delta([]).missing


@pytest.mark.parametrize(
    ("hits", "misses", "rate"),
    [(90, 10, 0.9), (0, 0, None), (None, 5, None), (0, 5, 0.0)],
)
def test_hit_rate(hits: float | None, misses: float | None, rate: float | None) -> None:
    assert hit_rate(hits, misses) == rate


def tier(name: str, rate: float | None) -> TierMetrics:
    return TierMetrics(name, "redis", hit_rate=rate)


def test_effective_hit_rate_compounds() -> None:
    # PRODUCT.md: L0 90 %, L1 95 % of the rest, L2 99 % of the rest = 99.95 %
    tiers = [tier("l0", 0.90), tier("l1", 0.95), tier("l2", 0.99)]
    assert effective_hit_rate(tiers) == pytest.approx(0.99995)
    assert effective_hit_rate([tier("l0", 0.9), tier("l1", None)]) is None
    assert effective_hit_rate([]) is None


@pytest.mark.parametrize(
    ("backend", "client", "expected"),
    [
        (5, 100, 0.95),
        (0, 100, 1.0),
        (120, 100, pytest.approx(-0.2)),
        (None, 100, None),
        (5, 0, None),
    ],
)
def test_offload(backend: float | None, client: int, expected: object) -> None:
    assert offload(backend, client) == expected


@pytest.mark.parametrize(
    ("implied", "measured", "consistent"),
    [(0.95, 0.94, True), (0.95, 0.80, False), (None, 0.9, None), (0.9, None, None)],
)
def test_consistency(
    implied: float | None, measured: float | None, consistent: bool | None
) -> None:
    check = consistency(implied, measured, 0.05)
    assert check.consistent is consistent
    assert (check.message is not None) == (consistent is False)


def test_tier_metrics_missing_is_not_zero() -> None:
    metrics = tier_metrics("l1", "redis", SnapshotDelta(missing=True))
    assert metrics.missing_data and metrics.hits is None and metrics.hit_rate is None


def test_tier_metrics_flags_shared_when_lookups_exceed_requests() -> None:
    delta = SnapshotDelta(hits=150, misses=50, end=snap(1, 150, 50))
    metrics = tier_metrics("l2", "redis", delta, client_requests=100)
    assert metrics.shared and metrics.lookups == 200 and metrics.hit_rate == 0.75
    assert metrics.note and "other traffic" in metrics.note
    assert not tier_metrics("l2", "redis", delta, client_requests=500).shared


def test_tier_metrics_notes_a_reset() -> None:
    delta = SnapshotDelta(hits=1, misses=1, reset=True, end=snap(1, 1, 1))
    assert "reset" in (tier_metrics("l1", "redis", delta).note or "")


def test_backend_metrics_with_consistency() -> None:
    delta = SnapshotDelta(requests=20, seconds=10.0)
    backend, check = backend_metrics("prometheus", delta, 100, implied_offload=0.95, tolerance=0.05)
    assert backend.requests == 20 and backend.offload == pytest.approx(0.8)
    assert backend.rps_mean == 2.0
    assert backend.consistent is False and check.gap == pytest.approx(0.15)
    missing, _ = backend_metrics("prometheus", None, 100, implied_offload=0.9, tolerance=0.05)
    assert missing.missing_data and missing.requests is None
