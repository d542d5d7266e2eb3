"""Tests for the gate plan (split, counts, expected durations)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from warmer.config.schema import GateConfig, ReplayConfig
from warmer.errors import InputError, UsageError
from warmer.gate.plan import expected_duration, make_plan, plan_lines, split_sample


def sample(ts: list[float]) -> pa.Table:
    n = len(ts)
    return pa.table(
        {
            "ts": pa.array(ts, pa.float64()),
            "method": ["GET"] * n,
            "target": [f"/k/{i % 3}" for i in range(n)],
            "key": [f"GET /k/{i % 3}" for i in range(n)],
        }
    )


def test_split_by_fraction() -> None:
    split = split_sample(sample([float(i) for i in range(11)]), warm_fraction=0.8)
    assert (split.warm_rows, split.verify_rows) == (8, 3)
    # The parts are read again on demand: every read gives the same rows.
    assert split.warm.to_table(["ts"]).column("ts").to_pylist() == [float(i) for i in range(8)]
    assert split.verify.count() == 3 and split.verify.to_table().num_rows == 3
    assert split.description == "first 80% of the sample's time span"


def test_split_by_duration() -> None:
    split = split_sample(sample([float(i) for i in range(11)]), warm_duration_s=5)
    assert (split.warm_rows, split.verify_rows) == (5, 6)
    assert split.warm_fraction == pytest.approx(0.5)


@pytest.mark.parametrize("duration", [0.0, 10.0, 99.0])
def test_duration_must_fit_span(duration: float) -> None:
    with pytest.raises(UsageError, match="does not fit"):
        split_sample(sample([float(i) for i in range(11)]), warm_duration_s=duration)


def test_sample_without_time_span_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no time span"):
        split_sample(sample([5.0, 5.0, 5.0]))


@pytest.mark.parametrize(
    ("replay", "expected"),
    [
        (ReplayConfig(pacing="recorded"), 9.5),
        (ReplayConfig(pacing="recorded", speed=2.0), 4.75),
        (ReplayConfig(pacing="recorded", max_gap_s=0.5), 1.5),
        (ReplayConfig(pacing="rate", rate=2.0), 2.0),
        (ReplayConfig(pacing="max"), None),
    ],
)
def test_expected_duration(replay: ReplayConfig, expected: float | None) -> None:
    assert expected_duration(sample([0.0, 1.0, 0.5, 8.0, 9.0]), replay) == expected


def test_make_plan_and_lines() -> None:
    split = split_sample(sample([float(i) for i in range(11)]))
    plan = make_plan(split, GateConfig(settle_s=1.0), ReplayConfig(pacing="rate", rate=4.0))
    assert (plan.warm_requests, plan.verify_requests) == (8, 3)
    assert plan.expected_duration_s == pytest.approx(7 / 4 + 1.0 + 2 / 4)
    lines = plan_lines(plan, ceiling=0.75)
    assert "warm:     8 requests, order recorded" in lines
    assert lines[-1].startswith("ceiling:  0.750")
    assert "unknown" in plan_lines(make_plan(split, GateConfig(), ReplayConfig()))[4]
