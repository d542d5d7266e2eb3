"""Warm/verify split by time span."""

from __future__ import annotations

import pyarrow as pa
import pytest

from warmer.errors import InputError, UsageError
from warmer.sample.split import split_by_time, time_cutoff


def _table(ts: list[float]) -> pa.Table:
    return pa.table({"ts": ts, "key": [f"k{i}" for i in range(len(ts))]})


@pytest.mark.parametrize(
    ("t_min", "t_max", "fraction", "expected"),
    [(0, 10, 0.8, 8.0), (100, 200, 0.5, 150.0), (5, 6, 0.25, 5.25)],
)
def test_time_cutoff(t_min: float, t_max: float, fraction: float, expected: float) -> None:
    assert time_cutoff(t_min, t_max, fraction) == pytest.approx(expected)


def test_split_is_by_time_span_not_by_count() -> None:
    # 9 requests in the first second, 1 at t=10: by count 80 % would be 8 requests,
    # by time the cut is at t=8 so all of the first 9 warm and only the last verifies.
    table = _table([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 10.0])
    warm, verify = split_by_time(table)
    assert warm.num_rows == 9
    assert verify.column("ts").to_pylist() == [10.0]


def test_boundary_belongs_to_verify_and_order_is_kept() -> None:
    table = _table([10.0, 8.0, 0.0, 7.999])
    warm, verify = split_by_time(table, 0.8)
    assert warm.column("ts").to_pylist() == [0.0, 7.999]
    assert verify.column("ts").to_pylist() == [10.0, 8.0]


def test_pandas_split_matches_arrow() -> None:
    table = _table([float(i) for i in range(101)])
    warm, verify = split_by_time(table.to_pandas(), 0.3)
    warm_arrow, verify_arrow = split_by_time(table, 0.3)
    assert list(warm["key"]) == warm_arrow.column("key").to_pylist()
    assert list(verify["key"]) == verify_arrow.column("key").to_pylist()
    assert len(warm) == 30


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(UsageError, match="between 0 and 1"):
        split_by_time(_table([0.0, 1.0]), fraction)


def test_no_time_span() -> None:
    with pytest.raises(InputError, match="no time span"):
        split_by_time(_table([3.0, 3.0]))


def test_empty_sample() -> None:
    with pytest.raises(InputError, match="no requests"):
        split_by_time(_table([]))
    with pytest.raises(InputError, match="no requests"):
        split_by_time(_table([]).to_pandas())
