"""Order, slices and limits over sample records."""

from __future__ import annotations

import pytest

from tests.replay.conftest import records
from warmer.errors import UsageError
from warmer.replay.order import (
    TimeBound,
    TimeSlice,
    arrange,
    hot_first,
    parse_duration,
    parse_time_slice,
)


def test_hot_first_one_per_key_most_requested_first() -> None:
    recs = records(["/b", "/a", "/a", "/c", "/a", "/b"])
    assert [r.target for r in hot_first(recs)] == ["/a", "/b", "/c"]


def test_hot_first_ties_keep_first_seen_order_and_repeat() -> None:
    recs = records(["/x", "/y", "/z"])
    assert [r.target for r in hot_first(recs, repeat=2)] == ["/x", "/y", "/z"] * 2


def test_hot_first_keeps_the_first_occurrence() -> None:
    recs = records(["/a", "/a"])
    assert hot_first(recs)[0] is recs[0]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("1.5m", 90.0), ("250ms", 0.25), ("2h", 7200.0), (".5", 0.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1", "5 days", "1x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60:120", TimeSlice(TimeBound(60.0), TimeBound(120.0))),
        (":5m", TimeSlice(None, TimeBound(300.0))),
        ("10:", TimeSlice(TimeBound(10.0), None)),
        ("2024-05-01T10:00:00Z:", TimeSlice(TimeBound(1714557600.0, absolute=True), None)),
        (
            "2024-05-01T10:00:00:2024-05-01T10:01:00",
            TimeSlice(TimeBound(1714557600.0, True), TimeBound(1714557660.0, True)),
        ),
    ],
)
def test_parse_time_slice(text: str, expected: TimeSlice) -> None:
    assert parse_time_slice(text) == expected


@pytest.mark.parametrize("text", ["60", "a:b", "1:2:3"])
def test_parse_time_slice_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_time_slice(text)


def test_arrange_slices_by_offset_from_first_record() -> None:
    recs = records([f"/{i}" for i in range(10)], step=1.0)
    window = parse_time_slice("2:5")
    assert [r.target for r in arrange(recs, window=window)] == ["/2", "/3", "/4"]


def test_arrange_limit_applies_after_order() -> None:
    recs = records(["/a", "/b", "/b", "/c", "/c", "/c"])
    out = list(arrange(recs, order="hot-first", count=2))
    assert [r.target for r in out] == ["/c", "/b"]


def test_arrange_rejects_repeat_without_hot_first_and_bad_order() -> None:
    with pytest.raises(UsageError):
        arrange(records(["/a"]), repeat=2)
    with pytest.raises(UsageError):
        arrange(records(["/a"]), order="random")
