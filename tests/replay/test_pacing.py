"""Pacers are pure schedules: checked without a clock or a network."""

from __future__ import annotations

import itertools

import pytest

from tests.replay.conftest import records
from warmer.errors import UsageError
from warmer.model.sample import SampleRecord
from warmer.replay.pacing import AdaptivePacer, MaxPacer, RatePacer, RecordedPacer, make_pacer


def _at(*ts: float) -> list[SampleRecord]:
    return [SampleRecord(ts=t, method="GET", target="/", key="/") for t in ts]


@pytest.mark.parametrize(
    ("ts", "speed", "max_gap", "expected"),
    [
        ((100.0, 101.0, 103.0), 1.0, None, [0.0, 1.0, 3.0]),
        ((100.0, 101.0, 103.0), 10.0, None, [0.0, 0.1, 0.3]),
        ((100.0, 101.0, 200.0), 1.0, 5.0, [0.0, 1.0, 6.0]),  # the idle gap is capped
        ((100.0, 99.0, 101.0), 1.0, None, [0.0, 0.0, 2.0]),  # out of order: gap 0
        ((5.0,), 2.0, None, [0.0]),
    ],
)
def test_recorded_offsets(
    ts: tuple[float, ...], speed: float, max_gap: float | None, expected: list[float]
) -> None:
    pacer = RecordedPacer(speed=speed, max_gap_s=max_gap)
    offsets = [offset for offset, _ in pacer.schedule(_at(*ts))]
    assert offsets == pytest.approx(expected)


def test_recorded_keeps_records_in_order() -> None:
    recs = records(["/a", "/b", "/c"])
    assert [r for _, r in RecordedPacer().schedule(recs)] == recs


@pytest.mark.parametrize(
    ("rate", "n", "expected"),
    [(2000.0, 0, 0.0), (2000.0, 1, 0.0005), (2000.0, 60000, 30.0), (4.0, 10, 2.5)],
)
def test_rate_offsets(rate: float, n: int, expected: float) -> None:
    assert RatePacer(rate=rate).offset(n) == pytest.approx(expected)


def test_ramp_reaches_the_rate_then_stays_constant() -> None:
    pacer = RatePacer(rate=100.0, ramp_s=10.0, ramp_from=0.0)
    # 0 -> 100/s over 10 s sends 500 requests; afterwards one every 10 ms.
    assert pacer.offset(500) == pytest.approx(10.0)
    assert pacer.offset(600) == pytest.approx(11.0)
    assert pacer.offset(125) == pytest.approx(5.0)  # N(5) = 100 * 25 / 20 = 125
    offsets = [pacer.offset(n) for n in range(700)]
    assert offsets == sorted(offsets)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert gaps[10] > gaps[400] > gaps[650] * 0.99


def test_ramp_from_a_start_rate() -> None:
    pacer = RatePacer(rate=200.0, ramp_s=2.0, ramp_from=100.0)
    assert pacer.offset(300) == pytest.approx(2.0)  # (100 + 200) / 2 * 2 s
    assert pacer.offset(100) == pytest.approx((-100 + (100**2 + 2 * 50 * 100) ** 0.5) / 50)


def test_max_yields_no_offsets() -> None:
    assert [o for o, _ in MaxPacer().schedule(records(["/a", "/b"]))] == [None, None]
    assert not MaxPacer.open_model and RatePacer(1.0).open_model


@pytest.mark.parametrize(
    ("pacing", "options"),
    [
        ("rate", {}),
        ("rate", {"rate": 0.0}),
        ("recorded", {"speed": 0.0}),
        ("recorded", {"max_gap_s": -1.0}),
        ("rate", {"rate": 10.0, "ramp_from": 20.0}),
        ("bogus", {}),
    ],
)
def test_bad_pacing_is_a_usage_error(pacing: str, options: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        make_pacer(pacing, **options)  # type: ignore[arg-type]


def test_adaptive_pacer_spaces_by_the_current_rate_and_drops_a_long_backlog() -> None:
    clock = [0.0]
    pacer = AdaptivePacer(10.0, clock=lambda: clock[0])
    schedule = pacer.schedule(iter(range(6)))  # type: ignore[arg-type]
    offsets = [next(schedule)[0], next(schedule)[0]]
    pacer.rate = 100.0
    offsets.append(next(schedule)[0])
    assert offsets == pytest.approx([0.0, 0.1, 0.11])  # the new rate spaces the next one
    clock[0] = 0.15  # a little late (within the slack): caught up, the schedule is kept
    offsets.append(next(schedule)[0])
    assert offsets[-1] == pytest.approx(0.12)
    clock[0] = 5.0  # far behind: restart from now, no burst of 478 requests
    offsets.append(next(schedule)[0])
    assert offsets[-1] == pytest.approx(5.0 - AdaptivePacer.slack_s)
    assert next(schedule)[0] == pytest.approx(5.0 - AdaptivePacer.slack_s + 0.01)
